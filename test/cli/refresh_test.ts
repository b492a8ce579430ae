/**
 * Starting over (issue #13.4): `run --refresh` and its modes, `run --max-pages`, and the
 * library's `refresh` option, against the chat API and real DuckDB files.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pipeline, restApiSource } from "../../src/index.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

/** The seed config as an append-only incremental load on `id`, plus a second resource over the same endpoint. */
function incrementalConfig(url: string, withCopy = false): Record<string, unknown> {
  const config = seedConfig(url) as { resource_defaults: Record<string, unknown>; resources: Record<string, any>[] };
  config.resource_defaults = { primary_key: "id", write_disposition: "append" };
  config.resources[0].endpoint.incremental = { cursor_path: "id", initial_value: 0 };
  if (withCopy) config.resources.push({ name: "copy", endpoint: { path: "/v1/messages", data_selector: "messages", paginator: { type: "offset", limit: 100 } } });
  return config;
}

const count = async (db: string, table: string) => Number((await queryDb<{ n: bigint }>(db, `select count(*) as n from chat_dataset.${table}`))[0].n);
const loadIds = async (db: string, table: string) =>
  (await queryDb<{ id: string }>(db, `select distinct _dlt_load_id as id from chat_dataset.${table} order by 1`)).map((r) => r.id);
const tableExists = async (db: string, table: string) =>
  (await queryDb(db, `select 1 from information_schema.tables where table_schema = 'chat_dataset' and table_name = '${table}'`)).length > 0;

test("run --refresh drops an incremental resource's table and cursor, so it loads everything again (--restart does not)", async () => {
  await using env = await testEnv({ chat: { messages: 250 } });
  const config = env.config(incrementalConfig(env.chat.url));
  const run = (...extra: string[]) => env.cli(["run", config, "--db", env.db, ...extra]);

  assert.equal((await run()).code, 0);
  assert.equal(await count(env.db, "chat_messages"), 250);
  // The cursor stored by the first run filters every record out of the second, and --restart keeps the cursor.
  for (const extra of [[], ["--restart"]]) {
    const again = await run(...extra, "--json");
    assert.equal(again.code, 0, again.stderr);
    const finished = again.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.type === "run_finished");
    assert.equal(finished.summary.resources[0].rows, 0, `rows loaded with ${extra.join(" ") || "no flag"}`);
  }
  assert.equal(await count(env.db, "chat_messages"), 250);
  const first = await loadIds(env.db, "chat_messages");

  const refreshed = await run("--refresh");
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.match(refreshed.stderr, /refresh drop_sources: dropped chat_messages.*forgot the stored state of chat_messages/);
  // Every row again, once, all from the new load: the old table went, not only the cursor.
  assert.equal(await count(env.db, "chat_messages"), 250);
  const after = await loadIds(env.db, "chat_messages");
  assert.equal(after.length, 1);
  assert.notDeepEqual(after, first);
  // The next plain run continues from the new cursor.
  const next = await run("--json");
  const finished = next.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.type === "run_finished");
  assert.equal(finished.summary.resources[0].rows, 0);
});

test("refresh modes: drop_resources and drop_data touch only the loaded resources, drop_sources drops the others' tables too", async () => {
  await using env = await testEnv({ chat: { messages: 120 } });
  const config = env.config(incrementalConfig(env.chat.url, true));
  const run = (...extra: string[]) => env.cli(["run", config, "--db", env.db, ...extra]);
  const addNote = async () => {
    const { openDatabase } = await import("../../src/load/db.ts");
    const h = await openDatabase(env.db);
    try {
      await h.run(`alter table chat_dataset.chat_messages add column note varchar`);
    } finally {
      h.close();
    }
  };
  const hasNote = async () => (await env.query(`select 1 from information_schema.columns where table_schema = 'chat_dataset' and table_name = 'chat_messages' and column_name = 'note'`)).length > 0;

  assert.equal((await run()).code, 0);
  assert.equal(await count(env.db, "copy"), 120);
  const copyLoad = await loadIds(env.db, "copy");

  // drop_data: the table stays (a column added by hand survives), its rows and cursor go.
  await addNote();
  const data = await run("--resource", "chat_messages", "--refresh", "drop_data");
  assert.equal(data.code, 0, data.stderr);
  assert.match(data.stderr, /refresh drop_data: emptied chat_messages/);
  assert.equal(await count(env.db, "chat_messages"), 120);
  assert.ok(await hasNote(), "drop_data keeps the table and its columns");
  assert.deepEqual(await loadIds(env.db, "copy"), copyLoad, "copy untouched");

  // drop_resources: the loaded resource's table is made anew, the other resource keeps its rows.
  const resources = await run("--resource", "chat_messages", "--refresh", "drop_resources");
  assert.equal(resources.code, 0, resources.stderr);
  assert.equal(await count(env.db, "chat_messages"), 120);
  assert.equal(await hasNote(), false, "drop_resources drops the table");
  assert.deepEqual(await loadIds(env.db, "copy"), copyLoad, "copy untouched");

  // drop_sources: every table of the pipeline goes, even those of resources not loaded now (as in dlt), and their views.
  const sources = await run("--resource", "chat_messages", "--refresh", "drop_sources");
  assert.equal(sources.code, 0, sources.stderr);
  assert.equal(await count(env.db, "chat_messages"), 120);
  assert.equal(await tableExists(env.db, "copy"), false);
  assert.equal((await env.query(`select 1 from duckdb_views() where view_name = 'copy'`)).length, 0, "the dropped table's view goes too");
  // A later full run loads the dropped resource from the start.
  assert.equal((await run()).code, 0);
  assert.equal(await count(env.db, "copy"), 120);
});

test("--refresh with an unknown mode and --max-pages 0 are usage errors that touch nothing", async () => {
  await using env = await testEnv();
  const config = env.config(incrementalConfig("http://127.0.0.1:9"));
  const bad = await env.cli(["run", config, "--refresh", "drop_everything"], { env: SEED_ENV });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--refresh drop_everything is not a refresh mode; known: drop_sources, drop_resources, drop_data/);
  const zero = await env.cli(["run", config, "--max-pages", "0"], { env: SEED_ENV });
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--max-pages expects a positive whole number/);
  const { readdirSync } = await import("node:fs");
  assert.deepEqual(readdirSync(env.dir), ["chat.json"], "no database file was created");
});

test("run --max-pages N loads N pages of each resource and stops", async () => {
  await using env = await testEnv({ chat: { messages: 1000 } });
  const config = env.config(seedConfig(env.chat.url));
  const res = await env.cli(["run", config, "--max-pages", "2"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(await count(env.path("chat.duckdb"), "chat_messages"), 200);
  assert.equal(env.chat.requests.filter((r) => r.path === "/v1/messages").length, 2);
});

test("the library's run takes refresh and maxPages", async () => {
  await using env = await testEnv({ chat: { messages: 300 } });
  const p = pipeline({ database: env.db, pipelineName: "chat", secrets: { client_id: SEED_ENV.CLIENT_ID, client_secret: SEED_ENV.CLIENT_SECRET } });
  env.defer(() => p.close());
  const source = restApiSource(incrementalConfig(env.chat.url));
  assert.equal((await p.run(source, { maxPages: 1 })).resources[0].rows, 100);
  assert.equal((await p.run(source)).resources[0].rows, 200, "the cursor continues past the first page");
  assert.equal((await p.run(source)).resources[0].rows, 0);
  const again = await p.run(source, { refresh: "drop_sources" });
  assert.equal(again.resources[0].rows, 300);
  assert.deepEqual(await p.query("select count(*) as n from chat_messages"), [{ n: 300 }]);
});
