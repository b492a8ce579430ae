/**
 * Pending rows and their commits: pages gather into a batch until one of the
 * limits is reached, then the batch commits while the next one is fetched and
 * normalized (DuckDB works on its own threads). At most one commit is in flight.
 */
import type { Batch, Checkpoint, Loader } from "../load/loader.ts";
import type { Row } from "../normalize/types.ts";

/** When a batch is cut: after this many pages, pending records, or milliseconds since the batch began. */
export interface BatchLimits {
  pages: number;
  rows: number;
  ms: number;
}

export interface BatcherOptions {
  loader: Loader;
  /** What every batch of the resource shares; its schema keeps evolving, so each batch commits a copy. */
  base: Omit<Batch, "rows" | "checkpoint">;
  limits: BatchLimits;
  /** False for a parent fetched only for its children: pages are counted, nothing commits. */
  load: boolean;
  /** Pages and rows a resumed run had committed before. */
  pages: number;
  rows: number;
  /** Where a batch cut now resumes from, and the cursor state it carries. */
  position: () => Pick<Checkpoint, "next" | "state">;
  onCommitted: (committed: { pages: number; rows: number; batchRows: number }) => void;
  /** The run's clock (injected, so batch_seconds is testable). */
  now: () => number;
}

/** Gathers normalized pages into batches and commits them, one in flight at a time. */
export class Batcher {
  /** Pages so far, pending ones included. */
  pages: number;
  /** Rows of the batches cut so far. */
  rows: number;
  #pending = new Map<string, Row[]>();
  #pendingPages = 0;
  #pendingRecords = 0;
  #started: number;
  #committing: Promise<void> = Promise.resolve();
  readonly #options: BatcherOptions;

  constructor(options: BatcherOptions) {
    this.#options = options;
    this.pages = options.pages;
    this.rows = options.rows;
    this.#started = options.now();
  }

  /** Rows so far, pending ones included. */
  get total(): number {
    return this.rows + this.#pendingRecords;
  }

  /** Adds one page: its records' count and, when loading, its normalized rows by table. */
  add(records: number, rows: Map<string, Row[]> | undefined): void {
    if (rows) {
      for (const [table, tableRows] of rows) {
        const list = this.#pending.get(table);
        if (list) for (const r of tableRows) list.push(r);
        else this.#pending.set(table, tableRows);
      }
    }
    this.pages++;
    this.#pendingPages++;
    this.#pendingRecords += records;
  }

  /** Cuts a batch when a limit is reached. */
  async maybeFlush(): Promise<void> {
    const { limits, now } = this.#options;
    if (this.#pendingPages >= limits.pages || this.#pendingRecords >= limits.rows || now() - this.#started >= limits.ms) await this.flush();
  }

  /** Cuts a batch of what is pending and starts its commit once the one in flight is done. */
  async flush(): Promise<void> {
    const { loader, base, load, position, onCommitted, now } = this.#options;
    if (this.#pendingPages === 0 || !load) return;
    this.rows += this.#pendingRecords;
    const batchRows = this.#pendingRecords;
    const at = position();
    const checkpoint: Checkpoint = { next: at.next, pages: this.pages, rows: this.rows, state: at.state };
    // The normalizer keeps evolving the schema while this batch commits: give the batch its own copy.
    const batch = { ...base, schema: structuredClone(base.schema), rows: this.#pending, checkpoint };
    this.#pending = new Map();
    this.#started = now();
    this.#pendingPages = 0;
    this.#pendingRecords = 0;
    await this.#committing;
    // Releasing DuckDB's cached blocks after each commit keeps memory flat however many rows a run
    // writes; a batch of no rows (a rerun with nothing new) wrote no blocks, so its four statements are saved.
    this.#committing = loader
      .commitBatch(batch)
      .then(() => (batchRows > 0 ? loader.releaseMemory() : undefined))
      .then(() => onCommitted({ pages: checkpoint.pages, rows: checkpoint.rows, batchRows }));
    this.#committing.catch(() => {}); // surfaced by the next await
  }

  /** Waits for the commit in flight; its failure is thrown here. */
  settle(): Promise<void> {
    return this.#committing;
  }
}
