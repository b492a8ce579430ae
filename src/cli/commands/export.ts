import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
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
    .option("to", { type: "string", demandOption: true, describe: "Folder to write into (created if missing; the files the last export wrote there, recorded in .restduck-export.json, are replaced; nothing else is removed)" })
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
  /** The names from the database the file path is made of: the view, or the dataset and the table. */
  parts: string[];
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
    const { openDatabase, quoteIdent: q, quoteString, isLocalPath } = await import("../../load/db.ts");
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
        relations.push({ name: v, parts: [v], sql: `SELECT * FROM main.${q(v)}`, columns: await columnsOf("main", v) });
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
          relations.push({ name: `${dataset}/${t}`, parts: [dataset, t], sql: `SELECT * FROM ${q(dataset)}.${q(t)}`, columns: await columnsOf(dataset, t) });
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

    // Names come from the file, which anyone may have made: a view named `../x` must not steer a write.
    for (const r of picked) _checkName(r, args.db);
    const root = _makeRoot(resolve(ctx.io.cwd, args.to), args.to);
    // Paths below are real paths (symlinks resolved), so they are shown relative to the real working folder.
    const here = realpathSync(ctx.io.cwd);
    if (isLocalPath(args.db)) {
      // DuckDB itself then refuses every file outside --to, for COPY and for views that read files
      // (a crafted file's `read_text('/etc/passwd')` view). Remote databases (md:, ducklake:) read
      // their own storage, so they keep DuckDB's defaults and rely on the path checks below.
      await db.run(`SET allowed_directories = [${quoteString(root + sep)}]; SET enable_external_access = false; SET lock_configuration = true`);
    }
    const manifest = _readManifest(root);
    const partitionBy = args.partitionBy ?? [];
    const written: { name: string; path: string; rows: number; partitioned_by: string[] }[] = [];
    for (const r of picked) {
      const partitioned = partitionBy.length > 0 && partitionBy.every((col) => r.columns.includes(col));
      if (partitionBy.length && !partitioned && !args.quiet && !args.json) {
        ctx.io.stderr(`${r.name}: has no column ${partitionBy.filter((c) => !r.columns.includes(c)).join(", ")}; written unpartitioned\n`);
      }
      const target = _inside(root, partitioned ? join(root, r.name) : join(root, `${r.name}.${args.format}`), args.to);
      // What the last export wrote for this name goes first (a partitioned export's folders too, when
      // this one is not partitioned); files it did not write are never removed.
      const before = manifest.files[r.name] ?? [];
      _removeWritten(root, before, args.to);
      delete manifest.files[r.name];
      _writeManifest(root, manifest);
      if (partitioned) {
        const foreign = _filesUnder(target);
        if (foreign.length) {
          throw new RestduckError("EXPORT_NOT_EMPTY", `${relative(here, target) || target}/ holds ${foreign.length} file${foreign.length === 1 ? "" : "s"} restduck did not write (${relative(here, foreign[0])}${foreign.length > 1 ? ", …" : ""}), which would mix with this export's partitions`, {
            exitCode: 2,
            hint: "move or delete them, or export to another --to folder (export removes only files it wrote itself)",
          });
        }
      }
      _ensureDir(root, partitioned ? target : dirname(target), args.to);
      const options = partitioned ? `${COPY_OPTIONS[args.format]}, PARTITION_BY (${partitionBy.map(q).join(", ")}), OVERWRITE_OR_IGNORE true, RETURN_FILES true` : COPY_OPTIONS[args.format];
      const result = await db.all<{ Count: number | string; Files?: string[] }>(`COPY (${r.sql}) TO ${quoteString(target)} (${options})`).catch((error: Error) => {
        const message = error.message.split("\n")[0];
        if (!/disabled by configuration/.test(message)) throw error;
        throw new RestduckError("EXPORT_REFUSED", `${r.name} was not exported: it reads a file or URL outside the database (${message})`, {
          hint: "export lets views read only what the database holds; export the others with --only, or write this one with `restduck query \"select …\" --out FILE`",
          cause: error,
        });
      });
      const files = partitioned ? (result[0]?.Files ?? []) : [target];
      manifest.files[r.name] = files.map((f) => relative(root, _inside(root, resolve(f), args.to)));
      _writeManifest(root, manifest);
      const rows = Number(result[0]?.Count ?? 0);
      const shown = relative(here, target) || target;
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

/** Where export records what it wrote into `--to`, so the next export replaces exactly that. */
const MANIFEST = ".restduck-export.json";

interface Manifest {
  /** Per exported name, the files written, relative to `--to`. */
  files: Record<string, string[]>;
}

/** Refuses a view, dataset or table name that is not a plain file name. */
function _checkName(r: Relation, db: string): void {
  for (const part of r.parts) {
    // A leading "." would also let a view named `.restduck-export` overwrite the manifest.
    // deno-lint-ignore no-control-regex
    if (part === "" || part.startsWith(".") || /[/\\:\u0000-\u001f\u007f]/.test(part)) {
      throw new RestduckError("EXPORT_UNSAFE_NAME", `Refusing to export ${JSON.stringify(part)} from ${db}: the name is not a plain file name (it has a path separator, a leading "." or a control character)`, {
        hint: "rename the view or table in DuckDB, or leave it out with --only <the other names>",
      });
    }
  }
}

/** Creates `--to` and returns its real path, which every written or removed path must be inside. */
function _makeRoot(path: string, shown: string): string {
  mkdirSync(path, { recursive: true });
  const real = realpathSync(path);
  if (!lstatSync(real).isDirectory()) throw new RestduckError("EXPORT_FAILED", `--to ${shown} is not a folder`, { exitCode: 2, hint: "name a folder (it is created if missing)" });
  return real;
}

/** `path` when it is strictly inside `root` (with symlinks already in place resolved); else an error. */
function _inside(root: string, path: string, shown: string): string {
  const abs = resolve(path);
  // A symlink already in the way could lead out of root: judge by where the nearest existing part really is.
  let existing = abs;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const real = join(realpathSync(existing), relative(existing, abs));
  const rel = relative(root, real);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new RestduckError("EXPORT_OUTSIDE", `Refusing to write or remove ${abs}: it is outside --to ${shown}`, {
      hint: "export writes only inside --to; check the view and table names in the database and any symlinks inside --to",
    });
  }
  return abs;
}

/** mkdir -p for a folder inside root. */
function _ensureDir(root: string, dir: string, shown: string): void {
  if (dir !== root) _inside(root, dir, shown);
  mkdirSync(dir, { recursive: true });
  if (dir !== root) _inside(root, dir, shown);
}

function _readManifest(root: string): Manifest {
  try {
    const data = JSON.parse(readFileSync(join(root, MANIFEST), "utf8")) as Manifest;
    if (typeof data?.files === "object" && data.files !== null) return { files: data.files };
  } catch {
    // None yet (or unreadable): nothing is known to be ours, so nothing is removed.
  }
  return { files: {} };
}

/** Written whole (temp file + rename), so a crash never leaves half a record. */
function _writeManifest(root: string, manifest: Manifest): void {
  const tmp = join(root, `${MANIFEST}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest, null, 1) + "\n");
  renameSync(tmp, join(root, MANIFEST));
}

/** Removes the files an earlier export recorded, then the folders that left empty (never root). */
function _removeWritten(root: string, files: string[], shown: string): void {
  const dirs = new Set<string>();
  for (const file of files) {
    if (typeof file !== "string" || file === "") continue;
    const abs = _inside(root, join(root, file), shown);
    try {
      if (lstatSync(abs).isFile()) unlinkSync(abs);
    } catch {
      continue; // already gone
    }
    for (let d = dirname(abs); d !== root && d.startsWith(root + sep); d = dirname(d)) dirs.add(d);
  }
  // Deepest first; a folder that still holds something (not ours) stays.
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty, or gone
    }
  }
}

/** Every file (or link) below `dir`; none when it does not exist. */
function _filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!lstatSync(dir).isDirectory()) return [dir];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(..._filesUnder(path));
    else out.push(path);
  }
  return out.sort();
}
