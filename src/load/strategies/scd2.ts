/**
 * dlt's `scd2` merge strategy, all of it: the version id a record gets, the validity columns, how
 * a batch's versions are written and how versions the source no longer returns are closed.
 *
 * Each record's `_dlt_id` is a hash of its content (`scd2Versions`, applied by the pipeline before
 * normalizing), so a changed record is a new version. A version not yet active is inserted with
 * `_dlt_valid_from` = the load's time and `_dlt_valid_to` NULL; the versions seen are remembered
 * in staging so that, when the resource finishes, active versions the source no longer returned
 * are closed (`retire`). With a merge key only versions sharing a merge key with this run's
 * records are closed (dlt's incremental scd2).
 */
import { createHash } from "node:crypto";
import { duckdbType, ROOT_ROW, type Row, type Schema, type TableSchema } from "../../normalize/types.ts";
import { castFromStage } from "../appender.ts";
import { quoteIdent as q } from "../db.ts";
import { childrenOf, tablesOf, type Tables } from "../tables.ts";
import type { Batch, Write, WriteStrategy } from "./strategy.ts";

/** dlt's scd2 validity columns. */
export const SCD2_FROM = "_dlt_valid_from";
export const SCD2_TO = "_dlt_valid_to";

/** Staging table that remembers the scd2 versions a run has seen. */
const seenTable = (table: string) => `${table}__rd_scd2_seen`;

/**
 * The records with their scd2 version id as `_dlt_id`: a hash of the whole record, keys sorted,
 * so the same content is the same version in every run (and in files earlier versions wrote).
 */
export function scd2Versions<T extends Record<string, unknown>>(records: T[]): (T & { _dlt_id: string })[] {
  return records.map((r) => ({ ...r, _dlt_id: versionId(r) }));
}

function versionId(record: Record<string, unknown>): string {
  return createHash("sha256").update(JSON.stringify(sortedKeys(record))).digest("base64").slice(0, 22);
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

async function write(tables: Tables, { batch, root, rootRows }: Write): Promise<void> {
  await tables.ensure(tables.dataset, root);
  const db = tables.db;
  for (const name of [SCD2_FROM, SCD2_TO]) root.columns[name] ??= { name, data_type: "timestamp", nullable: true, x_added_in: batch.loadId };
  await tables.ensure(tables.dataset, root);
  const target = `${tables.ds}.${q(root.name)}`;
  const stage = await tables.stage(root, rootRows, true);
  const fresh = stage.replace(/"$/, '_d"');
  await db.run(
    `CREATE TEMP TABLE ${fresh} AS SELECT * FROM ${stage} s WHERE s._dlt_id NOT IN (SELECT _dlt_id FROM ${target} WHERE ${q(SCD2_TO)} IS NULL)
     QUALIFY row_number() OVER (PARTITION BY s._dlt_id ORDER BY s._rd_seq DESC) = 1`,
  );
  const boundary = `to_timestamp(${Number(batch.loadId)})`;
  const cols = Object.values(root.columns);
  const value = (c: (typeof cols)[number]) => (c.name === SCD2_FROM ? boundary : c.name === SCD2_TO ? "NULL" : castFromStage(c));
  await db.run(`INSERT INTO ${target} (${cols.map((c) => q(c.name)).join(", ")}) SELECT ${cols.map(value).join(", ")} FROM ${fresh}`);
  await appendChildrenOf(tables, batch, childrenOf(batch.schema, root), fresh);
  const mk = Object.values(root.columns).filter((c) => c.merge_key);
  const seen = `${tables.staging}.${q(seenTable(root.name))}`;
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${tables.staging}`);
  await db.run(`CREATE TABLE IF NOT EXISTS ${seen} (_dlt_id VARCHAR${mk.map((c) => `, ${q(c.name)} ${duckdbType(c)}`).join("")})`);
  await db.run(`INSERT INTO ${seen} SELECT _dlt_id${mk.map((c) => `, ${castFromStage(c)}`).join("")} FROM ${stage}`);
  await db.run(`DROP TABLE ${fresh}; DROP TABLE ${stage}`);
}

/**
 * Appends the nested rows of the root rows in `rootIds` (a table with `_dlt_id`): the new scd2
 * versions. Nested scd2 tables have no `_dlt_root_id` (as in dlt), so rows are picked by the root
 * row each one came from (ROOT_ROW); two copies of one version in a batch add its nested rows once.
 */
async function appendChildrenOf(tables: Tables, batch: Batch, children: TableSchema[], rootIds: string): Promise<void> {
  const fresh = new Set((await tables.db.all<{ id: string }>(`SELECT _dlt_id AS id FROM ${rootIds}`)).map((r) => r.id));
  for (const child of children) {
    const seen = new Set<unknown>();
    const rows = (batch.rows.get(child.name) ?? []).filter((r) => {
      const root = (r as Record<symbol, unknown>)[ROOT_ROW] as Row | undefined;
      if (!fresh.has(String(root?._dlt_id)) || seen.has(r._dlt_id)) return false;
      seen.add(r._dlt_id);
      return true;
    });
    if (rows.length) await tables.append(tables.dataset, child, rows);
  }
}

/** Closes the active versions this run did not see (see the file's comment). */
async function retire(tables: Tables, batch: Omit<Batch, "rows">): Promise<void> {
  const root = batch.schema.tables[batch.rootTable];
  if (!root || !(await tables.exists(tables.dataset, root.name))) return;
  const target = `${tables.ds}.${q(root.name)}`;
  const closeAt = `to_timestamp(${Number(batch.loadId)})`;
  const seen = `${tables.staging}.${q(seenTable(root.name))}`;
  if (!(await tables.exists(tables.stagingName, seenTable(root.name)))) {
    // Nothing came in this run: without a merge key, every active version is gone from the source.
    if (Object.values(root.columns).some((c) => c.merge_key)) return;
    await tables.db.run(`UPDATE ${target} SET ${q(SCD2_TO)} = ${closeAt} WHERE ${q(SCD2_TO)} IS NULL`);
    return;
  }
  const mk = Object.values(root.columns).filter((c) => c.merge_key).map((c) => q(c.name));
  await tables.db.run(
    `UPDATE ${target} SET ${q(SCD2_TO)} = ${closeAt}
     WHERE ${q(SCD2_TO)} IS NULL AND _dlt_id NOT IN (SELECT _dlt_id FROM ${seen})
     ${mk.length ? `AND (${mk.join(", ")}) IN (SELECT (${mk.join(", ")}) FROM ${seen})` : ""}`,
  );
  await tables.db.run(`DROP TABLE ${seen}`);
}

/** Forgets the versions a stopped attempt saw. */
async function reset(tables: Tables, schema: Schema, resource: string): Promise<void> {
  const seen = tablesOf(schema, resource).map((table) => `DROP TABLE IF EXISTS ${tables.staging}.${q(seenTable(table.name))};`);
  if (seen.length) await tables.db.run(seen.join("\n"));
}

/** The `merge` / `scd2` strategy: versions written per batch, retired when the resource finishes. */
export const scd2: WriteStrategy = { staged: false, write, finish: retire, reset };
