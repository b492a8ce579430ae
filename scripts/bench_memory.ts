/**
 * Where the memory goes (issue #6: 1M messages peak ≤ 250 MB RSS, within 20%
 * of 100k). Runs each stage of a run in its own process, for each size, and
 * reports the peak RSS (`/usr/bin/time -v`, else VmHWM) next to the peaks of
 * V8's heap (used/total), `external`, `arrayBuffers`, the native rest
 * (RSS − heapTotal) and DuckDB's own accounting (`duckdb_memory()`), plus a
 * timeline at every 10% of the pages, so what grows with the row count shows.
 *
 *   node scripts/bench_memory.ts [--messages 100000,1000000] [--stages fetch,normalize,load,run,cli]
 *        [--batch-pages 50] [--batch-rows 50000] [--sql "SET threads = 1"]
 *        [--env MALLOC_ARENA_MAX=2] [--node-flags="--max-semi-space-size=8 --expose-gc"] [--label text]
 *        [--v8-runtime="--heap-growing-percent=10"]   # set by v8.setFlagsFromString once the process runs
 *        [--runner binary|path]                        # the cli stage runs dist/restduck (or that executable) instead of node
 *
 * Stages (each a fresh process):
 *   fetch      HTTP client + JSON.parse + walkPages (concurrency 16); records dropped
 *   normalize  … + Normalizer.normalize per page; rows dropped
 *   load       no HTTP: the cached page bodies → JSON.parse → normalize → batches →
 *              Loader.commitBatch, one batch at a time (DuckDB alone, with the same rows)
 *   run        runPipeline (the library) on a database this script opens, so `--sql`
 *              settings apply; batch sizes from --batch-pages/--batch-rows
 *   cli        `node src/bin/restduck.ts run bench.json --db … --quiet`, as the bench runs it
 *              (only the process totals; --sql does not reach it)
 *
 * `--sql` runs right after the database is opened (load, run). Starts its own
 * bench server per size (by PID, 127.0.0.1) and stops it. Appends every
 * result as JSON to $TMPDIR/restduck-bench/memory.jsonl. Run it under
 * `nice` on a shared machine; numbers belong in BENCHMARKS.md.
 */
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { prepareConfig } from "../src/config/index.ts";
import { seedConfig } from "../src/demo/chat_api.ts";
import { openDatabase, type Database } from "../src/load/db.ts";
import { Loader } from "../src/load/loader.ts";
import type { Row, Schema } from "../src/normalize/types.ts";
import { runPipeline } from "../src/pipeline/run.ts";
import { seedNormalizer, seedPages } from "./bench_seed.ts";
import { BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, buildPages, PAGE } from "./bench_server.ts";

const root = resolve(import.meta.dirname, "..");
const node = existsSync(join(root, "node_modules/.bin/node")) ? join(root, "node_modules/.bin/node") : process.execPath;
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const cacheDir = join(tmpdir(), "restduck-bench-cache");
const work = join(tmpdir(), "restduck-bench", "memory");
mkdirSync(work, { recursive: true });

const { values: opts } = parseArgs({
  options: {
    messages: { type: "string", default: "100000,1000000" },
    stages: { type: "string", default: "fetch,normalize,load,run,cli" },
    "batch-pages": { type: "string", default: "50" },
    "batch-rows": { type: "string", default: "50000" },
    sql: { type: "string", default: "" },
    env: { type: "string", multiple: true, default: [] },
    "node-flags": { type: "string", default: "" },
    label: { type: "string", default: "" },
    // V8 flags set from inside the process (v8.setFlagsFromString) once it runs: what a CLI entry point could do
    "v8-runtime": { type: "string", default: "" },
    concurrency: { type: "string", default: "16" },
    /** For the cli stage: `node` (src/bin/restduck.ts), `binary` (dist/restduck, as built) or the path of another build. */
    runner: { type: "string", default: "node" },
    /** load stage: call db.releaseMemory() after every batch. */
    release: { type: "boolean", default: false },
    // internal: the child process
    child: { type: "string" },
    url: { type: "string" },
    db: { type: "string" },
  },
});
const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round(bytes / MB);

// ---------------------------------------------------------------- child side

interface Sample {
  at: string;
  rss: number;
  hwm: number;
  anon: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  duckdb?: number;
  duckdbTop?: string;
  live?: number;
}

/** Peaks of every memory figure, sampled every 100 ms and at each milestone. */
class Sampler {
  readonly peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, native: 0, duckdb: 0 };
  readonly timeline: Sample[] = [];
  #timer = setInterval(() => this.sample(), 100);
  #probe?: Database["connection"];
  #probing = false;

  constructor(probe?: Database["connection"]) {
    this.#probe = probe;
    this.#timer.unref();
  }

  sample(): Sample {
    const m = process.memoryUsage();
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    const s: Sample = { at: "", rss: m.rss, hwm: kb("VmHWM"), anon: kb("RssAnon"), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
    const p = this.peak;
    p.rss = Math.max(p.rss, s.hwm, s.rss);
    p.heapUsed = Math.max(p.heapUsed, s.heapUsed);
    p.heapTotal = Math.max(p.heapTotal, s.heapTotal);
    p.external = Math.max(p.external, s.external);
    p.arrayBuffers = Math.max(p.arrayBuffers, s.arrayBuffers);
    p.native = Math.max(p.native, s.rss - s.heapTotal);
    return s;
  }

  /** A timeline point; with a probe connection, DuckDB's buffer manager too (asynchronous, never overlapping). */
  milestone(at: string): void {
    const s = this.sample();
    s.at = at;
    // With --node-flags --expose-gc: what is still live on V8's heap after a full GC (a leak grows here, garbage does not).
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      s.live = process.memoryUsage().heapUsed;
    }
    this.timeline.push(s);
    if (!this.#probe || this.#probing) return;
    this.#probing = true;
    void this.#duckdb(s).finally(() => (this.#probing = false));
  }

  async #duckdb(s: Sample): Promise<void> {
    const reader = await this.#probe!.runAndReadAll(
      `SELECT tag, (memory_usage_bytes + temporary_storage_bytes)::DOUBLE AS b FROM duckdb_memory() ORDER BY b DESC`,
    );
    const rows = reader.getRowObjectsJson() as { tag: string; b: number }[];
    s.duckdb = rows.reduce((a, r) => a + r.b, 0);
    s.duckdbTop = rows.slice(0, 3).filter((r) => r.b > 0).map((r) => `${r.tag} ${mb(r.b)}`).join(", ");
    this.peak.duckdb = Math.max(this.peak.duckdb, s.duckdb);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
}

async function settings(db: Database): Promise<Record<string, string>> {
  const rows = await db.all<{ name: string; value: string }>(
    `SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit', 'preserve_insertion_order', 'checkpoint_threshold', 'allocator_background_threads', 'allocator_flush_threshold', 'allocator_bulk_deallocation_flush_threshold')`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

async function freshDb(path: string): Promise<Database> {
  for (const f of [path, `${path}.wal`]) rmSync(f, { force: true });
  const db = await openDatabase(path);
  if (opts.sql) await db.run(opts.sql);
  return db;
}

async function child(stage: string, messages: number): Promise<void> {
  for (const flag of opts["v8-runtime"].split(/\s+/).filter(Boolean)) setFlagsFromString(flag);
  const pages = Math.ceil(messages / PAGE);
  const every = Math.max(1, Math.round(pages / 10));
  const t0 = performance.now();
  let sampler: Sampler;
  const extra: Record<string, unknown> = {};
  if (stage === "fetch" || stage === "normalize") {
    sampler = new Sampler();
    const schema: Schema = { name: "bench", version: 1, tables: {} };
    const normalizer = seedNormalizer(schema);
    let n = 0;
    let rows = 0;
    for await (const page of seedPages(opts.url!, Number(opts.concurrency))) {
      if (stage === "normalize") for (const [, r] of normalizer.normalize(page.records)) rows += r.length;
      if (++n % every === 0) sampler.milestone(`${n} pages`);
    }
    extra.rows = rows;
  } else if (stage === "load") {
    const db = await freshDb(opts.db!);
    sampler = new Sampler(await db.instance.connect());
    extra.settings = await settings(db);
    // The page cache is read page by page: holding all of it (280 MB at 1M) would swamp what is measured.
    const base = join(cacheDir, `chat-1-${messages}`);
    const idx = readFileSync(`${base}.idx`);
    const index = new Float64Array(idx.buffer, idx.byteOffset, idx.byteLength / 8);
    const fd = openSync(`${base}.dat`, "r");
    const readPage = (p: number): string => {
      const buf = Buffer.allocUnsafe(index[p + 1] - index[p]);
      readSync(fd, buf, 0, buf.length, index[p]);
      return buf.toString("utf8");
    };
    const schema: Schema = { name: "bench", version: 1, tables: {} };
    const normalizer = seedNormalizer(schema);
    const loader = await Loader.open(db, { dataset: "bench_dataset", pipelineName: "bench" });
    await loader.startRun("1", { version: "bench", resumed: false });
    const batchPages = Number(opts["batch-pages"]);
    const batchRows = Number(opts["batch-rows"]);
    let pending = new Map<string, Row[]>();
    let pendingPages = 0;
    let pendingRecords = 0;
    let batches = 0;
    const flush = async (done: number) => {
      if (!pendingPages) return;
      const batch = { loadId: "1", resource: "chat_messages", rootTable: normalizer.rootTable, primaryKey: normalizer.primaryKeyColumns, disposition: "merge" as const, schema: structuredClone(schema), rows: pending, checkpoint: { next: null, pages: done, rows: 0 } };
      pending = new Map();
      pendingPages = pendingRecords = 0;
      await loader.commitBatch(batch);
      if (opts.release) await db.releaseMemory();
      batches++;
    };
    for (let p = 0; p < pages; p++) {
      const records = JSON.parse(readPage(p)) as unknown[];
      for (const [table, rows] of normalizer.normalize(records)) {
        const list = pending.get(table);
        if (list) for (const r of rows) list.push(r);
        else pending.set(table, rows);
      }
      pendingPages++;
      pendingRecords += records.length;
      if (pendingPages >= batchPages || pendingRecords >= batchRows) await flush(p + 1);
      if ((p + 1) % every === 0) sampler.milestone(`${p + 1} pages`);
    }
    await flush(pages);
    closeSync(fd);
    sampler.milestone("end");
    extra.batches = batches;
    extra.duckdbEnd = await db.all(`SELECT tag, round(memory_usage_bytes / 1e6, 1)::DOUBLE AS mb FROM duckdb_memory() WHERE memory_usage_bytes > 0`);
    db.close();
  } else if (stage === "run") {
    const db = await freshDb(opts.db!);
    sampler = new Sampler(await db.instance.connect());
    extra.settings = await settings(db);
    const config = seedConfig(opts.url!) as { client: Record<string, unknown> };
    config.client.concurrency = Number(opts.concurrency);
    const loaded = prepareConfig(config, { env: { CLIENT_ID: BENCH_CLIENT_ID, CLIENT_SECRET: BENCH_CLIENT_SECRET } });
    let batches = 0;
    await runPipeline(loaded, {
      database: opts.db!,
      db,
      pipelineName: "bench",
      batchPages: Number(opts["batch-pages"]),
      batchRows: Number(opts["batch-rows"]),
      onEvent: (e) => {
        if (e.type === "page" && e.page % every === 0) sampler.milestone(`${e.page} pages`);
        if (e.type === "batch_committed") batches++;
      },
    });
    sampler.milestone("end");
    extra.batches = batches;
    extra.duckdbEnd = await db.all(`SELECT tag, round(memory_usage_bytes / 1e6, 1)::DOUBLE AS mb FROM duckdb_memory() WHERE memory_usage_bytes > 0`);
    db.close();
  } else throw new Error(`unknown stage ${stage}`);
  sampler.stop();
  const p = sampler.peak;
  console.log(
    JSON.stringify({
      ms: performance.now() - t0,
      peakMb: { rss: mb(p.rss), heapUsed: mb(p.heapUsed), heapTotal: mb(p.heapTotal), external: mb(p.external), arrayBuffers: mb(p.arrayBuffers), native: mb(p.native), duckdb: mb(p.duckdb) },
      timeline: sampler.timeline.map((s) => ({ at: s.at, rss: mb(s.rss), anon: mb(s.anon), heapUsed: mb(s.heapUsed), heapTotal: mb(s.heapTotal), live: s.live === undefined ? undefined : mb(s.live), external: mb(s.external), native: mb(s.rss - s.heapTotal), duckdb: s.duckdb === undefined ? undefined : mb(s.duckdb), duckdbTop: s.duckdbTop })),
      ...extra,
    }),
  );
}

// --------------------------------------------------------------- parent side

async function startServer(messages: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = spawn(node, [join(root, "scripts/bench_server.ts"), "--messages", String(messages), "--workers", "2", "--cache", cacheDir], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((ok, fail) => {
    let buf = "";
    const timer = setTimeout(() => fail(new Error("bench server did not start in 10 minutes")), 600_000);
    server.stdout!.on("data", (c) => {
      buf += c;
      const line = buf.split("\n").find((l) => l.startsWith("{"));
      if (line && buf.includes("\n")) {
        clearTimeout(timer);
        ok((JSON.parse(line) as { url: string }).url);
      }
    });
    server.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`bench server exited with ${code}`));
    });
  });
  return {
    url,
    stop: async () => {
      if (server.exitCode !== null) return;
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      const t = setTimeout(() => server.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

interface Measured {
  code: number;
  wallS: number;
  cpuS: number;
  maxRssMb: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under /usr/bin/time -v (else sampling VmHWM), bounded to 15 minutes. */
async function measure(argv: string[], env: Record<string, string>): Promise<Measured> {
  const timeFile = join(work, `time-${process.pid}.txt`);
  rmSync(timeFile, { force: true });
  const full = TIME ? [TIME, "-v", "-o", timeFile, ...argv] : argv;
  const t0 = performance.now();
  const proc = spawn(full[0], full.slice(1), { cwd: work, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout!.on("data", (c) => (stdout += c));
  proc.stderr!.on("data", (c) => (stderr += c));
  let hwmKb = 0;
  const sampler = TIME
    ? undefined
    : setInterval(() => {
        try {
          hwmKb = Math.max(hwmKb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1] ?? 0));
        } catch {
          // exited
        }
      }, 50);
  const timer = setTimeout(() => proc.kill("SIGTERM"), 15 * 60 * 1000);
  const code = await new Promise<number>((r) => proc.on("close", (c) => r(c ?? -1)));
  clearTimeout(timer);
  if (sampler) clearInterval(sampler);
  let cpuS = 0;
  if (TIME && existsSync(timeFile)) {
    const t = readFileSync(timeFile, "utf8");
    const num = (re: RegExp) => Number(re.exec(t)?.[1] ?? 0);
    cpuS = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
    hwmKb = num(/Maximum resident set size \(kbytes\): (\d+)/);
  }
  return { code, wallS: (performance.now() - t0) / 1000, cpuS, maxRssMb: Math.round(hwmKb / 1024), stdout, stderr };
}

async function parent(): Promise<void> {
  const sizes = opts.messages.split(",").map(Number);
  const stages = opts.stages.split(",");
  const env = Object.fromEntries(opts.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const nodeFlags = opts["node-flags"] ? opts["node-flags"].split(/\s+/) : [];
  const knobs = [
    opts.label,
    opts.runner !== "node" && `runner ${opts.runner}`,
    opts.release && "db.releaseMemory() after every batch",
    `batch ${opts["batch-pages"]} pages/${opts["batch-rows"]} rows`,
    opts.sql && `sql: ${opts.sql}`,
    opts.env.length && `env: ${opts.env.join(" ")}`,
    nodeFlags.length && `node ${nodeFlags.join(" ")}`,
    opts["v8-runtime"] && `v8.setFlagsFromString: ${opts["v8-runtime"]}`,
  ].filter(Boolean).join("; ");
  console.error(`# ${knobs}`);
  console.error("| messages | stage | peak RSS MB | wall s | CPU s | heapUsed | heapTotal | external | arrayBuffers | native (RSS−heapTotal) | duckdb_memory | settings |");
  console.error("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const messages of sizes) {
    buildPages(messages, { cacheDir });
    const needsServer = stages.some((s) => s !== "load");
    const server = needsServer ? await startServer(messages) : undefined;
    try {
      for (const stage of stages) {
        const db = join(work, `${stage}-${messages}-${process.pid}.duckdb`);
        for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
        let argv: string[];
        if (stage === "cli") {
          const config = seedConfig(server!.url) as { client: Record<string, unknown>; pipeline_name?: string };
          config.pipeline_name = "bench";
          config.client.concurrency = Number(opts.concurrency);
          const path = join(work, "bench.json");
          writeFileSync(path, JSON.stringify(config, null, 2));
          const cli = opts.runner === "node" ? [node, ...nodeFlags, join(root, "src/bin/restduck.ts")] : [opts.runner === "binary" ? join(root, "dist/restduck") : resolve(opts.runner)];
          argv = [...cli, "run", path, "--db", db, "--quiet"];
        } else {
          argv = [node, ...nodeFlags, import.meta.filename, "--child", stage, "--messages", String(messages), "--db", db, "--url", server?.url ?? "", "--sql", opts.sql, "--batch-pages", opts["batch-pages"], "--batch-rows", opts["batch-rows"], "--concurrency", opts.concurrency, `--v8-runtime=${opts["v8-runtime"]}`, ...(opts.release ? ["--release"] : [])];
        }
        const m = await measure(argv, { CLIENT_ID: BENCH_CLIENT_ID, CLIENT_SECRET: BENCH_CLIENT_SECRET, ...env });
        for (const f of [db, `${db}.wal`, `${db}.tmp`]) rmSync(f, { force: true, recursive: true });
        if (m.code !== 0) {
          console.error(`| ${messages} | ${stage} | failed (exit ${m.code}) | ${m.stderr.slice(-1500)}`);
          continue;
        }
        const r = stage === "cli" ? undefined : (JSON.parse(m.stdout.trim().split("\n").pop()!) as { peakMb: Record<string, number>; timeline: unknown[]; settings?: Record<string, string> });
        const pk = r?.peakMb;
        const cell = (k: string) => (pk ? String(pk[k]) : "—");
        const set = r?.settings ? `threads ${r.settings.threads}, memory_limit ${r.settings.memory_limit}, pio ${r.settings.preserve_insertion_order}` : "";
        console.error(`| ${messages.toLocaleString("en-US")} | ${stage} | **${m.maxRssMb}** | ${m.wallS.toFixed(1)} | ${m.cpuS.toFixed(1)} | ${cell("heapUsed")} | ${cell("heapTotal")} | ${cell("external")} | ${cell("arrayBuffers")} | ${cell("native")} | ${pk?.duckdb ? pk.duckdb : "—"} | ${set} |`);
        appendFileSync(join(tmpdir(), "restduck-bench", "memory.jsonl"), JSON.stringify({ when: new Date().toISOString(), knobs, messages, stage, maxRssMb: m.maxRssMb, wallS: m.wallS, cpuS: m.cpuS, ...r }) + "\n");
      }
    } finally {
      await server?.stop();
    }
  }
}

if (opts.child) await child(opts.child, Number(opts.messages));
else await parent();
