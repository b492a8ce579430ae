/**
 * dlt's `delete-insert`: rows of earlier loads that share a primary key or merge key with this
 * batch are deleted (with their nested rows), then the batch is inserted (the last of duplicate
 * primary keys wins). Rows of this same load are only replaced by primary key, so a merge key
 * that spans several batches keeps every row of the load.
 */
import type { TableSchema } from "../../normalize/types.ts";
import { castFromStage } from "../appender.ts";
import { quoteIdent as q } from "../db.ts";
import { childrenOf, type Tables } from "../tables.ts";
import type { Batch, Write, WriteStrategy } from "./strategy.ts";

async function writeDeleteInsert(tables: Tables, { batch, root, rootRows }: Write): Promise<void> {
  await tables.ensure(tables.dataset, root);
  const db = tables.db;
  const target = `${tables.ds}.${q(root.name)}`;
  const stage = await tables.stage(root, rootRows, true);
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
  const children = childrenOf(batch.schema, root);
  for (const child of children) {
    if (!(await tables.exists(tables.dataset, child.name))) continue;
    await db.run(`DELETE FROM ${tables.ds}.${q(child.name)} WHERE _dlt_root_id IN (SELECT _dlt_id FROM ${doomed})`);
  }
  await db.run(`DELETE FROM ${target} WHERE _dlt_id IN (SELECT _dlt_id FROM ${doomed})`);
  const cols = Object.values(root.columns);
  await db.run(`INSERT INTO ${target} (${cols.map((c) => q(c.name)).join(", ")}) SELECT ${cols.map((c) => castFromStage(c)).join(", ")} FROM ${dedup}`);
  await insertChildren(tables, batch, children, dedup);
  await db.run(`DROP TABLE ${doomed}; DROP TABLE ${dedup}; DROP TABLE ${stage}`);
}

/** Inserts the nested rows of a batch whose root row is in `rootIds` (a table with `_dlt_id`). */
async function insertChildren(tables: Tables, batch: Batch, children: TableSchema[], rootIds: string): Promise<void> {
  for (const child of children) {
    const rows = batch.rows.get(child.name);
    if (!rows?.length) continue;
    await tables.ensure(tables.dataset, child);
    const childStage = await tables.stage(child, rows);
    const ccols = Object.values(child.columns);
    await tables.db.run(
      `INSERT INTO ${tables.ds}.${q(child.name)} (${ccols.map((c) => q(c.name)).join(", ")}) SELECT ${ccols.map((c) => castFromStage(c)).join(", ")} FROM ${childStage} WHERE _dlt_root_id IN (SELECT _dlt_id FROM ${rootIds})`,
    );
    await tables.db.run(`DROP TABLE ${childStage}`);
  }
}

/** The `merge` / `delete-insert` strategy. */
export const deleteInsert: WriteStrategy = { staged: false, write: writeDeleteInsert };
