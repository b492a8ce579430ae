/**
 * The built-in chat API loaded into a real DuckDB file lands in dlt's layout (issue #4): the root
 * table, one nested table per list, the linking columns, dlt's bookkeeping tables and the views.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { ChatApi } from "../../src/demo/chat_api.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv, type TestEnv } from "../helpers/index.ts";
import { LAYOUT_SQL } from "./fixture_api.ts";

const ROOT_DLT = ["_dlt_load_id VARCHAR", "_dlt_id VARCHAR"];
const NESTED_DLT = ["_dlt_root_id VARCHAR", "_dlt_parent_id VARCHAR", "_dlt_list_idx BIGINT", "_dlt_id VARCHAR"];

describe("the chat API in a DuckDB file", () => {
  let api: ChatApi;
  let tmp: TestEnv;
  let db: string;
  let loadId: string;

  before(async () => {
    tmp = await testEnv({ chat: { messages: 250 } });
    api = tmp.chat;
    db = join(tmp.dir, "chat.duckdb");
    // batchPages 1: three batches, so linkage holds across batch boundaries too.
    const summary = await runPipeline(prepareConfig(seedConfig(api.url), { env: SEED_ENV, cwd: "/" }), { database: db, pipelineName: "chat", batchPages: 1 });
    loadId = summary.loadId;
  });
  after(() => tmp?.[Symbol.asyncDispose]());

  test("has the root table and one nested table per list, with dlt's columns and DuckDB types", async () => {
    const layout = await queryDb<{ table_name: string; columns: string[] }>(db, LAYOUT_SQL("chat_dataset"));
    assert.deepEqual(Object.fromEntries(layout.map((t) => [t.table_name, t.columns])), {
      chat_messages: [
        "id BIGINT",
        "timestamp TIMESTAMP WITH TIME ZONE",
        "content VARCHAR",
        "sender_id VARCHAR",
        "channel VARCHAR",
        ...ROOT_DLT,
        "thread__id VARCHAR",
        "thread__reply_count BIGINT",
      ],
      chat_messages__attachments: ["id VARCHAR", "url VARCHAR", "size BIGINT", ...NESTED_DLT],
      chat_messages__reactions: ["emoji VARCHAR", ...NESTED_DLT],
      chat_messages__reactions__users: ["value VARCHAR", ...NESTED_DLT],
    });
  });

  test("holds every message, attachment, reaction and reacting user once", async () => {
    const [n] = await queryDb<Record<string, number>>(
      db,
      `select (select count(*) from chat_dataset.chat_messages)::int m, (select count(*) from chat_dataset.chat_messages__attachments)::int a,
              (select count(*) from chat_dataset.chat_messages__reactions)::int r, (select count(*) from chat_dataset.chat_messages__reactions__users)::int u`,
    );
    const sum = (f: (m: ChatApi["messages"][number]) => number) => api.messages.reduce((s, m) => s + f(m), 0);
    assert.deepEqual(n, {
      m: 250,
      a: sum((m) => m.attachments.length),
      r: sum((m) => m.reactions.length),
      u: sum((m) => m.reactions.reduce((s, r) => s + r.users.length, 0)),
    });
  });

  test("nested rows point at their parent's _dlt_id, the root's _dlt_id and their list position", async () => {
    const [bad] = await queryDb<Record<string, number>>(
      db,
      `select
        (select count(*) from chat_dataset.chat_messages__reactions r left join chat_dataset.chat_messages m on r._dlt_parent_id = m._dlt_id where m._dlt_id is null)::int orphan_reactions,
        (select count(*) from chat_dataset.chat_messages__attachments a left join chat_dataset.chat_messages m on a._dlt_parent_id = m._dlt_id where m._dlt_id is null)::int orphan_attachments,
        (select count(*) from chat_dataset.chat_messages__reactions__users u left join chat_dataset.chat_messages__reactions r on u._dlt_parent_id = r._dlt_id where r._dlt_id is null)::int orphan_users,
        (select count(*) from chat_dataset.chat_messages__reactions where _dlt_root_id <> _dlt_parent_id)::int reaction_root_mismatch,
        (select count(*) from chat_dataset.chat_messages__reactions__users u join chat_dataset.chat_messages__reactions r on u._dlt_parent_id = r._dlt_id where u._dlt_root_id <> r._dlt_root_id)::int user_root_mismatch,
        (select count(*) from (select _dlt_parent_id, count(*) n, min(_dlt_list_idx) lo, max(_dlt_list_idx) hi, count(distinct _dlt_list_idx) d
           from chat_dataset.chat_messages__reactions__users group by 1) where lo <> 0 or hi <> n - 1 or d <> n)::int gappy_positions,
        (select count(*) - count(distinct _dlt_id) from chat_dataset.chat_messages__reactions__users)::int duplicate_ids`,
    );
    assert.deepEqual(bad, { orphan_reactions: 0, orphan_attachments: 0, orphan_users: 0, reaction_root_mismatch: 0, user_root_mismatch: 0, gappy_positions: 0, duplicate_ids: 0 });

    // Each message's reactions, in list order, with their users in list order: exactly what the API sent.
    const rows = await queryDb<{ id: number; reactions: string }>(
      db,
      `select m.id::int id, coalesce((select string_agg(r.emoji || ':' || (select string_agg(u.value, ',' order by u._dlt_list_idx)
           from chat_dataset.chat_messages__reactions__users u where u._dlt_parent_id = r._dlt_id), ' ' order by r._dlt_list_idx)
         from chat_dataset.chat_messages__reactions r where r._dlt_parent_id = m._dlt_id), '') reactions
       from chat_dataset.chat_messages m order by m.id`,
    );
    assert.deepEqual(
      rows,
      api.messages.map((m) => ({ id: m.id, reactions: m.reactions.map((r) => `${r.emoji}:${r.users.join(",")}`).join(" ") })),
    );
  });

  test("root rows carry the run's load id", async () => {
    const ids = await queryDb<{ _dlt_load_id: string }>(db, "select distinct _dlt_load_id from chat_dataset.chat_messages");
    assert.deepEqual(ids, [{ _dlt_load_id: loadId }]);
  });

  test("the bookkeeping tables have dlt's names, columns and types", async () => {
    const cols = await queryDb<{ table_name: string; columns: string[] }>(
      db,
      `select table_name, list(column_name || ' ' || data_type order by ordinal_position) as columns from information_schema.columns
       where table_schema = 'chat_dataset' and table_name like '\\_dlt\\_%' escape '\\' group by 1 order by 1`,
    );
    assert.deepEqual(Object.fromEntries(cols.map((t) => [t.table_name, t.columns])), {
      _dlt_loads: ["load_id VARCHAR", "schema_name VARCHAR", "status BIGINT", "inserted_at TIMESTAMP WITH TIME ZONE", "schema_version_hash VARCHAR"],
      _dlt_pipeline_state: [
        "version BIGINT",
        "engine_version BIGINT",
        "pipeline_name VARCHAR",
        "state VARCHAR",
        "created_at TIMESTAMP WITH TIME ZONE",
        "version_hash VARCHAR",
        "_dlt_load_id VARCHAR",
        "_dlt_id VARCHAR",
      ],
      _dlt_version: ["version BIGINT", "engine_version BIGINT", "inserted_at TIMESTAMP WITH TIME ZONE", "schema_name VARCHAR", "version_hash VARCHAR", "schema VARCHAR"],
    });
  });

  test("_dlt_loads has the completed load, pointing at the stored schema version", async () => {
    const loads = await queryDb<{ load_id: string; schema_name: string; status: number; matches: boolean }>(
      db,
      `select l.load_id, l.schema_name, l.status::int status,
              l.schema_version_hash = (select version_hash from chat_dataset._dlt_version order by version desc limit 1) matches
       from chat_dataset._dlt_loads l`,
    );
    assert.deepEqual(loads, [{ load_id: loadId, schema_name: "chat", status: 0, matches: true }]);
  });

  test("_dlt_version stores the schema as JSON, one row per version", async () => {
    const versions = await queryDb<{ version: number; engine_version: number; schema_name: string; schema: string }>(
      db,
      "select version::int as version, engine_version::int as engine_version, schema_name, schema from chat_dataset._dlt_version order by version",
    );
    assert.ok(versions.length >= 1);
    assert.deepEqual(
      versions.map((v) => v.version),
      [...new Set(versions.map((v) => v.version))].sort((a, b) => a - b),
      "versions are distinct and increasing",
    );
    const latest = JSON.parse(versions.at(-1)!.schema);
    assert.equal(latest.name, "chat");
    assert.equal(latest.version, versions.at(-1)!.version);
    assert.deepEqual(Object.keys(latest.tables).sort(), ["chat_messages", "chat_messages__attachments", "chat_messages__reactions", "chat_messages__reactions__users"]);
    assert.equal(latest.tables.chat_messages__reactions__users.parent, "chat_messages__reactions");
    assert.equal(latest.tables.chat_messages.write_disposition, "merge");
    assert.deepEqual(latest.tables.chat_messages.columns.id, { name: "id", data_type: "bigint", nullable: false, primary_key: true, x_added_in: loadId });
    assert.equal(versions.at(-1)!.engine_version, 11);
  });

  test("views in main show each table's data columns, nested ones keyed by the message id and list positions", async () => {
    const views = await queryDb<{ table_name: string; columns: string[] }>(
      db,
      `select table_name, list(column_name || ' ' || data_type order by ordinal_position) as columns from information_schema.columns
       where table_schema = 'main' and table_name like 'chat_messages%' group by 1 order by 1`,
    );
    assert.deepEqual(Object.fromEntries(views.map((t) => [t.table_name, t.columns])), {
      chat_messages: ["id BIGINT", "timestamp TIMESTAMP WITH TIME ZONE", "content VARCHAR", "sender_id VARCHAR", "channel VARCHAR", "thread__id VARCHAR", "thread__reply_count BIGINT"],
      chat_messages__attachments: ["chat_messages_id BIGINT", "attachments_idx BIGINT", "id VARCHAR", "url VARCHAR", "size BIGINT"],
      chat_messages__reactions: ["chat_messages_id BIGINT", "reactions_idx BIGINT", "emoji VARCHAR"],
      chat_messages__reactions__users: ["chat_messages_id BIGINT", "reactions_idx BIGINT", "users_idx BIGINT", "value VARCHAR"],
    });
    // The views join on their keys alone: who reacted with what to message 1.
    const who = await queryDb<{ emoji: string; users: string }>(
      db,
      `select r.emoji, string_agg(u.value, ',' order by u.users_idx) users
       from chat_messages__reactions r join chat_messages__reactions__users u using (chat_messages_id, reactions_idx)
       where chat_messages_id = 1 group by r.emoji, r.reactions_idx order by r.reactions_idx`,
    );
    assert.deepEqual(who, api.messages[0].reactions.map((r) => ({ emoji: r.emoji, users: r.users.join(",") })));
    const [counts] = await queryDb<Record<string, number>>(
      db,
      `select (select count(*) from chat_messages)::int m, (select count(*) from chat_messages__reactions__users)::int u,
              (select count(*) from chat_dataset.chat_messages__reactions__users)::int base_u`,
    );
    assert.deepEqual(counts, { m: 250, u: counts.base_u, base_u: counts.base_u });
  });
});
