/**
 * Bookkeeping tables. `_dlt_loads`, `_dlt_version` and `_dlt_pipeline_state`
 * have the names and columns dlt writes, so tools that read them keep
 * working; `_restduck_runs`, `_restduck_checkpoints` and `_restduck_table_rows` are
 * ours (run status, counts, the resume position of each resource, and the rows each batch wrote
 * per table).
 */

/** dlt's schema engine version that `_dlt_version.engine_version` carries. */
export const SCHEMA_ENGINE_VERSION = 11;

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
