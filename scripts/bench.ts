/**
 * The benchmark: restduck's CLI against the bench chat API, next to the
 * machine's limit measured in the same run (a plain concurrent fetch + parse
 * of the same pages, and DuckDB's read_json of the same records).
 *
 *   npm run bench                      # every scenario, 3 runs each (1M: 1 run)
 *   npm run bench -- --quick           # 1 run each, no 1M, no token-expiry scenario
 *   npm run bench -- --only 100k,faults --runs 5 --runner binary
 *   npm run bench -- --only faults --concurrency 16      # adds a row with client.concurrency: 16
 *   npm run bench -- --only faults --baseline /tmp/main  # adds that checkout's CLI (its dist/restduck with --runner binary), runs interleaved
 *
 * restduck runs the seed config exactly as written (src/demo/chat_api.ts's seedConfig, no tuning
 * keys: issue #15 sets its targets for that); `--concurrency N` is an extra row beside it.
 *
 * Every server and process it starts is stopped by PID; everything listens
 * on 127.0.0.1; every loop is bounded. Prints a Markdown report (and writes
 * it with the raw numbers as JSON to --out, default $TMPDIR/restduck-bench/).
 * Numbers belong in BENCHMARKS.md, never in tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { seedConfig } from "../src/demo/chat_api.ts";
import { openDatabase } from "../src/load/db.ts";
import { BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, ndjsonPath } from "./bench_server.ts";

const root = resolve(import.meta.dirname, "..");
const node = existsSync(join(root, "node_modules/.bin/node")) ? join(root, "node_modules/.bin/node") : process.execPath;
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    runs: { type: "string" },
    concurrency: { type: "string" },
    baseline: { type: "string" },
    workers: { type: "string", default: "2" },
    runner: { type: "string", default: "node" },
    out: { type: "string", default: join(tmpdir(), "restduck-bench") },
  },
});
const runs = opts.runs ? Number(opts.runs) : opts.quick ? 1 : 3;
/** What a scenario runs, interleaved run by run: the seed config here, and the opt-in extras. */
interface Variant {
  label: string;
  /** The checkout whose CLI runs. */
  root: string;
  /** Sets client.concurrency (a tuning key) in the config. */
  concurrency?: number;
}
const variants: Variant[] = [
  { label: `${opts.runner}, seed config`, root: resolve(import.meta.dirname, "..") },
  ...(opts.baseline ? [{ label: `${opts.runner}, seed config, baseline ${opts.baseline}`, root: resolve(opts.baseline) }] : []),
  ...(opts.concurrency ? [{ label: `${opts.runner}, concurrency ${opts.concurrency}`, root: resolve(import.meta.dirname, ".."), concurrency: Number(opts.concurrency) }] : []),
];
const only = opts.only ? new Set(opts.only.split(",")) : undefined;
const work = resolve(opts.out);
mkdirSync(work, { recursive: true });
const cacheDir = join(tmpdir(), "restduck-bench-cache");
const BENCH_DEADLINE = Date.now() + 60 * 60 * 1000; // never run for more than an hour
const wanted = (name: string) => (only ? only.has(name) : true);

// ------------------------------------------------------------ processes

interface Measured {
  wallMs: number;
  cpuS: number;
  maxRssMb: number;
  code: number;
  stdout: string;
  stderr: string;
  /** CPU seconds the bench server's processes used meanwhile. */
  serverCpuS: number;
}

const started: ChildProcess[] = [];

function cpuOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // not Linux, or gone
    }
  }
  return ticks / 100;
}

/** Runs a command to completion under /usr/bin/time -v (or sampling /proc), with a time bound. */
async function measure(cmd: string, args: string[], options: { env?: Record<string, string>; serverPids?: number[]; timeoutMs?: number } = {}): Promise<Measured> {
  const timeFile = join(work, `time-${process.pid}.txt`);
  rmSync(timeFile, { force: true });
  const argv = TIME ? [TIME, "-v", "-o", timeFile, cmd, ...args] : [cmd, ...args];
  const serverBefore = cpuOf(options.serverPids ?? []);
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { cwd: work, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c) => (stdout += c));
  child.stderr!.on("data", (c) => (stderr += c));
  let hwmKb = 0;
  let cpuS = 0;
  const sampler = TIME
    ? undefined
    : setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
          hwmKb = Math.max(hwmKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
          cpuS = cpuOf([child.pid!]);
        } catch {
          // exited
        }
      }, 50);
  const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 15 * 60 * 1000);
  const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
  clearTimeout(timer);
  if (sampler) clearInterval(sampler);
  const wallMs = performance.now() - t0;
  const serverCpuS = cpuOf(options.serverPids ?? []) - serverBefore;
  if (TIME && existsSync(timeFile)) {
    const t = readFileSync(timeFile, "utf8");
    const num = (re: RegExp) => Number(re.exec(t)?.[1] ?? 0);
    cpuS = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
    hwmKb = num(/Maximum resident set size \(kbytes\): (\d+)/);
  }
  return { wallMs, cpuS, maxRssMb: hwmKb / 1024, code, stdout, stderr, serverCpuS };
}

interface Server {
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

/** Starts the bench server and waits for its ready line (bounded). */
async function startServer(args: { messages: number; faultRate?: number; latencyMs?: number; tokenTtl?: number; rateRequests?: number; rateHeaders?: boolean; workers?: number }): Promise<Server> {
  const argv = [
    join(root, "scripts/bench_server.ts"),
    "--messages", String(args.messages),
    "--workers", String(args.workers ?? opts.workers),
    "--rate-requests", String(args.rateRequests ?? 0),
    "--rate-headers", String(args.rateHeaders ?? true),
    "--fault-rate", String(args.faultRate ?? 0),
    "--latency-ms", String(args.latencyMs ?? 0),
    "--token-ttl", String(args.tokenTtl ?? 3600),
    "--cache", cacheDir,
  ];
  const child = spawn(node, argv, { stdio: ["ignore", "pipe", "inherit"] });
  started.push(child);
  const ready = await new Promise<{ url: string; pids: number[] }>((resolveReady, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("bench server did not start within 10 minutes")), 10 * 60 * 1000);
    child.stdout!.on("data", (c) => {
      buf += c;
      const line = buf.split("\n").find((l) => l.startsWith("{"));
      if (line && buf.includes("\n")) {
        clearTimeout(timer);
        resolveReady(JSON.parse(line));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited with ${code}`));
    });
  });
  return {
    url: ready.url,
    pids: [child.pid!, ...ready.pids],
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function withServer<T>(args: Parameters<typeof startServer>[0], fn: (s: Server) => Promise<T>): Promise<T> {
  const server = await startServer(args);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

// -------------------------------------------------------------- restduck

// With --runner binary a baseline runs its own checkout's dist/restduck (build it there first).
const restduckCmd = (variant: Variant = variants[0]): [string, string[]] =>
  opts.runner === "binary" ? [join(variant.root, "dist/restduck"), []] : [node, [join(variant.root, "src/bin/restduck.ts")]];

function writeBenchConfig(url: string, name: string, extra: { concurrency?: number; incremental?: boolean; rateLimit?: unknown } = {}): string {
  const config = seedConfig(url) as { client: Record<string, unknown>; resources: { endpoint: Record<string, unknown> }[]; pipeline_name?: string };
  config.pipeline_name = "bench";
  // The seed config as written: only an opt-in variant sets a tuning key.
  if (extra.concurrency !== undefined) config.client.concurrency = extra.concurrency;
  if (extra.rateLimit !== undefined) config.client.rate_limit = extra.rateLimit;
  if (extra.incremental) config.resources[0].endpoint.params = { since_id: { type: "incremental", cursor_path: "id", initial_value: 0 } };
  const path = join(work, `${name}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

interface RestduckRun extends Measured {
  rows: number;
  requests: number;
  retries: number;
}

async function runRestduck(server: Server, config: string, db: string, options: { fresh: boolean; extra?: string[]; variant?: Variant }): Promise<RestduckRun> {
  if (options.fresh) for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  const [cmd, pre] = restduckCmd(options.variant);
  const m = await measure(cmd, [...pre, "run", config, "--db", db, "--quiet", ...(options.extra ?? [])], {
    env: { CLIENT_ID: BENCH_CLIENT_ID, CLIENT_SECRET: BENCH_CLIENT_SECRET },
    serverPids: server.pids,
  });
  if (m.code !== 0) throw new Error(`restduck run failed (exit ${m.code}):\n${m.stderr.slice(-2000)}`);
  const database = await openDatabase(db, { readOnly: true });
  try {
    const [run] = await database.all<{ requests: number; retries: number }>(
      `SELECT requests, retries FROM bench_dataset._restduck_runs ORDER BY started_at DESC LIMIT 1`,
    );
    const [count] = await database.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM bench_dataset.chat_messages`);
    // HTTP requests made: logical requests (token requests included) plus their retries.
    return { ...m, rows: count.n, requests: Number(run.requests) + Number(run.retries), retries: Number(run.retries) };
  } finally {
    database.close();
  }
}

// ------------------------------------------------------------ the limits

async function fetchLimit(server: Server, messages: number, levels = [8, 32]): Promise<Measured & { rows: number; requests: number; concurrency: number }> {
  let best: (Measured & { rows: number; requests: number; concurrency: number }) | undefined;
  for (const c of levels) {
    const m = await measure(node, [join(root, "scripts/bench_fetch.ts"), "--url", server.url, "--messages", String(messages), "--concurrency", String(c)], {
      serverPids: server.pids,
    });
    if (m.code !== 0) throw new Error(`bench_fetch failed: ${m.stderr.slice(-1000)}`);
    const r = JSON.parse(m.stdout.trim().split("\n").pop()!) as { rows: number; requests: number; ms: number };
    if (!best || m.wallMs < best.wallMs) best = { ...m, rows: r.rows, requests: r.requests, concurrency: c };
  }
  return best!;
}

async function duckdbLimit(messages: number, nested: boolean): Promise<Measured & { rows: number }> {
  const db = join(work, "limit.duckdb");
  const m = await measure(node, [join(root, "scripts/bench_duckdb.ts"), "--ndjson", ndjsonPath(messages, { cacheDir }), "--db", db, ...(nested ? ["--nested"] : [])]);
  if (m.code !== 0) throw new Error(`bench_duckdb failed: ${m.stderr.slice(-1000)}`);
  rmSync(db, { force: true });
  rmSync(`${db}.wal`, { force: true });
  return { ...m, rows: (JSON.parse(m.stdout.trim()) as { rows: number }).rows };
}

// ---------------------------------------------------------------- report

interface Row {
  scenario: string;
  what: string;
  runs: { wallMs: number; rowsPerS: number; maxRssMb: number; cpuS: number; requests: number; serverCpuS: number }[];
  /** rows/s of the limit this scenario is compared with. */
  limitRowsPerS?: number;
  /** CPU seconds the limit needed for the same rows: a ratio that holds up on a busy machine. */
  limitCpuS?: number;
  note?: string;
}

const rows: Row[] = [];
/** Result lines that are not rows of the table (printed after it). */
const lines: string[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const spread = (xs: number[], digits = 0) =>
  xs.length > 1 ? `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})` : fmt(xs[0], digits);

function record(scenario: string, what: string, results: (Measured & { rows: number; requests?: number })[], extra: Partial<Row> = {}): Row {
  const row: Row = {
    scenario,
    what,
    runs: results.map((r) => ({
      wallMs: r.wallMs,
      rowsPerS: r.rows / (r.wallMs / 1000),
      maxRssMb: r.maxRssMb,
      cpuS: r.cpuS,
      requests: r.requests ?? 0,
      serverCpuS: r.serverCpuS,
    })),
    ...extra,
  };
  rows.push(row);
  const line = renderRow(row);
  console.error(line);
  return row;
}

function renderRow(r: Row): string {
  const rps = r.runs.map((x) => x.rowsPerS);
  const rowsCell = rps.every((x) => x === 0) ? "—" : spread(rps);
  const cpu = r.limitCpuS ? ` (CPU ${fmt((r.limitCpuS / median(r.runs.map((x) => x.cpuS))) * 100)}%)` : "";
  const ratio = r.limitRowsPerS ? `${fmt((median(rps) / r.limitRowsPerS) * 100)}%${cpu}` : "";
  return `| ${r.scenario} | ${r.what} | ${r.runs.length} | ${spread(r.runs.map((x) => x.wallMs / 1000), 2)} | ${rowsCell} | ${spread(r.runs.map((x) => x.maxRssMb))} | ${spread(r.runs.map((x) => x.cpuS), 1)} | ${fmt(median(r.runs.map((x) => x.requests)))} | ${fmt(median(r.runs.map((x) => x.serverCpuS)), 1)} | ${ratio} |${r.note ? ` ${r.note}` : ""}`;
}

function checkDeadline(): void {
  if (Date.now() > BENCH_DEADLINE) throw new Error("benchmark ran over its one-hour bound; stopping");
}

// ------------------------------------------------------------- scenarios

/** Runs every variant `n` times, interleaved run by run, so all of them see the same machine load. */
async function interleaved(n: number, run: (v: Variant, index: number) => Promise<RestduckRun>, before?: (i: number) => Promise<void>): Promise<Map<Variant, RestduckRun[]>> {
  const out = new Map<Variant, RestduckRun[]>(variants.map((v) => [v, []]));
  for (let i = 0; i < n; i++) {
    checkDeadline();
    await before?.(i);
    for (const [index, v] of variants.entries()) out.get(v)!.push(await run(v, index));
  }
  return out;
}

async function sizeScenario(messages: number, label: string, n: number): Promise<void> {
  await withServer({ messages }, async (server) => {
    const fetches: (Measured & { rows: number; requests: number; concurrency: number })[] = [];
    const flat: (Measured & { rows: number })[] = [];
    const nested: (Measured & { rows: number })[] = [];
    const withDuckdb = messages <= 100_000 || !opts.quick;
    // Limits and restduck interleaved, so all of them see the same machine load.
    const mine = await interleaved(
      n,
      (v, index) => runRestduck(server, writeBenchConfig(server.url, `bench-${label}-${index}`, { concurrency: v.concurrency }), join(work, `bench-${label}-${index}.duckdb`), { fresh: true, variant: v }),
      async () => {
        fetches.push(await fetchLimit(server, messages));
        if (withDuckdb) {
          flat.push(await duckdbLimit(messages, false));
          nested.push(await duckdbLimit(messages, true));
        }
      },
    );
    // Issue #15: the limit is the lower of the plain fetch and DuckDB's own ingest with child tables.
    let limit = record(label, `limit: plain fetch + JSON.parse (best of c=8/32)`, fetches);
    if (withDuckdb) {
      record(label, "limit: DuckDB read_json (nested kept as LIST/STRUCT)", flat);
      const ingest = record(label, "limit: DuckDB read_json + UNNEST child tables", nested);
      if (median(ingest.runs.map((r) => r.rowsPerS)) < median(limit.runs.map((r) => r.rowsPerS))) limit = ingest;
    }
    const limitRps = median(limit.runs.map((r) => r.rowsPerS));
    for (const [v, runs] of mine) {
      record(label, `restduck (${v.label})`, runs, { limitRowsPerS: limitRps, limitCpuS: median(limit.runs.map((r) => r.cpuS)), note: `vs the lower limit: ${limit.what.replace(/^limit: /, "")}` });
    }
  });
}

/** Issue #16: what writing every exchange to a HAR file costs, against the same run without it (interleaved). */
async function recordScenario(n: number): Promise<void> {
  await withServer({ messages: 100_000 }, async (server) => {
    const config = writeBenchConfig(server.url, "bench-record");
    const db = join(work, "bench-record.duckdb");
    const plain: RestduckRun[] = [];
    const recorded: RestduckRun[] = [];
    for (let i = 0; i < n; i++) {
      checkDeadline();
      plain.push(await runRestduck(server, config, db, { fresh: true }));
      recorded.push(await runRestduck(server, config, db, { fresh: true, extra: ["--record", join(work, "recording")] }));
    }
    record("record 100k", "restduck, no recording", plain);
    const ratio = median(recorded.map((r) => r.wallMs)) / median(plain.map((r) => r.wallMs));
    const cpu = median(recorded.map((r) => r.cpuS)) / median(plain.map((r) => r.cpuS));
    record("record 100k", "restduck --record (HAR of every exchange)", recorded, { note: `wall ×${fmt(ratio, 2)}, CPU ×${fmt(cpu, 2)} of no recording` });
  });
}

/** Issue #15: 5% of requests answer a transient 500/502/503/504 (no Retry-After: the client's backoff applies). */
async function faultScenario(n: number): Promise<void> {
  await withServer({ messages: 100_000, faultRate: 0.05 }, async (server) => {
    const mine = await interleaved(n, (v, index) =>
      runRestduck(server, writeBenchConfig(server.url, `bench-faults-${index}`, { concurrency: v.concurrency }), join(work, `bench-faults-${index}.duckdb`), { fresh: true, variant: v }),
    );
    for (const [v, runs] of mine) {
      record("100k, 5% 500/502/503/504", `restduck (${v.label})`, runs, {
        limitRowsPerS: 9000,
        note: `ratio vs the target 9,000 rows/s; retries ${runs.map((m) => m.retries).join("/")}`,
      });
    }
  });
}

async function latencyScenario(n: number): Promise<void> {
  await withServer({ messages: 100_000, latencyMs: 20 }, async (server) => {
    checkDeadline();
    const sequential = await fetchLimit(server, 100_000, [1]);
    const seq = record("1,000 pages × 20 ms", "sequential plain fetch (the baseline)", [sequential]);
    const mine = await interleaved(n, (v, index) =>
      runRestduck(server, writeBenchConfig(server.url, `bench-latency-${index}`, { concurrency: v.concurrency }), join(work, `bench-latency-${index}.duckdb`), { fresh: true, variant: v }),
    );
    const seqRps = seq.runs[0].rowsPerS;
    for (const [v, runs] of mine) {
      const row = record("1,000 pages × 20 ms", `restduck (${v.label})`, runs, { limitRowsPerS: seqRps });
      row.note = `${fmt(median(row.runs.map((r) => r.rowsPerS)) / seqRps, 1)}× the sequential fetch (ratio column is vs sequential)`;
    }
  });
}

/**
 * The same 1,000 pages × 20 ms with the HTTP side alone (scripts/bench_walk.ts: the run's HTTP edge
 * and walkPages, records counted and dropped): what the requests carry when the pipeline's own CPU
 * is not the bottleneck.
 */
async function latencyHttpScenario(n: number): Promise<void> {
  await withServer({ messages: 100_000, latencyMs: 20 }, async (server) => {
    checkDeadline();
    const seq = record("1,000 pages × 20 ms, HTTP side only", "sequential plain fetch (the baseline)", [await fetchLimit(server, 100_000, [1])]);
    const seqRps = seq.runs[0].rowsPerS;
    const out = new Map<Variant, (Measured & { rows: number; requests: number })[]>(variants.map((v) => [v, []]));
    for (let i = 0; i < n; i++) {
      checkDeadline();
      for (const v of variants) {
        const args = [join(root, "scripts/bench_walk.ts"), "--url", server.url, "--root", v.root, ...(v.concurrency ? ["--concurrency", String(v.concurrency)] : [])];
        const m = await measure(node, args, { serverPids: server.pids });
        if (m.code !== 0) throw new Error(`bench_walk failed: ${m.stderr.slice(-1000)}`);
        const r = JSON.parse(m.stdout.trim().split("\n").pop()!) as { rows: number; pages: number; ms: number };
        // The walk's own time: Node's start-up and module loading would be a third of it.
        out.get(v)!.push({ ...m, wallMs: r.ms, rows: r.rows, requests: r.pages });
      }
    }
    for (const [v, runs] of out) {
      const row = record("1,000 pages × 20 ms, HTTP side only", `walkPages + the run's HTTP edge (${v.label})`, runs, { limitRowsPerS: seqRps });
      row.note = `${fmt(median(row.runs.map((r) => r.rowsPerS)) / seqRps, 1)}× the sequential fetch (walk time, without start-up)`;
    }
  });
}

async function incrementalScenario(n: number): Promise<void> {
  await withServer({ messages: 100_000 }, async (server) => {
    const dbs = new Map<Variant, string>();
    const configs = new Map<Variant, string>();
    for (const [index, v] of variants.entries()) {
      const config = writeBenchConfig(server.url, `bench-incremental-${index}`, { incremental: true, concurrency: v.concurrency });
      const db = join(work, `bench-incremental-${index}.duckdb`);
      await runRestduck(server, config, db, { fresh: true, variant: v });
      dbs.set(v, db);
      configs.set(v, config);
    }
    const reruns = await interleaved(n, (v) => runRestduck(server, configs.get(v)!, dbs.get(v)!, { fresh: false, variant: v }));
    // Nothing new is loaded: rows/s has no meaning here.
    for (const [v, runs] of reruns) record("rerun, nothing new", `restduck incremental, since_id (${v.label})`, runs.map((r) => ({ ...r, rows: 0 })));
  });
}

/**
 * Issue #15: a server that allows `rate` requests per 1 s window (100) and answers 429 with
 * Retry-After beyond it, announcing nothing in headers. The server counts what it answered: pages
 * per second from its first page to its last (as a share of its rate), and the share of page
 * requests refused. At 20/s (`ratelimit-20`) a busy machine still outruns the server.
 */
async function rateLimitScenarioNoHeaders(n: number, rate: number, messages: number): Promise<void> {
  await withServer({ messages, rateRequests: rate, workers: 0, rateHeaders: false }, async (server) => {
    const stats = new Map<RestduckRun, { pages: number; refused: number; firstPageMs: number; lastPageMs: number }>();
    const mine = await interleaved(n, async (v, index) => {
      await fetch(`${server.url}/bench/stats`, { method: "POST" });
      const run = await runRestduck(server, writeBenchConfig(server.url, `bench-ratelimit100-${index}`, { concurrency: v.concurrency }), join(work, `bench-ratelimit100-${index}.duckdb`), { fresh: true, variant: v });
      stats.set(run, (await (await fetch(`${server.url}/bench/stats`)).json()) as { pages: number; refused: number; firstPageMs: number; lastPageMs: number });
      return run;
    });
    for (const [v, runs] of mine) {
      const shares = runs.map((r) => {
        const s = stats.get(r)!;
        const perS = (s.pages - 1) / ((s.lastPageMs - s.firstPageMs) / 1000);
        return { rate: (perS / rate) * 100, refused: (s.refused / (s.pages + s.refused)) * 100 };
      });
      record(`${messages / 1000}k, server allows ${rate} req/s (429 + Retry-After, no headers)`, `restduck (${v.label})`, runs, {
        note: `of its rate: ${shares.map((x) => `${fmt(x.rate)}%`).join("/")}; refused: ${shares.map((x) => `${fmt(x.refused, 1)}%`).join("/")}`,
      });
    }
    // The HTTP side alone outruns the server even when the machine is too busy for the whole pipeline to.
    const walks = new Map<Variant, { rate: number; refused: number }[]>(variants.map((v) => [v, []]));
    for (let i = 0; i < n; i++) {
      for (const v of variants) {
        checkDeadline();
        await fetch(`${server.url}/bench/stats`, { method: "POST" });
        const args = [join(root, "scripts/bench_walk.ts"), "--url", server.url, "--root", v.root, ...(v.concurrency ? ["--concurrency", String(v.concurrency)] : [])];
        const m = await measure(node, args, { serverPids: server.pids });
        if (m.code !== 0) throw new Error(`bench_walk failed: ${m.stderr.slice(-1000)}`);
        const st = (await (await fetch(`${server.url}/bench/stats`)).json()) as { pages: number; refused: number; firstPageMs: number; lastPageMs: number };
        const perS = (st.pages - 1) / ((st.lastPageMs - st.firstPageMs) / 1000);
        walks.get(v)!.push({ rate: (perS / rate) * 100, refused: (st.refused / (st.pages + st.refused)) * 100 });
      }
    }
    for (const [v, shares] of walks) {
      lines.push(`| ${messages / 1000}k, server allows ${rate} req/s, HTTP side only | walkPages + the run's HTTP edge (${v.label}) | ${shares.length} | of its rate: ${shares.map((x) => `${fmt(x.rate)}%`).join("/")}; refused: ${shares.map((x) => `${fmt(x.refused, 1)}%`).join("/")} |`);
    }
  });
}

/** A server that allows 20 requests per 1 s window and says so in X-RateLimit-* headers: how many 429s does a run trigger? */
async function rateLimitScenario(n: number): Promise<void> {
  // One process, so the server's window is global.
  await withServer({ messages: 10_000, rateRequests: 20, workers: 0 }, async (server) => {
    for (const [what, rateLimit] of [
      ["restduck, server's X-RateLimit-* headers honoured (default)", undefined],
      ["restduck, rate_limit { requests: 20, per_seconds: 1, headers: false }", { requests: 20, per_seconds: 1, headers: false }],
      ["restduck, no rate limit (headers: false): 429s retried", { headers: false }],
    ] as [string, unknown][]) {
      const mine = await interleaved(n, (v, index) =>
        runRestduck(server, writeBenchConfig(server.url, `bench-ratelimit-${index}`, { rateLimit, concurrency: v.concurrency }), join(work, `bench-ratelimit-${index}.duckdb`), { fresh: true, variant: v }),
      );
      for (const [v, runs] of mine) record("10k, server allows 20 req/s", `${what} (${v.label})`, runs, { note: `429s: ${runs.map((m) => m.retries).join("/")}` });
    }
  });
}

async function tokenScenario(n: number): Promise<void> {
  await withServer({ messages: 100_000, tokenTtl: 2 }, async (server) => {
    const mine = await interleaved(n, (v, index) =>
      runRestduck(server, writeBenchConfig(server.url, `bench-token-${index}`, { concurrency: v.concurrency }), join(work, `bench-token-${index}.duckdb`), { fresh: true, variant: v }),
    );
    for (const [v, runs] of mine) record("100k, token expires every 2 s", `restduck (${v.label})`, runs);
  });
}

async function startupScenario(): Promise<void> {
  const binary = join(root, "dist/restduck");
  if (!existsSync(binary)) {
    console.error("building dist/restduck …");
    const b = await measure(join(root, "node_modules/.bin/bun"), [join(root, "scripts/build.ts")], { timeoutMs: 10 * 60 * 1000 });
    if (b.code !== 0) throw new Error(`build failed: ${b.stderr.slice(-1000)}`);
  }
  const size = statSync(binary).size / 1024 / 1024;
  const times = 10;
  for (const [label, cmd, args] of [
    ["binary --version", binary, ["--version"]],
    ["binary --help", binary, ["--help"]],
    ["node src/bin/restduck.ts --version", node, [join(root, "src/bin/restduck.ts"), "--version"]],
  ] as [string, string, string[]][]) {
    const results: (Measured & { rows: number })[] = [];
    for (let i = 0; i < times; i++) results.push({ ...(await measure(cmd, args)), rows: 0 });
    const row = record("start-up", label, results);
    row.note = label.startsWith("binary") ? `binary ${fmt(size)} MiB (${fmt(statSync(binary).size / 1e6)} MB)` : "";
  }
}

// ------------------------------------------------------------------ main

const HEADER = `| scenario | what | runs | wall s median (min–max) | rows/s median (min–max) | peak RSS MB | CPU s | HTTP requests (incl. retries) | server CPU s | vs limit (wall; CPU) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`;

async function main(): Promise<void> {
  console.error(`restduck bench: runs=${runs} variants=${variants.map((v) => v.label).join(" | ")} workers=${opts.workers} runner=${opts.runner} work=${work}`);
  console.error(HEADER);
  if (wanted("startup")) await startupScenario();
  if (wanted("10k")) await sizeScenario(10_000, "10k", runs);
  if (wanted("100k")) await sizeScenario(100_000, "100k", runs);
  if (wanted("faults")) await faultScenario(Math.min(runs, 2));
  if (wanted("record")) await recordScenario(runs);
  if (wanted("latency")) await latencyScenario(runs);
  if (wanted("latency-http")) await latencyHttpScenario(runs);
  if (wanted("incremental")) await incrementalScenario(runs);
  if (wanted("ratelimit-100")) await rateLimitScenarioNoHeaders(Math.min(runs, 2), 100, 100_000);
  if (wanted("ratelimit-20")) await rateLimitScenarioNoHeaders(Math.min(runs, 2), 20, 20_000);
  if (wanted("ratelimit")) await rateLimitScenario(Math.min(runs, 2));
  if (wanted("token") && !opts.quick) await tokenScenario(1);
  if (wanted("1m") && !opts.quick) await sizeScenario(1_000_000, "1M", 1);
  const report = `${HEADER}\n${rows.map(renderRow).join("\n")}\n${lines.length ? `\n${lines.join("\n")}\n` : ""}`;
  console.log(report);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(work, `bench-${stamp}.md`), report);
  writeFileSync(join(work, `bench-${stamp}.json`), JSON.stringify({ runs, variants, workers: opts.workers, runner: opts.runner, rows }, null, 2));
  console.error(`written to ${join(work, `bench-${stamp}.{md,json}`)}`);
}

try {
  await main();
} finally {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
}
