/**
 * Rows reach DuckDB either through the Appender or as JSON text (load/bulk.ts, the JavaScriptCore
 * path). Both must store the same values: the same rows go in both ways, straight into tables and
 * into staging, and come back identical, odd values included (NUL, lone surrogates, -0, bigints,
 * offsets, wide tables, names that need quoting).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_COLUMNS, ROWS_PER_STATEMENT } from "../../src/load/bulk.ts";
import { Tables } from "../../src/load/tables.ts";
import { ENGINE } from "../../src/shared/engine.ts";
import type { ColumnSchema, DataType, Row, TableSchema } from "../../src/normalize/types.ts";
import { testEnv } from "../helpers/index.ts";

const column = (name: string, data_type: DataType, extra: Partial<ColumnSchema> = {}): ColumnSchema => ({ name, data_type, nullable: true, ...extra });

const COLUMNS = [
  column("id", "bigint"),
  column("text", "text"),
  column("ratio", "double"),
  column("flag", "bool"),
  column("at", "timestamp"),
  column("day", "date"),
  column("clock", "time"),
  column("amount", "decimal", { precision: 38, scale: 9 }),
  column("wei", "wei"),
  column('we"ird it\'s \\ ünï', "text"),
];

function table(name: string, columns = COLUMNS): TableSchema {
  return { name, write_disposition: "append", columns: Object.fromEntries(columns.map((c) => [c.name, c])) };
}

/**
 * Rows as the normalizer hands them over (each value already of its column's type, as coerceValue
 * makes it), each kind of value at its edges; `id` orders them.
 */
function oddRows(): Row[] {
  const odd = 'we"ird it\'s \\ ünï';
  return [
    { id: 1, text: "plain", ratio: 0.1, flag: true, at: "2024-03-01T10:00:00Z", day: "2024-02-29", clock: "23:59:59.999999", amount: "12345.678900000", wei: "123456789012345678901234567890", [odd]: "x" },
    { id: 2, text: "", ratio: 5e-324, flag: false, at: "2024-03-01T10:00:00+02:00", day: "0001-01-01", clock: "00:00:00", amount: "-0.000000001", wei: "0" },
    { id: 3, text: "NUL \u0000 inside", ratio: 1.7976931348623157e308, at: "2024-03-01T10:00:00.123456789Z" },
    { id: 4, text: "lone \ud800 surrogate", ratio: -0 },
    { id: 5, text: "emoji 🦆 and ünïcödé, quotes \" ' and \\ backslash, a typed \\ud800, '); DROP TABLE ds.t_json; --" },
    { id: 6, text: "x".repeat(100_000) },
    { id: -9_007_199_254_740_991, text: "smallest safe integer" },
    { id: 9_223_372_036_854_775_807n, text: "int64 max as a bigint" },
    { id: -9_223_372_036_854_775_808n, text: "int64 min as a bigint" },
    { id: 10, ratio: Number.NaN, text: "NaN" },
    { id: 11, ratio: Number.POSITIVE_INFINITY, text: "infinity" },
    { id: 12 },
    { id: 13, text: null, ratio: null, flag: null, at: null },
  ];
}

async function bothWays(load: (tables: Tables, name: string) => Promise<string>): Promise<{ appender: unknown[]; json: unknown[] }> {
  await using env = await testEnv();
  const db = await env.open();
  await db.run(`CREATE SCHEMA ds`);
  const out: Record<string, unknown[]> = {};
  const tables = new Tables(db, "ds");
  for (const way of ["appender", "json"] as const) {
    tables.rowsAsJson = way === "json";
    const where = await load(tables, `t_${way}`);
    // Text compares as text, doubles by their bits (-0 and NaN included), everything else as DuckDB prints it.
    out[way] = await db.all(`SELECT * EXCLUDE (ratio), CAST(ratio AS VARCHAR) AS ratio FROM ${where} ORDER BY id`);
  }
  return out as { appender: unknown[]; json: unknown[] };
}

test("rows appended straight into a table are the same through the Appender and as JSON", async () => {
  const { appender, json } = await bothWays(async (tables, name) => {
    // One row per call (a value JSON cannot carry sends only its own row to the Appender), then all in one.
    for (const row of oddRows()) await tables.append("ds", table(name), [row]);
    await tables.append("ds", table(name), oddRows().map((r, i) => ({ ...r, id: 1000 + i })));
    return `ds.${name}`;
  });
  assert.equal(appender.length, oddRows().length * 2);
  assert.deepEqual(json, appender);
  // The values are what was given, not merely the same both ways.
  const byId = new Map((appender as { id: string }[]).map((r) => [String(r.id), r as Record<string, unknown>]));
  assert.equal(byId.get("3")!.text, "NUL \u0000 inside");
  assert.equal(byId.get("4")!.ratio, "-0.0");
  assert.equal(byId.get("9223372036854775807")!.text, "int64 max as a bigint");
  assert.equal(byId.get("10")!.ratio, "nan");
  assert.equal(byId.get("1")!['we"ird it\'s \\ ünï'], "x");
});

test("rows staged for a merge are the same through the Appender and as JSON, row positions included", async () => {
  const { appender, json } = await bothWays(async (tables, name) => {
    // One at a time, as the Loader uses a connection: an Appender open beside another statement fails.
    const names: string[] = [];
    for (const row of oddRows()) names.push(await tables.stage(table(name), [row], true));
    return `(${names.map((n) => `SELECT * FROM ${n}`).join(" UNION ALL ")})`;
  });
  assert.equal(json.length, oddRows().length);
  assert.deepEqual(json, appender);
  assert.ok((json as { _rd_seq: number }[]).every((r) => Number(r._rd_seq) === 0), "each row was the first of its batch");
});

test("a batch of more rows than one JSON statement holds, some of them only the Appender can take, keeps every row once and in order", async () => {
  const many = ROWS_PER_STATEMENT * 2 + 17;
  const rows = (): Row[] =>
    Array.from({ length: many }, (_, i) => ({
      id: i,
      // One statement's worth holds a lone surrogate, so that chunk goes through the Appender.
      text: i === ROWS_PER_STATEMENT + 5 ? "lone \udc00" : `row ${i}`,
      ratio: i / 7,
    }));
  const { appender, json } = await bothWays(async (tables, name) => {
    const staged = await tables.stage(table(name), rows(), true);
    return staged;
  });
  assert.equal(json.length, many);
  assert.deepEqual(json, appender);
  assert.ok((json as { id: string; _rd_seq: string }[]).every((r) => String(r.id) === String(r._rd_seq)), "each row's _rd_seq is its place in the batch");
});

test(`a table wider than ${MAX_COLUMNS} columns (the Appender's, on every engine) loads the same both ways, every value in place`, async () => {
  const wide = [column("id", "bigint"), ...Array.from({ length: MAX_COLUMNS + 1 }, (_, i) => column(`c${i}`, "text")), column("ratio", "double")];
  const rows = (): Row[] => [1, 2, 3].map((id) => ({ id, ...Object.fromEntries(wide.slice(1, -1).map((c, i) => [c.name, `${id}:${i}`])) }));
  const { appender, json } = await bothWays(async (tables, name) => {
    await tables.append("ds", table(name, wide), rows());
    return `ds.${name}`;
  });
  assert.deepEqual(json, appender);
  assert.equal((json[2] as Record<string, unknown>)[`c${MAX_COLUMNS}`], `3:${MAX_COLUMNS}`);
});

test("a table with an index (made by hand: restduck makes none) keeps the Appender, and its rows and index are whole", async () => {
  await using env = await testEnv();
  const db = await env.open();
  await db.run(`CREATE SCHEMA ds; CREATE TABLE ds.t (id BIGINT, text VARCHAR); CREATE INDEX t_text ON ds.t (text)`);
  const tables = new Tables(db, "ds");
  tables.rowsAsJson = true;
  // DuckDB's query log shows which way the rows went: an INSERT … json_transform, or none (the Appender).
  await db.run("CALL enable_logging('QueryLog')");
  const jsonInserts = async (into: string) =>
    (await db.all<{ n: number }>(`SELECT count(*)::INT AS n FROM duckdb_logs WHERE type = 'QueryLog' AND message LIKE 'INSERT INTO "ds"."${into}"%json_transform%'`))[0].n;
  const rows = [{ id: 1, text: "a" }, { id: 2, text: "b" }];
  await db.run("BEGIN");
  await tables.append("ds", table("t", [column("id", "bigint"), column("text", "text")]), rows);
  await db.run("COMMIT");
  assert.equal(await jsonInserts("t"), 0);
  assert.deepEqual(await db.all(`SELECT id::INT AS id, text FROM ds.t WHERE text = 'b'`), [{ id: 2, text: "b" }]);
  // A table without one takes JSON.
  await db.run(`CREATE TABLE ds.u (id BIGINT, text VARCHAR)`);
  await new Tables(db, "ds").append("ds", table("u", [column("id", "bigint"), column("text", "text")]), rows).catch((e) => assert.fail(e));
  assert.equal(await jsonInserts("u"), ENGINE === "javascriptcore" ? 1 : 0, "a new Tables takes JSON on JavaScriptCore only");
});
