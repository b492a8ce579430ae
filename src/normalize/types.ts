/**
 * The schema restduck keeps for a dataset, in dlt's vocabulary (dlt's
 * `TTableSchema` / `TColumnSchema`), so it can be stored in `_dlt_version`
 * as JSON the way dlt stores it.
 */

/** dlt's data types that restduck infers or accepts as hints (config `columns` hints validate against this list). */
export const DATA_TYPES = ["text", "bigint", "double", "bool", "timestamp", "date", "time", "json", "decimal", "wei", "binary"] as const;

export type DataType = (typeof DATA_TYPES)[number];

/** One column. Key order in `TableSchema.columns` is the column order in DuckDB. */
export interface ColumnSchema {
  name: string;
  data_type: DataType;
  nullable: boolean;
  primary_key?: boolean;
  merge_key?: boolean;
  precision?: number;
  scale?: number;
  /** True for a `<col>__v_<type>` column holding values that did not fit `<col>`'s type. */
  variant?: boolean;
  /** Load id of the run that added this column (shown by `restduck schema`). */
  x_added_in?: string;
}

export interface TableSchema {
  name: string;
  /** Parent table for a nested (child) table. */
  parent?: string;
  /** Resource that produces the table (root tables only). */
  resource?: string;
  write_disposition: "append" | "replace" | "merge";
  columns: Record<string, ColumnSchema>;
  x_added_in?: string;
}

/** A dataset's schema: every table restduck has created in it. */
export interface Schema {
  name: string;
  version: number;
  tables: Record<string, TableSchema>;
}

/** A normalized row: column name → JSON-ish value (string, number, bigint, boolean, null, object/array for json). */
export type Row = Record<string, unknown>;

/**
 * Key under which a nested row refers to the root row of its record (not a column). Lets the loader
 * keep only the last copy's nested rows when a batch holds the same record twice: with key-hashed
 * `_dlt_id`s both copies' nested rows carry the same `_dlt_root_id`.
 */
export const ROOT_ROW: unique symbol = Symbol("restduck.rootRow");

/** Rows of one batch, by table name; the root table comes first, children after their parents. */
export type RowsByTable = Map<string, Row[]>;

/** DuckDB type for a column. */
export function duckdbType(column: Pick<ColumnSchema, "data_type" | "precision" | "scale">): string {
  switch (column.data_type) {
    case "text":
      return "VARCHAR";
    case "bigint":
      return "BIGINT";
    case "double":
      return "DOUBLE";
    case "bool":
      return "BOOLEAN";
    case "timestamp":
      return "TIMESTAMP WITH TIME ZONE";
    case "date":
      return "DATE";
    case "time":
      return "TIME";
    case "json":
      return "JSON";
    case "decimal":
      return `DECIMAL(${column.precision ?? 38},${column.scale ?? 9})`;
    case "wei":
      return "DECIMAL(38,0)";
    case "binary":
      return "BLOB";
  }
}
