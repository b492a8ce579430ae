/**
 * Ctrl-C and SIGTERM (issue 5): a real child `restduck run` is signalled
 * mid-run. It must stop cleanly — the batch under way committed or rolled
 * back, the run recorded as interrupted, exit 130 / 143 with a hint — and
 * the next run must resume there and end with exactly a clean run's rows.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { queryDb, SEED_ENV, seedConfig, testEnv, type TestEnv } from "../helpers/index.ts";
import { spawnCli } from "./helpers.ts";

const MESSAGES = 400;
const LIMIT = 10;

function signalConfig(url: string): Record<string, unknown> {
  const config = seedConfig(url) as { resources: { endpoint: { paginator: { limit: number } } }[] };
  config.resources[0].endpoint.paginator.limit = LIMIT;
  return { pipeline_name: "sig", batch_pages: 2, ...config };
}

/** The committed position, or nothing yet when the signal came before the first batch. */
async function committedState(db: string): Promise<{ rows: number; pages: number; offset: number }> {
  const [cp] = await queryDb<{ pages: number; rows: number; next_request: string }>(db, "SELECT pages::INT AS pages, rows::INT AS rows, next_request FROM sig_dataset._restduck_checkpoints");
  if (!cp) return { rows: 0, pages: 0, offset: 0 };
  return { rows: cp.rows, pages: cp.pages, offset: (JSON.parse(cp.next_request) as { params: { offset: number } }).params.offset };
}

async function rowCounts(db: string): Promise<{ n: number; ids: number }> {
  const [t] = await queryDb<{ n: number }>(db, "SELECT count(*)::INT AS n FROM duckdb_tables() WHERE schema_name = 'sig_dataset' AND table_name = 'chat_messages'");
  if (t.n === 0) return { n: 0, ids: 0 };
  const [counts] = await queryDb<{ n: number; ids: number }>(db, "SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM sig_dataset.chat_messages");
  return counts;
}

/** A CLI run of the signal config as a child process on `env`'s slow chat API; the child and the API's hook go with `env`. */
function startSignalRun(env: TestEnv) {
  const api = env.chat;
  env.defer(() => void (api.onRequest = undefined));
  const config = env.config(signalConfig(api.url), "sig.json");
  const db = env.path("sig.duckdb");
  const proc = spawnCli(["run", config, "--db", db], { cwd: env.dir, env: SEED_ENV });
  // Should an assertion throw before the child ends, the child does not outlive the test.
  env.defer(() => proc.child.exitCode === null && proc.child.signalCode === null && proc.child.kill("SIGKILL"));
  return { api, config, db, proc };
}

async function interruptAndResume(signal: "SIGINT" | "SIGTERM", afterRequest: number, delayMs: number): Promise<void> {
  await using env = await testEnv({ chat: { messages: MESSAGES, latencyMs: 15 }, prefix: "restduck-signal-" });
  const { api, config, db, proc } = startSignalRun(env);
  let seen = 0;
  api.onRequest = () => {
    if (++seen === afterRequest) setTimeout(() => proc.child.kill(signal), delayMs);
  };
  const exit = await proc.done;
  api.onRequest = undefined;
  assert.equal(exit.code, signal === "SIGINT" ? 130 : 143, `exit code\n${exit.stderr}`);
  assert.match(exit.stderr, new RegExp(`error: run interrupted by ${signal}`));
  if (signal === "SIGINT") assert.match(exit.stderr, /stopping: the batch under way is rolled back; press Ctrl-C again to quit at once/);
  assert.match(exit.stderr, /hint: committed batches are kept; run the same command again to resume/);
  assert.doesNotMatch(exit.stderr, /\n\s+at /, "no stack trace");

  const [run] = await queryDb<{ status: string; error: string }>(db, "SELECT status, error FROM sig_dataset._restduck_runs");
  assert.equal(run.status, "interrupted");
  const { rows, pages, offset } = await committedState(db);
  const counts = await rowCounts(db);
  assert.equal(counts.n, rows, "the table holds exactly the committed batches");
  assert.equal(counts.ids, counts.n);
  assert.ok(pages < MESSAGES / LIMIT, "stopped before the end");
  assert.equal(offset, pages * LIMIT);

  const from = api.requests.length;
  const again = await spawnCli(["run", config, "--db", db], { cwd: env.dir, env: SEED_ENV }).done;
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, pages > 0 ? /resuming run .*\n.*resuming after page \d+/ : /resuming run /);
  const offsets = api.requests.slice(from).filter((r) => r.path === "/v1/messages" && r.status === 200).map((r) => Number(r.query.offset));
  assert.equal(offsets[0], offset, "the rerun starts at the checkpoint");
  assert.ok(offsets.every((o) => o >= offset), "committed pages are not fetched again");
  const [final] = await queryDb<{ n: number; ids: number }>(db, "SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM chat_messages");
  assert.deepEqual(final, { n: MESSAGES, ids: MESSAGES });
  const [done] = await queryDb<{ status: string }>(db, "SELECT status FROM sig_dataset._restduck_runs");
  assert.equal(done.status, "completed", "the resumed run completes the same run");
}

test("Ctrl-C mid-run exits 130, records the run as interrupted, and a rerun resumes to exactly every row", async () => {
  await interruptAndResume("SIGINT", 10, 0);
});

test("Ctrl-C a few milliseconds after a page arrives still leaves only whole batches", async () => {
  await interruptAndResume("SIGINT", 14, 12);
});

test("SIGTERM mid-run exits 143 and is resumable the same way", async () => {
  await interruptAndResume("SIGTERM", 12, 5);
});

test("a second Ctrl-C quits at once with 130, and the file still holds only whole batches", async () => {
  // Page 6 never answers in time: the first Ctrl-C aborts it, the second one does not wait for the cleanup.
  await using env = await testEnv({ chat: { messages: MESSAGES, latencyMs: 15 }, prefix: "restduck-signal-" });
  const { api, config, db, proc } = startSignalRun(env);
  let seen = 0;
  api.onRequest = () => {
    if (++seen === 6) {
      proc.child.kill("SIGINT");
      proc.child.kill("SIGINT");
    }
  };
  const exit = await proc.done;
  assert.equal(exit.code, 130, exit.stderr);
  const counts = await rowCounts(db);
  assert.equal(counts.n, (await committedState(db)).rows);
  assert.equal(counts.ids, counts.n);
  const again = await spawnCli(["run", config, "--db", db, "--quiet"], { cwd: env.dir, env: SEED_ENV }).done;
  assert.equal(again.code, 0, again.stderr);
  const [final] = await queryDb<{ n: number; ids: number }>(db, "SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM chat_messages");
  assert.deepEqual(final, { n: MESSAGES, ids: MESSAGES });
});
