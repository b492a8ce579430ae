/**
 * Value encoding for DuckDB's Appender: how each schema data type goes into a staging column
 * (`putter`) or straight into a table column (`directPutter`), and how a staged value is cast
 * back to the column's real type (`castFromStage`). The write strategies use nothing else to
 * turn row values into DuckDB values.
 */
import { type DuckDBAppender, DuckDBTimestampTZValue } from "@duckdb/node-api";
import { DatabaseError } from "../errors.ts";
import { stringifyJson, timestampMicros } from "../normalize/infer.ts";
import { duckdbType, type ColumnSchema, type Row } from "../normalize/types.ts";
import { quoteIdent as q, type Database } from "./db.ts";

/** Writes one value of a row into the Appender's current row. */
export type Put = (appender: DuckDBAppender, value: unknown) => void;

/** DuckDB type used in the staging table: values the Appender writes natively, everything else as VARCHAR then cast. */
export function stagingType(column: ColumnSchema): "BIGINT" | "DOUBLE" | "BOOLEAN" | "BLOB" | "VARCHAR" {
  if (column.data_type === "bigint") return "BIGINT";
  if (column.data_type === "binary") return "BLOB";
  if (column.data_type === "double") return "DOUBLE";
  if (column.data_type === "bool") return "BOOLEAN";
  return "VARCHAR";
}

/** The Put for a staging column of `column` (its stagingType). */
export function putter(column: ColumnSchema): Put {
  switch (stagingType(column)) {
    case "BIGINT":
      // A small integer goes in as INTEGER (DuckDB widens it exactly): no BigInt to allocate per value.
      return (a, v) =>
        v == null ? a.appendNull() : typeof v === "number" && (v | 0) === v ? a.appendInteger(v) : a.appendBigInt(typeof v === "bigint" ? v : BigInt(v as number));
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
export function directPutter(column: ColumnSchema): Put {
  if (column.data_type !== "timestamp") return putter(column);
  return (a, v) => {
    if (v == null) return a.appendNull();
    // A UTC time (`…Z`, what most APIs send) loses nothing to that cast, which reads the digits as UTC
    // whatever the session's TimeZone, and as text costs about a third of an instant: appendTimestampTZ
    // makes (and later finalizes) a DuckDB value object per row (BENCHMARKS.md, issue #15).
    if (typeof v === "string" && UTC_TIMESTAMP.test(v)) return a.appendVarchar(v);
    const micros = typeof v === "string" ? timestampMicros(v) : undefined;
    if (micros === undefined) throw new DatabaseError(`column ${column.name}: ${JSON.stringify(String(v).slice(0, 60))} is not a timestamp`);
    a.appendTimestampTZ(new DuckDBTimestampTZValue(micros));
  };
}

/** A date-time as parseIsoTimestamp passes it, in UTC: the normalizer has checked its fields' ranges. */
const UTC_TIMESTAMP = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$/;

/** The staged value cast to the column's real type. */
export function castFromStage(column: ColumnSchema, alias?: string): string {
  const ref = alias ? `${alias}.${q(column.name)}` : q(column.name);
  return stagingType(column) === "VARCHAR" && column.data_type !== "text" ? `CAST(${ref} AS ${duckdbType(column)})` : ref;
}

/** Runs DuckDB's Appender over rows; the first error wins (closing an appender of an aborted transaction throws again). */
export async function appendRows(
  db: Database,
  target: { table: string; schema: string; catalog: string | null },
  rows: Row[],
  put: (appender: DuckDBAppender, row: Row, index: number) => void,
): Promise<void> {
  const appender = await db.connection.createAppender(target.table, target.schema, target.catalog);
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
