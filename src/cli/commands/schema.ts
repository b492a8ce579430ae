import type { Argv } from "yargs";
import type { ColumnSchema, Schema } from "../../normalize/types.ts";
import { resolveDatabase } from "../names.ts";
import type { CommandContext } from "../context.ts";
import { databasePath } from "./info.ts";
import { formatResult, paint, reportError } from "../output.ts";

export const command = "schema [file]";
export const describe = "Show the tables, columns and types restduck created, and which load added each";

export function builder(y: Argv) {
  return y
    .positional("file", { type: "string", describe: "DuckDB database file (the same as --db)" })
    .option("db", { type: "string", describe: "DuckDB database: a file, or anything DuckDB's ATTACH accepts (default: --pipeline's <name>.duckdb, else the one .duckdb file in this folder)" })
    .option("pipeline", { type: "string", describe: "Open <pipeline>.duckdb (what `run` writes when --db is not given)" })
    .option("dataset", { type: "string", describe: "Only this dataset (default: every dataset in the file)" })
    .option("table", { type: "string", array: true, describe: "Only these tables (repeatable)" })
    .example("$0 schema chat.duckdb", "tables, columns, types and the load that added them")
    .example("$0 schema --db chat.duckdb --json", "the same as JSON");
}

interface ColumnOut {
  name: string;
  data_type: string | null;
  duckdb_type: string | null;
  nullable: boolean | null;
  primary_key: boolean;
  merge_key: boolean;
  variant: boolean;
  added_in: string | null;
  /** "ok", "not in the database" (schema says so, DuckDB lacks it) or "not in the schema" (DuckDB has it, the stored schema does not). */
  status: "ok" | "not in the database" | "not in the schema";
}

interface TableOut {
  name: string;
  parent: string | null;
  resource: string | null;
  write_disposition: string | null;
  added_in: string | null;
  in_database: boolean;
  rows: number | null;
  columns: ColumnOut[];
}

export async function run(
  ctx: CommandContext,
  args: { file?: string; db?: string; pipeline?: string; dataset?: string; table?: string[]; json: boolean; quiet: boolean; verbose: boolean },
): Promise<void> {
  let db;
  try {
    const path = databasePath(args, ctx.io.cwd);
    const { openDatabase } = await import("../../load/db.ts");
    const read = await import("../../load/read.ts");
    const { datasetsOrFail, isBookkeepingTable } = await import("../inspect.ts");
    db = await openDatabase(path, { readOnly: true, mustExist: true, cwd: ctx.io.cwd });
    const datasets = await datasetsOrFail(db, path, args.dataset);
    const out = [];
    for (const dataset of datasets) {
      const inDb = await read.readColumns(db, dataset);
      const schemas: { name: string; version: number; stored_at: string | null; schema: Schema }[] = [];
      for (const s of await read.readStoredSchemas(db, dataset)) {
        try {
          schemas.push({ name: s.name, version: s.version, stored_at: s.storedAt, schema: JSON.parse(s.schema) as Schema });
        } catch {
          // A schema restduck cannot read (hand-edited, or from a newer dlt): fall back to what DuckDB says.
        }
      }
      const tables: TableOut[] = [];
      const seen = new Set<string>();
      for (const s of schemas) {
        for (const t of Object.values(s.schema.tables ?? {})) {
          if (isBookkeepingTable(t.name)) continue;
          seen.add(t.name);
          const actual = inDb.get(t.name);
          const columns: ColumnOut[] = Object.values(t.columns ?? {}).map((col: ColumnSchema) => {
            const a = actual?.get(col.name);
            return {
              name: col.name,
              data_type: col.data_type,
              duckdb_type: a?.type ?? null,
              nullable: col.nullable ?? a?.nullable ?? null,
              primary_key: Boolean(col.primary_key),
              merge_key: Boolean(col.merge_key),
              variant: Boolean(col.variant),
              added_in: col.x_added_in ?? t.x_added_in ?? null,
              status: a ? "ok" : "not in the database",
            };
          });
          for (const [name, a] of actual ?? []) {
            if (!t.columns?.[name]) columns.push({ name, data_type: null, duckdb_type: a.type, nullable: a.nullable, primary_key: false, merge_key: false, variant: false, added_in: null, status: "not in the schema" });
          }
          tables.push({ name: t.name, parent: t.parent ?? null, resource: t.resource ?? null, write_disposition: t.write_disposition ?? null, added_in: t.x_added_in ?? null, in_database: Boolean(actual), rows: null, columns });
        }
      }
      // Tables DuckDB has that no stored schema describes (made by hand, or by another tool).
      for (const [name, cols] of inDb) {
        if (seen.has(name) || isBookkeepingTable(name)) continue;
        tables.push({
          name,
          parent: null,
          resource: null,
          write_disposition: null,
          added_in: null,
          in_database: true,
          rows: null,
          columns: [...cols].map(([n, a]) => ({ name: n, data_type: null, duckdb_type: a.type, nullable: a.nullable, primary_key: false, merge_key: false, variant: false, added_in: null, status: "not in the schema" as const })),
        });
      }
      const wanted = args.table?.length ? new Set(args.table) : undefined;
      const picked = tables.filter((t) => !wanted || wanted.has(t.name)).sort((a, b) => a.name.localeCompare(b.name));
      for (const t of picked) {
        if (t.in_database) t.rows = await read.countRows(db, dataset, t.name);
      }
      // When each load ran, so "added in" reads as a date too.
      const loads = await read.readRunStarts(db, dataset);
      out.push({ dataset, schemas: schemas.map((s) => ({ name: s.name, version: s.version, stored_at: s.stored_at })), loads, tables: picked });
    }
    if (args.json) {
      ctx.io.stdout(JSON.stringify({ database: path, datasets: out }) + "\n");
      return;
    }
    const c = paint(ctx.io);
    for (const d of out) {
      const versions = d.schemas.map((s) => `schema ${s.name} v${s.version}`).join(", ") || "no stored schema (_dlt_version is empty)";
      ctx.io.stdout(`${c.bold(`dataset ${d.dataset}`)} (${versions})\n`);
      for (const t of d.tables) {
        const added = t.added_in ? `added in load ${t.added_in}${d.loads[t.added_in] ? ` (${d.loads[t.added_in].slice(0, 19)})` : ""}` : "";
        const facts = [
          t.parent ? `child of ${t.parent}` : t.resource ? `resource ${t.resource}` : "",
          t.write_disposition ?? "",
          t.rows !== null ? `${t.rows.toLocaleString("en-US")} rows` : "",
          added,
          t.in_database ? "" : c.yellow("not in the database"),
        ].filter(Boolean);
        ctx.io.stdout(`\n${c.bold(t.name)}${facts.length ? `: ${facts.join(", ")}` : ""}\n`);
        ctx.io.stdout(
          formatResult(
            {
              columns: ["column", "type", "duckdb type", "nullable", "key", "added in", "note"],
              rows: t.columns.map((col) => [
                col.name,
                col.data_type ?? "",
                col.duckdb_type ?? "",
                col.nullable === null ? "" : col.nullable ? "yes" : "no",
                [col.primary_key ? "primary" : "", col.merge_key ? "merge" : "", col.variant ? "variant" : ""].filter(Boolean).join(" "),
                col.added_in ?? "",
                col.status === "ok" ? "" : col.status,
              ]),
            },
            "table",
            ctx.io.columns,
          ),
        );
      }
    }
  } catch (error) {
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  } finally {
    db?.close();
  }
}
