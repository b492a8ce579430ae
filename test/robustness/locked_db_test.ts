/**
 * A DuckDB file held by another process (issue 5): a clear error naming the
 * file and what to do, exit 1, never a stack trace; nothing is written.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../src/load/db.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const HOLDER = fileURLToPath(new URL("./hold_db.ts", import.meta.url));

/** Opens `file` in another process and resolves once it holds the lock; call the result to let go. */
async function holdDatabase(file: string, readOnly: boolean): Promise<{ pid: number; release: () => Promise<void> }> {
  const child = spawn(process.execPath, [HOLDER, file, ...(readOnly ? ["--read-only"] : [])], { stdio: ["pipe", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("ready") && resolve());
    child.on("close", (code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

async function seedFile(path: string): Promise<void> {
  const db = await openDatabase(path);
  await db.run("CREATE TABLE keep AS SELECT 42 AS answer");
  db.close();
}

const LOCKED = /error: Database (\S*)locked\.duckdb is in use by another process \(PID (\d+)\): DuckDB allows one writer at a time/;
const WHAT_TO_DO = /hint: close the other session \(a notebook or duckdb shell\) or open it read-only/;
// A writer needs the file to itself: opening the other session read-only would not let a run in.
const WHAT_TO_DO_TO_WRITE = /hint: close the other session \(a notebook or duckdb shell\) or let its load finish, then run again/;
const HELD_READ_ONLY =
  /error: Database (\S*)locked\.duckdb is open read-only in another process \(PID (\d+)\): DuckDB lets a process write a file only while no other process has it open/;
const CLOSE_THE_READER = /hint: close the reading session \(a notebook's read-only connection or restduck pipeline, `restduck query`, duckdb -readonly\), then run again/;

test("run against a file another process writes to fails naming the file, the PID and what to do", async () => {
  await using env = await testEnv({ prefix: "restduck-lock-", chat: { messages: 20 } });
  const file = env.path("locked.duckdb");
  await seedFile(file);
  const holder = await holdDatabase(file, false);
  env.defer(holder.release);
  const config = env.config(seedConfig(env.chat.url));
  const result = await env.cli(["run", config, "--db", "locked.duckdb"]);
  assert.equal(result.code, 1, result.stderr);
  const m = LOCKED.exec(result.stderr);
  assert.ok(m, result.stderr);
  assert.equal(Number(m[2]), holder.pid, "names the process holding it");
  assert.match(result.stderr, WHAT_TO_DO_TO_WRITE);
  assert.doesNotMatch(result.stderr, /open it read-only/, "a reader elsewhere would still shut the run out");
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  assert.equal(env.chat.requests.length, 0, "no request is sent before the database is open");
});

test("run against a file a notebook holds read-only says the reader must close, naming its PID", async () => {
  await using env = await testEnv({ prefix: "restduck-lock-" });
  const file = env.path("locked.duckdb");
  await seedFile(file);
  const holder = await holdDatabase(file, true);
  env.defer(holder.release);
  const config = env.config(seedConfig("http://127.0.0.1:9"));
  const result = await env.cli(["run", config, "--db", "locked.duckdb"], { env: SEED_ENV });
  assert.equal(result.code, 1, result.stderr);
  const m = HELD_READ_ONLY.exec(result.stderr);
  assert.ok(m, result.stderr);
  assert.equal(Number(m[2]), holder.pid, "names the process holding it");
  assert.match(result.stderr, CLOSE_THE_READER);
  assert.doesNotMatch(result.stderr, /open it read-only/, "the holder already reads only; that advice cannot help");
});

test("query against a file another process writes to fails with the same clear error", async () => {
  await using env = await testEnv({ prefix: "restduck-lock-" });
  const file = env.path("locked.duckdb");
  await seedFile(file);
  const holder = await holdDatabase(file, false);
  env.defer(holder.release);
  const result = await env.cli(["query", "--db", "locked.duckdb", "select * from keep"]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, LOCKED);
  assert.match(result.stderr, WHAT_TO_DO);
  assert.equal(result.stdout, "");
});

test("query shares a file another process holds read-only", async () => {
  await using env = await testEnv({ prefix: "restduck-lock-" });
  const file = env.path("shared.duckdb");
  await seedFile(file);
  const holder = await holdDatabase(file, true);
  env.defer(holder.release);
  const result = await env.cli(["query", "--db", "shared.duckdb", "--format", "csv", "select answer from keep"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "answer\n42\n");
});
