import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Argv } from "yargs";
import { resolveDatabase } from "../names.ts";
import { RestduckError } from "../../errors.ts";
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

interface RunRow {
  load_id: string;
  pipeline_name: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  error: string | null;
  requests: number | null;
  retries: number | null;
  rows: number | null;
  resources: { resource: string; pages: number; rows: number; done: boolean }[] | null;
}

export async function run(ctx: CommandContext, args: { file?: string; db?: string; pipeline?: string; dataset?: string; runs: number; json: boolean; quiet: boolean; verbose: boolean }): Promise<void> {
  let db;
  try {
    const path = databasePath(args, ctx.io.cwd);
    const { openDatabase, quoteIdent: q } = await import("../../load/db.ts");
    const { datasetsOrFail, formatBytes, isBookkeepingTable, parseJson } = await import("../inspect.ts");
    db = await openDatabase(path, { readOnly: true, mustExist: true, cwd: ctx.io.cwd });
    const datasets = await datasetsOrFail(db, path, args.dataset);
    const size = (await db.all<{ database_size: string; wal_size: string }>(`SELECT database_size, wal_size FROM pragma_database_size() WHERE database_name = current_database()`))[0];
    let fileBytes: number | undefined;
    try {
      fileBytes = statSync(resolve(ctx.io.cwd, path)).size;
    } catch {
      // Not a local file (md:…, ducklake:…): DuckDB's own size figure stands.
    }
    const out = [];
    for (const dataset of datasets) {
      const ds = q(dataset);
      const tables = await db.all<{ name: string; t: string }>(
        `SELECT table_name AS name, table_type AS t FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = ? ORDER BY 1`,
        [dataset],
      );
      const has = (name: string) => tables.some((t) => t.name === name);
      const runs = has("_restduck_runs")
        ? (
            await db.all<RunRow>(
              `SELECT r.load_id, r.pipeline_name, r.started_at::VARCHAR AS started_at, r.finished_at::VARCHAR AS finished_at, r.status, r.error, r.requests, r.retries,
                 ${has("_restduck_checkpoints") ? `(SELECT sum(c.rows) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id)::BIGINT` : "NULL"} AS rows,
                 ${has("_restduck_checkpoints") ? `(SELECT list({'resource': c.resource, 'pages': c.pages, 'rows': c.rows, 'done': c.done} ORDER BY c.resource) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id)` : "NULL"} AS resources
               FROM ${ds}._restduck_runs r ORDER BY r.started_at DESC LIMIT ?`,
              [Math.max(1, Math.floor(args.runs))],
            )
          ).map((r) => ({
            ...r,
            rows: r.rows === null ? null : Number(r.rows),
            requests: r.requests === null ? null : Number(r.requests),
            retries: r.retries === null ? null : Number(r.retries),
            // DuckDB's JSON form spells BIGINTs inside lists as strings: numbers again for --json.
            resources: r.resources?.map((x) => ({ ...x, pages: Number(x.pages), rows: Number(x.rows) })) ?? null,
          }))
        : [];
      const data = [];
      for (const t of tables.filter((t) => !isBookkeepingTable(t.name) && t.t === "BASE TABLE")) {
        const stats = (
          await db.all<{ rows: number; columns: number; estimated_size: number }>(
            `SELECT (SELECT count(*) FROM ${ds}.${q(t.name)})::BIGINT AS rows, column_count::BIGINT AS columns, estimated_size::BIGINT AS estimated_size
             FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`,
            [dataset, t.name],
          )
        )[0];
        data.push({ table: t.name, rows: Number(stats?.rows ?? 0), columns: Number(stats?.columns ?? 0) });
      }
      const state: { resource: string; state: unknown; updated_at: string; load_id: string }[] = has("_restduck_checkpoints")
        ? (
            await db.all<{ resource: string; state: string; updated_at: string; load_id: string }>(
              `SELECT resource, state::VARCHAR AS state, updated_at::VARCHAR AS updated_at, load_id FROM ${ds}._restduck_checkpoints
               WHERE state IS NOT NULL QUALIFY row_number() OVER (PARTITION BY resource ORDER BY updated_at DESC) = 1 ORDER BY resource`,
            )
          ).map((r) => ({ ...r, state: parseJson(r.state) }))
        : [];
      const pipelineState: { pipeline_name: string; version: number; state: unknown; created_at: string }[] = has("_dlt_pipeline_state")
        ? (
            await db.all<{ pipeline_name: string; version: number; state: string; created_at: string }>(
              `SELECT pipeline_name, version, state, created_at::VARCHAR AS created_at FROM ${ds}._dlt_pipeline_state
               QUALIFY row_number() OVER (PARTITION BY pipeline_name ORDER BY version DESC) = 1 ORDER BY pipeline_name`,
            )
          ).map((r) => ({ ...r, version: Number(r.version), state: parseJson(r.state) }))
        : [];
      out.push({ dataset, runs, tables: data, incremental_state: state, pipeline_state: pipelineState });
    }
    if (args.json) {
      ctx.io.stdout(
        ctx.redactor.redact(JSON.stringify({ database: path, size: size?.database_size, file_bytes: fileBytes, datasets: out })) + "\n",
      );
      return;
    }
    const c = paint(ctx.io);
    const w = ctx.io.columns;
    const write = (text: string) => ctx.io.stdout(ctx.redactor.redact(text));
    write(`${c.bold(path)}: ${fileBytes !== undefined ? formatBytes(fileBytes) : size?.database_size ?? "?"} · ${out.length} dataset${out.length === 1 ? "" : "s"}: ${out.map((d) => d.dataset).join(", ")}\n`);
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
