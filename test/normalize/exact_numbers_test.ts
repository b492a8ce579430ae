/**
 * Numbers no double holds (issue #11, item 9): `1e400`, `1e-400`, a 27-digit
 * decimal and a 20-digit integer, served by a real local API, must land in
 * DuckDB exactly as the API wrote them — in a decimal, integer or text column
 * of their own, or a variant column beside a `double` one — never as
 * Infinity, 0 or a rounded double.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { ExactNumber, isExact, parseJsonExact } from "../../src/exact_json.ts";
import { coerceValue, inferDataType, NO_FIT } from "../../src/normalize/infer.ts";
import { testEnv } from "../helpers/index.ts";

const ISSUE_PAGE = '{"messages":[{"id":1,"big":1e400,"tiny":1e-400,"dec":123456789012345678901234567.5,"id2":12345678901234567890}]}';
// A column that starts as double, then meets values it cannot hold; and the same numbers kept whole as JSON.
const READINGS_PAGE = '{"readings":[{"id":1,"v":1.5,"raw":{"x":1}},{"id":2,"v":1e400,"raw":{"x":1e400,"y":[0.1,1e-400]}},{"id":3,"v":123456789012345678901234567.5,"raw":null},{"id":4,"v":-2.5e-3}]}';

test("numbers a double cannot hold are loaded exactly, each in a column that can hold it", async () => {
  await using env = await testEnv({ api: { pages: { "/messages": ISSUE_PAGE, "/readings": READINGS_PAGE } }, prefix: "restduck-numbers-" });
  const loaded = prepareConfig({
    pipeline_name: "numbers",
    client: { base_url: env.api.url, paginator: "single_page" },
    resources: [
      { name: "messages", endpoint: { path: "/messages", data_selector: "messages" } },
      { name: "readings", max_table_nesting: 0, endpoint: { path: "/readings", data_selector: "readings" } },
    ],
  });
  await env.run(loaded);

  const types = await env.query<{ table_name: string; column_name: string; data_type: string }>(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'numbers_dataset' AND table_name IN ('messages', 'readings') AND column_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY table_name, ordinal_position",
  );
  assert.deepEqual(
    types.map((t) => `${t.table_name}.${t.column_name} ${t.data_type}`),
    [
      "messages.id BIGINT",
      "messages.big VARCHAR",
      "messages.tiny VARCHAR",
      "messages.dec DECIMAL(38,9)",
      "messages.id2 DECIMAL(38,0)",
      "readings.id BIGINT",
      "readings.v DOUBLE",
      "readings.raw JSON",
      "readings.v__v_text VARCHAR",
      "readings.v__v_decimal DECIMAL(38,9)",
    ],
  );
  const [message] = await env.query<Record<string, string>>("SELECT big, tiny, dec::VARCHAR AS dec, id2::VARCHAR AS id2 FROM numbers_dataset.messages");
  assert.deepEqual(message, { big: "1e400", tiny: "1e-400", dec: "123456789012345678901234567.500000000", id2: "12345678901234567890" });

  const readings = await env.query<Record<string, string | number | null>>(
        "SELECT id::INT AS id, v, v__v_text, v__v_decimal::VARCHAR AS v__v_decimal, raw::VARCHAR AS raw FROM numbers_dataset.readings ORDER BY id",
  );
  assert.deepEqual(readings, [
    { id: 1, v: 1.5, v__v_text: null, v__v_decimal: null, raw: '{"x":1}' },
    { id: 2, v: null, v__v_text: "1e400", v__v_decimal: null, raw: '{"x":1e400,"y":[0.1,1e-400]}' },
    { id: 3, v: null, v__v_text: null, v__v_decimal: "123456789012345678901234567.500000000", raw: null },
    { id: 4, v: -0.0025, v__v_text: null, v__v_decimal: null, raw: null },
  ]);
});

for (const sourceAccess of [true, false]) {
  test(`parsing keeps exactly the literals a double would change (${sourceAccess ? "reviver source text" : "fallback scan"})`, () => {
    const parsed = parseJsonExact(
      '{"big":1e400,"tiny":-1e-400,"dec":123456789012345678901234567.5,"pi":3.14159265358979323846,"id2":12345678901234567890,' +
        '"safe":9007199254740991,"ok":[0.1,1.5e300,2.5e-300,1e-5,12345.678901234,-0.0,1.1099999999999999],"text":"1e400 12345678901234567890 \\" 1e400","key 1e400":1}',
      { sourceAccess },
    ) as Record<string, unknown>;
    const exact = (text: string) => new ExactNumber(text);
    assert.deepEqual(parsed, {
      big: exact("1e400"),
      tiny: exact("-1e-400"),
      dec: exact("123456789012345678901234567.5"),
      pi: exact("3.14159265358979323846"),
      id2: 12345678901234567890n,
      safe: 9007199254740991,
      ok: [0.1, 1.5e300, 2.5e-300, 1e-5, 12345.678901234, -0, 1.1099999999999999],
      text: '1e400 12345678901234567890 " 1e400',
      "key 1e400": 1,
    });
    assert.equal(JSON.stringify({ big: parsed.big, dec: parsed.dec }), '{"big":1e400,"dec":123456789012345678901234567.5}');
  });
}

test("a literal is exact when the double it reads as has its value", () => {
  for (const literal of ["0.1", "1.50", "1e2", "2.5e-300", "0.30000000000000004", "1234567890.12345", "-0"]) assert.ok(isExact(Number(literal), literal), literal);
  for (const literal of ["1e400", "1e-400", "0.1000000000000000000001", "9007199254740993", "1.00000000000000001e10"]) assert.ok(!isExact(Number(literal), literal), literal);
});

test("an exact literal is typed by what can hold it, and never coerced into a double", () => {
  assert.equal(inferDataType(new ExactNumber("123456789012345678901234567.5")), "decimal");
  assert.equal(inferDataType(new ExactNumber("12345678901234567.0")), "bigint");
  assert.equal(inferDataType(new ExactNumber("1e400")), "text");
  assert.equal(inferDataType(new ExactNumber("3.14159265358979323846")), "text");
  assert.equal(coerceValue({ data_type: "double" }, new ExactNumber("1e-400")), NO_FIT);
  assert.equal(coerceValue({ data_type: "decimal", precision: 38, scale: 9 }, new ExactNumber("1.25e-5")), "0.0000125");
  assert.equal(coerceValue({ data_type: "bigint" }, new ExactNumber("12345678901234567.0")), 12345678901234567n);
  assert.equal(coerceValue({ data_type: "text" }, new ExactNumber("1e400")), "1e400");
});
