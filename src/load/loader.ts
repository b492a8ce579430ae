/**
 * Loading batches into DuckDB: the only importer of @duckdb/node-api besides
 * db.ts. Each batch is one transaction, committed together with the resume
 * checkpoint, so a crash never leaves half a batch. Rows that cannot match
 * anything (append, replace, merge keys not in the table yet) go straight into
 * their tables with DuckDB's Appender; the rest are appended into temp staging
 * tables and moved by one set-based statement per table (MERGE, DELETE + INSERT).
 */
import { type DuckDBAppender, DuckDBTimestampTZValue } from "@duckdb/node-api";
import { createHash } from "node:crypto";
import { DatabaseError } from "../errors.ts";
import { stringifyJson, timestampMicros } from "../normalize/infer.ts";
import { duckdbType, ROOT_ROW, type ColumnSchema, type Row, type RowsByTable, type Schema, type TableSchema } from "../normalize/types.ts";
import { mapStrings } from "../redact.ts";
import { quoteIdent as q, type Database } from "./db.ts";
import { BOOKKEEPING_DDL, SCHEMA_ENGINE_VERSION } from "./bookkeeping.ts";
import { addColumns } from "./widen.ts";

/** Where a resource's walk stands after a batch: the checkpoint a run resumes from. */
export interface Checkpoint {
  /** The next page request (JSON-serializable), or null when the resource is complete. */
  next: unknown;
  pages: number;
  rows: number;
  /** Incremental cursor state, if the resource has one. */
  state?: unknown;
}

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

/** A run that did not finish, with where each resource stopped. */
export interface UnfinishedRun {
  loadId: string;
  status: string;
  /** Fingerprint of the config the run started with (see runPipeline); null for runs of older versions. */
  configHash: string | null;
  checkpoints: Map<string, Checkpoint & { done: boolean }>;
}

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

export type RunStatus = "running" | "completed" | "failed" | "interrupted";

/** DuckDB type used in the staging table: values the Appender writes natively, everything else as VARCHAR then cast. */
function stagingType(column: ColumnSchema): "BIGINT" | "DOUBLE" | "BOOLEAN" | "BLOB" | "VARCHAR" {
  if (column.data_type === "bigint") return "BIGINT";
  if (column.data_type === "binary") return "BLOB";
  if (column.data_type === "double") return "DOUBLE";
  if (column.data_type === "bool") return "BOOLEAN";
  return "VARCHAR";
}

type Put = (appender: DuckDBAppender, value: unknown) => void;

function putter(column: ColumnSchema): Put {
  switch (stagingType(column)) {
    case "BIGINT":
      return (a, v) => (v == null ? a.appendNull() : a.appendBigInt(typeof v === "bigint" ? v : BigInt(v as number)));
    case "DOUBLE":
      return (a, v) => (v == null ? a.appendNull() : a.appendDouble(Number(v)));
    case "BOOLEAN":
      return (a, v) => (v == null ? a.appendNull() : a.appendBoolean(Boolean(v)));
    case "BLOB":
      // The normalizer hands binary values over as bytes (coerceValue decodes hex and base64).
      return (a, v) => (v == null ? a.appendNull() : a.appendBlob(v instanceof Uint8Array ? v : new TextEncoder().encode(String(v))));
    default:
      // JSON values may hold bigints (exact big integers), which JSON.stringify rejects.
      if (column.data_type === "json") return (a, v) => (v == null ? a.appendNull() : a.appendVarchar(stringifyJson(v)));
      return (a, v) => (v == null ? a.appendNull() : a.appendVarchar(typeof v === "string" ? v : String(v)));
  }
}

/**
 * Like `putter`, for a column of the target table itself: timestamps go in as instants, because the
 * Appender's own text-to-TIMESTAMPTZ cast drops the offset (`…T10:00+02:00` would land as 10:00 UTC).
 */
function directPutter(column: ColumnSchema): Put {
  if (column.data_type !== "timestamp") return putter(column);
  return (a, v) => {
    if (v == null) return a.appendNull();
    const micros = typeof v === "string" ? timestampMicros(v) : undefined;
    if (micros === undefined) throw new DatabaseError(`column ${column.name}: ${JSON.stringify(String(v).slice(0, 60))} is not a timestamp`);
    a.appendTimestampTZ(new DuckDBTimestampTZValue(micros));
  };
}

/** Loads batches into a dataset schema and keeps the bookkeeping tables. */
export class Loader {
  readonly db: Database;
  readonly dataset: string;
  readonly pipelineName: string;
  readonly #ds: string;
  readonly #staging: string;
  /** Columns known to exist, per physical table (`schema.table`), in the table's column order. */
  readonly #known = new Map<string, Set<string>>();
  #stageSeq = 0;
  #savedSchemaHash: string | undefined;

  /** Masks secrets in every text this loader stores about a run (see LoaderOptions.seal). */
  readonly #seal: (text: string) => string;

  private constructor(db: Database, dataset: string, pipelineName: string, seal: (text: string) => string = (t) => t) {
    this.#seal = seal;
    this.db = db;
    this.dataset = dataset;
    this.pipelineName = pipelineName;
    this.#ds = q(dataset);
    this.#staging = q(`${dataset}_staging`);
  }

  /** True while a whole run is one transaction (see beginAtomic). */
  #atomic = false;

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
    this.#known.clear();
    this.#savedSchemaHash = undefined;
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

  /**
   * Lets DuckDB drop the table blocks its buffer pool keeps after a commit (Database.releaseMemory),
   * so a run's memory does not grow with the rows it has written. Not inside a run-wide
   * transaction, whose blocks are still in use.
   */
  async releaseMemory(): Promise<void> {
    if (!this.#atomic) await this.db.releaseMemory();
  }

  /** Prepares a dataset (schema and bookkeeping tables) in an open database. */
  static async open(db: Database, options: LoaderOptions): Promise<Loader> {
    const loader = new Loader(db, options.dataset, options.pipelineName, options.seal);
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${loader.#ds};\n${BOOKKEEPING_DDL(loader.#ds)}`);
    return loader;
  }

  /** The newest stored schema of this pipeline, or undefined on a first run. */
  async storedSchema(): Promise<Schema | undefined> {
    const rows = await this.db.all<{ schema: string }>(
      `SELECT schema FROM ${this.#ds}._dlt_version WHERE schema_name = ? ORDER BY version DESC, inserted_at DESC LIMIT 1`,
      [this.pipelineName],
    );
    return rows[0] ? (JSON.parse(rows[0].schema) as Schema) : undefined;
  }

  /** The newest run of this pipeline that did not complete, with its checkpoints. */
  async unfinishedRun(): Promise<UnfinishedRun | undefined> {
    const runs = await this.db.all<{ load_id: string; status: string; config_hash: string | null }>(
      `SELECT load_id, status, config_hash FROM ${this.#ds}._restduck_runs WHERE pipeline_name = ? ORDER BY started_at DESC LIMIT 1`,
      [this.pipelineName],
    );
    const last = runs[0];
    if (!last || last.status === "completed" || last.status === "abandoned") return undefined;
    const rows = await this.db.all<{ resource: string; next_request: string | null; pages: number; rows: number; done: boolean; state: string | null }>(
      `SELECT resource, next_request, pages, rows, done, state FROM ${this.#ds}._restduck_checkpoints WHERE load_id = ?`,
      [last.load_id],
    );
    const checkpoints = new Map<string, Checkpoint & { done: boolean }>();
    for (const r of rows) {
      checkpoints.set(r.resource, {
        next: r.next_request == null ? null : JSON.parse(r.next_request),
        pages: Number(r.pages),
        rows: Number(r.rows),
        done: r.done,
        state: r.state == null ? undefined : JSON.parse(r.state),
      });
    }
    return { loadId: last.load_id, status: last.status, configHash: last.config_hash, checkpoints };
  }

  /** Each resource's newest stored state (incremental cursors), from any run: the state committed with the newest rows. */
  async latestStates(): Promise<Map<string, unknown>> {
    const rows = await this.db.all<{ resource: string; state: string }>(
      `SELECT resource, state FROM ${this.#ds}._restduck_checkpoints WHERE state IS NOT NULL QUALIFY row_number() OVER (PARTITION BY resource ORDER BY updated_at DESC, load_id DESC) = 1`,
    );
    return new Map(rows.map((r) => [r.resource, JSON.parse(r.state)]));
  }

  /** Records a run as started (or resumed). */
  async startRun(loadId: string, info: { version: string; resumed: boolean; configHash?: string }): Promise<void> {
    if (info.resumed) {
      await this.db.run(`UPDATE ${this.#ds}._restduck_runs SET status = 'running', error = NULL, finished_at = NULL WHERE load_id = ?`, [loadId]);
      return;
    }
    await this.db.run(
      `INSERT INTO ${this.#ds}._restduck_runs (load_id, pipeline_name, started_at, status, restduck_version, config_hash) VALUES (?, ?, now(), 'running', ?, ?)`,
      [loadId, this.pipelineName, info.version, info.configHash ?? null],
    );
  }

  /** Marks an unfinished run as never to be resumed (its committed batches stay). */
  async abandonRun(loadId: string, reason: string): Promise<void> {
    await this.db.run(
      `UPDATE ${this.#ds}._restduck_runs SET status = 'abandoned', finished_at = coalesce(finished_at, now()), error = coalesce(error || '; ', '') || ? WHERE load_id = ?`,
      [this.#seal(reason), loadId],
    );
  }

  /** Clears what a previous attempt of a resource left in staging (replace) before it starts over. */
  async resetResource(schema: Schema, resource: string): Promise<void> {
    for (const table of tablesOf(schema, resource)) {
      await this.db.run(`DROP TABLE IF EXISTS ${this.#staging}.${q(table.name)}`);
      await this.db.run(`DROP TABLE IF EXISTS ${this.#staging}.${q(scd2SeenTable(table.name))}`);
      this.#known.delete(`${this.dataset}_staging.${table.name}`);
    }
  }

  /** Loads one batch and its checkpoint atomically. */
  async commitBatch(batch: Batch): Promise<void> {
    const db = this.db;
    await this.#begin();
    try {
      const targetSchema = batch.disposition === "replace" ? `${this.dataset}_staging` : this.dataset;
      if (batch.disposition === "replace") await db.run(`CREATE SCHEMA IF NOT EXISTS ${this.#staging}`);
      const root = batch.schema.tables[batch.rootTable];
      const rootRows = batch.rows.get(batch.rootTable) ?? [];
      // Child tables first get their tables; the root's staging is needed to filter them.
      for (const tableName of batch.rows.keys()) await this.#ensureTable(targetSchema, batch.schema.tables[tableName]);
      if (!root) {
        // A batch with no rows at all still commits its checkpoint.
      } else if (batch.disposition === "merge") {
        await this.#ensureTable(targetSchema, root);
        if (batch.mergeStrategy === "delete-insert") await this.#deleteInsert(batch, root, rootRows);
        else if (batch.mergeStrategy === "scd2") await this.#scd2(batch, root, rootRows);
        else await this.#merge(batch, root, rootRows);
      } else {
        // append, and replace into its staging schema: nothing to match, so the rows go straight in.
        for (const [tableName, rows] of batch.rows) if (rows.length > 0) await this.#append(targetSchema, batch.schema.tables[tableName], rows);
      }
      // Rows written per table, for the _restduck_runs view; in the batch's transaction, so a crash never counts twice.
      const counts = [...batch.rows].filter(([, rows]) => rows.length > 0);
      if (counts.length > 0) {
        await db.run(
          `INSERT INTO ${this.#ds}._restduck_table_rows (load_id, resource, table_name, rows) VALUES ${counts.map(() => "(?, ?, ?, ?)").join(", ")}`,
          counts.flatMap(([table, rows]) => [batch.loadId, batch.resource, table, rows.length]),
        );
      }
      // The schema travels with the rows it describes, so a resumed run sees the columns a crashed one created.
      await this.saveSchema(batch.schema);
      await this.#saveCheckpoint(batch.loadId, batch.resource, batch.checkpoint, false);
      await this.#commit();
    } catch (error) {
      await this.#rollback();
      // The caches may now name columns or a schema version the rollback removed.
      this.#known.clear();
      this.#savedSchemaHash = undefined;
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

  async #merge(batch: Batch, root: TableSchema, rootRows: Row[]): Promise<void> {
    const db = this.db;
    const target = `${this.#ds}.${q(root.name)}`;
    const pk = batch.primaryKey;
    // The last record seen wins among duplicates in one batch, nested rows included. Deduplicating
    // here (one Map pass) saves DuckDB a window-function copy and a filter per child table.
    const lastCopy = new Map<string, Row>();
    let nullKeys = 0;
    for (const row of rootRows) {
      const key = pk.map((k) => row[k] ?? null);
      if (key.includes(null)) nullKeys++;
      lastCopy.set(key.length === 1 ? String(typeof key[0]) + ":" + stringifyJson(key[0]) : stringifyJson(key), row);
    }
    if (nullKeys > 0) {
      throw new DatabaseError(`${batch.resource}: ${nullKeys} record(s) in this batch have no value for the primary key (${pk.join(", ")})`, {
        code: "PRIMARY_KEY_NULL",
        hint: "check primary_key in the config; merge needs every record to carry it",
      });
    }
    const kept = lastCopy.size === rootRows.length ? rootRows : [...lastCopy.values()];
    const keptSet = kept === rootRows ? undefined : new Set(kept);
    const children = Object.values(batch.schema.tables).filter((t) => t.parent !== undefined && rootOf(batch.schema, t) === root.name);
    const keptChildren = (child: TableSchema): Row[] | undefined => {
      const all = batch.rows.get(child.name);
      if (!keptSet) return all;
      return all?.filter((r) => {
        const rootRow = (r as Record<symbol, unknown>)[ROOT_ROW] as Row | undefined;
        return rootRow === undefined || keptSet.has(rootRow);
      });
    };
    // The common case — a first load, or an incremental one that only brings new records — has no
    // key in common with the table: then the rows are appended straight into it (no staging, no
    // MERGE, no DELETE of children), which is several times faster (BENCHMARKS.md).
    if (await this.#keysAreNew(target, root, pk, kept)) {
      await this.#append(this.dataset, root, kept);
      for (const child of children) {
        const rows = keptChildren(child);
        if (rows?.length) await this.#append(this.dataset, child, rows);
      }
      return;
    }
    const stage = await this.#stage(root, kept);
    const cols = Object.values(root.columns);
    // Children of rows being replaced go first: no orphans, no stale children.
    for (const child of children) {
      if (!(await this.#exists(this.dataset, child.name))) continue;
      await db.run(
        `DELETE FROM ${this.#ds}.${q(child.name)} WHERE _dlt_root_id IN (SELECT t._dlt_id FROM ${target} t JOIN ${stage} s ON ${pk.map((k) => `t.${q(k)} = s.${q(k)}`).join(" AND ")})`,
      );
    }
    const nonKey = cols.filter((c) => !pk.includes(c.name));
    // Spelling out UPDATE SET is far faster in DuckDB 1.5 than a bare `UPDATE` (see issue #2).
    await db.run(
      `MERGE INTO ${target} AS t USING ${stage} AS s ON ${pk.map((k) => `t.${q(k)} = s.${q(k)}`).join(" AND ")}
       ${nonKey.length ? `WHEN MATCHED THEN UPDATE SET ${nonKey.map((c) => `${q(c.name)} = ${castFromStage(c, "s")}`).join(", ")}` : ""}
       WHEN NOT MATCHED THEN INSERT (${cols.map((c) => q(c.name)).join(", ")}) VALUES (${cols.map((c) => castFromStage(c, "s")).join(", ")})`,
    );
    // Children of the replaced rows were deleted above, so every child row of the batch is new.
    for (const child of children) {
      const rows = keptChildren(child);
      if (rows?.length) await this.#append(this.dataset, child, rows);
    }
    await db.run(`DROP TABLE ${stage}`);
  }

  /** True when none of the rows' primary keys is in the target table yet (checked by a join on a temp table of the keys). */
  async #keysAreNew(target: string, root: TableSchema, pk: string[], rows: Row[]): Promise<boolean> {
    if (rows.length === 0) return true;
    const keyTable: TableSchema = { ...root, columns: Object.fromEntries(pk.map((k) => [k, root.columns[k]])) };
    const keys = await this.#stage(keyTable, rows);
    const hit = await this.db.all(`SELECT 1 FROM ${target} t JOIN ${keys} s ON ${pk.map((k) => `t.${q(k)} = ${castFromStage(root.columns[k], "s")}`).join(" AND ")} LIMIT 1`);
    await this.db.run(`DROP TABLE ${keys}`);
    return hit.length === 0;
  }

  /**
   * Appends rows straight into a table with DuckDB's Appender, in the table's own column order
   * (columns the batch's schema lacks get NULL), inside the open transaction. The Appender casts
   * text to dates, decimals and JSON as `CAST` would; timestamps go in as instants (directPutter).
   */
  async #append(schema: string, table: TableSchema, rows: Row[]): Promise<void> {
    await this.#ensureTable(schema, table);
    const order = [...this.#known.get(`${schema}.${table.name}`)!];
    const puts: Put[] = order.map((name) => (table.columns[name] ? directPutter(table.columns[name]) : (a) => a.appendNull()));
    await this.#appendRows(table.name, schema, null, rows, (appender, row) => {
      for (let c = 0; c < order.length; c++) puts[c](appender, row[order[c]]);
    });
  }

  /** Runs DuckDB's Appender over rows; the first error wins (closing an appender of an aborted transaction throws again). */
  async #appendRows(table: string, schema: string, catalog: string | null, rows: Row[], put: (appender: DuckDBAppender, row: Row, index: number) => void): Promise<void> {
    const appender = await this.db.connection.createAppender(table, schema, catalog);
    let failed = false;
    try {
      for (let i = 0; i < rows.length; i++) {
        put(appender, rows[i], i);
        appender.endRow();
      }
      appender.flushSync();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      try {
        appender.closeSync();
      } catch (error) {
        if (!failed) throw error;
      }
    }
  }

  /**
   * dlt's `delete-insert`: rows of earlier loads that share a primary key or
   * merge key with this batch are deleted (with their nested rows), then the
   * batch is inserted (the last of duplicate primary keys wins). Rows of this
   * same load are only replaced by primary key, so a merge key that spans
   * several batches keeps every row of the load.
   */
  async #deleteInsert(batch: Batch, root: TableSchema, rootRows: Row[]): Promise<void> {
    const db = this.db;
    const target = `${this.#ds}.${q(root.name)}`;
    const stage = await this.#stage(root, rootRows, true);
    const pk = batch.primaryKey;
    const mk = Object.values(root.columns).filter((c) => c.merge_key).map((c) => c.name);
    const dedup = stage.replace(/"$/, '_d"');
    await db.run(
      pk.length
        ? `CREATE TEMP TABLE ${dedup} AS SELECT * FROM ${stage} QUALIFY row_number() OVER (PARTITION BY ${pk.map(q).join(", ")} ORDER BY _rd_seq DESC) = 1`
        : `CREATE TEMP TABLE ${dedup} AS SELECT * FROM ${stage}`,
    );
    const on = (keys: string[]) => keys.map((k) => `t.${q(k)} = s.${q(k)}`).join(" AND ");
    const conditions: string[] = [];
    if (pk.length) conditions.push(`EXISTS (SELECT 1 FROM ${dedup} s WHERE ${on(pk)})`);
    if (mk.length) conditions.push(`(t._dlt_load_id <> '${batch.loadId.replace(/'/g, "''")}' AND EXISTS (SELECT 1 FROM ${dedup} s WHERE ${on(mk)}))`);
    const doomed = stage.replace(/"$/, '_x"');
    await db.run(`CREATE TEMP TABLE ${doomed} AS SELECT t._dlt_id FROM ${target} t WHERE ${conditions.join(" OR ") || "FALSE"}`);
    const children = Object.values(batch.schema.tables).filter((t) => t.parent !== undefined && rootOf(batch.schema, t) === root.name);
    for (const child of children) {
      if (!(await this.#exists(this.dataset, child.name))) continue;
      await db.run(`DELETE FROM ${this.#ds}.${q(child.name)} WHERE _dlt_root_id IN (SELECT _dlt_id FROM ${doomed})`);
    }
    await db.run(`DELETE FROM ${target} WHERE _dlt_id IN (SELECT _dlt_id FROM ${doomed})`);
    const cols = Object.values(root.columns);
    await db.run(`INSERT INTO ${target} (${cols.map((c) => q(c.name)).join(", ")}) SELECT ${cols.map((c) => castFromStage(c)).join(", ")} FROM ${dedup}`);
    await this.#insertChildren(batch, children, dedup);
    await db.run(`DROP TABLE ${doomed}; DROP TABLE ${dedup}; DROP TABLE ${stage}`);
  }

  /**
   * dlt's `scd2`: each record's `_dlt_id` is a hash of its content, so a
   * changed record is a new version. A version not yet active is inserted
   * with `_dlt_valid_from` = the load's time and `_dlt_valid_to` NULL; the
   * versions seen are remembered in staging so that, when the resource
   * finishes, active versions the source no longer returned are closed
   * (`#scd2Retire`). With a merge key only versions sharing a merge key
   * with this run's records are closed (dlt's incremental scd2).
   */
  async #scd2(batch: Batch, root: TableSchema, rootRows: Row[]): Promise<void> {
    const db = this.db;
    for (const name of [SCD2_FROM, SCD2_TO]) root.columns[name] ??= { name, data_type: "timestamp", nullable: true, x_added_in: batch.loadId };
    await this.#ensureTable(this.dataset, root);
    const target = `${this.#ds}.${q(root.name)}`;
    const stage = await this.#stage(root, rootRows, true);
    const fresh = stage.replace(/"$/, '_d"');
    await db.run(
      `CREATE TEMP TABLE ${fresh} AS SELECT * FROM ${stage} s WHERE s._dlt_id NOT IN (SELECT _dlt_id FROM ${target} WHERE ${q(SCD2_TO)} IS NULL)
       QUALIFY row_number() OVER (PARTITION BY s._dlt_id ORDER BY s._rd_seq DESC) = 1`,
    );
    const boundary = `to_timestamp(${Number(batch.loadId)})`;
    const cols = Object.values(root.columns);
    const value = (c: (typeof cols)[number]) => (c.name === SCD2_FROM ? boundary : c.name === SCD2_TO ? "NULL" : castFromStage(c));
    await db.run(`INSERT INTO ${target} (${cols.map((c) => q(c.name)).join(", ")}) SELECT ${cols.map(value).join(", ")} FROM ${fresh}`);
    const children = Object.values(batch.schema.tables).filter((t) => t.parent !== undefined && rootOf(batch.schema, t) === root.name);
    await this.#appendChildrenOf(batch, children, fresh);
    const mk = Object.values(root.columns).filter((c) => c.merge_key);
    const seen = `${this.#staging}.${q(scd2SeenTable(root.name))}`;
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${this.#staging}`);
    await db.run(`CREATE TABLE IF NOT EXISTS ${seen} (_dlt_id VARCHAR${mk.map((c) => `, ${q(c.name)} ${duckdbType(c)}`).join("")})`);
    await db.run(`INSERT INTO ${seen} SELECT _dlt_id${mk.map((c) => `, ${castFromStage(c)}`).join("")} FROM ${stage}`);
    await db.run(`DROP TABLE ${fresh}; DROP TABLE ${stage}`);
  }

  /** Closes the active scd2 versions this run did not see (see `#scd2`). */
  async #scd2Retire(batch: Omit<Batch, "rows">): Promise<void> {
    const root = batch.schema.tables[batch.rootTable];
    if (!root || !(await this.#exists(this.dataset, root.name))) return;
    const seen = `${this.#staging}.${q(scd2SeenTable(root.name))}`;
    if (!(await this.#exists(`${this.dataset}_staging`, scd2SeenTable(root.name)))) {
      // Nothing came in this run: without a merge key, every active version is gone from the source.
      if (Object.values(root.columns).some((c) => c.merge_key)) return;
      await this.db.run(`UPDATE ${this.#ds}.${q(root.name)} SET ${q(SCD2_TO)} = to_timestamp(${Number(batch.loadId)}) WHERE ${q(SCD2_TO)} IS NULL`);
      return;
    }
    const mk = Object.values(root.columns).filter((c) => c.merge_key).map((c) => q(c.name));
    await this.db.run(
      `UPDATE ${this.#ds}.${q(root.name)} SET ${q(SCD2_TO)} = to_timestamp(${Number(batch.loadId)})
       WHERE ${q(SCD2_TO)} IS NULL AND _dlt_id NOT IN (SELECT _dlt_id FROM ${seen})
       ${mk.length ? `AND (${mk.join(", ")}) IN (SELECT (${mk.join(", ")}) FROM ${seen})` : ""}`,
    );
    await this.db.run(`DROP TABLE ${seen}`);
  }

  /**
   * Appends the nested rows of the root rows in `rootIds` (a table with `_dlt_id`): the new scd2
   * versions. Nested scd2 tables have no `_dlt_root_id` (as in dlt), so rows are picked by the root
   * row each one came from (ROOT_ROW); two copies of one version in a batch add its nested rows once.
   */
  async #appendChildrenOf(batch: Batch, children: TableSchema[], rootIds: string): Promise<void> {
    const fresh = new Set((await this.db.all<{ id: string }>(`SELECT _dlt_id AS id FROM ${rootIds}`)).map((r) => r.id));
    for (const child of children) {
      const seen = new Set<unknown>();
      const rows = (batch.rows.get(child.name) ?? []).filter((r) => {
        const root = (r as Record<symbol, unknown>)[ROOT_ROW] as Row | undefined;
        if (!fresh.has(String(root?._dlt_id)) || seen.has(r._dlt_id)) return false;
        seen.add(r._dlt_id);
        return true;
      });
      if (rows.length) await this.#append(this.dataset, child, rows);
    }
  }

  /** Inserts the nested rows of a batch whose root row is in `rootIds` (a table with `_dlt_id`). */
  async #insertChildren(batch: Batch, children: TableSchema[], rootIds: string): Promise<void> {
    for (const child of children) {
      const rows = batch.rows.get(child.name);
      if (!rows?.length) continue;
      await this.#ensureTable(this.dataset, child);
      const childStage = await this.#stage(child, rows);
      const ccols = Object.values(child.columns);
      await this.db.run(
        `INSERT INTO ${this.#ds}.${q(child.name)} (${ccols.map((c) => q(c.name)).join(", ")}) SELECT ${ccols.map((c) => castFromStage(c)).join(", ")} FROM ${childStage} WHERE _dlt_root_id IN (SELECT _dlt_id FROM ${rootIds})`,
      );
      await this.db.run(`DROP TABLE ${childStage}`);
    }
  }

  /** Appends rows into a fresh temp staging table and returns its quoted name. */
  async #stage(table: TableSchema, rows: Row[], withSeq = false): Promise<string> {
    const name = `_rd_stage_${++this.#stageSeq}`;
    const cols = Object.values(table.columns);
    const defs = cols.map((c) => `${q(c.name)} ${stagingType(c)}`);
    if (withSeq) defs.push(`_rd_seq BIGINT`);
    await this.db.run(`CREATE TEMP TABLE ${q(name)} (${defs.join(", ")})`);
    const puts = cols.map(putter);
    const names = cols.map((c) => c.name);
    await this.#appendRows(name, "main", "temp", rows, (appender, row, i) => {
      for (let c = 0; c < names.length; c++) puts[c](appender, row[names[c]]);
      if (withSeq) appender.appendBigInt(BigInt(i));
    });
    return `temp.main.${q(name)}`;
  }

  async #exists(schema: string, table: string): Promise<boolean> {
    if (this.#known.has(`${schema}.${table}`)) return true;
    const rows = await this.db.all(`SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?`, [schema, table]);
    return rows.length > 0;
  }

  /**
   * Creates the table or adds the columns the schema gained since: a few by ALTER TABLE, many
   * (one record with thousands of new keys) by rebuilding the table once (widen.ts).
   */
  async #ensureTable(schema: string, table: TableSchema): Promise<void> {
    const key = `${schema}.${table.name}`;
    let known = this.#known.get(key);
    if (!known) {
      const rows = await this.db.all<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
        [schema, table.name],
      );
      known = new Set(rows.map((r) => r.column_name));
      if (known.size === 0) {
        // NOT NULL where the schema says so (dlt's columns, keys, `nullable: false` hints), as dlt's DuckDB tables have it.
        const defs = Object.values(table.columns).map((c) => `${q(c.name)} ${duckdbType(c)}${c.nullable === false ? " NOT NULL" : ""}`);
        await this.db.run(`CREATE TABLE ${q(schema)}.${q(table.name)} (${defs.join(", ")})`);
        known = new Set(Object.keys(table.columns));
      }
      this.#known.set(key, known);
    }
    const added = Object.values(table.columns).filter((c) => !known.has(c.name));
    await addColumns(this.db, schema, table.name, added);
    for (const column of added) known.add(column.name);
  }

  async #saveCheckpoint(loadId: string, resource: string, checkpoint: Checkpoint, done: boolean): Promise<void> {
    await this.db.run(`DELETE FROM ${this.#ds}._restduck_checkpoints WHERE load_id = ? AND resource = ?`, [loadId, resource]);
    await this.db.run(
      `INSERT INTO ${this.#ds}._restduck_checkpoints (load_id, resource, next_request, pages, rows, done, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, now())`,
      [
        loadId,
        resource,
        checkpoint.next == null ? null : JSON.stringify(mapStrings(checkpoint.next, this.#seal)),
        checkpoint.pages,
        checkpoint.rows,
        done,
        checkpoint.state === undefined ? null : JSON.stringify(mapStrings(checkpoint.state, this.#seal)),
      ],
    );
  }

  /**
   * Marks a resource complete. For `replace`, swaps the freshly loaded rows in
   * for the old ones in one transaction: readers see the old rows or the new, never half.
   */
  async finishResource(batch: Omit<Batch, "rows">): Promise<void> {
    const db = this.db;
    await this.#begin();
    try {
      if (batch.disposition === "replace") {
        for (const table of tablesOf(batch.schema, batch.resource)) {
          await this.#ensureTable(this.dataset, table);
          await db.run(`DELETE FROM ${this.#ds}.${q(table.name)}`);
          if (await this.#exists(`${this.dataset}_staging`, table.name)) {
            const cols = Object.keys(table.columns).map(q).join(", ");
            await db.run(`INSERT INTO ${this.#ds}.${q(table.name)} (${cols}) SELECT ${cols} FROM ${this.#staging}.${q(table.name)}`);
            await db.run(`DROP TABLE ${this.#staging}.${q(table.name)}`);
            this.#known.delete(`${this.dataset}_staging.${table.name}`);
          }
        }
      }
      if (batch.disposition === "merge" && batch.mergeStrategy === "scd2") await this.#scd2Retire(batch);
      await this.#saveCheckpoint(batch.loadId, batch.resource, batch.checkpoint, true);
      await this.#commit();
    } catch (error) {
      await this.#rollback();
      this.#known.clear();
      throw new DatabaseError(`Finishing ${batch.resource} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Stores a new schema version in `_dlt_version` if it changed since the stored one. */
  async saveSchema(schema: Schema): Promise<string> {
    const json = JSON.stringify(schema);
    const hash = createHash("sha256").update(json).digest("base64");
    if (hash === this.#savedSchemaHash) return hash;
    const exists = await this.db.all(`SELECT 1 FROM ${this.#ds}._dlt_version WHERE schema_name = ? AND version_hash = ?`, [schema.name, hash]);
    if (!exists.length) {
      await this.db.run(
        `INSERT INTO ${this.#ds}._dlt_version (version, engine_version, inserted_at, schema_name, version_hash, schema) VALUES (?, ?, now(), ?, ?, ?)`,
        [schema.version, SCHEMA_ENGINE_VERSION, schema.name, hash, json],
      );
    }
    this.#savedSchemaHash = hash;
    return hash;
  }

  /** Records how a run ended; a completed run also gets its `_dlt_loads` row, as dlt writes it. */
  async finishRun(loadId: string, status: Exclude<RunStatus, "running">, info: { error?: string; schema?: Schema; requests?: number; retries?: number; state?: unknown }): Promise<void> {
    const db = this.db;
    await db.run("BEGIN TRANSACTION");
    try {
      let hash: string | null = null;
      if (info.schema) hash = await this.saveSchema(info.schema);
      await db.run(
        `UPDATE ${this.#ds}._restduck_runs SET status = ?, finished_at = now(), error = ?, requests = coalesce(requests, 0) + ?, retries = coalesce(retries, 0) + ? WHERE load_id = ?`,
        [status, info.error == null ? null : this.#seal(info.error), info.requests ?? 0, info.retries ?? 0, loadId],
      );
      if (status === "completed") {
        await db.run(`INSERT INTO ${this.#ds}._dlt_loads (load_id, schema_name, status, inserted_at, schema_version_hash) VALUES (?, ?, 0, now(), ?)`, [
          loadId,
          this.pipelineName,
          hash,
        ]);
        if (info.state !== undefined) {
          const state = JSON.stringify(mapStrings(info.state, this.#seal));
          const stateHash = createHash("sha256").update(state).digest("base64");
          const prev = await db.all<{ v: number }>(`SELECT coalesce(max(version), 0)::INTEGER AS v FROM ${this.#ds}._dlt_pipeline_state WHERE pipeline_name = ?`, [this.pipelineName]);
          await db.run(
            `INSERT INTO ${this.#ds}._dlt_pipeline_state (version, engine_version, pipeline_name, state, created_at, version_hash, _dlt_load_id, _dlt_id) VALUES (?, 4, ?, ?, now(), ?, ?, ?)`,
            [prev[0].v + 1, this.pipelineName, state, stateHash, loadId, createHash("sha256").update(loadId + state).digest("hex").slice(0, 14)],
          );
        }
      }
      await db.run("COMMIT");
    } catch (error) {
      await db.run("ROLLBACK").catch(() => {});
      throw new DatabaseError(`Recording the end of run ${loadId} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** dlt's scd2 validity columns. */
const SCD2_FROM = "_dlt_valid_from";
const SCD2_TO = "_dlt_valid_to";
/** Staging table that remembers the scd2 versions a run has seen. */
const scd2SeenTable = (table: string) => `${table}__rd_scd2_seen`;

/** The root table a table belongs to. */
export function rootOf(schema: Schema, table: TableSchema): string {
  let t = table;
  while (t.parent && schema.tables[t.parent]) t = schema.tables[t.parent];
  return t.name;
}

/** Every table of a resource: its root table and all nested tables under it. */
export function tablesOf(schema: Schema, resource: string): TableSchema[] {
  const roots = Object.values(schema.tables).filter((t) => !t.parent && t.resource === resource);
  const rootNames = new Set(roots.map((t) => t.name));
  return Object.values(schema.tables).filter((t) => rootNames.has(rootOf(schema, t)));
}

/** The staged value cast to the column's real type. */
function castFromStage(column: ColumnSchema, alias?: string): string {
  const ref = alias ? `${alias}.${q(column.name)}` : q(column.name);
  return stagingType(column) === "VARCHAR" && column.data_type !== "text" ? `CAST(${ref} AS ${duckdbType(column)})` : ref;
}

