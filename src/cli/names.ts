import { readdirSync } from "node:fs";
import { basename, extname } from "node:path";
import { RestduckError } from "../errors.ts";

/** A pipeline name from a config file name: `configs/Chat API.yaml` → `chat_api`. */
export function defaultPipelineName(configPath: string): string {
  const stem = basename(configPath, extname(configPath));
  const name = stem.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return name === "" ? "restduck" : /^\d/.test(name) ? `_${name}` : name;
}

/** A pipeline's database file when `--db` is not given, as dlt names it: `<pipeline>.duckdb`. */
export const defaultDatabase = (pipelineName: string): string => `${pipelineName}.duckdb`;

/**
 * The database a reading command (`query`, `info`, `schema`, `export`) opens:
 * `--db`, else `--pipeline`'s `<name>.duckdb`, else the one `.duckdb` file in
 * the working folder. Anything else is a usage error that lists what it found.
 */
export function resolveDatabase(args: { db?: string; pipeline?: string }, cwd: string): string {
  if (args.db !== undefined && args.db !== "") return args.db;
  if (args.pipeline) return defaultDatabase(args.pipeline);
  let files: string[] = [];
  try {
    files = readdirSync(cwd, { withFileTypes: true })
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.endsWith(".duckdb"))
      .map((e) => e.name)
      .sort();
  } catch {
    // An unreadable folder is the same as an empty one here: the error below says what to pass.
  }
  if (files.length === 1) return files[0];
  if (files.length === 0) {
    throw new RestduckError("DATABASE_NOT_GIVEN", `No DuckDB file in ${cwd} to open`, {
      exitCode: 2,
      hint: "name one with --db FILE (or --pipeline NAME for NAME.duckdb); `restduck run CONFIG` writes <pipeline>.duckdb",
    });
  }
  throw new RestduckError("DATABASE_NOT_GIVEN", `${files.length} DuckDB files in ${cwd} (${files.join(", ")}): which one?`, {
    exitCode: 2,
    hint: `name one with --db FILE or --pipeline NAME, e.g. --db ${files[0]}`,
  });
}
