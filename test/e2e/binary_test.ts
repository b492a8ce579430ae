/**
 * The compiled binary, alone in an empty folder, with no Node, Bun, Deno or
 * node_modules on its PATH: --version, validate, run against the mock API,
 * and query.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { chatApi, seedConfig, SEED_ENV, tempDir, writeConfig } from "../helpers/index.ts";
import type { ChatApi } from "../../src/demo/chat_api.ts";
import { VERSION } from "../../src/version.ts";

const root = resolve(import.meta.dirname, "../..");
const built = join(root, "dist", "restduck");
let dir: { dir: string; cleanup: () => void };
let exe: string;
let api: ChatApi;

/** Runs the binary with a bare environment (nothing on PATH). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(exe, args, { cwd: dir.dir, env: { PATH: "/nonexistent", HOME: dir.dir, XDG_CACHE_HOME: join(dir.dir, ".cache"), ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

before(async () => {
  // Build once per suite run so the test covers the current source.
  const bun = join(root, "node_modules", ".bin", "bun");
  const res = spawnSync(bun, ["scripts/build.ts"], { cwd: root, encoding: "utf8" });
  assert.equal(res.status, 0, `build failed:\n${res.stdout}\n${res.stderr}`);
  assert.ok(existsSync(built));
  dir = tempDir("restduck-e2e-");
  exe = join(dir.dir, "restduck");
  copyFileSync(built, exe);
  spawnSync("chmod", ["+x", exe]);
  api = await chatApi({ messages: 230, faults: [{ nth: 2, status: 429, retryAfter: 1 }] });
});

after(async () => {
  await api?.close();
  dir?.cleanup();
});

test("the binary answers --version without anything else installed", async () => {
  const res = await run(["--version"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.trim(), VERSION);
  assert.ok(statSync(exe).size > 50e6, "DuckDB is embedded");
});

test("the binary validates the seed config", async () => {
  writeConfig(dir.dir, seedConfig(api.url), "chat.json");
  const res = await run(["validate", "chat.json"], SEED_ENV);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /chat\.json is valid: 1 resource/);
  assert.match(res.stdout, /chat_messages → table chat_messages: GET \/v1\/messages, paginator offset, merge on id/);
  const missing = await run(["validate", "chat.json"], { CLIENT_ID: "x" });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /CLIENT_SECRET/);
});

test("the binary runs the seed config into DuckDB and queries it", async () => {
  const res = await run(["run", "chat.json", "--db", "chat.duckdb"], SEED_ENV);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /chat_messages: 230 rows from 3 pages/);
  assert.match(res.stderr, /429/);
  assert.ok(!res.stderr.includes(SEED_ENV.CLIENT_SECRET) && !res.stdout.includes(SEED_ENV.CLIENT_SECRET));
  const q = await run(["query", "--db", "chat.duckdb", "--format", "csv", "select count(*) as n, count(distinct id) as ids from chat_messages"]);
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout, "n,ids\n230,230\n");
});

test("the binary's run is the same process started again with MALLOC_ARENA_MAX=2 and JSC sized for 1 GiB (runtime/process.ts)", { skip: process.platform !== "linux" && "the setting is glibc's" }, async () => {
  writeConfig(dir.dir, seedConfig(api.url), "tuned.json");
  const child = spawn(exe, ["run", "tuned.json", "--db", "tuned.duckdb", "--quiet"], {
    cwd: dir.dir,
    env: { PATH: "/nonexistent", HOME: dir.dir, XDG_CACHE_HOME: join(dir.dir, ".cache"), ...SEED_ENV },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let environ: string[] = [];
  api.onRequest = () => {
    if (environ.length === 0) environ = readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0");
  };
  try {
    const code = await new Promise<number | null>((done) => child.on("close", done));
    assert.equal(code, 0, stderr);
  } finally {
    api.onRequest = undefined;
  }
  assert.ok(environ.includes("MALLOC_ARENA_MAX=2"), "the process that fetched was started with the settings");
  assert.ok(environ.includes(`BUN_JSC_forceRAMSize=${1024 ** 3}`));
  assert.ok(environ.includes(`CLIENT_SECRET=${SEED_ENV.CLIENT_SECRET}`), "and with the rest of the environment");
});

test("the binary runs a TS config that imports secret() from restduck", async () => {
  writeFileSync(
    join(dir.dir, "chat.ts"),
    `import { secret } from "restduck";
const config = ${JSON.stringify(seedConfig(api.url), null, 2).replace(/\{\s*"\$secret":\s*"(\w+)"\s*\}/g, 'secret("$1")')};
export default config;
`,
  );
  const v = await run(["validate", "chat.ts"], SEED_ENV);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /secret client_secret: from env CLIENT_SECRET/);
  const r = await run(["run", "chat.ts", "--db", "ts.duckdb", "--quiet"], SEED_ENV);
  assert.equal(r.code, 0, r.stderr);
  const q = await run(["query", "--db", "ts.duckdb", "-f", "csv", "select count(*) as n from chat_messages"]);
  assert.equal(q.stdout, "n\n230\n");
});

test("the binary's errors exit non-zero without a stack trace", async () => {
  const res = await run(["query", "--db", "nope.duckdb", "select 1"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^error: Database nope\.duckdb does not exist/m);
  assert.doesNotMatch(res.stderr, /at .*\.ts:\d+/);
  const usage = await run(["frobnicate"]);
  assert.equal(usage.code, 2);
});

test("the binary records a run (faults included) with no secret in the recording, and replays it offline without secrets", async () => {
  // A second API with a refused request, so the recording holds a retry; closed before the replay.
  const live = await chatApi({ messages: 310, faults: [{ nth: 2, status: 503 }] });
  try {
    const config = seedConfig(live.url) as { client: Record<string, unknown> };
    config.client.retry = { backoff_factor: 0.01 };
    writeConfig(dir.dir, config, "rec.json");
    const recorded = await run(["run", "rec.json", "--db", "rec-live.duckdb", "--record", "recording"], SEED_ENV);
    assert.equal(recorded.code, 0, recorded.stderr);
  } finally {
    await live.close();
  }
  const { readFileSync } = await import("node:fs");
  const har = readFileSync(join(dir.dir, "recording", "rec.har"), "utf8");
  assert.equal(JSON.parse(har).log.version, "1.2");
  assert.ok(!har.includes(SEED_ENV.CLIENT_SECRET) && !har.includes(SEED_ENV.CLIENT_ID), "no secret in the recording");
  assert.match(har, /"status":503/);
  const replayed = await run(["run", "rec.json", "--db", "rec-replayed.duckdb", "--replay", "recording"]);
  assert.equal(replayed.code, 0, replayed.stderr);
  const q = await run(["query", "--db", "rec-replayed.duckdb", "-f", "csv", "select count(*) as n, sum(id) as ids from chat_messages"]);
  const l = await run(["query", "--db", "rec-live.duckdb", "-f", "csv", "select count(*) as n, sum(id) as ids from chat_messages"]);
  assert.equal(q.stdout, "n,ids\n310,48205\n");
  assert.equal(q.stdout, l.stdout);
});

test("the binary's query output reaches a slow pipe whole, and a reader that closes early ends it quietly", async () => {
  const sql = "select range as i, repeat('x', 60) as pad from range(100000)";
  const sh = (script: string) => spawnSync("/bin/bash", ["-c", script], { cwd: dir.dir, encoding: "utf8", env: { PATH: "/usr/bin:/bin", HOME: dir.dir, XDG_CACHE_HOME: join(dir.dir, ".cache") } });
  // 100,000 rows of ~70 bytes, far past a pipe's 64 KiB, into a reader that waits before reading.
  const slow = sh(`'${exe}' query --db chat.duckdb -f csv "${sql}" | (sleep 0.3; wc -l)`);
  assert.equal(slow.stdout.trim(), "100001", slow.stderr);
  const early = sh(`'${exe}' query --db chat.duckdb -f csv "${sql}" 2>err.txt | head -n 1; echo "exit=\${PIPESTATUS[0]}"`);
  assert.match(early.stdout, /^i,pad\nexit=0\n$/);
  const { readFileSync } = await import("node:fs");
  assert.equal(readFileSync(join(dir.dir, "err.txt"), "utf8"), "", "no EPIPE trace");
});

test("the binary backfills in windows, survives kill -9 in the middle, and a rerun loads each row of the range once", async () => {
  const windowed = await chatApi({ messages: 300, latencyMs: 5 });
  try {
    const config = seedConfig(windowed.url) as { client: Record<string, unknown>; resources: Record<string, unknown>[] };
    config.client.concurrency = 3;
    config.resources[0].endpoint = {
      path: "/v1/messages",
      data_selector: "messages",
      paginator: { type: "offset", limit: 5, total_path: null, stop_after_empty_page: true },
      params: { since: "{incremental.start_value}", until: "{incremental.end_value}" },
      incremental: { cursor_path: "timestamp", initial_value: "2024-03-01T00:00:00Z", end_value: "2024-03-07T00:00:00Z", window: "1d" },
    };
    writeConfig(dir.dir, { ...config, pipeline_name: "backfill", batch_pages: 2, resource_defaults: { primary_key: "id", write_disposition: "append" } }, "backfill.json");
    const expected = windowed.messages.filter((m) => m.timestamp < "2024-03-07").length;
    // kill -9 right after the first committed batch (its event, printed once the commit is done):
    // some windows are in the file, others still in flight, whatever the machine's load.
    const child = spawn(exe, ["run", "backfill.json", "--db", "backfill.duckdb", "--json"], { cwd: dir.dir, env: { PATH: "/nonexistent", HOME: dir.dir, XDG_CACHE_HOME: join(dir.dir, ".cache"), ...SEED_ENV } });
    const killed = new Promise<string | null>((resolveKill) => child.on("close", (_code, signal) => resolveKill(signal)));
    child.stdout.on("data", (d) => {
      if (String(d).includes('"type":"batch_committed"')) child.kill("SIGKILL");
    });
    assert.equal(await killed, "SIGKILL");
    windowed.onRequest = undefined;
    const rerun = await run(["run", "backfill.json", "--db", "backfill.duckdb", "--json"], SEED_ENV);
    assert.equal(rerun.code, 0, rerun.stderr);
    const events = rerun.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const started = events.find((e) => e.type === "resource_started");
    assert.equal(started.windows.total, 6);
    assert.ok(started.resumedAtPage > 0, "the rerun resumed the killed backfill");
    assert.deepEqual(events.filter((e) => e.type === "window_finished").at(-1).done, 6);
    const q = await run(["query", "--db", "backfill.duckdb", "-f", "csv", "select count(*) as n, count(distinct id) as ids from chat_messages"]);
    assert.equal(q.stdout, `n,ids\n${expected},${expected}\n`);
  } finally {
    windowed.onRequest = undefined;
    await windowed.close();
  }
});
