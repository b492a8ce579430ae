/**
 * Rows into a table as JSON text that DuckDB unpacks: a chunk of rows is one `JSON.stringify` and
 * one INSERT whose `json_transform` builds the rows on DuckDB's own thread, instead of the
 * Appender's one native call per value on the JavaScript thread. Which is cheaper depends on the
 * engine (scripts/bench_profile.ts, 100k seed messages' rows, process CPU): on JavaScriptCore
 * (Bun, the binary) the Appender takes 1.8 s and JSON 1.4 s; on V8 (Node, Deno) the Appender 1.0 s
 * and JSON 2.2 s. So tables.ts takes this path on JavaScriptCore only (BENCHMARKS.md, issue #15).
 *
 * It carries only what JSON carries exactly, so a chunk goes to the Appender instead when it holds
 * a value JSON would change or DuckDB's JSON reader refuses: a bigint (JSON.stringify throws), a
 * non-finite double or -0 (`carries`), a lone UTF-16 surrogate (DuckDB rejects the escape), or
 * text too long for one string. Tables with JSON or binary columns, more than MAX_COLUMNS, or an
 * index (tables.ts) always use the Appender.
 */
import { castFromStage, stagingType } from "./appender.ts";
import { quoteIdent as q, quoteString, type Database } from "./db.ts";
import type { ColumnSchema, Row } from "../normalize/types.ts";

/**
 * Rows per INSERT. It bounds the JSON text of one statement (a few MB of seed rows), and each
 * statement has a fixed cost: on Bun, 100k messages' rows took 1.0–1.2 CPU s at 8,192 rows a
 * statement, 1.7–1.9 s at 2,048, and 1.2–1.5 s through the Appender (BENCHMARKS.md, issue #15).
 */
export const ROWS_PER_STATEMENT = 8192;

/** Where the rows go, and how each column's value is read back out of the JSON. */
export interface BulkTarget {
  /** The quoted table name (`"schema"."table"`, or `temp.main."…"`). */
  table: string;
  columns: ColumnSchema[];
  /**
   * `stage`: a staging table of stagingType columns, values as staged; `cast`: the real table,
   * each value cast to the column's own type (castFromStage).
   */
  mode: "stage" | "cast";
  /** Also fill the staging table's `_rd_seq` with each row's place in the rows given. */
  withSeq?: boolean;
  /** Rows for this table always take the Appender (a table with an index: tables.ts). */
  appenderOnly?: boolean;
}

/**
 * Columns beyond which a table's rows take the Appender: DuckDB sizes a struct's vectors by its
 * fields, so a 10,000-column table's JSON would need gigabytes (test/robustness/hostile_data_test.ts).
 */
export const MAX_COLUMNS = 128;

/** Whether JSON can carry this table's rows at all: not too wide, and no JSON or binary columns. */
export function bulkable(columns: ColumnSchema[]): boolean {
  return columns.length <= MAX_COLUMNS && columns.every((c) => c.data_type !== "json" && c.data_type !== "binary");
}

/**
 * Inserts `chunk` as one JSON statement and returns true, or returns false without writing
 * anything when a value cannot travel as JSON (the caller appends those rows instead). `offset`
 * is the chunk's place in the batch, for `_rd_seq`.
 */
export async function insertJson(db: Database, target: BulkTarget, chunk: Row[], offset: number): Promise<boolean> {
  const { columns } = target;
  if (!columns.every((column) => carries(column, chunk))) return false;
  let json: string;
  try {
    json = JSON.stringify(chunk);
  } catch {
    // A bigint (JSON has no exact form JSON.stringify would print), or a string past the engine's longest.
    return false;
  }
  // JSON.stringify escapes a lone surrogate as \udXXX, which DuckDB's reader refuses. A
  // backslash-u sequence typed into the text itself matches too, and only costs the Appender.
  if (LONE_SURROGATE.test(json)) return false;
  const spec = quoteString(JSON.stringify([Object.fromEntries(columns.map((c) => [c.name, stagingType(c)]))]));
  const names = columns.map((c) => q(c.name));
  const values = columns.map((c) => (target.mode === "cast" ? castFromStage(c, "r") : `r.${q(c.name)}`));
  if (target.withSeq) {
    names.push("_rd_seq");
    values.push(`s + ${offset - 1}`);
  }
  await db.run(
    `INSERT INTO ${target.table} (${names.join(", ")}) SELECT ${values.join(", ")} ` +
      `FROM (SELECT unnest(j) AS r, generate_subscripts(j, 1) AS s FROM (SELECT json_transform($1::VARCHAR, ${spec}) AS j))`,
    [json],
  );
  return true;
}

const LONE_SURROGATE = /\\ud[89a-f]/i;

/**
 * Whether JSON brings `column`'s values back as the Appender would store them. Rows come as the
 * normalizer makes them, each value already of its column's type (coerceValue): text as strings,
 * integers as safe integers or bigints (JSON.stringify throws on those: the caller falls back), and
 * booleans. Only a double can still be one JSON cannot carry: NaN and ±Infinity print as null and
 * -0 as 0. Checking every column instead cost as much as the JSON saved on JavaScriptCore, where a
 * lookup by column name across rows of many shapes is slow.
 */
function carries(column: ColumnSchema, rows: Row[]): boolean {
  if (stagingType(column) !== "DOUBLE") return true;
  const name = column.name;
  for (const row of rows) {
    const v = row[name];
    if (v != null && (typeof v !== "number" || !Number.isFinite(v) || Object.is(v, -0))) return false;
  }
  return true;
}
