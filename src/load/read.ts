/**
 * Reading what restduck left in a DuckDB database, for the commands that only look (`info`,
 * `schema`, `export`): which schemas are datasets, the runs, checkpoints, states and schema
 * versions in the bookkeeping tables (bookkeeping.ts writes them), and the data tables' columns
 * and row counts. Every function works on a read-only connection and on files of older versions
 * (a bookkeeping table that is missing reads as empty).
 */
import { isBookkeepingTable } from "./bookkeeping.ts";
import { quoteIdent as q, type Database } from "./db.ts";

/** One run, newest first in readRuns, with what each resource of it loaded. */
export interface RunSummary {
  loadId: string;
  pipelineName: string;
  startedAt: string;
  finishedAt: string | null;
  status: string;
  error: string | null;
  requests: number | null;
  retries: number | null;
  /** Rows over all resources, from the checkpoints; null when the file has none. */
  rows: number | null;
  /** Each resource's position, by name; null when the file keeps no checkpoints. */
  resources: { resource: string; pages: number; rows: number; done: boolean }[] | null;
}

/** A resource's newest stored incremental state. */
export interface ResourceState {
  resource: string;
  state: unknown;
  updatedAt: string;
  loadId: string;
}

/** A pipeline's newest `_dlt_pipeline_state` row. */
export interface PipelineState {
  pipelineName: string;
  version: number;
  state: unknown;
  createdAt: string;
}

/** The newest stored schema of one schema name in `_dlt_version`, as JSON text (it may not parse). */
export interface StoredSchema {
  name: string;
  version: number;
  storedAt: string;
  schema: string;
}

/** A column as DuckDB has it. */
export interface ColumnInfo {
  type: string;
  nullable: boolean;
}

/** Schemas that hold restduck bookkeeping (`_restduck_runs` or dlt's `_dlt_version`), in name order. */
export async function readDatasets(db: Database): Promise<string[]> {
  const rows = await db.all<{ s: string }>(
    `SELECT DISTINCT table_schema AS s FROM information_schema.tables
     WHERE table_catalog = current_database() AND table_type = 'BASE TABLE' AND table_name IN ('_restduck_runs', '_dlt_version') ORDER BY 1`,
  );
  return rows.map((r) => r.s);
}

/** DuckDB's size figure for the open database (`pragma_database_size`), e.g. `1.5 MiB`. */
export async function readDatabaseSize(db: Database): Promise<string | undefined> {
  const rows = await db.all<{ database_size: string }>(`SELECT database_size FROM pragma_database_size() WHERE database_name = current_database()`);
  return rows[0]?.database_size;
}

/** A run as the bookkeeping tables hold it (their column names), with its rows per resource; `info --json` prints it so. */
export interface RunRecord {
  load_id: string;
  pipeline_name: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  error: string | null;
  requests: number | null;
  retries: number | null;
  rows: number | null;
  resources: { resource: string; pages: number; rows: number; done: boolean }[] | null;
}

/** The newest `limit` runs of a dataset (every pipeline), with their rows and per-resource positions. */
export async function readRuns(db: Database, dataset: string, options: { limit: number }): Promise<RunSummary[]> {
  const has = await bookkeepingIn(db, dataset);
  if (!has.has("_restduck_runs")) return [];
  const ds = q(dataset);
  const checkpoints = has.has("_restduck_checkpoints");
  const rows = await db.all<RunRecord>(
    `SELECT r.load_id, r.pipeline_name, r.started_at::VARCHAR AS started_at, r.finished_at::VARCHAR AS finished_at, r.status, r.error, r.requests, r.retries,
       ${checkpoints ? `(SELECT sum(c.rows) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id)::BIGINT` : "NULL"} AS rows,
       ${checkpoints ? `(SELECT list({'resource': c.resource, 'pages': c.pages, 'rows': c.rows, 'done': c.done} ORDER BY c.resource) FROM ${ds}._restduck_checkpoints c WHERE c.load_id = r.load_id)` : "NULL"} AS resources
     FROM ${ds}._restduck_runs r ORDER BY r.started_at DESC LIMIT ?`,
    [Math.max(1, Math.floor(options.limit))],
  );
  return rows.map((r) => ({
    loadId: r.load_id,
    pipelineName: r.pipeline_name,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    error: r.error,
    requests: numberOrNull(r.requests),
    retries: numberOrNull(r.retries),
    rows: numberOrNull(r.rows),
    // DuckDB's JSON form spells BIGINTs inside lists as strings.
    resources: r.resources?.map((x) => ({ ...x, pages: Number(x.pages), rows: Number(x.rows) })) ?? null,
  }));
}

/** When each run of a dataset started, by load id (so a load id reads as a date too). */
export async function readRunStarts(db: Database, dataset: string): Promise<Record<string, string>> {
  if (!(await bookkeepingIn(db, dataset)).has("_restduck_runs")) return {};
  const rows = await db.all<{ load_id: string; started_at: string }>(`SELECT load_id, started_at::VARCHAR AS started_at FROM ${q(dataset)}._restduck_runs`);
  return Object.fromEntries(rows.map((r) => [r.load_id, r.started_at]));
}

/** Each resource's newest incremental state (from the checkpoints of any run), by resource name. */
export async function readResourceStates(db: Database, dataset: string): Promise<ResourceState[]> {
  if (!(await bookkeepingIn(db, dataset)).has("_restduck_checkpoints")) return [];
  const rows = await db.all<{ resource: string; state: string; updated_at: string; load_id: string }>(
    `SELECT resource, state::VARCHAR AS state, updated_at::VARCHAR AS updated_at, load_id FROM ${q(dataset)}._restduck_checkpoints
     WHERE state IS NOT NULL QUALIFY row_number() OVER (PARTITION BY resource ORDER BY updated_at DESC) = 1 ORDER BY resource`,
  );
  return rows.map((r) => ({ resource: r.resource, state: parseJson(r.state), updatedAt: r.updated_at, loadId: r.load_id }));
}

/** Each pipeline's newest `_dlt_pipeline_state`, by pipeline name. */
export async function readPipelineStates(db: Database, dataset: string): Promise<PipelineState[]> {
  if (!(await bookkeepingIn(db, dataset)).has("_dlt_pipeline_state")) return [];
  const rows = await db.all<{ pipeline_name: string; version: number; state: string; created_at: string }>(
    `SELECT pipeline_name, version, state, created_at::VARCHAR AS created_at FROM ${q(dataset)}._dlt_pipeline_state
     QUALIFY row_number() OVER (PARTITION BY pipeline_name ORDER BY version DESC) = 1 ORDER BY pipeline_name`,
  );
  return rows.map((r) => ({ pipelineName: r.pipeline_name, version: Number(r.version), state: parseJson(r.state), createdAt: r.created_at }));
}

/** The newest stored schema per schema name (a dataset normally has one), by name. */
export async function readStoredSchemas(db: Database, dataset: string): Promise<StoredSchema[]> {
  if (!(await bookkeepingIn(db, dataset)).has("_dlt_version")) return [];
  const rows = await db.all<{ schema_name: string; version: number; schema: string; inserted_at: string }>(
    `SELECT schema_name, version, schema, inserted_at::VARCHAR AS inserted_at FROM ${q(dataset)}._dlt_version
     QUALIFY row_number() OVER (PARTITION BY schema_name ORDER BY version DESC, inserted_at DESC) = 1 ORDER BY schema_name`,
  );
  return rows.map((r) => ({ name: r.schema_name, version: Number(r.version), storedAt: r.inserted_at, schema: r.schema }));
}

/** Every table of a dataset (bookkeeping ones too) with its columns in order, by table name. */
export async function readColumns(db: Database, dataset: string): Promise<Map<string, Map<string, ColumnInfo>>> {
  const rows = await db.all<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
    `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_catalog = current_database() AND table_schema = ? ORDER BY table_name, ordinal_position`,
    [dataset],
  );
  const tables = new Map<string, Map<string, ColumnInfo>>();
  for (const c of rows) {
    if (!tables.has(c.table_name)) tables.set(c.table_name, new Map());
    tables.get(c.table_name)!.set(c.column_name, { type: c.data_type, nullable: c.is_nullable === "YES" });
  }
  return tables;
}

/** The data tables of a dataset (not bookkeeping, not views) with their row and column counts, by name. */
export async function readTableStats(db: Database, dataset: string): Promise<{ table: string; rows: number; columns: number }[]> {
  const tables = await db.all<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1`,
    [dataset],
  );
  const out = [];
  for (const t of tables.filter((t) => !isBookkeepingTable(t.name))) {
    const stats = (
      await db.all<{ rows: number; columns: number }>(
        `SELECT (SELECT count(*) FROM ${q(dataset)}.${q(t.name)})::BIGINT AS rows, column_count::BIGINT AS columns
         FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`,
        [dataset, t.name],
      )
    )[0];
    out.push({ table: t.name, rows: Number(stats?.rows ?? 0), columns: Number(stats?.columns ?? 0) });
  }
  return out;
}

/** How many rows a table of a dataset has. */
export async function countRows(db: Database, dataset: string, table: string): Promise<number> {
  return Number((await db.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${q(dataset)}.${q(table)}`))[0].n);
}

/** The bookkeeping tables a dataset has (older files lack some). */
async function bookkeepingIn(db: Database, dataset: string): Promise<Set<string>> {
  const rows = await db.all<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = ?`,
    [dataset],
  );
  return new Set(rows.map((r) => r.name).filter(isBookkeepingTable));
}

/** Parses a JSON column value that DuckDB hands back as a string (or already parsed); text that is not JSON stays text. */
function parseJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const numberOrNull = (value: number | null): number | null => (value === null ? null : Number(value));
