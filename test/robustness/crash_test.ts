/**
 * The crash test (issue 5): `restduck run` as a real child process against
 * the mock chat API in this process, killed with SIGKILL at seeded random
 * points, then run again until it completes. After every kill the file must
 * be consistent (every committed batch whole, the run not marked finished);
 * every rerun must start at the last checkpoint, never refetching a
 * committed page; and the final tables must equal a clean run's.
 *
 * Reproduce a failure with RESTDUCK_CRASH_SEED=<seed printed in the failure>.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { ChatApi } from "../../src/demo/chat_api.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";
import { seeded, snapshot, spawnCli } from "./helpers.ts";

const SEED = Number(process.env.RESTDUCK_CRASH_SEED ?? 20261128);
const LIMIT = 10;
const VIEWS = ["chat_messages", "chat_messages__attachments", "chat_messages__reactions", "chat_messages__reactions__users"];

interface Scenario {
  disposition: "merge" | "append" | "replace";
  messages: number;
  kills: number;
  seed: number;
}

function crashConfig(url: string, disposition: Scenario["disposition"]): Record<string, unknown> {
  const config = seedConfig(url) as {
    client: Record<string, unknown>;
    resource_defaults: Record<string, unknown>;
    resources: { endpoint: { paginator: { limit: number } } }[];
  };
  config.resources[0].endpoint.paginator.limit = LIMIT;
  if (disposition !== "merge") config.resource_defaults = { write_disposition: disposition };
  // Two requests in flight (and up to 8 pages fetched ahead): concurrent, yet slow enough that kills
  // land between commits as well as before the first one.
  config.client.concurrency = 2;
  return { pipeline_name: "crash", batch_pages: 2, ...config };
}

/** The committed position of the newest run: pages and the offset the next page starts at. */
async function committed(db: string): Promise<{ status?: string; pages: number; rows: number; offset: number; done: boolean }> {
  if (!existsSync(db)) return { pages: 0, rows: 0, offset: 0, done: false };
  const tables = await queryDb<{ n: number }>(db, "SELECT count(*)::INT AS n FROM information_schema.tables WHERE table_schema = 'crash_dataset' AND table_name = '_restduck_runs'");
  if (tables[0].n === 0) return { pages: 0, rows: 0, offset: 0, done: false };
  const [run] = await queryDb<{ load_id: string; status: string }>(db, "SELECT load_id, status FROM crash_dataset._restduck_runs ORDER BY started_at DESC LIMIT 1");
  if (!run) return { pages: 0, rows: 0, offset: 0, done: false };
  const [cp] = await queryDb<{ next_request: string | null; pages: number; rows: number; done: boolean }>(
    db,
    `SELECT next_request, pages::INT AS pages, rows::INT AS rows, done FROM crash_dataset._restduck_checkpoints WHERE load_id = '${run.load_id}' AND resource = 'chat_messages'`,
  );
  if (!cp) return { status: run.status, pages: 0, rows: 0, offset: 0, done: false };
  const next = cp.next_request ? (JSON.parse(cp.next_request) as { params: { offset: number } }) : undefined;
  return { status: run.status, pages: cp.pages, rows: cp.rows, offset: next ? Number(next.params.offset) : cp.pages * LIMIT, done: cp.done };
}

/** What must hold in the file after any kill: whole batches only, no duplicates, no orphans. */
async function assertConsistent(db: string, scenario: Scenario, where: string): Promise<void> {
  const state = await committed(db);
  if (state.pages === 0) return;
  // replace loads into a staging schema that is swapped in when the resource completes.
  const ds = scenario.disposition === "replace" && !state.done ? "crash_dataset_staging" : "crash_dataset";
  const [counts] = await queryDb<{ n: number; ids: number; lo: number; hi: number }>(
    db,
    `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, min(id)::INT AS lo, max(id)::INT AS hi FROM ${ds}.chat_messages`,
  );
  assert.equal(counts.n, state.rows, `${where}: rows in the table equal the checkpoint's rows`);
  assert.equal(counts.ids, counts.n, `${where}: no duplicate ids`);
  assert.equal(counts.hi - counts.lo + 1, counts.n, `${where}: the committed rows are one contiguous run of ids`);
  assert.equal(state.offset, state.pages * LIMIT, `${where}: the checkpoint points right after the committed pages`);
  const [orphans] = await queryDb<{ n: number }>(
    db,
    `SELECT count(*)::INT AS n FROM ${ds}.chat_messages__reactions c WHERE c._dlt_parent_id NOT IN (SELECT _dlt_id FROM ${ds}.chat_messages)`,
  );
  assert.equal(orphans.n, 0, `${where}: no nested row without its parent`);
  if (!state.done) assert.notEqual(state.status, "completed", `${where}: an unfinished run is not recorded as completed`);
}

const messageOffsets = (api: ChatApi, from: number) =>
  api.requests.slice(from).filter((r) => r.path === "/v1/messages" && r.status !== 401).map((r) => Number(r.query.offset));

async function crashScenario(scenario: Scenario, log: (message: string) => void): Promise<{ landed: number; reruns: number; afterCommit: number }> {
  const random = seeded(scenario.seed);
  // api.onRequest sees every authorized messages request: the hook that times the kills.
  await using env = await testEnv({ chat: { messages: scenario.messages, latencyMs: 10 }, prefix: "restduck-crash-" });
  const api = env.chat;
  env.defer(() => void (api.onRequest = undefined));
  const config = writeConfig(env.dir, crashConfig(api.url, scenario.disposition), "crash.json");
  const db = join(env.dir, "crash.duckdb");
  const cleanDb = join(env.dir, "clean.duckdb");
  const totalPages = Math.ceil(scenario.messages / LIMIT);

  // The reference: the same config run once without interruption.
  await runPipeline(prepareConfig(crashConfig(api.url, scenario.disposition), { env: SEED_ENV, cwd: env.dir }), { database: cleanDb, pipelineName: "crash" });
  const expected = await snapshot(cleanDb, VIEWS);

  let landed = 0;
  let reruns = 0;
  const points: string[] = [];
  while (landed < scenario.kills) {
    const before = await committed(db);
    const k = 1 + Math.floor(random() * 24); // the k-th page request of this run (2 in flight, up to 8 fetched ahead)…
    const delay = Math.floor(random() * 60); // …plus up to 60 ms, so kills land in commits as well as in requests
    const from = api.requests.length;
    let seen = 0;
    const proc = spawnCli(["run", config, "--db", db, "--quiet"], { cwd: env.dir, env: SEED_ENV });
    api.onRequest = () => {
      if (++seen === k) setTimeout(() => proc.child.kill("SIGKILL"), delay);
    };
    const exit = await proc.done;
    api.onRequest = undefined;
    reruns++;
    const where = `seed ${scenario.seed}, ${scenario.disposition}, kill ${landed + 1} (request ${k} + ${delay} ms)`;
    const offsets = messageOffsets(api, from);
    if (before.pages > 0 && !before.done) {
      // Resumed: the first page asked for is the one after the last committed batch; nothing before it again.
      assert.equal(offsets[0] ?? before.offset, before.offset, `${where}: resumes at the checkpoint`);
      assert.ok(offsets.every((o) => o >= before.offset), `${where}: committed pages are not fetched again (asked ${offsets.join(",")}, committed below ${before.offset})`);
    }
    if (exit.signal !== "SIGKILL") {
      assert.equal(exit.code, 0, `${where}: a run the kill missed completed\n${exit.stderr}`);
      break; // the data ran out before the kill landed
    }
    landed++;
    points.push(`${k}+${delay}ms@page${before.pages}`);
    await assertConsistent(db, scenario, where);
  }

  // Run to completion; then the data must equal the clean run's.
  const before = await committed(db);
  const from = api.requests.length;
  const final = await spawnCli(["run", config, "--db", db, "--quiet"], { cwd: env.dir, env: SEED_ENV }).done;
  assert.equal(final.code, 0, final.stderr);
  const offsets = messageOffsets(api, from);
  if (before.pages > 0 && !before.done && before.status !== "completed") {
    assert.ok(offsets.every((o) => o >= before.offset), `final run refetched committed pages: ${offsets.join(",")} < ${before.offset}`);
  }
  assert.deepEqual(await snapshot(db, VIEWS), expected, `seed ${scenario.seed}: final tables equal a clean run's (kills at ${points.join(", ")})`);
  const [counts] = await queryDb<{ n: number; ids: number }>(db, "SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM crash_dataset.chat_messages");
  assert.deepEqual(counts, { n: scenario.messages, ids: scenario.messages }, "0 lost, 0 duplicated");
  const [run] = await queryDb<{ status: string }>(db, "SELECT status FROM crash_dataset._restduck_runs ORDER BY started_at DESC LIMIT 1");
  assert.equal(run.status, "completed");
  assert.ok(new Set(messageOffsets(api, 0)).size >= totalPages, "every page was fetched");
  log(`kills landed: ${landed} (${points.join(", ")}); final run resumed at page ${before.pages}`);
  return { landed, reruns, afterCommit: points.filter((p) => !p.endsWith("@page0")).length };
}

test(`SIGKILL at 10 seeded points of a merge run loses and duplicates nothing, and resumes without refetching (seed ${SEED})`, async (t) => {
  const { landed, afterCommit } = await crashScenario({ disposition: "merge", messages: 1200, kills: 10, seed: SEED }, (m) => t.diagnostic(m));
  assert.ok(landed >= 10, `only ${landed} kills landed before the data ran out`);
  assert.ok(afterCommit >= 3, `only ${afterCommit} kills landed after a committed batch, so few resumes were tested`);
});

test(`SIGKILL at 4 seeded points of an append run yields exactly the clean run's rows, so no committed page was loaded twice (seed ${SEED + 1})`, async (t) => {
  const { landed, afterCommit } = await crashScenario({ disposition: "append", messages: 600, kills: 4, seed: SEED + 1 }, (m) => t.diagnostic(m));
  assert.ok(landed >= 4, `only ${landed} kills landed before the data ran out`);
  assert.ok(afterCommit >= 1, "at least one kill landed after a committed batch");
});

test(`SIGKILL at 3 seeded points of a replace run still ends with exactly the clean run's rows (seed ${SEED + 2})`, async (t) => {
  const { landed } = await crashScenario({ disposition: "replace", messages: 600, kills: 3, seed: SEED + 2 }, (m) => t.diagnostic(m));
  assert.ok(landed >= 3, `only ${landed} kills landed before the data ran out`);
});
