/** dlt's `append`: nothing to match, so every row goes straight into its table with the Appender. */
import type { Tables } from "../tables.ts";
import type { Write, WriteStrategy } from "./strategy.ts";

/** Appends every table's rows of a batch into `into` (the dataset, or staging for replace). */
export async function appendBatch(tables: Tables, { batch, into }: Write): Promise<void> {
  for (const [tableName, rows] of batch.rows) if (rows.length > 0) await tables.append(into, batch.schema.tables[tableName], rows);
}

/** The `append` strategy. */
export const append: WriteStrategy = { staged: false, write: appendBatch };
