/**
 * dlt's refresh modes (`pipeline.run(…, refresh=…)`), done before a run loads anything:
 *
 * - `drop_sources`: every table of the pipeline's schema is dropped and all of its stored state
 *   (incremental cursors, resume positions) is forgotten; the schema starts empty.
 * - `drop_resources`: the same for the resources being loaded only; the others keep tables and state.
 * - `drop_data`: the resources' tables are emptied and their state forgotten, but tables and
 *   columns stay (the schema is unchanged).
 *
 * Everything happens in one transaction, so a failure leaves the file as it was. Old runs' rows in
 * `_restduck_checkpoints` stay for `info`, with their cursor state cleared.
 */
import type { Schema, TableSchema } from "../normalize/types.ts";
import { forgetStates } from "./bookkeeping.ts";
import { quoteIdent as q, type Database } from "./db.ts";
import { rootOf, tablesIn, tablesOf } from "./tables.ts";

export const REFRESH_MODES = ["drop_sources", "drop_resources", "drop_data"] as const;
export type RefreshMode = (typeof REFRESH_MODES)[number];

/** What {@link refreshDataset} did. */
export interface RefreshResult {
  /** The schema the run continues with. */
  schema: Schema;
  /** Tables dropped (or, for `drop_data`, emptied). */
  tables: string[];
  /** Resources whose stored state was forgotten. */
  resources: string[];
}

/**
 * Applies a refresh mode to a dataset.
 *
 * @param db The open database.
 * @param options The dataset, the stored schema, the resources being loaded and the mode.
 * @returns The schema to load with, and what was dropped.
 */
export async function refreshDataset(
  db: Database,
  options: { dataset: string; schema: Schema; resources: string[]; mode: RefreshMode },
): Promise<RefreshResult> {
  const { dataset, mode } = options;
  const schema = structuredClone(options.schema);
  const all = mode === "drop_sources";
  const resources = all ? [...new Set([...options.resources, ...Object.values(schema.tables).map((t) => t.resource).filter((r): r is string => !!r)])] : options.resources;
  const tables: TableSchema[] = all ? Object.values(schema.tables) : resources.flatMap((r) => tablesOf(schema, r));
  const ds = q(dataset);
  const staging = q(`${dataset}_staging`);
  await db.run("BEGIN TRANSACTION");
  try {
    const existing = await tablesIn(db, dataset);
    const hasStaging = (await db.all(`SELECT 1 FROM information_schema.schemata WHERE schema_name = ?`, [`${dataset}_staging`])).length > 0;
    for (const table of tables) {
      if (mode === "drop_data") {
        if (existing.has(table.name)) await db.run(`DELETE FROM ${ds}.${q(table.name)}`);
      } else {
        for (const view of viewNames(schema, table)) await db.run(`DROP VIEW IF EXISTS main.${q(view)}`);
        await db.run(`DROP TABLE IF EXISTS ${ds}.${q(table.name)}`);
      }
      // A replace load that stopped midway left its rows in the staging schema.
      if (hasStaging) await db.run(`DROP TABLE IF EXISTS ${staging}.${q(table.name)}`);
    }
    if (mode !== "drop_data") for (const table of tables) delete schema.tables[table.name];
    await forgetStates(db, dataset, resources);
    await db.run("COMMIT");
  } catch (error) {
    await db.run("ROLLBACK").catch(() => {});
    throw error;
  }
  return { schema, tables: tables.map((t) => t.name), resources };
}

/** The `main` views made for a table (see load/views.ts): named after its resource, or the table itself. */
function viewNames(schema: Schema, table: TableSchema): string[] {
  const root = schema.tables[rootOf(schema, table)];
  const names = new Set([table.name]);
  if (root?.resource) names.add(root.resource + table.name.slice(root.name.length));
  return [...names];
}
