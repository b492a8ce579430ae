/**
 * DuckDB's memory while loading: a writable file gets a bounded buffer pool, and releaseMemory
 * drops the table blocks a load left cached without changing the limit a caller sees.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { openDatabase, VACUUM_UNTIL_BYTES } from "../../src/load/db.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const limitOf = async (db: Awaited<ReturnType<typeof openDatabase>>) =>
  (await db.all<{ limit: string }>("SELECT current_setting('memory_limit') AS limit"))[0].limit;
const cachedTableMb = async (db: Awaited<ReturnType<typeof openDatabase>>) =>
  Number((await db.all<{ mb: number }>("SELECT (sum(memory_usage_bytes) / 1e6)::DOUBLE AS mb FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"))[0].mb);

test("a file opened for writing gets a 512 MB DuckDB memory limit; read-only opens keep DuckDB's default", async () => {
  await using env = await testEnv();
  const db = await openDatabase(env.db);
  assert.equal(await limitOf(db), "488.2 MiB", "512 MB, as DuckDB shows it");
  db.close();
  const ro = await openDatabase(env.db, { readOnly: true });
  assert.doesNotMatch(await limitOf(ro), /MiB|MB/, "DuckDB's default is a share of RAM, in GiB");
  ro.close();
});

test("releaseMemory drops the blocks a committed load left cached and keeps the limit as it was", async () => {
  await using env = await testEnv();
  const db = await env.open();
  await db.run("CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) || md5((range * 7)::VARCHAR) AS s FROM range(2000000)");
  await db.run("CHECKPOINT");
  await db.all("SELECT count(DISTINCT s) FROM t");
  const before = await cachedTableMb(db);
  const limit = await limitOf(db);
  // A run releases after every batch: the limit must not drift (DuckDB shows it rounded).
  for (let i = 0; i < 3; i++) await db.releaseMemory();
  const after = await cachedTableMb(db);
  assert.ok(before > 30, `cached before: ${before} MB`);
  assert.ok(after < before / 2, `cached after: ${after} MB (before ${before} MB)`);
  assert.equal(await limitOf(db), limit);
  assert.deepEqual(await db.all("SELECT count(*)::INT AS n FROM t"), [{ n: 2_000_000 }]);
});

test("a run releases DuckDB's memory after its batches and leaves the connection's limit as it was", async () => {
  await using env = await testEnv({ chat: { messages: 1000 } });
  const db = await env.open();
  const limit = await limitOf(db);
  const config = prepareConfig(seedConfig(env.chat.url), { env: SEED_ENV, cwd: "/nonexistent" });
  const summary = await env.run(config, { db, batchPages: 1 });
  assert.equal(summary.resources[0].rows, 1000);
  assert.equal(await limitOf(db), limit, "ten batches, ten releases, no drift");
});

const vacuumTasks = async (db: Awaited<ReturnType<typeof openDatabase>>) =>
  (await db.all<{ n: string }>("SELECT current_setting('max_vacuum_tasks')::VARCHAR AS n"))[0].n;

test("once a load has added its first VACUUM_UNTIL_BYTES to the file, its checkpoints stop merging row groups", async () => {
  await using env = await testEnv();
  const db = await openDatabase(env.db, { vacuumUntilBytes: 4 * 1024 * 1024 });
  const defaults = await vacuumTasks(db);
  assert.notEqual(defaults, "0", "a fresh connection keeps DuckDB's vacuum");
  // A small batch: below the bound, nothing changes.
  await db.run("CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS s FROM range(1000)");
  await db.run("CHECKPOINT");
  await db.releaseMemory();
  assert.equal(await vacuumTasks(db), defaults);
  // Past it: the next checkpoints write row groups as they are.
  await db.run("INSERT INTO t SELECT range AS id, md5(range::VARCHAR) || md5((range * 7)::VARCHAR) AS s FROM range(500000)");
  await db.run("CHECKPOINT");
  await db.releaseMemory();
  assert.equal(await vacuumTasks(db), "0");
  db.close();
  // Counted per connection from what the file held at open: the next run starts with the vacuum again.
  const next = await openDatabase(env.db, { vacuumUntilBytes: 4 * 1024 * 1024 });
  assert.equal(await vacuumTasks(next), defaults);
  await next.releaseMemory();
  assert.equal(await vacuumTasks(next), defaults);
  next.close();
});

test("a small run keeps DuckDB's row-group merging: the default bound is well above an incremental batch", async () => {
  await using env = await testEnv({ chat: { messages: 1000 } });
  const db = await env.open();
  const defaults = await vacuumTasks(db);
  const config = prepareConfig(seedConfig(env.chat.url), { env: SEED_ENV, cwd: "/nonexistent" });
  await env.run(config, { db, batchPages: 1 });
  assert.notEqual(defaults, "0");
  assert.equal(await vacuumTasks(db), defaults);
  assert.ok(VACUUM_UNTIL_BYTES >= 16 * 1024 * 1024, "at least one checkpoint's worth (DuckDB's 16 MB WAL threshold)");
});
