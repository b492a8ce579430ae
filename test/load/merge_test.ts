/**
 * Merging a root row replaces its nested rows in the same transaction (issue #4): no orphans,
 * no stale children, whatever the API changed in the record's lists.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";
import { fixtureConfig } from "./fixture_api.ts";

const ORPHANS_SQL = (ds: string) => `select
  (select count(*) from ${ds}.chat_messages__reactions c where c._dlt_parent_id not in (select _dlt_id from ${ds}.chat_messages))::int reactions,
  (select count(*) from ${ds}.chat_messages__attachments c where c._dlt_parent_id not in (select _dlt_id from ${ds}.chat_messages))::int attachments,
  (select count(*) from ${ds}.chat_messages__reactions__users c where c._dlt_parent_id not in (select _dlt_id from ${ds}.chat_messages__reactions))::int users,
  (select count(*) from ${ds}.chat_messages__reactions__users c where c._dlt_root_id not in (select _dlt_id from ${ds}.chat_messages))::int users_root`;

test("rerunning after messages' reactions and attachments change replaces their nested rows", async () => {
  await using env = await testEnv({ chat: { messages: 150 } });
  const config = () => prepareConfig(seedConfig(env.chat.url), { env: SEED_ENV, cwd: "/" });
  await env.run(config(), { pipelineName: "chat" });
  const before = await env.query<{ _dlt_id: string }>("select _dlt_id from chat_dataset.chat_messages where id = 3");

  env.chat.updateMessage(3, { reactions: [{ emoji: "🚀", users: ["u_new", "u_ada"] }] });
  env.chat.updateMessage(4, { reactions: [], attachments: [] });
  env.chat.updateMessage(120, { attachments: [{ id: "fresh", url: "https://files.example.com/fresh.png", size: 7 }] });
  await env.run(config(), { pipelineName: "chat", batchPages: 1 });

  const three = await env.query<{ emoji: string; users: string }>(
        `select r.emoji, string_agg(u.value, ',' order by u._dlt_list_idx) users
     from chat_dataset.chat_messages m join chat_dataset.chat_messages__reactions r on r._dlt_parent_id = m._dlt_id
     join chat_dataset.chat_messages__reactions__users u on u._dlt_parent_id = r._dlt_id where m.id = 3 group by r.emoji`,
  );
  assert.deepEqual(three, [{ emoji: "🚀", users: "u_new,u_ada" }]);
  const [four] = await env.query<{ r: number; a: number }>(
        `select (select count(*) from chat_messages__reactions where chat_messages_id = 4)::int r,
            (select count(*) from chat_messages__attachments where chat_messages_id = 4)::int a`,
  );
  assert.deepEqual(four, { r: 0, a: 0 });
  const att = await env.query("select id, size::int as size from chat_messages__attachments where chat_messages_id = 120");
  assert.deepEqual(att, [{ id: "fresh", size: 7 }]);

  assert.deepEqual((await env.query(ORPHANS_SQL("chat_dataset")))[0], { reactions: 0, attachments: 0, users: 0, users_root: 0 });
  const sum = (f: (m: (typeof env.chat.messages)[number]) => number) => env.chat.messages.reduce((s, m) => s + f(m), 0);
  const [n] = await env.query<Record<string, number>>(
        `select (select count(*) from chat_dataset.chat_messages)::int m, (select count(*) from chat_dataset.chat_messages__reactions)::int r,
            (select count(*) from chat_dataset.chat_messages__reactions__users)::int u, (select count(*) from chat_dataset.chat_messages__attachments)::int a`,
  );
  assert.deepEqual(n, {
    m: 150,
    r: sum((m) => m.reactions.length),
    u: sum((m) => m.reactions.reduce((s, r) => s + r.users.length, 0)),
    a: sum((m) => m.attachments.length),
  });
  // The upsert strategy keys the root row's _dlt_id on the primary key, so it survives the merge.
  assert.deepEqual(await env.query("select _dlt_id from chat_dataset.chat_messages where id = 3"), before);
  const loads = await env.query("select count(*)::int as n from chat_dataset._dlt_loads");
  assert.deepEqual(loads, [{ n: 2 }]);
});

test("the same record twice in one page keeps the last one's nested rows only", async () => {
  await using env = await testEnv({
    api: { pages: {
      chat_messages: [
        { id: 1, tags: ["a"], reactions: [{ emoji: "x", users: ["u1"] }] },
        { id: 2, tags: ["keep"] },
        { id: 1, tags: ["b", "c"], reactions: [{ emoji: "y", users: ["u2", "u3"] }] },
      ],
    } },
  });
  await env.run(fixtureConfig(env.api.url, { chat_messages: { primary_key: "id", write_disposition: "merge" } }));
  const tags = await env.query("select chat_messages_id::int as id, value from chat_messages__tags order by 1, tags_idx");
  assert.deepEqual(tags, [
    { id: 1, value: "b" },
    { id: 1, value: "c" },
    { id: 2, value: "keep" },
  ]);
  const users = await env.query("select value from chat_messages__reactions__users order by users_idx");
  assert.deepEqual(users, [{ value: "u2" }, { value: "u3" }]);
  assert.deepEqual((await env.query(ORPHANS_SQL("fx_dataset").replace(/\(select count\(\*\) from fx_dataset.chat_messages__attachments[^)]*\)\)::int attachments,/, "")))[0], {
    reactions: 0,
    users: 0,
    users_root: 0,
  });
});

test("with delete-insert, rerunning replaces a record's nested rows though its root row gets a new _dlt_id", async () => {
  await using env = await testEnv({ api: { pages: { chat_messages: [{ id: 1, tags: ["a", "b"] }, { id: 2, tags: ["z"] }] } } });
  const config = () =>
    fixtureConfig(env.api.url, { chat_messages: { primary_key: "id", write_disposition: { disposition: "merge", strategy: "delete-insert" } } });
  await env.run(config());
  env.api.pages.set("/chat_messages", [{ id: 1, tags: ["c"] }]);
  await env.run(config());
  const tags = await env.query("select chat_messages_id::int as id, value from chat_messages__tags order by 1, tags_idx");
  assert.deepEqual(tags, [
    { id: 1, value: "c" },
    { id: 2, value: "z" },
  ]);
  const [orphans] = await env.query(
        "select count(*)::int as n from fx_dataset.chat_messages__tags where _dlt_parent_id not in (select _dlt_id from fx_dataset.chat_messages)",
  );
  assert.deepEqual(orphans, { n: 0 });
});

test("a record that comes again in a later batch of the same run replaces the first copy and its nested rows", async () => {
  // Batch 1 has no key in the table yet (its rows are appended straight in); batch 2 repeats id 1,
  // so it has to merge: the first copy's row and nested rows must go.
  await using env = await testEnv({ api: { items: 0 } });
  const { api } = env;
  api.pages.set("/p1", JSON.stringify({ items: [{ id: 1, tags: ["a"] }, { id: 2, tags: ["keep"] }], next: `${api.url}/p2` }));
  api.pages.set("/p2", JSON.stringify({ items: [{ id: 1, tags: ["b", "c"], edited: true }, { id: 3, tags: [] }], next: null }));
  const db = env.path("f.duckdb");
  const config = fixtureConfig(api.url, {
    chat_messages: { primary_key: "id", write_disposition: "merge", endpoint: { path: "/p1", data_selector: "items", paginator: { type: "json_link", next_url_path: "next" } } },
  });
  await runPipeline(config, { database: db, batchPages: 1 });
  assert.deepEqual(await queryDb(db, "select id::int as id, edited from fx_dataset.chat_messages order by id"), [
    { id: 1, edited: true },
    { id: 2, edited: null },
    { id: 3, edited: null },
  ]);
  // The nested rows, joined to their root by the key, with no orphans left from the first copy.
  assert.deepEqual(await queryDb(db, "select chat_messages_id::int as id, value from chat_messages__tags order by 1, tags_idx"), [
    { id: 1, value: "b" },
    { id: 1, value: "c" },
    { id: 2, value: "keep" },
  ]);
  assert.deepEqual(await queryDb(db, "select count(*)::int as n from fx_dataset.chat_messages__tags"), [{ n: 3 }]);
});

test("batches whose keys interleave with, span or repeat earlier ones merge by key, big integers too", async () => {
  // An integer key is first checked by the batch's lowest and highest key: only a batch whose range
  // holds no row of the table is appended unchecked. Each page is a batch here.
  await using env = await testEnv({ api: { items: 0 } });
  const { api } = env;
  const big = "9007199254740993"; // 2^53 + 1: exact only as a bigint
  const page = (n: number, items: string, last = false) =>
    api.pages.set(`/p${n}`, `{"items": ${items}, "next": ${last ? "null" : JSON.stringify(`${api.url}/p${n + 1}`)}}`);
  page(1, `[{"id": 2, "tags": ["a"]}, {"id": 10, "tags": ["old"]}]`);
  page(2, `[{"id": 7, "tags": []}, {"id": 3, "tags": ["b"]}]`); // within 2..10 but new: checked, appended
  page(3, `[{"id": 10, "tags": ["new", "er"], "edited": true}, {"id": 9}]`); // 9..10 holds 10 (as text "10" < "9")
  page(4, `[{"id": ${big}, "tags": ["x"]}]`);
  page(5, `[{"id": 4}, {"id": ${big}, "tags": ["y"], "edited": true}]`, true);
  const db = env.path("f.duckdb");
  const config = fixtureConfig(api.url, {
    chat_messages: { primary_key: "id", write_disposition: "merge", endpoint: { path: "/p1", data_selector: "items", paginator: { type: "json_link", next_url_path: "next" } } },
  });
  await runPipeline(config, { database: db, batchPages: 1 });
  assert.deepEqual(await queryDb(db, "select id::varchar as id, edited from fx_dataset.chat_messages order by chat_messages.id"), [
    { id: "2", edited: null },
    { id: "3", edited: null },
    { id: "4", edited: null },
    { id: "7", edited: null },
    { id: "9", edited: null },
    { id: "10", edited: true },
    { id: big, edited: true },
  ]);
  assert.deepEqual(await queryDb(db, "select chat_messages_id::varchar as id, value from chat_messages__tags order by chat_messages_id, tags_idx"), [
    { id: "2", value: "a" },
    { id: "3", value: "b" },
    { id: "10", value: "new" },
    { id: "10", value: "er" },
    { id: big, value: "y" },
  ]);
});
