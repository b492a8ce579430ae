import assert from "node:assert/strict";
import { test } from "node:test";

import { ConfigError } from "../../src/errors.ts";
import { findRecords, selectRecords } from "../../src/extract/find_records.ts";
import { queryJsonPath } from "../../src/shared/jsonpath.ts";

const rows = [{ id: 1 }, { id: 2 }];

const detected: { name: string; doc: unknown; path: string | undefined }[] = [
  { name: "a top-level array is the records", doc: rows, path: "$" },
  { name: "an empty top-level array is the records", doc: [], path: "$" },
  { name: "a list under data is found", doc: { data: rows, total: 2 }, path: "$.data" },
  {
    name: "a record-named key wins over an earlier list",
    doc: { errors: [], warnings: ["w"], results: rows },
    path: "$.results",
  },
  {
    name: "a record-named key wins over a less nested list",
    doc: { tags: ["t"], response: { items: rows } },
    path: "$.response.items",
  },
  {
    name: "the least nested record-named key wins",
    doc: { page: { data: [{ deep: true }] }, records: rows },
    path: "$.records",
  },
  {
    name: "record-named keys are matched case-insensitively",
    doc: { meta: {}, Items: rows },
    path: "$.Items",
  },
  {
    name: "OData's value list is found beside @odata keys",
    doc: { "@odata.context": "x", "@odata.nextLink": "y", value: rows },
    path: "$.value",
  },
  {
    name: "without a record-named key the least nested list wins",
    doc: { meta: { warnings: ["w"] }, users: rows },
    path: "$.users",
  },
  {
    name: "ties are broken by key order",
    doc: { users: rows, groups: [{ id: 9 }] },
    path: "$.users",
  },
  {
    name: "nested lists are found breadth-first",
    doc: { a: { b: { c: ["deep"] } }, x: { y: rows } },
    path: "$.x.y",
  },
  {
    name: "the search does not descend into arrays",
    doc: { meta: "m", pages: [{ data: rows }] },
    path: "$.pages",
  },
  {
    name: "keys that are not identifiers are quoted in the path",
    doc: { "@graph": { "the list": rows } },
    path: "$['@graph']['the list']",
  },
  {
    name: "quotes and backslashes in keys are escaped in the path",
    doc: { "it's\\": rows },
    path: "$['it\\'s\\\\']",
  },
  { name: "an object without lists has no records", doc: { id: 1, meta: { a: 1 } }, path: undefined },
  { name: "null has no records", doc: null, path: undefined },
  { name: "a string has no records", doc: "text", path: undefined },
];

for (const { name, doc, path } of detected) {
  test(`findRecords: ${name}`, () => {
    const found = findRecords(doc);
    assert.equal(found?.path, path);
    if (found) {
      // The reported path must lead back to the same list.
      assert.deepEqual(queryJsonPath(doc, found.path), [found.records]);
      assert.ok(Array.isArray(found.records));
    }
  });
}

test("findRecords recognises every record-named key", () => {
  const names = [
    "data", "items", "results", "records", "entries", "elements", "objects", "values",
    "list", "messages", "hits", "rows", "content", "collection", "value", "resources",
  ];
  for (const name of names) {
    const found = findRecords({ other: ["x"], [name]: rows });
    assert.equal(found?.path, `$.${name}`, name);
    assert.equal(found?.records, rows);
  }
});

test("findRecords returns the list itself, not a copy", () => {
  assert.equal(findRecords(rows)?.records, rows);
  assert.equal(findRecords({ data: rows })?.records, rows);
});

test("selectRecords with a selector returns the selected list", () => {
  assert.equal(selectRecords({ data: { items: rows } }, "data.items"), rows);
  assert.equal(selectRecords({ data: { items: rows } }, "$.data.items"), rows);
  assert.equal(selectRecords(rows, "$"), rows);
});

test("selectRecords with a selector wraps a single selected object as one record", () => {
  assert.deepEqual(selectRecords({ user: { id: 1 } }, "$.user"), [{ id: 1 }]);
});

test("selectRecords with a selector returns undefined when nothing matches", () => {
  assert.equal(selectRecords({ data: rows }, "$.items"), undefined);
  assert.equal(selectRecords(null, "$.items"), undefined);
});

test("selectRecords with a selector treats a null value as an empty page", () => {
  assert.deepEqual(selectRecords({ data: null }, "$.data"), []);
});

test("selectRecords with a selector that matches many values returns them all", () => {
  assert.deepEqual(selectRecords({ data: rows }, "$.data[*].id"), [1, 2]);
  const groups = { groups: [{ items: [{ id: 1 }] }, { items: null }, { items: [{ id: 2 }, { id: 3 }] }] };
  assert.deepEqual(selectRecords(groups, "$.groups[*].items"), [{ id: 1 }, { id: 2 }, { id: 3 }]);
});

test("selectRecords with an invalid selector throws a ConfigError", () => {
  assert.throws(() => selectRecords({}, "$.data["), ConfigError);
  assert.throws(() => selectRecords({}, "$.data[?(@.id)]"), ConfigError);
});

test("selectRecords without a selector detects the records", () => {
  assert.equal(selectRecords({ meta: {}, results: rows }, undefined), rows);
  assert.equal(selectRecords(rows, undefined), rows);
});

test("selectRecords treats an empty selector as no selector, as dlt does", () => {
  assert.equal(selectRecords({ results: rows }, ""), rows);
});

test("selectRecords without a selector treats a single object as one record", () => {
  const user = { id: 1, name: "a", address: { city: "b" } };
  assert.deepEqual(selectRecords(user, undefined), [user]);
});

test("selectRecords without a selector returns undefined for a body with no records", () => {
  for (const doc of [null, undefined, 42, "text", true]) {
    assert.equal(selectRecords(doc, undefined), undefined);
  }
});
