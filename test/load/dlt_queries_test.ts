/**
 * SQL written against dlt's DuckDB output runs unchanged on restduck's file (issue #4): a fixed set
 * of analysis queries, spelled the way a dlt user writes them (dataset-qualified tables, `_dlt_*`
 * joins, `__` nested tables, `value` for lists of scalars, `_dlt_loads`), checked against the API's data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { ChatApi } from "../../src/demo/chat_api.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv, type TestEnv } from "../helpers/index.ts";

/** Counts per key, as [key, count] sorted by key. */
function countBy<T>(items: T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe("a dlt user's analysis queries on restduck's file", () => {
  let api: ChatApi;
  let tmp: TestEnv;
  let db: string;
  let loadIds: string[];
  const rows = async (sql: string) => (await queryDb<Record<string, unknown>>(db, sql)).map((r) => Object.values(r));

  before(async () => {
    tmp = await testEnv({ chat: { messages: 320 } });
    api = tmp.chat;
    db = join(tmp.dir, "chat.duckdb");
    const config = () => prepareConfig({ ...seedConfig(api.url), pipeline_name: "chat", dataset_name: "chat_dataset" }, { env: SEED_ENV, cwd: "/" });
    const first = await runPipeline(config(), { database: db });
    api.addMessages(30);
    const second = await runPipeline(config(), { database: db });
    loadIds = [first.loadId, second.loadId];
  });
  after(() => tmp?.[Symbol.asyncDispose]());

  test("messages per day", async () => {
    const got = await rows(`
      select strftime(date_trunc('day', m."timestamp" at time zone 'UTC'), '%Y-%m-%d') as day, count(*)::int as messages
      from chat_dataset.chat_messages m
      group by 1 order by 1`);
    assert.deepEqual(got, countBy(api.messages, (m) => m.timestamp.slice(0, 10)));
  });

  test("messages per sender", async () => {
    const got = await rows(`select sender_id, count(*)::int as n from chat_dataset.chat_messages group by sender_id order by sender_id`);
    assert.deepEqual(got, countBy(api.messages, (m) => m.sender_id));
  });

  test("messages with their reactions, joined on _dlt_parent_id", async () => {
    const got = await rows(`
      select r.emoji, count(*)::int as reactions
      from chat_dataset.chat_messages m
      join chat_dataset.chat_messages__reactions r on r._dlt_parent_id = m._dlt_id
      group by r.emoji order by r.emoji`);
    assert.deepEqual(got, countBy(api.messages.flatMap((m) => m.reactions), (r) => r.emoji));
  });

  test("who reacts most, through the __users table's value column", async () => {
    const got = await rows(`
      select u.value as user_id, count(distinct m.id)::int as messages_reacted_to
      from chat_dataset.chat_messages m
      join chat_dataset.chat_messages__reactions r on r._dlt_parent_id = m._dlt_id
      join chat_dataset.chat_messages__reactions__users u on u._dlt_parent_id = r._dlt_id
      group by u.value order by u.value`);
    const pairs = new Map<string, Set<number>>();
    for (const m of api.messages) for (const r of m.reactions) for (const u of r.users) (pairs.get(u) ?? pairs.set(u, new Set()).get(u)!).add(m.id);
    assert.deepEqual(got, [...pairs].map(([u, s]) => [u, s.size]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)));
  });

  test("attachment bytes per channel, joined on _dlt_root_id", async () => {
    const got = await rows(`
      select m.channel, count(a._dlt_id)::int as files, coalesce(sum(a.size), 0)::bigint::varchar as bytes
      from chat_dataset.chat_messages m
      left join chat_dataset.chat_messages__attachments a on a._dlt_root_id = m._dlt_id
      group by m.channel order by m.channel`);
    const by = new Map<string, [number, number]>();
    for (const m of api.messages) {
      const v = by.get(m.channel) ?? [0, 0];
      for (const a of m.attachments) (v[0]++, (v[1] += a.size));
      by.set(m.channel, v);
    }
    assert.deepEqual(got, [...by].sort().map(([c, [f, b]]) => [c, f, String(b)]));
  });

  test("the first attachment of each message, by _dlt_list_idx", async () => {
    const got = await rows(`
      select m.id::int, a.url from chat_dataset.chat_messages m
      join chat_dataset.chat_messages__attachments a on a._dlt_parent_id = m._dlt_id and a._dlt_list_idx = 0
      order by m.id`);
    assert.deepEqual(got, api.messages.filter((m) => m.attachments.length > 0).map((m) => [m.id, m.attachments[0].url]));
  });

  test("threads from the flattened thread__ columns", async () => {
    const got = await rows(`
      select count(*)::int, coalesce(sum(thread__reply_count), 0)::int from chat_dataset.chat_messages where thread__id is not null`);
    const threads = api.messages.filter((m) => m.thread !== null);
    assert.deepEqual(got, [[threads.length, threads.reduce((s, m) => s + m.thread!.reply_count, 0)]]);
  });

  test("rows per load, joined to _dlt_loads on _dlt_load_id", async () => {
    const got = await rows(`
      select l.load_id, l.status::int, count(m._dlt_id)::int as messages
      from chat_dataset._dlt_loads l
      left join chat_dataset.chat_messages m on m._dlt_load_id = l.load_id
      where l.status = 0
      group by l.load_id, l.status order by l.load_id`);
    // Merge rewrites every row the second run saw, so all 350 now carry its load id.
    assert.deepEqual(got, [
      [loadIds[0], 0, 0],
      [loadIds[1], 0, 350],
    ]);
  });

  test("the latest schema from _dlt_version, and what changed since a load", async () => {
    const [[name, hash, tables]] = await rows(`
      select schema_name, version_hash, json_keys(schema::json -> 'tables') as tables
      from chat_dataset._dlt_version order by version desc limit 1`);
    assert.equal(name, "chat");
    assert.equal(typeof hash, "string");
    assert.deepEqual([...(tables as string[])].sort(), ["chat_messages", "chat_messages__attachments", "chat_messages__reactions", "chat_messages__reactions__users"]);
    const fresh = await rows(`
      select count(*)::int from chat_dataset.chat_messages
      where _dlt_load_id > (select min(load_id) from chat_dataset._dlt_loads where status = 0)`);
    assert.deepEqual(fresh, [[350]]);
  });

  test("the same analysis through the views in main, without _dlt columns", async () => {
    const got = await rows(`
      select r.emoji, count(distinct u.value)::int as users
      from chat_messages__reactions r
      join chat_messages__reactions__users u using (chat_messages_id, reactions_idx)
      group by 1 order by 1`);
    const by = new Map<string, Set<string>>();
    for (const m of api.messages) for (const r of m.reactions) for (const u of r.users) (by.get(r.emoji) ?? by.set(r.emoji, new Set()).get(r.emoji)!).add(u);
    assert.deepEqual(got, [...by].map(([e, s]) => [e, s.size]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)));
  });
});
