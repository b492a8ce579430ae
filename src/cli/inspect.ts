/**
 * What `info`, `schema` and `export` share: picking the datasets to show (with the error a user
 * sees when there are none) and formatting. The reading itself is load/read.ts.
 * Only the command handlers import this (it needs an open Database).
 */
import { RestduckError } from "../errors.ts";
import type { Database } from "../load/db.ts";
import { readDatasets } from "../load/read.ts";

/** The datasets to look at: `--dataset` if given (and present), else all of them. Throws when there are none. */
export async function datasetsOrFail(db: Database, path: string, wanted?: string): Promise<string[]> {
  const all = await readDatasets(db);
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

export { isBookkeepingTable } from "../load/bookkeeping.ts";

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
