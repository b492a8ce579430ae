/**
 * Loading batches into DuckDB. Each batch is one transaction, committed together with the resume
 * checkpoint, so a crash never leaves half a batch. The Loader owns that transaction (or one that
 * spans a whole run, see beginAtomic) and dispatches: the batch's write strategy
 * (strategies/: append, replace, upsert, delete-insert, scd2) writes the rows through Tables
 * (tables.ts: DDL, staging, the Appender's encoding in appender.ts), then Bookkeeping
 * (bookkeeping.ts) records row counts, schema version and checkpoint in the same transaction.
 */
import { DatabaseError } from "../errors.ts";
import type { Schema } from "../normalize/types.ts";
import { Bookkeeping, type Checkpoint, type RunStatus, type UnfinishedRun } from "./bookkeeping.ts";
import type { Database } from "./db.ts";
import { STRATEGIES, strategyName, type Batch } from "./strategies/index.ts";
import { Tables } from "./tables.ts";

export type { Batch } from "./strategies/index.ts";
export type { Checkpoint, RunStatus, UnfinishedRun } from "./bookkeeping.ts";

export interface LoaderOptions {
  dataset: string;
  pipelineName: string;
  /**
   * Replaces secret values in a text before it is stored: checkpoint positions
   * and state, run errors, pipeline state. Applied on the way in, because a
   * value once written stays in the file's free pages and the WAL (issue #11).
   */
  seal?: (text: string) => string;
}

/** Loads batches into a dataset schema and keeps the bookkeeping tables. */
export class Loader {
  readonly db: Database;
  readonly dataset: string;
  readonly pipelineName: string;
  readonly #tables: Tables;
  readonly #books: Bookkeeping;
  /** True while a whole run is one transaction (see beginAtomic). */
  #atomic = false;
  /**
   * The end of the queue of work on the one connection. Resources load side by side, but DuckDB's
   * connection holds one transaction at a time: a second BEGIN, or another resource's statement in the
   * middle of a batch, would join or break it. Every write goes through #exclusive, first come first served.
   */
  #queue: Promise<unknown> = Promise.resolve();
  /** A releaseMemory queued and not yet started. */
  #release: Promise<void> | undefined;
  /** The schema as committed so far (see trackSchema); what each batch stores grows from it. */
  #committed: Schema | undefined;

  private constructor(db: Database, options: LoaderOptions) {
    this.db = db;
    this.dataset = options.dataset;
    this.pipelineName = options.pipelineName;
    this.#tables = new Tables(db, options.dataset);
    this.#books = new Bookkeeping(db, options);
  }

  /** Prepares a dataset (schema and bookkeeping tables) in an open database. */
  static async open(db: Database, options: LoaderOptions): Promise<Loader> {
    const loader = new Loader(db, options);
    await loader.#books.create();
    return loader;
  }

  /**
   * Makes everything up to commitAtomic one transaction: batches no longer
   * commit on their own. Used when a schema contract freezes something, so
   * a violation leaves nothing of the run behind (and the run cannot resume).
   */
  async beginAtomic(): Promise<void> {
    await this.db.run("BEGIN TRANSACTION");
    this.#atomic = true;
  }

  /** Commits the run-wide transaction. */
  async commitAtomic(): Promise<void> {
    this.#atomic = false;
    await this.db.run("COMMIT");
  }

  /** Rolls back the run-wide transaction, if one is open. */
  async rollbackAtomic(): Promise<void> {
    if (!this.#atomic) return;
    this.#atomic = false;
    await this.db.run("ROLLBACK").catch(() => {});
    this.#forgetCaches();
  }

  /** Runs `work` once the work queued before it is done, alone on the connection. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work, work);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * Makes each batch store the schema as committed, plus the batch's own resource's tables, instead
   * of the whole schema it was cut from. With several resources loading at once the shared schema
   * also holds the tables and columns of other resources' rows not yet committed; a stored schema
   * must not describe what the file lacks (a crash between the two commits would leave it so).
   * `schema` is what the file holds now (stored, or as a refresh left it).
   */
  trackSchema(schema: Schema): void {
    this.#committed = structuredClone(schema);
  }

  /** What a batch stores as the schema (see trackSchema). */
  #schemaToStore(batch: Batch): Schema {
    const committed = this.#committed;
    if (!committed) return batch.schema;
    const tables = { ...committed.tables };
    // The resource's own tables, and any table the batch writes (a table_name two resources share).
    const all = batch.schema.tables;
    const rootOf = (t: Batch["schema"]["tables"][string]) => {
      while (t.parent && all[t.parent]) t = all[t.parent];
      return t;
    };
    for (const [name, table] of Object.entries(all)) {
      if (rootOf(table).resource === batch.resource || batch.rows.has(name)) tables[name] = table;
    }
    return { ...batch.schema, version: Math.max(committed.version, batch.schema.version), tables };
  }

  async #begin(): Promise<void> {
    if (!this.#atomic) await this.db.run("BEGIN TRANSACTION");
  }

  async #commit(): Promise<void> {
    if (!this.#atomic) await this.db.run("COMMIT");
  }

  async #rollback(): Promise<void> {
    if (this.#atomic) return; // the run-wide transaction is rolled back by rollbackAtomic
    await this.db.run("ROLLBACK").catch(() => {});
  }

  /** After a rollback the caches may name tables, columns or a schema version it removed. */
  #forgetCaches(): void {
    this.#tables.forget();
    this.#books.forgetSavedSchema();
  }

  /**
   * Lets DuckDB drop the table blocks its buffer pool keeps after a commit (Database.releaseMemory),
   * so a run's memory does not grow with the rows it has written. Not inside a run-wide
   * transaction, whose blocks are still in use.
   */
  releaseMemory(): Promise<void> {
    // Resources loading side by side each ask after their commits: one release still waiting in the
    // queue serves them all (each costs about as much as a small batch's commit).
    this.#release ??= this.#exclusive(async () => {
      this.#release = undefined;
      if (!this.#atomic) await this.db.releaseMemory();
    });
    return this.#release;
  }

  /** The newest stored schema of this pipeline, or undefined on a first run. */
  storedSchema(): Promise<Schema | undefined> {
    return this.#books.storedSchema();
  }

  /** The newest run of this pipeline that did not complete, with its checkpoints. */
  unfinishedRun(): Promise<UnfinishedRun | undefined> {
    return this.#books.unfinishedRun();
  }

  /** Each resource's newest stored state (incremental cursors), from any run: the state committed with the newest rows. */
  latestStates(): Promise<Map<string, unknown>> {
    return this.#books.latestStates();
  }

  /** Records a run as started (or resumed). */
  startRun(loadId: string, info: { version: string; resumed: boolean; configHash?: string }): Promise<void> {
    return this.#books.startRun(loadId, info);
  }

  /** Marks an unfinished run as never to be resumed (its committed batches stay). */
  abandonRun(loadId: string, reason: string): Promise<void> {
    return this.#books.abandonRun(loadId, reason);
  }

  /** Stores a new schema version in `_dlt_version` if it changed since the stored one. */
  saveSchema(schema: Schema): Promise<string> {
    return this.#books.saveSchema(schema);
  }

  /** Records how a run ended; a completed run also gets its `_dlt_loads` row, as dlt writes it. */
  finishRun(loadId: string, status: Exclude<RunStatus, "running">, info: { error?: string; schema?: Schema; requests?: number; retries?: number; state?: unknown }): Promise<void> {
    return this.#books.finishRun(loadId, status, info);
  }

  /** Clears what a previous attempt of a resource left behind (replace's staging, scd2's seen versions) before it starts over. */
  resetResource(schema: Schema, resource: string): Promise<void> {
    return this.#exclusive(async () => {
      for (const strategy of Object.values(STRATEGIES)) await strategy.reset?.(this.#tables, schema, resource);
    });
  }

  /** Loads one batch and its checkpoint atomically, after the batches (of any resource) handed in before it. */
  commitBatch(batch: Batch): Promise<void> {
    return this.#exclusive(() => this.#commitBatch(batch));
  }

  async #commitBatch(batch: Batch): Promise<void> {
    const tables = this.#tables;
    const stored = this.#schemaToStore(batch);
    const strategy = STRATEGIES[strategyName(batch)];
    await this.#begin();
    try {
      const into = strategy.staged ? tables.stagingName : tables.dataset;
      if (strategy.staged) await this.db.run(`CREATE SCHEMA IF NOT EXISTS ${tables.staging}`);
      // Every table with rows exists (and has its columns) before the strategy matches anything.
      for (const tableName of batch.rows.keys()) await tables.ensure(into, batch.schema.tables[tableName]);
      const root = batch.schema.tables[batch.rootTable];
      // A batch with no rows at all still commits its checkpoint.
      if (root) await strategy.write(tables, { batch, root, rootRows: batch.rows.get(batch.rootTable) ?? [], into });
      // The schema travels with the rows it describes, so a resumed run sees the columns a crashed one created.
      await this.#books.saveSchema(stored);
      // The counts and the checkpoint go with the COMMIT in one round trip (recordBatch).
      const counts = [...batch.rows].filter(([, rows]) => rows.length > 0).map(([table, rows]): [string, number] => [table, rows.length]);
      await this.#books.recordBatch(batch.loadId, batch.resource, counts, batch.checkpoint, this.#atomic ? undefined : "COMMIT");
      if (this.#committed) this.#committed = stored;
    } catch (error) {
      await this.#rollback();
      this.#forgetCaches();
      if (error instanceof DatabaseError) throw error;
      // A value nested tens of thousands of levels deep overflows JSON.stringify: say so instead of "call stack".
      if (error instanceof RangeError && /call stack/i.test(error.message)) {
        throw new DatabaseError(`Loading a batch of ${batch.resource} failed: a record holds a value nested too deeply to store as JSON`, {
          cause: error,
          hint: "earlier batches are kept; drop or shorten that field (processing_steps, or a lower max_table_nesting), then run again",
        });
      }
      throw new DatabaseError(`Loading a batch of ${batch.resource} failed: ${(error as Error).message}`, { cause: error, hint: "earlier batches are kept; fix the cause and run again to resume" });
    }
  }

  /**
   * Marks a resource complete, after its strategy's last step in the same transaction: replace
   * swaps its staged rows in, scd2 closes the versions the source no longer returned.
   */
  finishResource(batch: Omit<Batch, "rows">): Promise<void> {
    return this.#exclusive(() => this.#finishResource(batch));
  }

  async #finishResource(batch: Omit<Batch, "rows">): Promise<void> {
    const strategy = STRATEGIES[strategyName(batch)];
    await this.#begin();
    try {
      await strategy.finish?.(this.#tables, batch);
      await this.#books.saveCheckpoint(batch.loadId, batch.resource, batch.checkpoint, true);
      await this.#commit();
    } catch (error) {
      await this.#rollback();
      this.#tables.forget();
      throw new DatabaseError(`Finishing ${batch.resource} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
