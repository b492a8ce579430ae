/**
 * Where the time goes: runs restduck's stages one after another on the same
 * pages, calling the library modules directly (createHttpClient, walkPages,
 * Normalizer, Loader, refreshViews), with a timer around each stage, plus
 * alternatives for the load (batch sizes, append vs merge, JSON text through
 * json_transform, NDJSON through read_json) and what a worker's copies of
 * records and rows would cost. Each stage runs alone, so the sum is what a run
 * would cost without overlap; each says how long the JavaScript thread itself
 * was busy and the process's CPU, since DuckDB works on threads of its own.
 *
 *   node scripts/bench_profile.ts [--messages 100000] [--concurrency 16]
 *   node --cpu-prof --cpu-prof-dir /tmp/prof scripts/bench_profile.ts   # then open the .cpuprofile in Chrome DevTools
 *
 * Starts its own bench server (by PID, on 127.0.0.1) and stops it.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import { deserialize, serialize } from "node:v8";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stagingType } from "../src/load/appender.ts";
import { insertJson, ROWS_PER_STATEMENT } from "../src/load/bulk.ts";
import { openDatabase } from "../src/load/db.ts";
import { Loader } from "../src/load/loader.ts";
import { refreshViews } from "../src/load/views.ts";
import type { Row, RowsByTable, Schema } from "../src/normalize/types.ts";
import { seedNormalizer, seedRecords } from "./bench_seed.ts";
import { buildPages } from "./bench_server.ts";

const root = resolve(import.meta.dirname, "..");
const { values: opts } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "16" },
    workers: { type: "string", default: "2" },
  },
});
const messages = Number(opts.messages);
const concurrency = Number(opts.concurrency);
const work = join(tmpdir(), "restduck-bench", "profile");
mkdirSync(work, { recursive: true });
const cacheDir = join(tmpdir(), "restduck-bench-cache");

const results: { stage: string; ms: number; note?: string }[] = [];
async function time<T>(stage: string, fn: () => Promise<T> | T, note?: string): Promise<T> {
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const out = await fn();
  const ms = performance.now() - t0;
  // How much of the stage the JavaScript thread itself was busy: work DuckDB does on its own threads is not.
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  // Bun answers eventLoopUtilization with zeros: say so rather than print "busy 0 ms".
  const thread = elu.active + elu.idle > 0 ? `${elu.active.toFixed(0)} ms` : "not measured on this runtime";
  const busy = `JS thread busy ${thread}, process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`;
  note = note ? `${note}; ${busy}` : busy;
  results.push({ stage, ms, note });
  console.error(`${stage.padEnd(60)} ${ms.toFixed(0).padStart(7)} ms  ${((messages / ms) * 1000).toFixed(0).padStart(9)} msg/s${note ? `  ${note}` : ""}`);
  return out;
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const node = join(root, "node_modules/.bin/node");
  const child = spawn(node, [join(root, "scripts/bench_server.ts"), "--messages", String(messages), "--workers", opts.workers!, "--cache", cacheDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((ok, fail) => {
    let buf = "";
    const timer = setTimeout(() => fail(new Error("bench server did not start in 10 minutes")), 600_000);
    child.stdout!.on("data", (c) => {
      buf += c;
      if (buf.includes("\n")) {
        clearTimeout(timer);
        ok((JSON.parse(buf.split("\n")[0]) as { url: string }).url);
      }
    });
    child.on("exit", (code) => fail(new Error(`bench server exited with ${code}`)));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function concatRows(into: Map<string, Row[]>, add: RowsByTable): void {
  for (const [table, rows] of add) {
    const list = into.get(table);
    if (list) for (const r of rows) list.push(r);
    else into.set(table, [...rows]);
  }
}

async function loadAll(label: string, normalized: RowsByTable[], schema: Schema, rootTable: string, pk: string[], disposition: "merge" | "append", pagesPerBatch: number, setup?: string) {
  const path = join(work, `${label}.duckdb`);
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
  const db = await openDatabase(path);
  try {
    if (setup) await db.run(setup);
    const loader = await Loader.open(db, { dataset: "bench_dataset", pipelineName: "bench" });
    await loader.startRun("1", { version: "bench", resumed: false });
    const batches: Map<string, Row[]>[] = [];
    for (let i = 0; i < normalized.length; i += pagesPerBatch) {
      const rows = new Map<string, Row[]>();
      for (const n of normalized.slice(i, i + pagesPerBatch)) concatRows(rows, n);
      batches.push(rows);
    }
    const byKind = timeStatements(db);
    const perBatch: number[] = [];
    await time(`load: ${label}`, async () => {
      let pages = 0;
      for (const rows of batches) {
        pages += pagesPerBatch;
        const t0 = performance.now();
        await loader.commitBatch({ loadId: "1", resource: "chat_messages", rootTable, primaryKey: pk, disposition, schema, rows, checkpoint: { next: null, pages, rows: 0 } });
        perBatch.push(performance.now() - t0);
      }
    }, `${batches.length} batches`);
    const tenth = Math.max(1, Math.floor(perBatch.length / 10));
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.error(`    per batch: first ${tenth} avg ${avg(perBatch.slice(0, tenth)).toFixed(0)} ms, last ${tenth} avg ${avg(perBatch.slice(-tenth)).toFixed(0)} ms`);
    console.error(`    by statement: ${[...byKind].sort((x, y) => y[1] - x[1]).map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`).join(", ")}`);
    // DuckDB's buffer pool keeps the blocks it read; with the default memory_limit (80% of RAM) it rarely evicts.
    const mem = await db.all<{ mb: number }>(`SELECT (sum(memory_usage_bytes) / 1e6)::DOUBLE AS mb FROM duckdb_memory()`);
    console.error(`    memory: DuckDB buffer manager ${mem[0].mb.toFixed(0)} MB, process RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, JS heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
    results.push({ stage: `load: ${label} — statements`, ms: 0, note: JSON.stringify({ firstBatchesMs: avg(perBatch.slice(0, tenth)), lastBatchesMs: avg(perBatch.slice(-tenth)), byKind: Object.fromEntries(byKind) }) });
    byKind.clear();
    if (label.startsWith("merge, 50 pages")) {
      await time("views: refreshViews once", () =>
        refreshViews(db, { dataset: "bench_dataset", schema, resources: [{ name: "chat_messages", table: rootTable, primaryKey: pk }], views: {} }),
      );
      // A second merge of the same rows: what a rerun without incremental costs in the database.
      await time("load: merge the same rows again (rerun, all rows match)", async () => {
        for (const rows of batches) {
          await loader.commitBatch({ loadId: "2", resource: "chat_messages", rootTable, primaryKey: pk, disposition, schema, rows, checkpoint: { next: null, pages: 0, rows: 0 } });
        }
      });
    }
  } finally {
    db.close();
  }
}

/**
 * Wraps the database's run/all to add up time per kind of statement (bench
 * only: this is a profiler's probe, not a change to the loader).
 */
function timeStatements(db: Awaited<ReturnType<typeof openDatabase>>): Map<string, number> {
  const byKind = new Map<string, number>();
  const kind = (sql: string): string => {
    const s = sql.trim();
    if (/^MERGE INTO/i.test(s)) return "MERGE";
    if (/^DELETE FROM .*_dlt_root_id IN/is.test(s)) return "DELETE children";
    if (/^DELETE FROM .*_restduck_checkpoints/is.test(s) || /_restduck_checkpoints/.test(s)) return "checkpoint";
    if (/^INSERT INTO .* FROM temp\.main/is.test(s) || /^INSERT INTO .* FROM .*_rd_stage/is.test(s)) return "INSERT … SELECT from staging";
    if (/^CREATE TEMP TABLE .* AS SELECT/is.test(s)) return "dedup (QUALIFY)";
    if (/^CREATE TEMP TABLE/i.test(s)) return "CREATE staging";
    if (/^SELECT count\(\*\)/i.test(s)) return "null-key check";
    if (/^DROP/i.test(s)) return "DROP staging";
    if (/^(BEGIN|COMMIT|ROLLBACK)/i.test(s)) return s.split(/\s/)[0].toUpperCase();
    if (/_dlt_version/.test(s)) return "schema version";
    if (/_restduck_table_rows/.test(s)) return "table_rows";
    if (/information_schema/.test(s)) return "information_schema";
    return "other";
  };
  const add = (k: string, ms: number) => byKind.set(k, (byKind.get(k) ?? 0) + ms);
  const run = db.run.bind(db);
  const all = db.all.bind(db);
  db.run = async (sql, params) => {
    const t0 = performance.now();
    try {
      return await run(sql, params);
    } finally {
      add(kind(sql), performance.now() - t0);
    }
  };
  db.all = (async (sql: string, params?: unknown[]) => {
    const t0 = performance.now();
    try {
      return await all(sql, params);
    } finally {
      add(kind(sql), performance.now() - t0);
    }
  }) as typeof db.all;
  // The Appender is reached through db.connection; time it as what remains.
  return byKind;
}

/** The appender alone: every row of every table into a fresh temp table, as Loader stages them. */
async function appenderOnly(all: Map<string, Row[]>, schema: Schema): Promise<void> {
  const path = join(work, "appender.duckdb");
  rmSync(path, { force: true });
  const db = await openDatabase(path);
  try {
    await time("load: Appender only (all tables, VARCHAR staging as Loader)", async () => {
      for (const [table, rows] of all) {
        const cols = Object.values(schema.tables[table].columns);
        await db.run(`CREATE TEMP TABLE "s_${table}" (${cols.map((c) => `"${c.name}" ${stagingType(c)}`).join(", ")})`);
        const appender = await db.connection.createAppender(`s_${table}`, "main", "temp");
        const names = cols.map((c) => c.name);
        const kinds = cols.map(stagingType);
        for (const row of rows) {
          for (let c = 0; c < names.length; c++) {
            const v = row[names[c]];
            if (v == null) appender.appendNull();
            else if (kinds[c] === "BIGINT") appender.appendBigInt(BigInt(v as number));
            else if (kinds[c] === "DOUBLE") appender.appendDouble(Number(v));
            else if (kinds[c] === "BOOLEAN") appender.appendBoolean(Boolean(v));
            else appender.appendVarchar(typeof v === "string" ? v : JSON.stringify(v));
          }
          appender.endRow();
        }
        appender.flushSync();
        appender.closeSync();
      }
    });
    // The same rows as JSON text that DuckDB unpacks (load/bulk.ts, the binary's way in): the JavaScript
    // thread only stringifies, DuckDB builds the rows on its own thread. Compare both CPU and "JS thread busy".
    await time(`load: JSON text + json_transform (bulk.ts, ${ROWS_PER_STATEMENT.toLocaleString("en")} rows a statement, all tables)`, async () => {
      for (const [table, rows] of all) {
        const columns = Object.values(schema.tables[table].columns);
        await db.run(`CREATE TEMP TABLE "j_${table}" (${columns.map((c) => `"${c.name}" ${stagingType(c)}`).join(", ")})`);
        for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
          const target = { table: `temp.main."j_${table}"`, columns, mode: "stage" as const };
          if (!(await insertJson(db, target, rows.slice(i, i + ROWS_PER_STATEMENT), i))) throw new Error(`${table}: rows JSON cannot carry`);
        }
      }
    });
    // The same rows as NDJSON files read by DuckDB (one INSERT per table).
    await time("load: NDJSON files + read_json (write + read, all tables)", async () => {
      for (const [table, rows] of all) {
        const file = join(work, `${table}.ndjson`);
        writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n"));
        const cols = Object.values(schema.tables[table].columns);
        const spec = cols.map((c) => `'${c.name}': '${c.data_type === "bigint" ? "BIGINT" : c.data_type === "double" ? "DOUBLE" : c.data_type === "bool" ? "BOOLEAN" : c.data_type === "timestamp" ? "TIMESTAMPTZ" : "VARCHAR"}'`);
        await db.run(`CREATE TABLE "n_${table}" AS SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${spec.join(", ")}})`);
        rmSync(file, { force: true });
      }
    });
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const server = await startServer();
  try {
    const fetchPages = () => seedRecords(server.url, concurrency);
    await time(`fetch: warm-up walk (concurrency ${concurrency})`, fetchPages);
    const pages = await time(`fetch: HTTP client + JSON.parse + walkPages (concurrency ${concurrency})`, fetchPages);

    // JSON.parse alone, on the same bodies.
    const store = buildPages(messages, { cacheDir });
    const bodies: string[] = [];
    for (let p = 0; p + 1 < store.index.length; p++) bodies.push(`{"messages":${store.data.toString("utf8", store.index[p], store.index[p + 1])},"total":${messages}}`);
    await time("parse: JSON.parse of every page body alone", () => {
      let n = 0;
      for (const b of bodies) n += (JSON.parse(b) as { messages: unknown[] }).messages.length;
      return n;
    });

    const schema: Schema = { name: "bench", version: 1, tables: {} };
    const normalizer = seedNormalizer(schema);
    const normalized = await time("normalize: Normalizer.normalize per page", () => pages.map((records) => normalizer.normalize(records)));
    const all = new Map<string, Row[]>();
    for (const n of normalized) concatRows(all, n);
    const counts = [...all].map(([t, r]) => `${t}=${r.length}`).join(", ");
    console.error(`rows: ${counts}`);
    await time("normalize: structuredClone(schema) per 50-page batch (the batcher does this)", () => {
      for (let i = 0; i < pages.length; i += 50) structuredClone(schema);
    });
    // What handing the row work to a worker would cost in copies (postMessage is this serialization):
    // each page's records to it, each page's rows back to the thread that owns the database.
    const recordCopies = await time("worker handoff: serialize each page's records (the sender's side)", () => pages.map((records) => serialize(records)));
    await time("worker handoff: deserialize each page's records (the worker's side)", () => recordCopies.forEach((b) => deserialize(b)));
    const rowCopies = await time("worker handoff: serialize each page's rows (the worker's side)", () => normalized.map((rows) => serialize(rows)));
    await time("worker handoff: deserialize each page's rows (the database thread's side)", () => rowCopies.forEach((b) => deserialize(b)));

    const rootTable = normalizer.rootTable;
    const pk = normalizer.primaryKeyColumns;
    await loadAll("merge, 50 pages per batch (the default)", normalized, schema, rootTable, pk, "merge", 50);
    await loadAll("merge, 100 pages per batch", normalized, schema, rootTable, pk, "merge", 100);
    await loadAll("merge, 50 pages per batch, checkpoint_threshold 1GB", normalized, schema, rootTable, pk, "merge", 50, "SET checkpoint_threshold = '1GB'");
    await loadAll("append, 50 pages per batch", normalized, schema, rootTable, pk, "append", 50);
    await loadAll("append, 100 pages per batch", normalized, schema, rootTable, pk, "append", 100);
    await appenderOnly(all, schema);
  } finally {
    await server.stop();
  }
  const out = join(work, "profile.json");
  writeFileSync(out, JSON.stringify({ messages, concurrency, results }, null, 2));
  console.error(`written to ${out}`);
}

await main();
