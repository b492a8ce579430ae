/**
 * A notebook's pipeline shares its DuckDB file (issue 13): while it only
 * queries it holds the file read-only, so the CLI's `query` in another process
 * reads it too; it takes the write lock only while it loads (or runs a statement
 * that writes), and a writer elsewhere is told to close the reader.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";
import { pipeline, restApiSource } from "../../src/index.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const CLI = resolve(import.meta.dirname, "../../src/bin/restduck.ts");
const SECRETS = { client_id: SEED_ENV.CLIENT_ID, client_secret: SEED_ENV.CLIENT_SECRET };

/** The CLI in its own process, as a user's terminal runs it beside the notebook. */
function restduck(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...SEED_ENV, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

test("a pipeline that only queries holds the file read-only: the CLI's query in another process reads it too", async () => {
  await using env = await testEnv({ chat: { messages: 120 }, prefix: "restduck-pipeline-lock-" });
  env.config(seedConfig(env.chat.url));
  const load = await restduck(["run", "chat.json", "--db", "chat.duckdb"], env.dir);
  assert.equal(load.code, 0, load.stderr);

  await using p = pipeline({ database: "chat.duckdb", cwd: env.dir });
  assert.deepEqual(await p.query("select count(*) as n from chat_messages"), [{ n: 120 }]);
  // The pipeline is still open (no close): another process reads beside it.
  const other = await restduck(["query", "--db", "chat.duckdb", "--format", "csv", "select count(*) as n from chat_messages"], env.dir);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout, "n\n120\n");
  // And a load elsewhere is told who holds the file, and that only closing it helps.
  const writer = await restduck(["run", "chat.json", "--db", "chat.duckdb"], env.dir);
  assert.equal(writer.code, 1, writer.stderr);
  assert.match(writer.stderr, new RegExp(`Database chat\\.duckdb is open read-only in another process \\(PID ${process.pid}\\)`));
  assert.match(writer.stderr, /hint: close the reading session/);
});

test("a pipeline takes the write lock only while it loads or writes, then reads read-only again", async () => {
  await using env = await testEnv({ chat: { messages: 150 }, prefix: "restduck-pipeline-lock-" });
  await using p = pipeline({ database: "chat.duckdb", cwd: env.dir, secrets: SECRETS, env: {} });
  const summary = await p.run(restApiSource(seedConfig(env.chat.url)));
  assert.equal(summary.resources[0].rows, 150);
  const afterRun = await restduck(["query", "--db", "chat.duckdb", "--format", "csv", "select count(*) as n from chat_messages"], env.dir);
  assert.equal(afterRun.code, 0, afterRun.stderr);
  assert.equal(afterRun.stdout, "n\n150\n");

  // A statement that writes goes through (DuckDB refuses it on the read-only connection first)…
  await p.query("select 1");
  await p.query("create view senders as select distinct sender_id from chat_messages");
  assert.deepEqual(await p.query("select count(*) > 0 as some from senders"), [{ some: true }]);
  // …and the file is shared again right after.
  const afterWrite = await restduck(["query", "--db", "chat.duckdb", "--format", "csv", "select count(*) > 0 as some from senders"], env.dir);
  assert.equal(afterWrite.code, 0, afterWrite.stderr);
  assert.equal(afterWrite.stdout, "some\ntrue\n");
});

test("a pipeline's query on a file that does not exist yet creates it, as before", async () => {
  await using env = await testEnv({ prefix: "restduck-pipeline-lock-" });
  await using p = pipeline({ database: "new.duckdb", cwd: env.dir });
  assert.deepEqual(await p.query("create table t as select 42 as answer"), [{ Count: 1 }]);
  assert.deepEqual(await p.query("select answer from t"), [{ answer: 42 }]);
});
