import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Argv } from "yargs";
import { resolveDatabase } from "../names.ts";
import { RestduckError } from "../../errors.ts";
import type { RunRecord } from "../../load/read.ts";
import type { CommandContext } from "../context.ts";
import { formatResult, paint, reportError } from "../output.ts";

export const command = "info [file]";
export const describe = "Show the runs, tables and incremental state in a DuckDB file";

export function builder(y: Argv) {
  return y
    .positional("file", { type: "string", describe: "DuckDB database file (the same as --db)" })
    .option("db", { type: "string", describe: "DuckDB database: a file, or anything DuckDB's ATTACH accepts (default: --pipeline's <name>.duckdb, else the one .duckdb file in this folder)" })
    .option("pipeline", { type: "string", describe: "Open <pipeline>.duckdb (what `run` writes when --db is not given)" })
    .option("dataset", { type: "string", describe: "Only this dataset (default: every dataset in the file)" })
    .option("runs", { type: "number", default: 10, describe: "How many recent runs to list" })
    .example("$0 info chat.duckdb", "what was loaded, when, and where each resource will resume")
    .example("$0 info --db chat.duckdb --json | jq .datasets[0].runs", "the same as JSON");
}

/** A run as `info --json` shows it (the bookkeeping tables' column names). */
type RunRow = RunRecord;

export async function run(ctx: CommandContext, args: { file?: string; db?: string; pipeline?: string; dataset?: string; runs: number; json: boolean; quiet: boolean; verbose: boolean }): Promise<void> {
  let db;
  try {
    const path = databasePath(args, ctx.io.cwd);
    const { openDatabase } = await import("../../load/db.ts");
    const read = await import("../../load/read.ts");
    const { datasetsOrFail, formatBytes } = await import("../inspect.ts");
    db = await openDatabase(path, { readOnly: true, mustExist: true, cwd: ctx.io.cwd });
    const datasets = await datasetsOrFail(db, path, args.dataset);
    const size = await read.readDatabaseSize(db);
    let fileBytes: number | undefined;
    try {
      fileBytes = statSync(resolve(ctx.io.cwd, path)).size;
    } catch {
      // Not a local file (md:…, ducklake:…): DuckDB's own size figure stands.
    }
    const out = [];
    for (const dataset of datasets) {
      const runs: RunRow[] = (await read.readRuns(db, dataset, { limit: args.runs })).map((r) => ({
        load_id: r.loadId,
        pipeline_name: r.pipelineName,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
        status: r.status,
        error: r.error,
        requests: r.requests,
        retries: r.retries,
        rows: r.rows,
        resources: r.resources,
      }));
      const tables = await read.readTableStats(db, dataset);
      const state = (await read.readResourceStates(db, dataset)).map((s) => ({ resource: s.resource, state: s.state, updated_at: s.updatedAt, load_id: s.loadId }));
      const pipelineState = (await read.readPipelineStates(db, dataset)).map((s) => ({ pipeline_name: s.pipelineName, version: s.version, state: s.state, created_at: s.createdAt }));
      out.push({ dataset, runs, tables, incremental_state: state, pipeline_state: pipelineState });
    }
    if (args.json) {
      ctx.io.stdout(
        ctx.redactor.redact(JSON.stringify({ database: path, size, file_bytes: fileBytes, datasets: out })) + "\n",
      );
      return;
    }
    const c = paint(ctx.io);
    const w = ctx.io.columns;
    const write = (text: string) => ctx.io.stdout(ctx.redactor.redact(text));
    write(`${c.bold(path)}: ${fileBytes !== undefined ? formatBytes(fileBytes) : size ?? "?"} · ${out.length} dataset${out.length === 1 ? "" : "s"}: ${out.map((d) => d.dataset).join(", ")}\n`);
    for (const d of out) {
      const pipelines = [...new Set(d.runs.map((r) => r.pipeline_name))];
      write(`\n${c.bold(`dataset ${d.dataset}`)}${pipelines.length ? ` (pipeline ${pipelines.join(", ")})` : ""}\n\nRuns (newest first)\n`);
      const dur = (r: RunRow) => (r.finished_at ? `${((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000).toFixed(1)} s` : "");
      // Columns that would say the same thing on every line are left out: one pipeline, one resource per run.
      const perResource = d.runs.some((r) => (r.resources ?? []).length > 1 || (r.resources ?? []).some((x) => !x.done));
      const columns = ["load_id", ...(pipelines.length > 1 ? ["pipeline"] : []), "started_at", "took", "status", "rows", ...(perResource ? ["per resource"] : []), "requests", "retries"];
      write(
        formatResult(
          {
            columns,
            types: columns.map((col) => (["rows", "requests", "retries"].includes(col) ? "BIGINT" : "VARCHAR")),
            rows: d.runs.map((r) => [
              r.load_id,
              ...(pipelines.length > 1 ? [r.pipeline_name] : []),
              r.started_at.slice(0, 19),
              dur(r),
              r.error ? `${r.status}: ${r.error}` : r.status,
              r.rows,
              ...(perResource ? [(r.resources ?? []).map((x) => `${x.resource} ${Number(x.rows)}${x.done ? "" : " (unfinished)"}`).join(", ")] : []),
              r.requests,
              r.retries,
            ]),
          },
          "table",
          w,
        ),
      );
      write(`\nTables in ${d.dataset}\n`);
      write(formatResult({ columns: ["table", "rows", "columns"], types: ["VARCHAR", "BIGINT", "BIGINT"], rows: d.tables.map((t) => [t.table, t.rows, t.columns]) }, "table", w));
      write(`\nIncremental state\n`);
      if (!d.incremental_state.length && !d.pipeline_state.length) write("  none (no resource keeps a cursor)\n");
      // State can be large (dlt compresses it): one line each, the whole of it with --json.
      const short = (value: unknown) => {
        const text = JSON.stringify(value);
        return text.length > w - 20 ? `${text.slice(0, Math.max(w - 21, 20))}…` : text;
      };
      for (const s of d.incremental_state) write(`  ${s.resource}: ${short(s.state)} (run ${s.load_id}, ${s.updated_at.slice(0, 19)})\n`);
      for (const s of d.pipeline_state) write(`  pipeline ${s.pipeline_name} v${s.version}: ${short(s.state)}\n`);
    }
  } catch (error) {
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  } finally {
    db?.close();
  }
}

/**
 * The database `info` and `schema` look at: the positional file (`info chat.duckdb`, the way
 * `duckdb chat.duckdb` and `sqlite3` take it) or `--db`, else resolveDatabase's default (see names.ts).
 */
export function databasePath(args: { file?: string; db?: string; pipeline?: string }, cwd: string): string {
  if (args.file !== undefined && args.db !== undefined && args.file !== args.db) {
    throw new RestduckError("USAGE", `Two databases given: ${args.file} and --db ${args.db}`, { exitCode: 2, hint: "name the database once, as a file or with --db" });
  }
  return resolveDatabase({ db: args.file ?? args.db, pipeline: args.pipeline }, cwd);
}
