/**
 * What a write strategy is: how one batch's rows go into their tables (dlt's write dispositions
 * and merge strategies), and what happens when a resource's last batch is in. The Loader runs
 * each call inside the batch's (or the resource end's) transaction, with the bookkeeping.
 */
import type { RowsByTable, Schema, TableSchema, Row } from "../../normalize/types.ts";
import type { Checkpoint } from "../bookkeeping.ts";
import type { Tables } from "../tables.ts";

/** One batch of one resource, loaded in one transaction. */
export interface Batch {
  loadId: string;
  resource: string;
  rootTable: string;
  primaryKey: string[];
  disposition: "append" | "replace" | "merge";
  /** dlt's merge strategy; `upsert` when not given. */
  mergeStrategy?: "upsert" | "delete-insert" | "scd2";
  schema: Schema;
  rows: RowsByTable;
  checkpoint: Checkpoint;
}

/** The strategies by name: a write disposition, or for `merge` its merge strategy. */
export type StrategyName = "append" | "replace" | "upsert" | "delete-insert" | "scd2";

/** A batch's root table and its rows, and the schema its tables go into (the dataset, or staging). */
export interface Write {
  batch: Batch;
  root: TableSchema;
  rootRows: Row[];
  into: string;
}

export interface WriteStrategy {
  /** True when batches go into the staging schema until the resource finishes (replace). */
  readonly staged: boolean;
  /** Writes a batch that has a root table. */
  write(tables: Tables, write: Write): Promise<void>;
  /** Completes a resource after its last batch. */
  finish?(tables: Tables, batch: Omit<Batch, "rows">): Promise<void>;
  /** Clears what an earlier attempt of a resource left behind, before it starts over. */
  reset?(tables: Tables, schema: Schema, resource: string): Promise<void>;
}

/** The strategy name of a batch. */
export function strategyName(batch: Pick<Batch, "disposition" | "mergeStrategy">): StrategyName {
  return batch.disposition === "merge" ? (batch.mergeStrategy ?? "upsert") : batch.disposition;
}
