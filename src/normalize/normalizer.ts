/**
 * Turns records into rows of dlt's relational layout, evolving the schema as it goes, so SQL written
 * against a dlt-loaded DuckDB runs unchanged. Follows dlt's relational normalizer
 * (dlt/common/normalizers/json/relational.py and helpers.py, dlt/normalize/items_normalizers.py,
 * https://dlthub.com/docs/general-usage/destination-tables and .../schema):
 *
 * - Nested objects flatten into columns `parent__child`; lists become nested tables
 *   `<table>__<field>`, recursively. A list item that is not an object becomes a row with a `value`
 *   column. A list item that is itself a list becomes a row of an intermediate table (same name as
 *   for object items) whose own `list` field makes a further table `<table>__<field>__list`.
 *   Empty lists and objects add nothing; a column seen only with nulls is not created yet.
 * - Root rows carry `_dlt_load_id` and `_dlt_id`; nested rows `_dlt_parent_id`, `_dlt_list_idx`,
 *   `_dlt_id`, plus `_dlt_root_id` (the root row's `_dlt_id`) when the root is merged (not by scd2). See row_id.ts
 *   for how ids are made. A record's own non-empty `_dlt_id` is kept as its row key, as in dlt.
 * - Nesting is counted down from `maxTableNesting` (dlt's `max_table_nesting`, default 1000): each
 *   object level and each list level uses one step (a list inside a list uses two); an object or list
 *   met with no steps left is kept whole in a `json` column. So 0 keeps every nested value of the root
 *   as JSON, 1 flattens the root's objects once and makes first-level nested tables whose own nested
 *   values are JSON. A `json` column hint, or an existing `json` column, also keeps the value whole.
 * - Column hints (`columns`, primary and merge keys) apply to the root table, as a dlt resource's do;
 *   hints with a `data_type` create their column with the table, even if no record has it yet.
 * - Types: see infer.ts. A column's type never changes; a value that does not fit goes to a variant
 *   column `<col>__v_<type>` named after the value's own type.
 * - Contracts: see contract.ts.
 *
 * Names go through naming.ts. Keys that normalize alike within one table (`Id`, `id`) get distinct
 * names (`id`, `id_2`) where dlt would merge them into one column; a key already in normal form
 * wins the plain name when both appear in the same object. Which key gets the plain name otherwise
 * depends on the order keys are first seen, and is not remembered between runs.
 */
import { RestduckError } from "../errors.ts";
import { ExactNumber } from "../exact_json.ts";
import { type ContractMode, type ResolvedContract, type SchemaContract, EVOLVE_CONTRACT, resolveContract, SchemaContractError } from "./contract.ts";
import { coerceValue, DEFAULT_DETECTIONS, inferDataType, NO_FIT, type TypeDetection, valueType } from "./infer.ts";
import { MAX_IDENTIFIER_LENGTH, NameRegistry, normalizePath, shortenFragments } from "./naming.ts";
import { keyHasher, nestedRowId, randomRowId } from "./row_id.ts";
import { type ColumnSchema, type DataType, ROOT_ROW, type Row, type RowsByTable, type Schema, type TableSchema } from "./types.ts";

export { type ContractMode, type SchemaContract, SchemaContractError } from "./contract.ts";
export type { TypeDetection } from "./infer.ts";

/** A column hint from a resource's `columns`, overriding what the data implies. */
export interface ColumnHint {
  data_type?: DataType;
  nullable?: boolean;
  precision?: number;
  scale?: number;
}

/** Options of a {@link Normalizer}: one resource's table settings for one run. */
export interface NormalizerOptions {
  /** Written to the root rows' `_dlt_load_id`, and to `x_added_in` of what this run adds. */
  loadId: string;
  /** Root table name as configured; normalized. */
  table: string;
  /** Resource producing the records. */
  resource: string;
  /** Primary key fields as configured (source or normalized names). */
  primaryKey: string[];
  /** Merge key fields as configured. */
  mergeKey?: string[];
  writeDisposition: "append" | "replace" | "merge";
  /**
   * dlt's merge strategy; `upsert` and `insert-only` make root `_dlt_id` a hash of the primary key.
   * `scd2` nested tables get no `_dlt_root_id`. Default `delete-insert`.
   */
  mergeStrategy?: "delete-insert" | "upsert" | "insert-only" | "scd2";
  /** dlt's `max_table_nesting`; `undefined` means dlt's default 1000. */
  maxTableNesting?: number;
  /** Hints by source or normalized column name of the root table; `data_type: "json"` keeps a nested field whole. */
  columns?: Record<string, ColumnHint>;
  /** Default: evolve everything. */
  schemaContract?: SchemaContract | ContractMode;
  /** String detections for new columns; default `iso_timestamp` and `iso_date` (dlt enables only the first). */
  detections?: readonly TypeDetection[];
}

const C_DLT_ID = "_dlt_id";
const C_DLT_LOAD_ID = "_dlt_load_id";
const C_DLT_ROOT_ID = "_dlt_root_id";
const C_DLT_PARENT_ID = "_dlt_parent_id";
const C_DLT_LIST_IDX = "_dlt_list_idx";
const C_VALUE = "value";
// dlt exempts every column starting with its table prefix from contracts.
const DLT_PREFIX = "_dlt";
const NOT_NULL_COLUMNS = new Set([C_DLT_ID, C_DLT_LOAD_ID, C_DLT_ROOT_ID, C_DLT_PARENT_ID, C_DLT_LIST_IDX]);
const DEFAULT_MAX_NESTING = 1000;
// Key of the stand-in row dlt makes for a list inside a list.
const LIST_OF_LISTS_KEY = "list";

interface RootHint extends ColumnHint {
  primary_key?: boolean;
  merge_key?: boolean;
}

/** One level of an object: its keys, each with the names it has been given. */
interface KeyNode {
  readonly path: readonly string[];
  readonly entries: Map<string, KeyEntry>;
}

interface KeyEntry {
  /** Source keys from the row's object down to this key. */
  readonly path: readonly string[];
  /** Normalized path before collision resolution. */
  base?: string;
  /** Column name, once the key has held a value stored in a column. */
  column?: string;
  /** Keys of the object this key holds, once it has held one that was flattened. */
  child?: KeyNode;
  /** Nested table, once the key has held a list that was unnested. */
  table?: TableState;
}

interface TableState {
  readonly name: string;
  readonly parent: TableState | undefined;
  readonly keys: KeyNode;
  readonly columnNames: NameRegistry;
  /** Created by this normalizer, so new columns are allowed whatever the contract (dlt's evolve-columns-once). */
  createdHere: boolean;
  /** `normalize` call whose output `rows` belongs to. */
  epoch: number;
  rows: Row[];
}

/** A column a row wants to add; committed once the row passes the contract. */
interface PendingColumn {
  column: ColumnSchema;
  valueType: DataType | undefined;
  /** For a variant column: the column the value did not fit. */
  variantOf?: ColumnSchema;
}

/**
 * Normalizes the records of one resource into dlt's tables, evolving a schema in place.
 *
 * Create one per resource and run; call {@link Normalizer.normalize} once per batch of records.
 */
export class Normalizer {
  /** Normalized root table name. */
  readonly rootTable: string;
  /** Normalized primary key column names of the root table. */
  readonly primaryKeyColumns: string[];

  readonly #schema: Schema;
  readonly #options: NormalizerOptions;
  readonly #loadId: string;
  readonly #contract: ResolvedContract;
  readonly #detections: readonly TypeDetection[];
  readonly #maxNesting: number;
  readonly #hints = new Map<string, RootHint>();
  /** Root columns every root row must have a value for. */
  readonly #required: string[];
  /** Root `_dlt_id` from the primary key (upsert, insert-only), or undefined for random ids. */
  readonly #keyHash: ((row: Row) => string) | undefined;
  readonly #propagateRootId: boolean;
  readonly #tableNames: NameRegistry;
  readonly #root: TableState;
  #rootSynced = false;

  // State of the current `normalize` call.
  #epoch = 0;
  #out: RowsByTable = new Map();
  #undo: (() => void)[] = [];
  #changed = false;
  readonly #pending: PendingColumn[] = [];
  /** Root row of the record being normalized; its nested rows point at it under ROOT_ROW. */
  #rootRow: Row | undefined;

  /**
   * @param schema The dataset's schema; `normalize` adds tables and columns to it.
   * @param options The resource's table settings.
   */
  constructor(schema: Schema, options: NormalizerOptions) {
    this.#schema = schema;
    this.#options = options;
    this.#loadId = options.loadId;
    this.#contract = resolveContract(options.schemaContract);
    this.#detections = options.detections ?? DEFAULT_DETECTIONS;
    this.#maxNesting = options.maxTableNesting ?? DEFAULT_MAX_NESTING;
    this.#tableNames = new NameRegistry({ normalize: _tableName });
    this.rootTable = this.#tableNames.resolve(JSON.stringify(["", options.table]));
    this.primaryKeyColumns = options.primaryKey.map((key) => normalizePath(key));

    for (const [key, hint] of Object.entries(options.columns ?? {})) this.#hint(key, hint);
    for (const key of options.primaryKey) this.#hint(key, { primary_key: true, nullable: false });
    for (const key of options.mergeKey ?? []) this.#hint(key, { merge_key: true });

    this.#required = [...this.#hints].filter(([, hint]) => hint.nullable === false).map(([name]) => name);
    const strategy = options.mergeStrategy ?? "delete-insert";
    const keyHashIds = options.writeDisposition === "merge" && (strategy === "upsert" || strategy === "insert-only");
    this.#keyHash = keyHashIds ? keyHasher(this.primaryKeyColumns) : undefined;
    // dlt propagates the root key for merge strategies that delete nested rows by it — not scd2, whose
    // versions keep theirs — and keeps propagating it once any nested table has it (helpers.requires_root_key).
    this.#propagateRootId =
      (options.writeDisposition === "merge" && strategy !== "scd2") ||
      Object.values(schema.tables).some((t) => t.parent !== undefined && t.name.startsWith(`${this.rootTable}__`) && C_DLT_ROOT_ID in t.columns);
    this.#root = this.#newTableState(this.rootTable, undefined);
  }

  /**
   * Normalizes a batch of records into rows per table.
   *
   * Evolves the schema in place (new tables, new columns with `x_added_in` = load id, variant
   * columns) and bumps `schema.version` when anything changed. When it throws, the schema is left
   * as it was before the call.
   *
   * @param records Records of the resource, as parsed from JSON.
   * @returns Rows by table: the root table first, every nested table after its parent.
   * @throws {SchemaContractError} When a record breaks a `freeze` contract.
   * @throws {RestduckError} `REQUIRED_VALUE_MISSING` when a root row has no value for a primary key or `nullable: false` column.
   */
  normalize(records: readonly unknown[]): RowsByTable {
    const out: RowsByTable = new Map();
    this.#out = out;
    this.#epoch++;
    this.#undo = [];
    this.#changed = false;
    const version = this.#schema.version;
    try {
      this.#syncRootTable();
      for (const record of records) {
        const item = _isObject(record) && !Array.isArray(record) ? (record as Record<string, unknown>) : { [C_VALUE]: record };
        this.#row(this.#root, item, this.#maxNesting, undefined, 0, undefined);
      }
    } catch (error) {
      for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]();
      this.#schema.version = version;
      throw error;
    }
    if (this.#changed) this.#schema.version = version + 1;
    return out;
  }

  /** Normalizes one object into a row of `table`, then its lists into nested tables. */
  #row(table: TableState, item: Record<string, unknown>, level: number, parentId: string | undefined, listIndex: number, rootId: string | undefined): void {
    const schemaTable = _own(this.#schema.tables, table.name);
    if (schemaTable === undefined && !this.#allowNewTable(table)) return;
    const row: Row = {};
    this.#pending.length = 0;
    const lists = this.#flatten(table, schemaTable?.columns, table.keys, item, level, row, undefined);
    this.#finishRow(table, schemaTable, row, parentId, listIndex, rootId, lists, level);
  }

  /** Makes a row of a nested table from a list item that is not an object. */
  #valueRow(table: TableState, value: unknown, parentId: string, listIndex: number, rootId: string | undefined): void {
    const schemaTable = _own(this.#schema.tables, table.name);
    if (schemaTable === undefined && !this.#allowNewTable(table)) return;
    const row: Row = {};
    this.#pending.length = 0;
    if (value !== null && value !== undefined) this.#put(table, schemaTable?.columns, row, C_VALUE, value);
    this.#finishRow(table, schemaTable, row, parentId, listIndex, rootId, undefined, 0);
  }

  /**
   * Puts the scalar and JSON-kept values of `item` into `row`, flattening nested objects.
   *
   * @returns Pairs of (key entry, list) to unnest, `lists` extended or created.
   */
  #flatten(
    table: TableState,
    columns: Record<string, ColumnSchema> | undefined,
    node: KeyNode,
    item: Record<string, unknown>,
    level: number,
    row: Row,
    lists: unknown[] | undefined,
  ): unknown[] | undefined {
    for (const key in item) {
      const value = item[key];
      if (value === null || value === undefined) continue;
      const entry = node.entries.get(key) ?? _newEntry(node, key);
      if (typeof value === "object" && level > 0 && _isObject(value) && !this.#keptAsJson(table, columns, entry)) {
        if (Array.isArray(value)) {
          (lists ??= []).push(entry, value);
        } else {
          const child = (entry.child ??= { path: entry.path, entries: new Map() });
          lists = this.#flatten(table, columns, child, value as Record<string, unknown>, level - 1, row, lists);
        }
        continue;
      }
      this.#put(table, columns, row, entry.column ?? this.#resolveColumn(table, node, entry, item), value);
    }
    return lists;
  }

  /** Adds the linking columns, applies the contract, commits new columns, emits the row and unnests its lists. */
  #finishRow(
    table: TableState,
    schemaTable: TableSchema | undefined,
    row: Row,
    parentId: string | undefined,
    listIndex: number,
    rootId: string | undefined,
    lists: unknown[] | undefined,
    level: number,
  ): void {
    if (this.#pending.length > 0 && this.#contract !== EVOLVE_CONTRACT && !this.#applyContract(table, schemaTable, row)) return;
    const columns = schemaTable?.columns;
    if (parentId === undefined) {
      this.#rootRow = row;
      this.#checkRequired(row);
      this.#put(table, columns, row, C_DLT_LOAD_ID, this.#loadId);
    } else {
      if (rootId !== undefined) this.#put(table, columns, row, C_DLT_ROOT_ID, rootId);
      // A symbol key: not a column, never staged.
      (row as Record<symbol, unknown>)[ROOT_ROW] = this.#rootRow;
    }
    let rowId = row[C_DLT_ID];
    if (!rowId) {
      if (parentId === undefined) {
        rowId = this.#keyHash !== undefined ? this.#keyHash(row) : randomRowId();
      } else {
        rowId = nestedRowId(parentId, table.name, listIndex);
        this.#put(table, columns, row, C_DLT_PARENT_ID, parentId);
        this.#put(table, columns, row, C_DLT_LIST_IDX, listIndex);
      }
      this.#put(table, columns, row, C_DLT_ID, rowId);
    }
    if (this.#pending.length > 0) this.#commit(table, schemaTable);

    if (table.epoch !== this.#epoch) {
      table.epoch = this.#epoch;
      table.rows = [];
      this.#out.set(table.name, table.rows);
    }
    table.rows.push(row);

    if (lists === undefined) return;
    const id = String(rowId);
    const childRootId = this.#propagateRootId ? (rootId ?? id) : undefined;
    for (let i = 0; i < lists.length; i += 2) {
      const entry = lists[i] as KeyEntry;
      const items = lists[i + 1] as unknown[];
      if (items.length === 0) continue;
      const child = (entry.table ??= this.#childTable(table, entry));
      for (let index = 0; index < items.length; index++) {
        const item = items[index];
        if (!_isObject(item)) this.#valueRow(child, item, id, index, childRootId);
        else if (Array.isArray(item)) this.#row(child, { [LIST_OF_LISTS_KEY]: item }, level - 2, id, index, childRootId);
        else this.#row(child, item as Record<string, unknown>, level - 1, id, index, childRootId);
      }
    }
  }

  /** Stores a value in its column, a new column, or a variant column. */
  #put(table: TableState, columns: Record<string, ColumnSchema> | undefined, row: Row, name: string, value: unknown): void {
    const column = columns === undefined ? undefined : _own(columns, name);
    if (column !== undefined) {
      const coerced = coerceValue(column, value);
      if (coerced !== NO_FIT) row[name] = coerced;
      else this.#putVariant(columns, row, column, value);
      return;
    }
    const hint = table === this.#root ? this.#hints.get(name) : undefined;
    const dataType = hint?.data_type ?? inferDataType(value, this.#detections);
    if (dataType === undefined) return;
    const created = this.#newColumn(name, dataType, hint, false);
    this.#pending.push({ column: created, valueType: valueType(value) });
    const coerced = coerceValue(created, value);
    if (coerced !== NO_FIT) row[name] = coerced;
    else this.#putVariant(columns, row, created, value);
  }

  /** Stores a value that does not fit `column` in the variant column for the value's type. */
  #putVariant(columns: Record<string, ColumnSchema> | undefined, row: Row, column: ColumnSchema, value: unknown): void {
    const type = valueType(value);
    if (type === undefined) return;
    const base = shortenFragments([column.name, `v_${type}`], MAX_IDENTIFIER_LENGTH);
    // A variant of this type always fits a new column of that type; the loop only guards against a
    // source key that already took the variant's name with another type.
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}_${n}`;
      const existing = (columns === undefined ? undefined : _own(columns, name)) ?? this.#pending.find((p) => p.column.name === name)?.column;
      if (existing === undefined) {
        const created = this.#newColumn(name, type, undefined, true);
        this.#pending.push({ column: created, valueType: type, variantOf: column });
        row[name] = coerceValue(created, value);
        return;
      }
      const coerced = coerceValue(existing, value);
      if (coerced !== NO_FIT) {
        row[name] = coerced;
        return;
      }
    }
  }

  #newColumn(name: string, dataType: DataType, hint: RootHint | undefined, variant: boolean): ColumnSchema {
    const column: ColumnSchema = { name, data_type: dataType, nullable: !NOT_NULL_COLUMNS.has(name) };
    if (hint !== undefined) {
      if (hint.nullable !== undefined) column.nullable = hint.nullable;
      if (hint.primary_key) column.primary_key = true;
      if (hint.merge_key) column.merge_key = true;
      if (hint.precision !== undefined) column.precision = hint.precision;
      if (hint.scale !== undefined) column.scale = hint.scale;
    }
    if (variant) column.variant = true;
    column.x_added_in = this.#loadId;
    return column;
  }

  /**
   * Applies the contract to the columns the row wants to add.
   *
   * @returns False when the row is discarded.
   */
  #applyContract(table: TableState, schemaTable: TableSchema | undefined, row: Row): boolean {
    const pending = this.#pending;
    const newColumnsAllowed = schemaTable === undefined || table.createdHere;
    for (let i = 0; i < pending.length; i++) {
      const { column, valueType: type, variantOf } = pending[i];
      if (column.name.startsWith(DLT_PREFIX)) continue;
      const mode = variantOf !== undefined ? this.#contract.data_type : newColumnsAllowed ? "evolve" : this.#contract.columns;
      if (mode === "evolve") continue;
      if (mode === "freeze") {
        throw new SchemaContractError({
          entity: variantOf !== undefined ? "data_type" : "columns",
          table: table.name,
          column: column.name,
          dataType: type,
          existingColumn: variantOf && { name: variantOf.name, dataType: variantOf.data_type },
          resource: this.#options.resource,
        });
      }
      if (mode === "discard_row") return false;
      delete row[column.name];
      pending.splice(i--, 1);
    }
    return true;
  }

  #allowNewTable(table: TableState): boolean {
    const mode = this.#contract.tables;
    if (mode === "evolve") return true;
    if (mode === "freeze") throw new SchemaContractError({ entity: "tables", table: table.name, resource: this.#options.resource });
    return false;
  }

  /** Throws when a root row lacks a value for a primary key or `nullable: false` column, as dlt's NOT NULL would at load. */
  #checkRequired(row: Row): void {
    for (const name of this.#required) {
      if (Object.hasOwn(row, name)) continue;
      const what = this.primaryKeyColumns.includes(name) ? "primary key column" : "non-nullable column";
      throw new RestduckError(
        "REQUIRED_VALUE_MISSING",
        `Cannot load a record of resource ${this.#options.resource} into ${this.rootTable}: ${what} ${name} is missing, null, or holds a value that does not fit its type`,
        { exitCode: 1, hint: `check the resource's primary_key and columns hints against the records the API returns` },
      );
    }
  }

  /** Adds the row's new columns (and, first, its table) to the schema, remembering how to undo it. */
  #commit(table: TableState, schemaTable: TableSchema | undefined): void {
    const schema = this.#schema;
    let target = schemaTable;
    if (target === undefined) {
      const writeDisposition = this.#options.writeDisposition;
      const created: TableSchema =
        table.parent === undefined
          ? { name: table.name, resource: this.#options.resource, write_disposition: writeDisposition, columns: {}, x_added_in: this.#loadId }
          : { name: table.name, parent: table.parent.name, write_disposition: writeDisposition, columns: {}, x_added_in: this.#loadId };
      target = created;
      schema.tables[table.name] = created;
      table.createdHere = true;
      this.#undo.push(() => {
        delete schema.tables[table.name];
        table.createdHere = false;
      });
      // Typed hints are columns from the start, as dlt creates them from the resource's table schema.
      if (table === this.#root) {
        for (const [name, hint] of this.#hints) {
          if (hint.data_type === undefined) continue;
          created.columns[name] = this.#pending.find((p) => p.column.name === name)?.column ?? this.#newColumn(name, hint.data_type, hint, false);
        }
      }
    }
    const columns = target.columns;
    for (const { column } of this.#pending) {
      if (Object.hasOwn(columns, column.name)) continue;
      columns[column.name] = column;
      this.#undo.push(() => delete columns[column.name]);
    }
    this.#pending.length = 0;
    this.#changed = true;
  }

  /** Brings an existing root table (and its nested tables) in line with the resource's settings. */
  #syncRootTable(): void {
    if (this.#rootSynced) return;
    this.#rootSynced = true;
    this.#undo.push(() => (this.#rootSynced = false));
    const root = _own(this.#schema.tables, this.rootTable);
    if (root === undefined) return;
    const writeDisposition = this.#options.writeDisposition;
    for (const table of Object.values(this.#schema.tables)) {
      if (table !== root && (table.parent === undefined || !table.name.startsWith(`${this.rootTable}__`))) continue;
      if (table.write_disposition !== writeDisposition) this.#set(table, "write_disposition", writeDisposition);
    }
    if (root.resource !== this.#options.resource) this.#set(root, "resource", this.#options.resource);
    for (const [name, hint] of this.#hints) {
      const column = _own(root.columns, name);
      if (column === undefined) continue;
      if (hint.primary_key && !column.primary_key) this.#set(column, "primary_key", true);
      if (hint.merge_key && !column.merge_key) this.#set(column, "merge_key", true);
    }
  }

  #set<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): void {
    const had = Object.hasOwn(target, key);
    const previous = target[key];
    target[key] = value;
    this.#changed = true;
    this.#undo.push(() => {
      if (had) target[key] = previous;
      else delete target[key];
    });
  }

  /**
   * Names the column of a key. A key in normal form (`id`) takes the plain name before a sibling in
   * the same object that normalizes to it (`Id`), whatever their order.
   */
  #resolveColumn(table: TableState, node: KeyNode, entry: KeyEntry, item: Record<string, unknown>): string {
    const key = entry.path[entry.path.length - 1];
    const normalized = normalizePath(key);
    if (normalized !== key && Object.hasOwn(item, normalized)) {
      const sibling = node.entries.get(normalized) ?? _newEntry(node, normalized);
      const value = item[normalized];
      if (sibling.column === undefined && value !== null && !_isObject(value)) {
        sibling.column = table.columnNames.resolve(JSON.stringify(sibling.path));
      }
    }
    return (entry.column = table.columnNames.resolve(JSON.stringify(entry.path)));
  }

  /** Tells whether an object or list under `entry` stays whole: a `json` column or hint says so. */
  #keptAsJson(table: TableState, columns: Record<string, ColumnSchema> | undefined, entry: KeyEntry): boolean {
    const name = entry.column ?? (entry.base ??= _columnName(JSON.stringify(entry.path), MAX_IDENTIFIER_LENGTH));
    const column = columns === undefined ? undefined : _own(columns, name);
    if (column !== undefined) return column.data_type === "json";
    return table === this.#root && this.#hints.get(name)?.data_type === "json";
  }

  #childTable(parent: TableState, entry: KeyEntry): TableState {
    const name = this.#tableNames.resolve(JSON.stringify([parent.name, ...entry.path]));
    return this.#newTableState(name, parent);
  }

  #newTableState(name: string, parent: TableState | undefined): TableState {
    return {
      name,
      parent,
      keys: { path: [], entries: new Map() },
      columnNames: new NameRegistry({ normalize: _columnName }),
      createdHere: false,
      epoch: 0,
      rows: [],
    };
  }

  #hint(key: string, hint: RootHint): void {
    const name = normalizePath(key);
    this.#hints.set(name, { ...this.#hints.get(name), ...hint });
  }
}

/**
 * `record[key]` when it is the record's own; `undefined` for absent keys and `Object.prototype` members like `constructor`.
 * The records hold tables and columns, which are objects, while `Object.prototype`'s members are functions (but for
 * `__proto__`): an object found is the record's own, and only the rest needs `Object.hasOwn` (called for every value
 * normalized, the second lookup showed in profiles).
 */
function _own<T extends object>(record: Record<string, T>, key: string): T | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  return typeof value === "object" && value !== null && key !== "__proto__" ? value : Object.hasOwn(record, key) ? value : undefined;
}

function _newEntry(node: KeyNode, key: string): KeyEntry {
  const entry: KeyEntry = { path: [...node.path, key] };
  node.entries.set(key, entry);
  return entry;
}

/** True for objects and arrays; false for null, scalars and the object-shaped scalars Date, Uint8Array and ExactNumber. */
function _isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Date) && !(value instanceof Uint8Array) && !(value instanceof ExactNumber);
}

/** Column name of a key path (JSON array of source keys): each key normalized, joined with `__`. */
function _columnName(sourcePath: string, maxLength: number): string {
  const keys = JSON.parse(sourcePath) as string[];
  if (keys.length === 1) return normalizePath(keys[0], maxLength);
  return shortenFragments(
    keys.map((key) => normalizePath(key, maxLength)),
    maxLength,
  );
}

/** Table name of `[parent table, ...key path]`, or of `["", configured root name]`. */
function _tableName(source: string, maxLength: number): string {
  const [parent, ...keys] = JSON.parse(source) as string[];
  if (parent === "") return normalizePath(keys[0], maxLength);
  return shortenFragments([parent, ...keys.map((key) => normalizePath(key, maxLength))], maxLength);
}
