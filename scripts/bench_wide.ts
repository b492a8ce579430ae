/**
 * One record that brings thousands of new keys into a table that exists (issue #11, item 2).
 * For each width: a local API on 127.0.0.1; a first `restduck run` loads a page of ordinary
 * records, a second run gets one record with N new keys. Reports the second run's peak RSS
 * (`/usr/bin/time -v`), wall time, exit code and whether `<db>.tmp` was left behind.
 * With `--sigterm-after S` the second run gets a SIGTERM S seconds in, and the time from the
 * signal to the exit is reported too.
 *
 *   node scripts/bench_wide.ts [--keys 1000,3000,10000] [--rows 1000] [--merge] [--sigterm-after 2]
 *        [--kill-above-mb 4000] [--runner binary]
 *
 * `--merge` gives the wide record an id the table already has (the MERGE path instead of the
 * Appender). A run whose RSS passes `--kill-above-mb` is killed (SIGKILL, by PID) so the machine
 * stays usable; that is reported as `killed`. Run it under `nice` on a shared machine; the
 * numbers belong in BENCHMARKS.md.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { tempDir, writeConfig } from "../test/helpers/index.ts";

const root = resolve(import.meta.dirname, "..");
const node = existsSync(join(root, "node_modules/.bin/node")) ? join(root, "node_modules/.bin/node") : process.execPath;
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

const { values: opts } = parseArgs({
  options: {
    keys: { type: "string", default: "1000,3000,10000" },
    rows: { type: "string", default: "1000" },
    merge: { type: "boolean", default: false },
    "sigterm-after": { type: "string" },
    "kill-above-mb": { type: "string", default: "4000" },
    runner: { type: "string", default: "node" },
  },
});

let wideKeys = 0;
const rows = Number(opts.rows);
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const body =
    url.pathname === "/normal"
      ? { items: Array.from({ length: rows }, (_, i) => ({ id: i + 1, name: `n${i}`, score: i * 0.5, at: "2026-01-01T00:00:00Z" })) }
      : { items: [{ id: opts.merge ? 1 : rows + 1, name: "wide", ...Object.fromEntries(Array.from({ length: wideKeys }, (_, i) => [`key_${i}`, i])) }] };
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

interface Result {
  code: number | null;
  signal: string | null;
  seconds: number;
  peakMB: number;
  /** User + system CPU seconds (less sensitive to a busy machine than wall time). */
  cpuSeconds: number;
  killed: boolean;
  signalToExitSeconds?: number;
  stderr: string;
}

function runCli(args: string[], cwd: string, sigtermAfter?: number): Promise<Result> {
  const cli = opts.runner === "binary" ? [join(root, "dist/restduck")] : [node, join(root, "src/bin/restduck.ts")];
  const argv = TIME ? ["-v", ...cli, ...args] : cli.slice(1).concat(args);
  const child = spawn(TIME ?? cli[0], argv, { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const started = performance.now();
  let killed = false;
  let signalledAt: number | undefined;
  // /usr/bin/time forwards nothing: watch and signal its child, the CLI itself.
  const cliPid = (): number | undefined => {
    if (!TIME) return child.pid;
    try {
      return Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/)[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  const limitKb = Number(opts["kill-above-mb"]) * 1024;
  const watch = setInterval(() => {
    const pid = cliPid();
    if (!pid) return;
    try {
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      if (rss > limitKb && !killed) {
        killed = true;
        process.kill(pid, "SIGKILL");
      }
    } catch {
      // the process has just ended
    }
  }, 100);
  const term =
    sigtermAfter === undefined
      ? undefined
      : setTimeout(() => {
          const pid = cliPid();
          if (pid) {
            signalledAt = performance.now();
            process.kill(pid, "SIGTERM");
          }
        }, sigtermAfter * 1000);
  return new Promise((resolveRun) => {
    child.on("close", (code, signal) => {
      clearInterval(watch);
      if (term) clearTimeout(term);
      const ended = performance.now();
      const peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0);
      // /usr/bin/time reports a child killed by a signal as "Command terminated by signal N" and exits 1.
      const exitStatus = /Exit status: (\d+)/.exec(stderr)?.[1];
      resolveRun({
        code: exitStatus !== undefined ? Number(exitStatus) : code,
        signal: /terminated by signal (\d+)/.exec(stderr)?.[1] ?? signal,
        seconds: (ended - started) / 1000,
        peakMB: Math.round(peakKb / 1024),
        cpuSeconds: Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? 0) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? 0),
        killed,
        signalToExitSeconds: signalledAt === undefined ? undefined : (ended - signalledAt) / 1000,
        stderr,
      });
    });
  });
}

const config = (path: string) => ({
  pipeline_name: "wide",
  client: { base_url: base },
  resource_defaults: { primary_key: "id", write_disposition: "merge" },
  resources: [{ name: "things", endpoint: { path, data_selector: "items", paginator: "single_page" } }],
});

for (const keys of opts.keys.split(",").map(Number)) {
  const tmp = tempDir("restduck-bench-wide-");
  try {
    const db = join(tmp.dir, "wide.duckdb");
    const first = await runCli(["run", writeConfig(tmp.dir, config("/normal"), "normal.json"), "--db", db, "--quiet"], tmp.dir);
    if (first.code !== 0) throw new Error(`first run failed:\n${first.stderr}`);
    wideKeys = keys;
    const sigterm = opts["sigterm-after"] === undefined ? undefined : Number(opts["sigterm-after"]);
    const second = await runCli(["run", writeConfig(tmp.dir, config("/wide"), "wide.json"), "--db", db, ...(process.env.BENCH_STDERR ? ["--verbose"] : ["--quiet"])], tmp.dir, sigterm);
    const leftovers = readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"));
    const error = /^error: .*$/m.exec(second.stderr)?.[0];
    console.log(
      JSON.stringify({
        keys,
        rows,
        merge: opts.merge,
        runner: opts.runner,
        code: second.code,
        signal: second.signal,
        killed: second.killed,
        seconds: Number(second.seconds.toFixed(2)),
        peakMB: second.peakMB,
        cpuSeconds: Number(second.cpuSeconds.toFixed(2)),
        signalToExitSeconds: second.signalToExitSeconds === undefined ? undefined : Number(second.signalToExitSeconds.toFixed(2)),
        tmpLeft: leftovers,
        error: error?.slice(0, 200),
        ...(process.env.BENCH_STDERR ? { stderr: second.stderr.slice(0, 3000) } : {}),
      }),
    );
  } finally {
    tmp.cleanup();
  }
}
server.close();
