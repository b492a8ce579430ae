import assert from "node:assert/strict";
import { test } from "node:test";

import { ConfigError } from "../../src/errors.ts";
import { compileJsonPath, firstJsonPath, queryJsonPath } from "../../src/shared/jsonpath.ts";

const doc = {
  data: [
    { id: 1, name: "a", tags: ["x", "y"] },
    { id: 2, name: "b", tags: [] },
    { id: 3, name: "c", tags: ["z"] },
  ],
  meta: { total: 3, "page size": 100, "0": "zero key", nested: { total: 99 } },
  cursors: { next: "abc" },
  "@odata.nextLink": "https://api.example.com/next",
  "@count": 3,
  "$ref": "#/x",
  "it's": "quoted",
  'say "hi"': "double",
  "a\\b": "backslash",
  "a[0]": "bracket in key",
  "a b": "space",
  empty: null,
};

const cases: { expr: string; expected: unknown[] }[] = [
  // root and bare keys
  { expr: "$", expected: [doc] },
  { expr: "data", expected: [doc.data] },
  { expr: "cursors.next", expected: ["abc"] },
  { expr: "$.cursors.next", expected: ["abc"] },
  { expr: "$.meta.total", expected: [3] },
  { expr: "$.empty", expected: [null] },
  // dot-form keys with unusual characters
  { expr: "$.@count", expected: [3] },
  { expr: "@count", expected: [3] },
  { expr: "$.meta.page size", expected: [100] },
  { expr: "$.a b", expected: ["space"] },
  { expr: "$.'@odata.nextLink'", expected: ["https://api.example.com/next"] },
  // bracket quoted keys and escapes
  { expr: "$['@odata.nextLink']", expected: ["https://api.example.com/next"] },
  { expr: '$["@odata.nextLink"]', expected: ["https://api.example.com/next"] },
  { expr: "['@odata.nextLink']", expected: ["https://api.example.com/next"] },
  { expr: "$['meta']['total']", expected: [3] },
  { expr: "$[ 'meta' ].total", expected: [3] },
  { expr: "$['it\\'s']", expected: ["quoted"] },
  { expr: '$["say \\"hi\\""]', expected: ["double"] },
  { expr: "$['say \"hi\"']", expected: ["double"] },
  { expr: "$['a\\\\b']", expected: ["backslash"] },
  { expr: "$['a[0]']", expected: ["bracket in key"] },
  { expr: "$['\\u0040count']", expected: [3] },
  { expr: "$['$ref']", expected: ["#/x"] },
  // indices
  { expr: "$.data[0].id", expected: [1] },
  { expr: "$.data[2].name", expected: ["c"] },
  { expr: "$.data[-1].id", expected: [3] },
  { expr: "$.data[-3].id", expected: [1] },
  { expr: "$.data[3]", expected: [] },
  { expr: "$.data[-4]", expected: [] },
  { expr: "$.meta[0]", expected: [] },
  { expr: "$.data[0].tags[1]", expected: ["y"] },
  // numbers in dot form index arrays, and are keys on objects
  { expr: "$.data.0.id", expected: [1] },
  { expr: "data.1.name", expected: ["b"] },
  { expr: "$.data.-1.id", expected: [3] },
  { expr: "$.meta.0", expected: ["zero key"] },
  { expr: "$['meta']['0']", expected: ["zero key"] },
  { expr: "$['data']['0']", expected: [] },
  // wildcards
  { expr: "$.data[*].id", expected: [1, 2, 3] },
  { expr: "$.data.*.id", expected: [1, 2, 3] },
  { expr: "$.cursors.*", expected: ["abc"] },
  { expr: "$.cursors[*]", expected: ["abc"] },
  { expr: "$.data[*].tags[*]", expected: ["x", "y", "z"] },
  { expr: "$.meta.total.*", expected: [] },
  // recursive descent
  { expr: "$..total", expected: [3, 99] },
  { expr: "..total", expected: [3, 99] },
  { expr: "$..id", expected: [1, 2, 3] },
  { expr: "$..['total']", expected: [3, 99] },
  { expr: "$..tags[0]", expected: ["x", "z"] },
  { expr: "$..tags..*", expected: ["x", "y", "z"] },
  // JavaScript orders integer-like keys such as "0" before the others.
  { expr: "$.meta..*", expected: ["zero key", 3, 100, { total: 99 }, 99] },
  // no match
  { expr: "$.missing", expected: [] },
  { expr: "$.missing.deeper[0]", expected: [] },
  { expr: "$.cursors.next.length", expected: [] },
];

test("queryJsonPath selects every match of each supported syntax form", () => {
  for (const { expr, expected } of cases) {
    assert.deepEqual(queryJsonPath(doc, expr), expected, expr);
  }
});

test("queryJsonPath on a top-level array reads indices and wildcards from the root", () => {
  const list = [{ id: 1 }, { id: 2 }];
  assert.deepEqual(queryJsonPath(list, "$[*].id"), [1, 2]);
  assert.deepEqual(queryJsonPath(list, "[1].id"), [2]);
  assert.deepEqual(queryJsonPath(list, "$.1.id"), [2]);
  assert.deepEqual(queryJsonPath(list, "$"), [list]);
});

test("queryJsonPath returns nothing when walking into scalars or null", () => {
  for (const value of [null, undefined, 3, "text", true]) {
    assert.deepEqual(queryJsonPath(value, "$.a"), []);
    assert.deepEqual(queryJsonPath(value, "$[0]"), []);
    assert.deepEqual(queryJsonPath(value, "$.*"), []);
    assert.deepEqual(queryJsonPath(value, "$..a"), []);
  }
});

test("queryJsonPath does not read inherited properties", () => {
  assert.deepEqual(queryJsonPath({}, "$.toString"), []);
  assert.deepEqual(queryJsonPath({}, "$.constructor"), []);
  assert.deepEqual(queryJsonPath([], "$.length"), []);
});

test("queryJsonPath walks very deep documents without overflowing the stack", () => {
  let deep: unknown = { id: "bottom" };
  for (let i = 0; i < 20_000; i++) deep = { child: deep };
  assert.deepEqual(queryJsonPath(deep, "$..id"), ["bottom"]);
});

test("firstJsonPath returns the first match or undefined", () => {
  assert.equal(firstJsonPath(doc, "$.data[*].id"), 1);
  assert.equal(firstJsonPath(doc, "$['@odata.nextLink']"), "https://api.example.com/next");
  assert.equal(firstJsonPath(doc, "$.missing"), undefined);
  assert.equal(firstJsonPath(doc, "$.empty"), null);
});

test("compileJsonPath returns the same compiled path for the same expression", () => {
  const path = compileJsonPath("$.data[0].id");
  assert.equal(compileJsonPath("$.data[0].id"), path);
  assert.equal(path.expression, "$.data[0].id");
  assert.ok(Object.isFrozen(path));
});

test("queryJsonPath and firstJsonPath accept a compiled path", () => {
  const path = compileJsonPath("$.data[*].name");
  assert.deepEqual(queryJsonPath(doc, path), ["a", "b", "c"]);
  assert.equal(firstJsonPath(doc, path), "a");
});

const invalid: { expr: string; message: string }[] = [
  { expr: "", message: 'Cannot parse JSONPath "": expression is empty at position 0' },
  { expr: "$.a[", message: 'Cannot parse JSONPath "$.a[": unclosed bracket at position 3' },
  { expr: "$['a'", message: `Cannot parse JSONPath "$['a'": unclosed bracket at position 1` },
  { expr: "$['a", message: `Cannot parse JSONPath "$['a": unclosed quote at position 2` },
  { expr: '$["a]', message: `Cannot parse JSONPath "$[\\"a]": unclosed quote at position 2` },
  { expr: "$[0", message: 'Cannot parse JSONPath "$[0": unclosed bracket at position 1' },
  { expr: "$.", message: 'Cannot parse JSONPath "$.": expected a key after "." at position 2' },
  { expr: "$.a.", message: 'Cannot parse JSONPath "$.a.": expected a key after "." at position 4' },
  { expr: "$..", message: 'Cannot parse JSONPath "$..": expected a key after ".." at position 3' },
  { expr: "$...a", message: 'Cannot parse JSONPath "$...a": expected a key after ".." at position 3' },
  { expr: "$.a[]", message: 'Cannot parse JSONPath "$.a[]": expected a quoted key, an integer index or * inside brackets at position 4' },
  { expr: "$[abc]", message: 'Cannot parse JSONPath "$[abc]": expected a quoted key, an integer index or * inside brackets at position 2' },
  { expr: "$[-]", message: 'Cannot parse JSONPath "$[-]": expected digits after "-" at position 3' },
  { expr: "$[0x]", message: 'Cannot parse JSONPath "$[0x]": expected "]" but found "x" at position 3' },
  { expr: "$['a']b", message: `Cannot parse JSONPath "$['a']b": unexpected "b" at position 6` },
  { expr: "$[0]]", message: 'Cannot parse JSONPath "$[0]]": unexpected "]" at position 4' },
  { expr: "$ref", message: 'Cannot parse JSONPath "$ref": unexpected "r" after "$" at position 1' },
  { expr: "$['a\\x']", message: `Cannot parse JSONPath "$['a\\\\x']": invalid escape "\\x" at position 4` },
  { expr: "$['\\u00g0']", message: `Cannot parse JSONPath "$['\\\\u00g0']": invalid \\u escape, expected 4 hex digits at position 3` },
  { expr: "$.data[0:2]", message: 'Cannot parse JSONPath "$.data[0:2]": array slices [start:end] are not supported at position 8' },
  { expr: "$['a','b']", message: `Cannot parse JSONPath "$['a','b']": unions [a,b] are not supported at position 5` },
];

test("compileJsonPath rejects malformed expressions with a ConfigError naming the position", () => {
  for (const { expr, message } of invalid) {
    assert.throws(
      () => compileJsonPath(expr),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, expr);
        assert.equal(error.message, message);
        assert.equal(error.code, "CONFIG_INVALID");
        assert.ok(error.hint, `${expr} has a hint`);
        return true;
      },
    );
  }
});

test("compileJsonPath rejects filter and script expressions instead of evaluating them", () => {
  const rejected: { expr: string; kind: string }[] = [
    { expr: "$.data[?(@.id > 1)]", kind: "filter expressions [?(...)] are not supported" },
    { expr: "$.data[?@.id]", kind: "filter expressions [?(...)] are not supported" },
    { expr: "$..[?(@.x)]", kind: "filter expressions [?(...)] are not supported" },
    { expr: "$.data[(@.length-1)]", kind: "script expressions [(...)] are not supported" },
    { expr: "$.data[(process.exit(1))]", kind: "script expressions [(...)] are not supported" },
  ];
  for (const { expr, kind } of rejected) {
    assert.throws(() => compileJsonPath(expr), (error: unknown) => {
      assert.ok(error instanceof ConfigError, expr);
      assert.match(error.message, new RegExp(`^Cannot parse JSONPath .*: ${kind.replace(/[[\]().?]/g, "\\$&")} at position \\d+$`));
      assert.match(error.hint ?? "", /filter the records afterwards/);
      return true;
    });
  }
});

test("queryJsonPath throws the same ConfigError for an invalid string path", () => {
  assert.throws(() => queryJsonPath(doc, "$.a["), ConfigError);
  assert.throws(() => firstJsonPath(doc, "$[?(@)]"), ConfigError);
});

test("a failed compilation is not cached", () => {
  assert.throws(() => compileJsonPath("$.broken["), ConfigError);
  assert.throws(() => compileJsonPath("$.broken["), ConfigError);
});
