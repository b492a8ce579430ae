/**
 * Types in DuckDB (issue #4): what is inferred per value, what `columns` hints and
 * `max_table_nesting` change, and that big integers, decimals and bytes arrive exactly.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { Loader } from "../../src/load/loader.ts";
import { Normalizer } from "../../src/normalize/normalizer.ts";
import { timestampMicros } from "../../src/normalize/infer.ts";
import type { Schema } from "../../src/normalize/types.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";
import { fixtureConfig, LAYOUT_SQL } from "./fixture_api.ts";

async function loadFixture(items: unknown[] | string, resource: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const env = await testEnv({ api: { pages: { things: items } } });
  try {
    await env.run(fixtureConfig(env.api.url, { things: resource }, extra));
    const layout = Object.fromEntries((await env.query<{ table_name: string; columns: string[] }>(LAYOUT_SQL("fx_dataset"))).map((t) => [t.table_name, t.columns]));
    // The API is done with; the folder and database stay for the test's queries until it disposes of them.
    return { db: env.db, layout, [Symbol.asyncDispose]: () => env[Symbol.asyncDispose]() };
  } catch (error) {
    await env[Symbol.asyncDispose]();
    throw error;
  }
}

const ROOT_DLT = ["_dlt_load_id VARCHAR", "_dlt_id VARCHAR"];

test("values are typed bigint, double, bool, timestamp with time zone, date and text as dlt infers them", async () => {
  await using r = await loadFixture([
    { i: 1, f: 1.5, whole_double: 2.0, b: true, ts: "2024-03-01T10:00:00+02:00", naive: "2024-03-01 10:00", d: "2024-03-01", s: "hello", week: "2024-W09" },
  ]);
  assert.deepEqual(r.layout.things, [
    "i BIGINT",
    "f DOUBLE",
    // JSON has one number type: 2.0 arrives as 2, an integer, as in dlt.
    "whole_double BIGINT",
    "b BOOLEAN",
    "ts TIMESTAMP WITH TIME ZONE",
    "naive TIMESTAMP WITH TIME ZONE",
    "d DATE",
    "s VARCHAR",
    "week VARCHAR",
    ...ROOT_DLT,
  ]);
  const [row] = await queryDb(
    r.db,
    "select i::int as i, f, b, epoch(ts)::bigint::varchar as ts, epoch(naive)::bigint::varchar as naive, d::varchar as d, s from things",
  );
  assert.deepEqual(row, {
    i: 1,
    f: 1.5,
    b: true,
    ts: String(Date.parse("2024-03-01T08:00:00Z") / 1000),
    // Naive date-times are read as UTC, as dlt stores them.
    naive: String(Date.parse("2024-03-01T10:00:00Z") / 1000),
    d: "2024-03-01",
    s: "hello",
  });
});

test("columns hints set data_type, nullable and precision, and create hinted columns before any value", async () => {
  await using r = await loadFixture(
    [
      { id: 1, amount: "12345678901234.5678", code: 42, meta: { a: [1, 2] }, raw: "AAH/", when: "2024-03-01", big: "123456789012345678901234567890" },
      { id: 2, amount: 0.25, code: "x", meta: "plain", raw: "0x0001ff", when: "2024-03-02T00:00:00Z", big: 7 },
      { id: 3, amount: "1.23456" },
    ],
    {
      primary_key: "id",
      write_disposition: "merge",
      columns: {
        amount: { data_type: "decimal", precision: 20, scale: 4 },
        code: { data_type: "text" },
        meta: { data_type: "json" },
        raw: { data_type: "binary" },
        when: { data_type: "timestamp" },
        big: { data_type: "wei" },
        never_sent: { data_type: "bigint", nullable: true },
      },
    },
  );
  assert.deepEqual(r.layout.things, [
    "amount DECIMAL(20,4)",
    "code VARCHAR",
    "meta JSON",
    "raw BLOB",
    "when TIMESTAMP WITH TIME ZONE",
    "big DECIMAL(38,0)",
    "never_sent BIGINT",
    "id BIGINT",
    ...ROOT_DLT,
    // 1.23456 needs scale 5: it goes to a variant column instead of being rounded to 1.2346.
    "amount__v_text VARCHAR",
  ]);
  const rows = await queryDb(
    r.db,
    `select id::int as id, amount::varchar as amount, amount__v_text, code, meta::varchar as meta, hex(raw) as raw, epoch("when")::bigint::varchar as "when", big::varchar as big
     from things order by id`,
  );
  assert.deepEqual(rows, [
    { id: 1, amount: "12345678901234.5678", amount__v_text: null, code: "42", meta: '{"a":[1,2]}', raw: "0001FF", when: String(Date.parse("2024-03-01T00:00:00Z") / 1000), big: "123456789012345678901234567890" },
    { id: 2, amount: "0.2500", amount__v_text: null, code: "x", meta: '"plain"', raw: "0001FF", when: String(Date.parse("2024-03-02T00:00:00Z") / 1000), big: "7" },
    { id: 3, amount: null, amount__v_text: "1.23456", code: null, meta: null, raw: null, when: null, big: null },
  ]);
  const nullable = await queryDb(r.db, "select column_name, is_nullable from information_schema.columns where table_schema = 'fx_dataset' and table_name = 'things' and column_name in ('id', 'never_sent', '_dlt_id') order by 1");
  assert.deepEqual(nullable, [
    { column_name: "_dlt_id", is_nullable: "NO" },
    { column_name: "id", is_nullable: "NO" },
    { column_name: "never_sent", is_nullable: "YES" },
  ]);
});

test("a nullable: false hint fails the run on a record without the value, naming resource and column", async () => {
  await using env = await testEnv({ api: { pages: { things: [{ id: 1, must: 1 }, { id: 2 }] } } });
  await assert.rejects(
    env.run(fixtureConfig(env.api.url, { things: { columns: { must: { data_type: "bigint", nullable: false } } } })),
    /resource things .*non-nullable column must is missing/,
  );
});

test("big integers, wei and decimal strings, bytes and bigints inside JSON load exactly", async () => {
  // JS values a library user (or a processing step) can hand over: bigint, Uint8Array.
  await using env = await testEnv();
  const db = await env.open({ path: env.path("exact.duckdb") });
  const loader = await Loader.open(db, { dataset: "ds", pipelineName: "p" });
  const schema: Schema = { name: "p", version: 1, tables: {} };
  const normalizer = new Normalizer(schema, {
    loadId: "1.0",
    table: "t",
    resource: "t",
    primaryKey: [],
    writeDisposition: "append",
    columns: { amount: { data_type: "decimal", precision: 38, scale: 18 }, bytes: { data_type: "binary" }, meta: { data_type: "json" } },
  });
  const rows = normalizer.normalize([
    {
      int64: 9_007_199_254_740_993n,
      max: 9_223_372_036_854_775_807n,
      beyond: 123_456_789_012_345_678_901_234_567_890n,
      way_beyond: 10n ** 40n,
      amount: "12345678901234567890.123456789012345678",
      bytes: new Uint8Array([0, 1, 255]),
      meta: { n: 10n ** 30n },
    },
  ]);
  await loader.commitBatch({ loadId: "1.0", resource: "t", rootTable: "t", primaryKey: [], disposition: "append", schema, rows, checkpoint: { next: null, pages: 1, rows: 1 } });
  const [types] = await db.all<{ types: string[] }>("select list(data_type order by ordinal_position) as types from information_schema.columns where table_name = 't'");
  assert.deepEqual(types.types.slice(0, 7), ["DECIMAL(38,18)", "BLOB", "JSON", "BIGINT", "BIGINT", "DECIMAL(38,0)", "VARCHAR"]);
  const [row] = await db.all(
    "select amount::varchar as amount, hex(bytes) as bytes, meta::varchar as meta, int64::varchar as int64, max::varchar as max, beyond::varchar as beyond, way_beyond from ds.t",
  );
  assert.deepEqual(row, {
    amount: "12345678901234567890.123456789012345678",
    bytes: "0001FF",
    meta: '{"n":1000000000000000000000000000000}',
    int64: "9007199254740993",
    max: "9223372036854775807",
    beyond: "123456789012345678901234567890",
    way_beyond: "10000000000000000000000000000000000000000",
  });
});

test(
  "an integer literal beyond 2^53 in an API response loads exactly",
  async () => {
    await using r = await loadFixture('{"items": [{"id": 1, "n": 12345678901234567891, "m": 9007199254740993}]}');
    const [row] = await queryDb(r.db, "select n::varchar as n, m::varchar as m from things");
    assert.deepEqual(row, { n: "12345678901234567891", m: "9007199254740993" });
  },
);

test("max_table_nesting from the config keeps deeper values as JSON: source level 1, resource level 0", async () => {
  await using env = await testEnv({ chat: { messages: 40 } });
  const one = env.path("one.duckdb");
  await runPipeline(prepareConfig({ ...seedConfig(env.chat.url), max_table_nesting: 1 }, { env: SEED_ENV, cwd: "/" }), { database: one, pipelineName: "chat" });
  const layout1 = Object.fromEntries((await queryDb<{ table_name: string; columns: string[] }>(one, LAYOUT_SQL("chat_dataset"))).map((t) => [t.table_name, t.columns]));
  assert.deepEqual(Object.keys(layout1), ["chat_messages", "chat_messages__attachments", "chat_messages__reactions"]);
  assert.deepEqual(layout1.chat_messages__reactions.slice(0, 2), ["emoji VARCHAR", "users JSON"]);
  const withUsers = env.chat.messages.find((m) => m.reactions.length > 0)!;
  const [users] = await queryDb(one, `select users::varchar as users from chat_messages__reactions where chat_messages_id = ${withUsers.id} and reactions_idx = 0`);
  assert.deepEqual(users, { users: JSON.stringify(withUsers.reactions[0].users) });

  const zero = env.path("zero.duckdb");
  const config = seedConfig(env.chat.url) as { resources: Record<string, unknown>[] };
  config.resources[0].max_table_nesting = 0;
  await runPipeline(prepareConfig({ ...config, max_table_nesting: 5 }, { env: SEED_ENV, cwd: "/" }), { database: zero, pipelineName: "chat" });
  const layout0 = Object.fromEntries((await queryDb<{ table_name: string; columns: string[] }>(zero, LAYOUT_SQL("chat_dataset"))).map((t) => [t.table_name, t.columns]));
  assert.deepEqual(Object.keys(layout0), ["chat_messages"]);
  for (const col of ["attachments JSON", "reactions JSON", "thread JSON"]) assert.ok(layout0.chat_messages.includes(col), `${col} in ${layout0.chat_messages}`);
  const [n] = await queryDb(zero, "select sum(json_array_length(reactions))::int as n from chat_messages");
  assert.deepEqual(n, { n: env.chat.messages.reduce((s, m) => s + m.reactions.length, 0) });
});

test("a json hint keeps a list whole instead of making a nested table", async () => {
  await using env = await testEnv({ chat: { messages: 20 } });
  const config = seedConfig(env.chat.url) as { resources: Record<string, unknown>[] };
  config.resources[0].columns = { reactions: { data_type: "json" } };
  await env.run(prepareConfig(config, { env: SEED_ENV, cwd: "/" }), { pipelineName: "chat" });
  const layout = Object.fromEntries((await env.query<{ table_name: string; columns: string[] }>(LAYOUT_SQL("chat_dataset"))).map((t) => [t.table_name, t.columns]));
  assert.deepEqual(Object.keys(layout), ["chat_messages", "chat_messages__attachments"]);
  assert.equal(layout.chat_messages[0], "reactions JSON");
  const emoji = await env.query("select reactions->>'$[0].emoji' as e from chat_messages where id = 1");
  assert.deepEqual(emoji, [{ e: env.chat.messages[0].reactions[0]?.emoji ?? null }]);
});

test("integers at the int32 and int64 boundaries load exactly, appended and merged through staging", async () => {
  // Small integers go to the Appender as INTEGER and the rest as BIGINT (appender.ts): both sides of each edge.
  const values = [0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53 - 1), 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n];
  await using env = await testEnv();
  const db = await env.open({ path: env.path("ints.duckdb") });
  const loader = await Loader.open(db, { dataset: "ds", pipelineName: "p" });
  const schema: Schema = { name: "p", version: 1, tables: {} };
  const normalizer = new Normalizer(schema, { loadId: "1.0", table: "t", resource: "t", primaryKey: ["id"], writeDisposition: "merge", mergeStrategy: "upsert" });
  const load = async (n: number) => {
    const rows = normalizer.normalize(values.map((v, id) => ({ id, v, list: [v, n] })));
    await loader.commitBatch({ loadId: "1.0", resource: "t", rootTable: "t", primaryKey: ["id"], disposition: "merge", mergeStrategy: "upsert", schema, rows, checkpoint: { next: null, pages: n, rows: values.length * n } });
  };
  await load(1); // new keys: appended straight into the tables
  const expected = values.map((v, id) => ({ id, v: String(v === -0 ? 0 : v) }));
  assert.deepEqual(await db.all("select id::int as id, v::varchar as v from ds.t order by id"), expected);
  await load(2); // the same keys again: merged through a staging table
  assert.deepEqual(await db.all("select id::int as id, v::varchar as v from ds.t order by id"), expected);
  const nested = await db.all<{ value: string }>("select value::varchar as value from ds.t__list where _dlt_list_idx = 0 order by _dlt_parent_id");
  assert.deepEqual(nested.map((r) => r.value).sort(), expected.map((r) => r.v).sort());
});

test("UTC, offset and naive timestamps load as the instants they name, whatever the session time zone", async () => {
  // UTC texts go to the Appender as text, the others as instants (appender.ts): both must agree with timestampMicros.
  const texts = [
    "2024-03-01T08:00:00Z",
    "2024-03-01 08:00:00.1Z",
    "2024-02-29T23:59:59.123456Z",
    "2024-02-29T23:59:59.123456789Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "1969-12-31T23:59:59.5Z",
    "2024-03-01T10:00:00+02:00",
    "2024-03-01T10:00:00.25-0530",
    "2024-03-01 10:00",
  ];
  await using env = await testEnv();
  const db = await env.open({ path: env.path("ts.duckdb") });
  await db.run("SET TimeZone = 'Asia/Kolkata'");
  const loader = await Loader.open(db, { dataset: "ds", pipelineName: "p" });
  const schema: Schema = { name: "p", version: 1, tables: {} };
  const normalizer = new Normalizer(schema, { loadId: "1.0", table: "t", resource: "t", primaryKey: [], writeDisposition: "append" });
  const rows = normalizer.normalize(texts.map((ts, i) => ({ i, ts })));
  await loader.commitBatch({ loadId: "1.0", resource: "t", rootTable: "t", primaryKey: [], disposition: "append", schema, rows, checkpoint: { next: null, pages: 1, rows: texts.length } });
  const loaded = await db.all<{ us: string }>("select epoch_us(ts)::varchar as us from ds.t order by i");
  const expected = (rows.get("t") ?? []).map((row) => String(timestampMicros(row.ts as string)));
  assert.deepEqual(
    loaded.map((r) => r.us),
    expected,
  );
  assert.equal(expected[0], String(Date.UTC(2024, 2, 1, 8) * 1000));
  assert.equal(expected[7], String(Date.UTC(2024, 2, 1, 8) * 1000));
});
