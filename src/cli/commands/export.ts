import { mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Argv } from "yargs";
import { RestduckError } from "../../errors.ts";
import { resolveDatabase } from "../names.ts";
import type { CommandContext } from "../context.ts";
import { reportError } from "../output.ts";

export const command = "export";
export const describe = "Write every view (or table) as Parquet files, optionally hive-partitioned, for object storage and other engines";

type Format = "parquet" | "csv" | "json";

export function builder(y: Argv) {
  return y
    .option("db", { type: "string", describe: "DuckDB database (default: --pipeline's <name>.duckdb, else the one .duckdb file in this folder)" })
    .option("pipeline", { type: "string", describe: "Open <pipeline>.duckdb (what `run` writes when --db is not given)" })
    .option("to", { type: "string", demandOption: true, describe: "Folder to write into (created if missing; files restduck writes there are replaced)" })
    .option("format", { choices: ["parquet", "csv", "json"] as const, default: "parquet" as const, describe: "File format" })
    .option("partition-by", { type: "string", array: true, describe: "Hive-partition by these columns (<to>/<name>/<col>=<value>/…); relations without them are written whole" })
    .option("tables", { type: "boolean", default: false, describe: "Export the dataset tables (with _dlt_* columns) instead of the views in main" })
    .option("only", { type: "string", array: true, describe: "Only these views or tables (repeatable)" })
    .example("$0 export --db chat.duckdb --to lake/", "one Parquet file per view")
    .example("$0 export --db chat.duckdb --to lake/ --partition-by channel", "lake/chat_messages/channel=general/data_0.parquet …");
}

const COPY_OPTIONS: Record<Format, string> = {
  parquet: "FORMAT parquet, COMPRESSION zstd",
  csv: "FORMAT csv, HEADER true",
  json: "FORMAT json",
};

interface Relation {
  /** Name shown and used for the file: `chat_messages`, or `chat_dataset/chat_messages` with --tables. */
  name: string;
  sql: string;
  columns: string[];
}

export async function run(
  ctx: CommandContext,
  args: { db: string; pipeline?: string; to: string; format: Format; partitionBy?: string[]; tables: boolean; only?: string[]; json: boolean; quiet: boolean; verbose: boolean },
): Promise<void> {
  let db;
  try {
    args.db = resolveDatabase(args, ctx.io.cwd);
    const { openDatabase, quoteIdent: q, quoteString } = await import("../../load/db.ts");
    const { datasetsOrFail, isBookkeepingTable } = await import("../inspect.ts");
    const open = await openDatabase(args.db, { readOnly: true, mustExist: true, cwd: ctx.io.cwd });
    db = open;
    const columnsOf = async (schema: string, name: string) =>
      (
        await open.all<{ c: string }>(
          `SELECT column_name AS c FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
          [schema, name],
        )
      ).map((r) => r.c);

    const relations: Relation[] = [];
    if (!args.tables) {
      const views = await db.all<{ v: string }>(
        `SELECT view_name AS v FROM duckdb_views() WHERE NOT internal AND database_name = current_database() AND schema_name = 'main' ORDER BY 1`,
      );
      for (const { v } of views) {
        // `_restduck_runs` and other _-prefixed views are bookkeeping: only when asked for by name.
        if (v.startsWith("_") && !args.only?.includes(v)) continue;
        relations.push({ name: v, sql: `SELECT * FROM main.${q(v)}`, columns: await columnsOf("main", v) });
      }
    }
    if (args.tables || relations.length === 0) {
      for (const dataset of await datasetsOrFail(db, args.db)) {
        const tables = await db.all<{ t: string }>(
          `SELECT table_name AS t FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1`,
          [dataset],
        );
        for (const { t } of tables) {
          if (isBookkeepingTable(t) && !args.only?.includes(t)) continue;
          relations.push({ name: `${dataset}/${t}`, sql: `SELECT * FROM ${q(dataset)}.${q(t)}`, columns: await columnsOf(dataset, t) });
        }
      }
    }
    const picked = args.only?.length ? relations.filter((r) => args.only!.includes(r.name) || args.only!.includes(r.name.split("/").at(-1)!)) : relations;
    if (args.only?.length) {
      const missing = args.only.filter((n) => !picked.some((r) => r.name === n || r.name.endsWith(`/${n}`)));
      if (missing.length) {
        throw new RestduckError("EXPORT_UNKNOWN", `Nothing named ${missing.join(", ")} to export in ${args.db}; there is: ${relations.map((r) => r.name).join(", ") || "nothing"}`, {
          exitCode: 2,
          hint: args.tables ? "names are table names of the dataset" : "names are views in main; add --tables to export dataset tables",
        });
      }
    }
    if (!picked.length) {
      throw new RestduckError("EXPORT_EMPTY", `${args.db} has no views or tables to export`, { hint: `load something first: restduck run <config> --db ${args.db}` });
    }

    const root = resolve(ctx.io.cwd, args.to);
    mkdirSync(root, { recursive: true });
    const partitionBy = args.partitionBy ?? [];
    const written: { name: string; path: string; rows: number; partitioned_by: string[] }[] = [];
    for (const r of picked) {
      const partitioned = partitionBy.length > 0 && partitionBy.every((col) => r.columns.includes(col));
      if (partitionBy.length && !partitioned && !args.quiet && !args.json) {
        ctx.io.stderr(`${r.name}: has no column ${partitionBy.filter((c) => !r.columns.includes(c)).join(", ")}; written unpartitioned\n`);
      }
      const target = partitioned ? join(root, r.name) : join(root, `${r.name}.${args.format}`);
      mkdirSync(partitioned ? target : join(target, ".."), { recursive: true });
      const options = partitioned ? `${COPY_OPTIONS[args.format]}, PARTITION_BY (${partitionBy.map(q).join(", ")}), OVERWRITE true` : COPY_OPTIONS[args.format];
      const result = await db.all<{ Count: number | string }>(`COPY (${r.sql}) TO ${quoteString(target)} (${options})`);
      const rows = Number(result[0]?.Count ?? 0);
      const shown = relative(ctx.io.cwd, target) || target;
      written.push({ name: r.name, path: target, rows, partitioned_by: partitioned ? partitionBy : [] });
      if (args.json) ctx.io.stdout(JSON.stringify({ type: "exported", name: r.name, path: target, format: args.format, rows, partitioned_by: partitioned ? partitionBy : [] }) + "\n");
      else if (!args.quiet) ctx.io.stderr(`${r.name}: ${rows.toLocaleString("en-US")} rows → ${shown}${partitioned ? "/" : ""}\n`);
    }
    if (!args.json && !args.quiet) {
      const rows = written.reduce((n, w) => n + w.rows, 0);
      ctx.io.stderr(`exported ${written.length} ${args.tables ? "table" : "view"}${written.length === 1 ? "" : "s"} (${rows.toLocaleString("en-US")} rows) as ${args.format} to ${args.to}\n`);
    }
  } catch (error) {
    const err = error as Error;
    const wrapped =
      error instanceof RestduckError
        ? error
        : new RestduckError("EXPORT_FAILED", `Export failed: ${err.message.split("\n")[0]}`, { hint: `check that ${args.to} is a writable folder`, cause: error });
    ctx.exitCode = reportError(ctx.io, wrapped, ctx.redactor, args);
  } finally {
    db?.close();
  }
}
