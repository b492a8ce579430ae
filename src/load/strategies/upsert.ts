/**
 * dlt's `merge` with the `upsert` strategy: a record replaces the row with its primary key (its
 * nested rows too), or is inserted. Keys not in the table yet go straight in with the Appender;
 * the rest are staged and moved by one MERGE.
 */
import { DatabaseError } from "../../errors.ts";
import { stringifyJson } from "../../normalize/infer.ts";
import { ROOT_ROW, type Row, type TableSchema } from "../../normalize/types.ts";
import { castFromStage } from "../appender.ts";
import { quoteIdent as q } from "../db.ts";
import { childrenOf, type Tables } from "../tables.ts";
import type { Write, WriteStrategy } from "./strategy.ts";

async function writeUpsert(tables: Tables, { batch, root, rootRows }: Write): Promise<void> {
  await tables.ensure(tables.dataset, root);
  const db = tables.db;
  const target = `${tables.ds}.${q(root.name)}`;
  const pk = batch.primaryKey;
  // The last record seen wins among duplicates in one batch, nested rows included. Deduplicating
  // here (one Map pass) saves DuckDB a window-function copy and a filter per child table.
  // A one-column key that is a number, string or bigint is its own Map key (no string per row);
  // an object key (an exact number) and a key of several columns go by their JSON.
  const lastCopy = new Map<unknown, Row>();
  let nullKeys = 0;
  const only = pk.length === 1 ? pk[0] : undefined;
  for (const row of rootRows) {
    if (only !== undefined) {
      const value = row[only] ?? null;
      if (value === null) nullKeys++;
      lastCopy.set(typeof value === "object" && value !== null ? `object:${stringifyJson(value)}` : value, row);
      continue;
    }
    const key = pk.map((k) => row[k] ?? null);
    if (key.includes(null)) nullKeys++;
    lastCopy.set(stringifyJson(key), row);
  }
  if (nullKeys > 0) {
    throw new DatabaseError(`${batch.resource}: ${nullKeys} record(s) in this batch have no value for the primary key (${pk.join(", ")})`, {
      code: "PRIMARY_KEY_NULL",
      hint: "check primary_key in the config; merge needs every record to carry it",
    });
  }
  const kept = lastCopy.size === rootRows.length ? rootRows : [...lastCopy.values()];
  const keptSet = kept === rootRows ? undefined : new Set(kept);
  const children = childrenOf(batch.schema, root);
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
  if (await keysAreNew(tables, target, root, pk, kept)) {
    await tables.append(tables.dataset, root, kept);
    for (const child of children) {
      const rows = keptChildren(child);
      if (rows?.length) await tables.append(tables.dataset, child, rows);
    }
    return;
  }
  const stage = await tables.stage(root, kept);
  const cols = Object.values(root.columns);
  // Children of rows being replaced go first: no orphans, no stale children.
  for (const child of children) {
    if (!(await tables.exists(tables.dataset, child.name))) continue;
    await db.run(
      `DELETE FROM ${tables.ds}.${q(child.name)} WHERE _dlt_root_id IN (SELECT t._dlt_id FROM ${target} t JOIN ${stage} s ON ${pk.map((k) => `t.${q(k)} = s.${q(k)}`).join(" AND ")})`,
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
    if (rows?.length) await tables.append(tables.dataset, child, rows);
  }
  await db.run(`DROP TABLE ${stage}`);
}

/**
 * True when none of the rows' primary keys is in the target table yet. An integer key first asks
 * whether any row of the table lies between the batch's lowest and highest key: with keys that grow
 * (ids, what most APIs page through) no row does, and DuckDB answers from its row groups' min/max
 * without reading them. Otherwise, and for other keys, a join on a temp table of the keys decides;
 * that costs a table, an Appender and a scan of the whole target per batch (BENCHMARKS.md, issue #15).
 */
async function keysAreNew(tables: Tables, target: string, root: TableSchema, pk: string[], rows: Row[]): Promise<boolean> {
  if (rows.length === 0) return true;
  const range = pk.length === 1 && root.columns[pk[0]]?.data_type === "bigint" ? integerRange(rows, pk[0]) : undefined;
  if (range) {
    const inRange = await tables.db.all(`SELECT 1 FROM ${target} WHERE ${q(pk[0])} BETWEEN ${range.min} AND ${range.max} LIMIT 1`);
    if (inRange.length === 0) return true;
  }
  const keyTable: TableSchema = { ...root, columns: Object.fromEntries(pk.map((k) => [k, root.columns[k]])) };
  const keys = await tables.stage(keyTable, rows);
  const hit = await tables.db.all(`SELECT 1 FROM ${target} t JOIN ${keys} s ON ${pk.map((k) => `t.${q(k)} = ${castFromStage(root.columns[k], "s")}`).join(" AND ")} LIMIT 1`);
  await tables.db.run(`DROP TABLE ${keys}`);
  return hit.length === 0;
}

/** The `merge` / `upsert` strategy. */
export const upsert: WriteStrategy = { staged: false, write: writeUpsert };

/** The lowest and highest value of an integer column over rows, as SQL literals; undefined if one is not an exact integer. */
function integerRange(rows: Row[], column: string): { min: string; max: string } | undefined {
  let min: number | bigint | undefined;
  let max: number | bigint | undefined;
  for (const row of rows) {
    const v = row[column];
    const n = typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v)) ? v : undefined;
    if (n === undefined) return undefined;
    if (min === undefined || n < min) min = n;
    if (max === undefined || n > max) max = n;
  }
  return min === undefined ? undefined : { min: String(min), max: String(max) };
}
