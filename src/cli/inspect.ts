/**
 * Reading what restduck left in a DuckDB database, for `info`, `schema` and
 * `export`: which schemas are restduck datasets, and the bookkeeping in them.
 * Only the command handlers import this (it needs an open Database).
 */
import { RestduckError } from "../errors.ts";
import type { Database } from "../load/db.ts";

/** Schemas that hold restduck bookkeeping (`_restduck_runs` or dlt's `_dlt_version`), in name order. */
export async function findDatasets(db: Database): Promise<string[]> {
  const rows = await db.all<{ s: string }>(
    `SELECT DISTINCT table_schema AS s FROM information_schema.tables
     WHERE table_catalog = current_database() AND table_type = 'BASE TABLE' AND table_name IN ('_restduck_runs', '_dlt_version') ORDER BY 1`,
  );
  return rows.map((r) => r.s);
}

/** The datasets to look at: `--dataset` if given (and present), else all of them. Throws when there are none. */
export async function datasetsOrFail(db: Database, path: string, wanted?: string): Promise<string[]> {
  const all = await findDatasets(db);
  if (wanted !== undefined) {
    if (!all.includes(wanted)) {
      throw new RestduckError("DATASET_MISSING", `Dataset ${wanted} is not in ${path}${all.length ? `; datasets: ${all.join(", ")}` : ""}`, {
        exitCode: 2,
        hint: all.length ? "pick one of the datasets above with --dataset" : `load something first: restduck run <config> --db ${path}`,
      });
    }
    return [wanted];
  }
  if (!all.length) {
    throw new RestduckError("DATASET_MISSING", `${path} holds no restduck dataset (no schema with _restduck_runs or _dlt_version)`, {
      hint: `load something first: restduck run <config> --db ${path}`,
    });
  }
  return all;
}

/** Tables restduck or dlt keep for themselves. */
export const isBookkeepingTable = (name: string): boolean => name.startsWith("_dlt_") || name.startsWith("_restduck_");

/** Parses a JSON column value that DuckDB hands back as a string (or already parsed). */
export function parseJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** `1234567` → `1.2 MB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}
