/**
 * The load stage alone, A/B: 100k messages fetched and normalized once, then loaded by
 * Loader.commitBatch in 50-page batches (the run's default) into a fresh file, releaseMemory after each
 * batch and the close's checkpoint included, as a run does, one batch after another (no overlap with
 * fetching). Variants are environment settings read by a prototype under test, run interleaved;
 * reports process CPU (all threads) and wall. `--memory` prints DuckDB's memory by tag after each
 * release (IN_MEMORY_TABLE is committed rows not checkpointed yet; temporary storage is what spilled).
 *
 *   node scripts/bench_server.ts --messages 100000 --workers 1   # prints its URL
 *   node scripts/bench_load.ts --url http://127.0.0.1:PORT [--rounds 5] [--variants A=,B=RD_X:1+RD_Y:1] [--memory]
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../src/load/db.ts";
import { Loader } from "../src/load/loader.ts";
import type { Row, RowsByTable, Schema } from "../src/normalize/types.ts";
import { seedNormalizer, seedRecords } from "./bench_seed.ts";

const { values: opts } = parseArgs({
  options: { url: { type: "string" }, rounds: { type: "string", default: "5" }, variants: { type: "string", default: "A=" }, pages: { type: "string", default: "50" }, memory: { type: "boolean", default: false } },
});
const variants = opts.variants!.split(",").map((v) => {
  const [name, ...env] = v.split("=");
  const sets = env.join("=").split("+").filter(Boolean).map((kv) => kv.split(":") as [string, string]);
  return { name, sets };
});
const pages = await seedRecords(opts.url!, 8);

function normalizeAll(): { normalized: RowsByTable[]; schema: Schema; rootTable: string; pk: string[] } {
  const schema: Schema = { name: "bench", version: 1, tables: {} };
  const normalizer = seedNormalizer(schema);
  return { normalized: pages.map((r) => normalizer.normalize(r)), schema, rootTable: normalizer.rootTable, pk: normalizer.primaryKeyColumns };
}

async function load(): Promise<{ wall: number; cpu: number }> {
  const { normalized, schema, rootTable, pk } = normalizeAll();
  const per = Number(opts.pages);
  const batches: Map<string, Row[]>[] = [];
  for (let i = 0; i < normalized.length; i += per) {
    const rows = new Map<string, Row[]>();
    for (const n of normalized.slice(i, i + per)) for (const [t, r] of n) rows.set(t, [...(rows.get(t) ?? []), ...r]);
    batches.push(rows);
  }
  const path = join(tmpdir(), "restduck-bench", "bench_load.duckdb");
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const db = await openDatabase(path);
  const loader = await Loader.open(db, { dataset: "bench_dataset", pipelineName: "bench" });
  await loader.startRun("1", { version: "bench", resumed: false });
  loader.trackSchema({ name: "bench", version: 1, tables: {} });
  let n = 0;
  for (const rows of batches) {
    n += per;
    await loader.commitBatch({ loadId: "1", resource: "chat_messages", rootTable, primaryKey: pk, disposition: "merge", mergeStrategy: "upsert", schema: structuredClone(schema), rows, checkpoint: { next: { offset: n * 100 }, pages: n, rows: n * 100 } });
    const tr = performance.now();
    await loader.releaseMemory();
    if (opts.memory) {
      const m = await db.all<{ tag: string; mb: number; tmp: number }>("SELECT tag, (memory_usage_bytes/1e6)::INT AS mb, (temporary_storage_bytes/1e6)::INT AS tmp FROM duckdb_memory() WHERE memory_usage_bytes > 1e6 OR temporary_storage_bytes > 0");
      console.error(`release ${(performance.now() - tr).toFixed(1)} ms`, JSON.stringify(m));
    }
  }
  await loader.finishRun("1", "completed", { schema });
  db.close();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

const results = new Map<string, { wall: number; cpu: number }[]>();
for (let r = 0; r < Number(opts.rounds); r++) {
  for (const v of r % 2 ? [...variants].reverse() : variants) {
    const saved = v.sets.map(([k]) => [k, process.env[k]] as const);
    for (const [k, val] of v.sets) process.env[k] = val;
    const m = await load();
    for (const [k, val] of saved) if (val === undefined) delete process.env[k]; else process.env[k] = val;
    if (!results.has(v.name)) results.set(v.name, []);
    results.get(v.name)!.push(m);
    console.error(`round ${r} ${v.name}: wall ${m.wall.toFixed(0)} ms, cpu ${m.cpu.toFixed(0)} ms`);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, ms] of results) console.log(`${name}: wall median ${med(ms.map((m) => m.wall)).toFixed(0)} ms (${ms.map((m) => m.wall.toFixed(0)).join(" ")}), cpu median ${med(ms.map((m) => m.cpu)).toFixed(0)} ms (${ms.map((m) => m.cpu.toFixed(0)).join(" ")})`);
