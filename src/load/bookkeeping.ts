/**
 * Bookkeeping tables. `_dlt_loads`, `_dlt_version` and `_dlt_pipeline_state`
 * have the names and columns dlt writes, so tools that read them keep
 * working; `_restduck_runs`, `_restduck_checkpoints` and `_restduck_table_rows` are
 * ours (run status, counts, the resume position of each resource, and the rows each batch wrote
 * per table). This file owns their layout and every write to them (the `Bookkeeping` class, which
 * seals secrets on the way in), plus what a run reads back to resume; read.ts reads them for
 * the commands that only look.
 */
import { createHash } from "node:crypto";
import { DatabaseError } from "../errors.ts";
import type { Schema } from "../normalize/types.ts";
import { mapStrings } from "../redact.ts";
import { quoteIdent as q, quoteString, type Database } from "./db.ts";

/** dlt's schema engine version that `_dlt_version.engine_version` carries. */
export const SCHEMA_ENGINE_VERSION = 11;

type SqlValue = string | number | boolean | null;
/** One statement, its values written by `v`: as `?` with the value bound, or as a literal. */
type Statement = (v: (value: SqlValue) => string) => string;
/** A value as SQL literal text (quotes doubled: a value never ends the literal). */
const literal = (value: SqlValue): string => (value === null ? "NULL" : typeof value === "string" ? quoteString(value) : String(value));

/** DDL for the bookkeeping tables of a dataset schema (quoted name). */
export const BOOKKEEPING_DDL = (ds: string): string => `
CREATE TABLE IF NOT EXISTS ${ds}._dlt_loads (
  load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL,
  inserted_at TIMESTAMP WITH TIME ZONE NOT NULL, schema_version_hash VARCHAR);
CREATE TABLE IF NOT EXISTS ${ds}._dlt_version (
  version BIGINT NOT NULL, engine_version BIGINT NOT NULL, inserted_at TIMESTAMP WITH TIME ZONE NOT NULL,
  schema_name VARCHAR NOT NULL, version_hash VARCHAR NOT NULL, schema VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS ${ds}._dlt_pipeline_state (
  version BIGINT NOT NULL, engine_version BIGINT NOT NULL, pipeline_name VARCHAR NOT NULL, state VARCHAR NOT NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL, version_hash VARCHAR, _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS ${ds}._restduck_runs (
  load_id VARCHAR NOT NULL, pipeline_name VARCHAR NOT NULL, started_at TIMESTAMP WITH TIME ZONE NOT NULL,
  finished_at TIMESTAMP WITH TIME ZONE, status VARCHAR NOT NULL, error VARCHAR,
  requests BIGINT, retries BIGINT, restduck_version VARCHAR, config_hash VARCHAR);
-- Files written before config_hash existed get the column too.
ALTER TABLE ${ds}._restduck_runs ADD COLUMN IF NOT EXISTS config_hash VARCHAR;
CREATE TABLE IF NOT EXISTS ${ds}._restduck_checkpoints (
  load_id VARCHAR NOT NULL, resource VARCHAR NOT NULL, next_request JSON, pages BIGINT NOT NULL, rows BIGINT NOT NULL,
  done BOOLEAN NOT NULL, state JSON, updated_at TIMESTAMP WITH TIME ZONE NOT NULL);
CREATE TABLE IF NOT EXISTS ${ds}._restduck_table_rows (
  load_id VARCHAR NOT NULL, resource VARCHAR NOT NULL, table_name VARCHAR NOT NULL, rows BIGINT NOT NULL);
`;

/** Where a resource's walk stands after a batch: the checkpoint a run resumes from. */
export interface Checkpoint {
  /** The next page request (JSON-serializable), or null when the resource is complete. */
  next: unknown;
  pages: number;
  rows: number;
  /** Incremental cursor state, if the resource has one. */
  state?: unknown;
}

/** A run that did not finish, with where each resource stopped. */
export interface UnfinishedRun {
  loadId: string;
  status: string;
  /** Fingerprint of the config the run started with (see runPipeline); null for runs of older versions. */
  configHash: string | null;
  checkpoints: Map<string, Checkpoint & { done: boolean }>;
}

export type RunStatus = "running" | "completed" | "failed" | "interrupted";

/**
 * One pipeline's bookkeeping in one dataset: the runs, checkpoints, schema versions and state it
 * writes, and what a run reads back. Writes run in the caller's transaction (Loader's batch or
 * resource end) unless they open their own (finishRun).
 */
export class Bookkeeping {
  readonly #db: Database;
  readonly #ds: string;
  readonly #pipelineName: string;
  /** Masks secrets in every text stored about a run (see LoaderOptions.seal). */
  readonly #seal: (text: string) => string;
  #savedSchemaHash: string | undefined;

  constructor(db: Database, options: { dataset: string; pipelineName: string; seal?: (text: string) => string }) {
    this.#db = db;
    this.#ds = q(options.dataset);
    this.#pipelineName = options.pipelineName;
    this.#seal = options.seal ?? ((t) => t);
  }

  /** Creates the dataset schema and the bookkeeping tables if they are missing. */
  async create(): Promise<void> {
    await this.#db.run(`CREATE SCHEMA IF NOT EXISTS ${this.#ds};\n${BOOKKEEPING_DDL(this.#ds)}`);
  }

  /** Forgets which schema version is stored (a rollback may have removed it). */
  forgetSavedSchema(): void {
    this.#savedSchemaHash = undefined;
  }

  /** The newest stored schema of this pipeline, or undefined on a first run. */
  async storedSchema(): Promise<Schema | undefined> {
    const rows = await this.#db.all<{ schema: string }>(
      `SELECT schema FROM ${this.#ds}._dlt_version WHERE schema_name = ? ORDER BY version DESC, inserted_at DESC LIMIT 1`,
      [this.#pipelineName],
    );
    return rows[0] ? (JSON.parse(rows[0].schema) as Schema) : undefined;
  }

  /** The newest run of this pipeline that did not complete, with its checkpoints. */
  async unfinishedRun(): Promise<UnfinishedRun | undefined> {
    const runs = await this.#db.all<{ load_id: string; status: string; config_hash: string | null }>(
      `SELECT load_id, status, config_hash FROM ${this.#ds}._restduck_runs WHERE pipeline_name = ? ORDER BY started_at DESC LIMIT 1`,
      [this.#pipelineName],
    );
    const last = runs[0];
    if (!last || last.status === "completed" || last.status === "abandoned") return undefined;
    const rows = await this.#db.all<{ resource: string; next_request: string | null; pages: number; rows: number; done: boolean; state: string | null }>(
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
    const rows = await this.#db.all<{ resource: string; state: string }>(
      `SELECT resource, state FROM ${this.#ds}._restduck_checkpoints WHERE state IS NOT NULL QUALIFY row_number() OVER (PARTITION BY resource ORDER BY updated_at DESC, load_id DESC) = 1`,
    );
    return new Map(rows.map((r) => [r.resource, JSON.parse(r.state)]));
  }

  /** Records a run as started (or resumed). */
  async startRun(loadId: string, info: { version: string; resumed: boolean; configHash?: string }): Promise<void> {
    if (info.resumed) {
      await this.#db.run(`UPDATE ${this.#ds}._restduck_runs SET status = 'running', error = NULL, finished_at = NULL WHERE load_id = ?`, [loadId]);
      return;
    }
    await this.#db.run(
      `INSERT INTO ${this.#ds}._restduck_runs (load_id, pipeline_name, started_at, status, restduck_version, config_hash) VALUES (?, ?, now(), 'running', ?, ?)`,
      [loadId, this.#pipelineName, info.version, info.configHash ?? null],
    );
  }

  /** Marks an unfinished run as never to be resumed (its committed batches stay). */
  async abandonRun(loadId: string, reason: string): Promise<void> {
    await this.#db.run(
      `UPDATE ${this.#ds}._restduck_runs SET status = 'abandoned', finished_at = coalesce(finished_at, now()), error = coalesce(error || '; ', '') || ? WHERE load_id = ?`,
      [this.#seal(reason), loadId],
    );
  }

  /** Records the rows a batch wrote per table, for the _restduck_runs view; in the batch's transaction, so a crash never counts twice. */
  async countRows(loadId: string, resource: string, counts: [table: string, rows: number][]): Promise<void> {
    await this.#runPrepared(this.#countRowsSql(loadId, resource, counts));
  }

  /**
   * A batch's bookkeeping — countRows and saveCheckpoint — then `then` (the COMMIT), as one round trip
   * with the values written as literals. Each prepared statement costs three trips to DuckDB's thread
   * and back, and every trip waits for a turn on a busy event loop, while the next batch waits for this
   * one (BENCHMARKS.md, issue #15).
   */
  async recordBatch(loadId: string, resource: string, counts: [table: string, rows: number][], checkpoint: Checkpoint, then?: string): Promise<void> {
    const statements = [...this.#countRowsSql(loadId, resource, counts), ...this.#checkpointSql(loadId, resource, checkpoint, false)];
    const values: SqlValue[] = [];
    for (const statement of statements) statement((v) => (values.push(v), "?"));
    // DuckDB reads SQL text up to a NUL byte; a count that is not a plain integer is not written as one.
    if (values.some((v) => (typeof v === "string" ? v.includes("\0") : typeof v === "number" && !Number.isSafeInteger(v)))) {
      await this.#runPrepared(statements);
      if (then) await this.#db.run(then);
      return;
    }
    await this.#db.run([...statements.map((statement) => statement(literal)), ...(then ? [then] : [])].join(";\n"));
  }

  /** Stores where a resource stands (replacing what this run stored for it before). */
  async saveCheckpoint(loadId: string, resource: string, checkpoint: Checkpoint, done: boolean): Promise<void> {
    await this.#runPrepared(this.#checkpointSql(loadId, resource, checkpoint, done));
  }

  #countRowsSql(loadId: string, resource: string, counts: [table: string, rows: number][]): Statement[] {
    if (counts.length === 0) return [];
    return [
      (v) =>
        `INSERT INTO ${this.#ds}._restduck_table_rows (load_id, resource, table_name, rows) VALUES ${counts.map(([table, rows]) => `(${v(loadId)}, ${v(resource)}, ${v(table)}, ${v(rows)})`).join(", ")}`,
    ];
  }

  #checkpointSql(loadId: string, resource: string, checkpoint: Checkpoint, done: boolean): Statement[] {
    const next = checkpoint.next == null ? null : JSON.stringify(mapStrings(checkpoint.next, this.#seal));
    const state = checkpoint.state === undefined ? null : JSON.stringify(mapStrings(checkpoint.state, this.#seal));
    return [
      (v) => `DELETE FROM ${this.#ds}._restduck_checkpoints WHERE load_id = ${v(loadId)} AND resource = ${v(resource)}`,
      (v) =>
        `INSERT INTO ${this.#ds}._restduck_checkpoints (load_id, resource, next_request, pages, rows, done, state, updated_at) VALUES (${v(loadId)}, ${v(resource)}, ${v(next)}, ${v(checkpoint.pages)}, ${v(checkpoint.rows)}, ${v(done)}, ${v(state)}, now())`,
    ];
  }

  /** Runs each statement on its own, its values bound as parameters. */
  async #runPrepared(statements: Statement[]): Promise<void> {
    for (const statement of statements) {
      const params: SqlValue[] = [];
      await this.#db.run(statement((v) => (params.push(v), "?")), params);
    }
  }

  /** Stores a new schema version in `_dlt_version` if it changed since the stored one. */
  async saveSchema(schema: Schema): Promise<string> {
    const json = JSON.stringify(schema);
    const hash = createHash("sha256").update(json).digest("base64");
    if (hash === this.#savedSchemaHash) return hash;
    const exists = await this.#db.all(`SELECT 1 FROM ${this.#ds}._dlt_version WHERE schema_name = ? AND version_hash = ?`, [schema.name, hash]);
    if (!exists.length) {
      await this.#db.run(
        `INSERT INTO ${this.#ds}._dlt_version (version, engine_version, inserted_at, schema_name, version_hash, schema) VALUES (?, ?, now(), ?, ?, ?)`,
        [schema.version, SCHEMA_ENGINE_VERSION, schema.name, hash, json],
      );
    }
    this.#savedSchemaHash = hash;
    return hash;
  }

  /** Records how a run ended, in its own transaction; a completed run also gets its `_dlt_loads` row, as dlt writes it. */
  async finishRun(loadId: string, status: Exclude<RunStatus, "running">, info: { error?: string; schema?: Schema; requests?: number; retries?: number; state?: unknown }): Promise<void> {
    const db = this.#db;
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
          this.#pipelineName,
          hash,
        ]);
        if (info.state !== undefined) {
          const state = JSON.stringify(mapStrings(info.state, this.#seal));
          const stateHash = createHash("sha256").update(state).digest("base64");
          const prev = await db.all<{ v: number }>(`SELECT coalesce(max(version), 0)::INTEGER AS v FROM ${this.#ds}._dlt_pipeline_state WHERE pipeline_name = ?`, [this.#pipelineName]);
          await db.run(
            `INSERT INTO ${this.#ds}._dlt_pipeline_state (version, engine_version, pipeline_name, state, created_at, version_hash, _dlt_load_id, _dlt_id) VALUES (?, 4, ?, ?, now(), ?, ?, ?)`,
            [prev[0].v + 1, this.#pipelineName, state, stateHash, loadId, createHash("sha256").update(loadId + state).digest("hex").slice(0, 14)],
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

/** Tables restduck or dlt keep for themselves (`_dlt_*`, `_restduck_*`). */
export const isBookkeepingTable = (name: string): boolean => name.startsWith("_dlt_") || name.startsWith("_restduck_");

/**
 * Forgets the stored cursor state of `resources` (a refresh): their checkpoints of every run
 * keep their rows for `info`, with the state cleared. In the caller's transaction.
 */
export async function forgetStates(db: Database, dataset: string, resources: string[]): Promise<void> {
  if (!resources.length) return;
  await db.run(`UPDATE ${q(dataset)}._restduck_checkpoints SET state = NULL WHERE resource IN (${resources.map(() => "?").join(", ")})`, resources);
}
