/**
 * dlt's `replace`: a run's batches are appended into the staging schema, and when the resource
 * finishes its rows are swapped in for the old ones in one transaction, so readers see the old
 * rows or the new, never half.
 */
import type { Schema } from "../../normalize/types.ts";
import { quoteIdent as q } from "../db.ts";
import { tablesOf, type Tables } from "../tables.ts";
import { appendBatch } from "./append.ts";
import type { Batch, WriteStrategy } from "./strategy.ts";

/** The `replace` strategy: staged, swapped in by `finish`. */
export const replace: WriteStrategy = {
  staged: true,
  write: appendBatch,
  async finish(tables: Tables, batch: Omit<Batch, "rows">): Promise<void> {
    const db = tables.db;
    for (const table of tablesOf(batch.schema, batch.resource)) {
      await tables.ensure(tables.dataset, table);
      await db.run(`DELETE FROM ${tables.ds}.${q(table.name)}`);
      if (await tables.exists(tables.stagingName, table.name)) {
        const cols = Object.keys(table.columns).map(q).join(", ");
        await db.run(`INSERT INTO ${tables.ds}.${q(table.name)} (${cols}) SELECT ${cols} FROM ${tables.staging}.${q(table.name)}`);
        await db.run(`DROP TABLE ${tables.staging}.${q(table.name)}`);
        tables.forget(tables.stagingName, table.name);
      }
    }
  },
  /** Drops the rows a stopped attempt left in staging. */
  async reset(tables: Tables, schema: Schema, resource: string): Promise<void> {
    const staged = tablesOf(schema, resource);
    // One round trip for all of them: a rerun that loads nothing pays this for every table.
    if (staged.length) await tables.db.run(staged.map((table) => `DROP TABLE IF EXISTS ${tables.staging}.${q(table.name)};`).join("\n"));
    for (const table of staged) tables.forget(tables.stagingName, table.name);
  },
};
