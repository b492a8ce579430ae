/**
 * Names a config gives to resources, tables and views end up as DuckDB identifiers and, through
 * `restduck export`, as file and folder names (issue #11, item 6): a resource named `../../victim`
 * became a view of that name, and export wrote (and, partitioned, emptied) a folder outside `--to`;
 * `table_name: _dlt_loads` appended rows into dlt's own bookkeeping. Such names are refused here,
 * at config time, before anything runs.
 */
import { normalizePath } from "../normalize/naming.ts";
import type { Config } from "./schema.ts";

/** Prefixes of the tables and views restduck and dlt keep their bookkeeping in. */
const BOOKKEEPING_PREFIXES = ["_dlt_", "_restduck_"];

/** Why `name` cannot name a resource, table or view, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (/[/\\]/.test(name)) return `"${name}" has a path separator; names become view and file names, so use letters, digits and _`;
  if (name.includes("..")) return `"${name}" has ".."; names become view and file names, so use letters, digits and _`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${JSON.stringify(name)} has a control character`;
  // Tables are named after the dlt-normalised name (`_DLT-Loads` → `_dlt_loads`), views after the name as written.
  for (const form of new Set([name.toLowerCase(), normalizePath(name)])) {
    const prefix = BOOKKEEPING_PREFIXES.find((p) => form.startsWith(p));
    if (prefix) return `"${name}" is a bookkeeping name (${prefix}…), kept for dlt's and restduck's own tables; choose another`;
  }
  return undefined;
}

/** Every problem with the names of a validated config's resources, table names and views, with its config path. */
export function nameProblems(config: Config): string[] {
  const problems: string[] = [];
  const check = (at: string, name: unknown) => {
    if (typeof name !== "string") return;
    const problem = nameProblem(name);
    if (problem !== undefined) problems.push(`${at}: ${problem}`);
  };
  check("resource_defaults.table_name", config.resource_defaults?.table_name);
  config.resources.forEach((r, i) => {
    check(`resources[${i}].name`, r.name);
    check(`resources[${i}].table_name`, r.table_name);
  });
  for (const name of Object.keys(config.views ?? {})) check(`views.${name}`, name);
  return problems;
}
