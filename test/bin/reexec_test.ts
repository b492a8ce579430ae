/**
 * A loading command starts again as a copy tuned for memory (runtime/process.ts: glibc's
 * MALLOC_ARENA_MAX is read only at process start). The copy must be the same process to
 * the user: the same PID, arguments, stdio, signals and exit codes; a user's own setting wins.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { LOADING_JSC_RAM_BYTES, LOADING_MALLOC_ARENAS, LOADING_SEMI_SPACE_MB, loadingReexec } from "../../src/runtime/process.ts";
import { spawnCli } from "../robustness/helpers.ts";
import { chatApi, queryDb, SEED_ENV, seedConfig, tempDir, writeConfig } from "../helpers/index.ts";

const linux = process.platform === "linux";
/**
 * The CLI child runs on this test's runtime. Under Bun it starts again, as the binary does; Node's CLI
 * does not (the cost outweighs the gain there: runtime/process.ts), and Deno has no process.execve.
 */
const restarts = linux && (process.versions as Record<string, string | undefined>).bun !== undefined;
const noRestart = !linux ? "the re-exec is Linux only" : "only Bun's CLI (and the binary, test/e2e/binary_test.ts) starts again; this runtime's does not";
const onNode = !(process.versions as Record<string, string | undefined>).bun && !(process.versions as Record<string, string | undefined>).deno;
const base = { env: { PATH: "/bin", HOME: "/home/u" }, platform: "linux", execPath: "/usr/bin/node", execArgv: ["--enable-source-maps"], script: "/app/restduck.js", canExec: true };

test("a run starts again with two malloc arenas, its runtime flags, script and arguments in order", () => {
  const plan = loadingReexec({ ...base, flags: ["--max-semi-space-size=16"], args: ["run", "my config.json", "--db", "a b.duckdb", "--quiet"] });
  assert.deepEqual(plan, {
    file: "/usr/bin/node",
    args: ["/usr/bin/node", "--enable-source-maps", "--max-semi-space-size=16", "/app/restduck.js", "run", "my config.json", "--db", "a b.duckdb", "--quiet"],
    env: { PATH: "/bin", HOME: "/home/u", MALLOC_ARENA_MAX: LOADING_MALLOC_ARENAS },
  });
  assert.equal(LOADING_MALLOC_ARENAS, "2");
});

test("a heap flag the user gave, on the command line or in NODE_OPTIONS, stands", () => {
  const flags = ["--max-semi-space-size=16"];
  assert.deepEqual(loadingReexec({ ...base, flags, execArgv: ["--max-semi-space-size=64"], args: ["run", "c.json"] })?.args.slice(1, 3), ["--max-semi-space-size=64", "/app/restduck.js"]);
  const viaEnv = loadingReexec({ ...base, flags, env: { ...base.env, NODE_OPTIONS: "--max_semi_space_size=2 --enable-source-maps" }, args: ["run", "c.json"] });
  assert.deepEqual(viaEnv?.args.slice(1, 3), ["--enable-source-maps", "/app/restduck.js"]);
  assert.equal(viaEnv?.env.NODE_OPTIONS, "--max_semi_space_size=2 --enable-source-maps");
});

test("the compiled binary starts again as itself, with only the user's arguments and its heap setting", () => {
  const settings = { BUN_JSC_forceRAMSize: LOADING_JSC_RAM_BYTES };
  const plan = loadingReexec({ ...base, execPath: "/opt/restduck", execArgv: [], script: undefined, settings, args: ["demo", "--messages", "10"] });
  assert.deepEqual(plan?.args, ["/opt/restduck", "demo", "--messages", "10"]);
  assert.equal(plan?.env.BUN_JSC_forceRAMSize, String(1024 ** 3));
  const mine = loadingReexec({ ...base, env: { ...base.env, BUN_JSC_forceRAMSize: "123" }, settings, args: ["run", "c.json"] });
  assert.equal(mine?.env.BUN_JSC_forceRAMSize, "123", "a user's value stands");
});

test("quick commands, other systems, runtimes without execve and a user's MALLOC_ARENA_MAX are left as they are", () => {
  for (const args of [["--version"], ["--help"], [], ["query", "select 1"], ["validate", "c.json"], ["info"]]) assert.equal(loadingReexec({ ...base, args }), undefined, args.join(" "));
  assert.equal(loadingReexec({ ...base, args: ["run", "c.json"], platform: "darwin" }), undefined);
  assert.equal(loadingReexec({ ...base, args: ["run", "c.json"], canExec: false }), undefined);
  assert.equal(loadingReexec({ ...base, args: ["run", "c.json"], env: { ...base.env, MALLOC_ARENA_MAX: "8" } }), undefined);
  assert.equal(loadingReexec({ ...base, args: ["run", "c.json"], env: { ...base.env, MALLOC_ARENA_MAX: "" } }), undefined, "set, even empty, is the user's choice");
});

/** The environment the running process `pid` was started with. */
function environ(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** Runs `restduck run` against a slow mock API; `whileRunning` sees the process while its first request is answered. */
async function runWatched(env: Record<string, string>, whileRunning: (pid: number) => void, options: { kill?: NodeJS.Signals } = {}) {
  const api = await chatApi({ messages: 60, latencyMs: 30 });
  const tmp = tempDir("restduck reexec ");
  try {
    const config = seedConfig(api.url) as { resources: { endpoint: { paginator: { limit: number } } }[] };
    config.resources[0].endpoint.paginator.limit = 10;
    const path = writeConfig(tmp.dir, { pipeline_name: "re", ...config }, "my config.json");
    const db = join(tmp.dir, "out dir", "re.duckdb");
    const proc = spawnCli(["run", path, "--db", db], { cwd: tmp.dir, env: { ...SEED_ENV, ...env } });
    let seen = false;
    api.onRequest = () => {
      if (seen) return;
      seen = true;
      whileRunning(proc.child.pid!);
      if (options.kill) proc.child.kill(options.kill);
    };
    const exit = await proc.done;
    api.onRequest = undefined;
    const rows = exit.code === 0 ? (await queryDb<{ n: number }>(db, "SELECT count(*)::INT AS n FROM re_dataset.chat_messages"))[0].n : undefined;
    return { exit, rows };
  } finally {
    await api.close();
    tmp.cleanup();
  }
}

test("the CLI's run is the same process, started again with MALLOC_ARENA_MAX=2, and loads everything", { skip: !restarts && noRestart }, async () => {
  let seen: Record<string, string> = {};
  let cmdline = "";
  const { exit, rows } = await runWatched({}, (pid) => {
    seen = environ(pid);
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  });
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(seen.MALLOC_ARENA_MAX, "2", "the process that fetched (same PID) was started with the setting");
  assert.equal(seen.CLIENT_SECRET, SEED_ENV.CLIENT_SECRET, "the rest of the environment carries over");
  assert.equal(rows, 60, "paths with spaces arrived whole");
});

test("Node's CLI run is not started again: the same process runs with the environment it was given", { skip: !(linux && onNode) && "checks Node's CLI on Linux" }, async () => {
  let seen: Record<string, string> = {};
  const { exit, rows } = await runWatched({}, (pid) => (seen = environ(pid)));
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(seen.MALLOC_ARENA_MAX, undefined, "no start-again added the arena setting");
  assert.equal(seen.CLIENT_SECRET, SEED_ENV.CLIENT_SECRET);
  assert.equal(rows, 60);
});

test("a user's MALLOC_ARENA_MAX stands", { skip: !linux && "MALLOC_ARENA_MAX is glibc's" }, async () => {
  let seen: Record<string, string> = {};
  const { exit } = await runWatched({ MALLOC_ARENA_MAX: "4" }, (pid) => (seen = environ(pid)));
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(seen.MALLOC_ARENA_MAX, "4");
});

test("SIGTERM reaches the started-again run: it stops cleanly with 143", { skip: !restarts && noRestart }, async () => {
  let seen: Record<string, string> = {};
  const { exit } = await runWatched({}, (pid) => (seen = environ(pid)), { kill: "SIGTERM" });
  assert.equal(seen.MALLOC_ARENA_MAX, "2", "the signalled process is the tuned copy");
  assert.equal(exit.code, 143, exit.stderr);
  assert.match(exit.stderr, /error: run interrupted by SIGTERM/);
});

test("a run's usage errors keep their exit code through the start-again", async () => {
  const tmp = tempDir("restduck reexec ");
  try {
    const exit = await spawnCli(["run", "missing config.json"], { cwd: tmp.dir }).done;
    assert.equal(exit.code, 2, exit.stderr);
    assert.match(exit.stderr, /missing config\.json/);
  } finally {
    tmp.cleanup();
  }
});
