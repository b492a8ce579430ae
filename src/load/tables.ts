/**
 * The tables a load writes into: creating them and adding the columns a schema gained (widen.ts),
 * knowing which exist without asking DuckDB each time, staging rows in temp tables, and
 * appending rows straight into a table. Shared by every write strategy (strategies/).
 */
import { duckdbType, type Row, type Schema, type TableSchema } from "../normalize/types.ts";
import { appendRows, directPutter, putter, stagingType, type Put } from "./appender.ts";
import { ENGINE } from "../shared/engine.ts";
import { bulkable, insertJson, ROWS_PER_STATEMENT, type BulkTarget } from "./bulk.ts";
import { quoteIdent as q, type Database } from "./db.ts";
import { addColumns, hasIndexes } from "./widen.ts";

/** Where a batch writes: the open database, the dataset schema and its staging schema. */
export class Tables {
  readonly db: Database;
  /** The dataset schema (unquoted) and its quoted forms. */
  readonly dataset: string;
  readonly ds: string;
  readonly stagingName: string;
  readonly staging: string;
  /** Columns known to exist, per physical table (`schema.table`), in the table's column order. */
  readonly #known = new Map<string, Set<string>>();
  /** The tables each schema held when first asked; one created since is in #known, one dropped is forgotten here too. */
  readonly #listed = new Map<string, Set<string>>();
  /**
   * Whether a table has an index or a key, unique or check constraint (made or changed by hand:
   * restduck adds none), asked only when rows would go as JSON.
   */
  readonly #indexed = new Map<string, boolean>();
  #stageSeq = 0;
  /**
   * Rows reach DuckDB as JSON text (bulk.ts) rather than through the Appender: on JavaScriptCore,
   * whose Appender calls cost the most (BENCHMARKS.md, issue #15). Tests set it to compare the two.
   */
  rowsAsJson = ENGINE === "javascriptcore";

  constructor(db: Database, dataset: string) {
    this.db = db;
    this.dataset = dataset;
    this.ds = q(dataset);
    this.stagingName = `${dataset}_staging`;
    this.staging = q(this.stagingName);
  }

  /** Forgets what is known of one table (it was dropped), or of all (a rollback may have undone any of it). */
  forget(schema?: string, table?: string): void {
    if (schema === undefined) {
      this.#known.clear();
      this.#listed.clear();
      this.#indexed.clear();
    } else {
      this.#known.delete(`${schema}.${table}`);
      this.#listed.get(schema)?.delete(table!);
      this.#indexed.delete(`${schema}.${table}`);
    }
  }

  /** Whether `schema.table` exists (known from this load, or asked of DuckDB). */
  async exists(schema: string, table: string): Promise<boolean> {
    if (this.#known.has(`${schema}.${table}`)) return true;
    const rows = await this.db.all(`SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?`, [schema, table]);
    return rows.length > 0;
  }

  /**
   * Creates the table or adds the columns the schema gained since: a few by ALTER TABLE, many
   * (one record with thousands of new keys) by rebuilding the table once (widen.ts).
   */
  async ensure(schema: string, table: TableSchema): Promise<void> {
    const key = `${schema}.${table.name}`;
    let known = this.#known.get(key) ?? (await this.#columns(schema, table.name));
    if (!known) {
      // NOT NULL where the schema says so (dlt's columns, keys, `nullable: false` hints), as dlt's DuckDB tables have it.
      const defs = Object.values(table.columns).map((c) => `${q(c.name)} ${duckdbType(c)}${c.nullable === false ? " NOT NULL" : ""}`);
      await this.db.run(`CREATE TABLE ${q(schema)}.${q(table.name)} (${defs.join(", ")})`);
      known = new Set(Object.keys(table.columns));
      this.#known.set(key, known);
      this.#indexed.set(key, false);
    }
    const added = Object.values(table.columns).filter((c) => !known.has(c.name));
    await addColumns(this.db, schema, table.name, added);
    for (const column of added) known.add(column.name);
  }

  /** An existing table's columns, read from DuckDB once; undefined when the schema has no such table. */
  async #columns(schema: string, name: string): Promise<Set<string> | undefined> {
    // One listing per schema, not one lookup per table: a run of many resources makes many tables.
    let listed = this.#listed.get(schema);
    if (!listed) this.#listed.set(schema, (listed = await tablesIn(this.db, schema)));
    if (!listed.has(name)) return undefined;
    const known = new Set(await columnsOf(this.db, schema, name));
    this.#known.set(`${schema}.${name}`, known);
    return known;
  }

  async #hasIndexes(schema: string, name: string): Promise<boolean> {
    const key = `${schema}.${name}`;
    let has = this.#indexed.get(key);
    if (has === undefined) this.#indexed.set(key, (has = await hasIndexes(this.db, schema, name)));
    return has;
  }

  /**
   * Appends rows straight into a table with DuckDB's Appender, in the table's own column order
   * (columns the batch's schema lacks get NULL), inside the open transaction. The Appender casts
   * text to dates, decimals and JSON as `CAST` would; timestamps go in as instants (directPutter).
   */
  async append(schema: string, table: TableSchema, rows: Row[]): Promise<void> {
    await this.ensure(schema, table);
    const columns = Object.values(table.columns);
    // A table with an index keeps the Appender: DuckDB 1.5 once failed a COMMIT of JSON-inserted rows
    // into one ("node without metadata in ARTOperator::Insert"), and restduck's own tables have none.
    const target: BulkTarget = { table: `${q(schema)}.${q(table.name)}`, columns, mode: "cast", appenderOnly: this.rowsAsJson && (await this.#hasIndexes(schema, table.name)) };
    await this.#write(target, rows, async (chunk) => {
      const order = [...this.#known.get(`${schema}.${table.name}`)!];
      const puts: Put[] = order.map((name) => (table.columns[name] ? directPutter(table.columns[name]) : (a) => a.appendNull()));
      await appendRows(this.db, { table: table.name, schema, catalog: null }, chunk, (appender, row) => {
        for (let c = 0; c < order.length; c++) puts[c](appender, row[order[c]]);
      });
    });
  }

  /**
   * Writes rows through the Appender (`append(chunk, offset)`, offset being the chunk's place in
   * `rows`), or on JavaScriptCore as JSON text (bulk.ts) in statements of ROWS_PER_STATEMENT where
   * JSON carries the values exactly.
   */
  async #write(target: BulkTarget, rows: Row[], append: (chunk: Row[], offset: number) => Promise<void>): Promise<void> {
    if (!this.rowsAsJson || target.appenderOnly || !bulkable(target.columns)) return append(rows, 0);
    for (let from = 0; from < rows.length; from += ROWS_PER_STATEMENT) {
      const chunk = rows.length <= ROWS_PER_STATEMENT ? rows : rows.slice(from, from + ROWS_PER_STATEMENT);
      if (!(await insertJson(this.db, target, chunk, from))) await append(chunk, from);
    }
  }

  /**
   * Appends rows into a fresh temp staging table (stagingType columns; with `withSeq`, a `_rd_seq`
   * column holding each row's place in `rows`) and returns its quoted name.
   */
  async stage(table: TableSchema, rows: Row[], withSeq = false): Promise<string> {
    const name = `_rd_stage_${++this.#stageSeq}`;
    const cols = Object.values(table.columns);
    const defs = cols.map((c) => `${q(c.name)} ${stagingType(c)}`);
    if (withSeq) defs.push(`_rd_seq BIGINT`);
    await this.db.run(`CREATE TEMP TABLE ${q(name)} (${defs.join(", ")})`);
    const staged = `temp.main.${q(name)}`;
    await this.#write({ table: staged, columns: cols, mode: "stage", withSeq }, rows, async (chunk, offset) => {
      const puts = cols.map(putter);
      const names = cols.map((c) => c.name);
      await appendRows(this.db, { table: name, schema: "main", catalog: "temp" }, chunk, (appender, row, i) => {
        for (let c = 0; c < names.length; c++) puts[c](appender, row[names[c]]);
        if (withSeq) appender.appendInteger(offset + i);
      });
    });
    return staged;
  }
}

/**
 * The base tables of a schema in the open database. From duckdb_tables(), never
 * information_schema.columns: listing columns makes DuckDB bind every view of every catalog,
 * its own ~500 columns of pg_catalog and information_schema views included: 20–60 ms on a
 * process's first catalog read, a tenth of a rerun that loads nothing (issue #15).
 */
export async function tablesIn(db: Database, schema: string): Promise<Set<string>> {
  const rows = await db.all<{ name: string }>(`SELECT table_name AS name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ?`, [schema]);
  return new Set(rows.map((r) => r.name));
}

/** A table's columns in their order, from the shape of an empty result: binding one table costs about a millisecond. */
export async function columnsOf(db: Database, schema: string, table: string): Promise<string[]> {
  return (await db.table(`SELECT * FROM ${q(schema)}.${q(table)} LIMIT 0`)).columns;
}

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

/** The nested tables under a root table. */
export function childrenOf(schema: Schema, root: TableSchema): TableSchema[] {
  return Object.values(schema.tables).filter((t) => t.parent !== undefined && rootOf(schema, t) === root.name);
}
