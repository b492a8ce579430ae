import assert from "node:assert/strict";
import { test } from "node:test";
import { getPath, setPath } from "../../src/shared/dotted_path.ts";

test("getPath reads nested keys and steps into lists by index", () => {
  const doc = { page: { offset: 20 }, items: [{ id: 7 }] };
  assert.equal(getPath(doc, "page.offset"), 20);
  assert.equal(getPath(doc, "items.0.id"), 7);
  assert.deepEqual(getPath(doc, "page"), { offset: 20 });
});

test("getPath gives undefined when a step is missing or not an object", () => {
  const doc = { page: { offset: 20 }, name: "x", none: null };
  assert.equal(getPath(doc, "page.limit"), undefined);
  assert.equal(getPath(doc, "name.length"), undefined);
  assert.equal(getPath(doc, "none.x"), undefined);
  assert.equal(getPath(undefined, "a"), undefined);
});

test("setPath returns a copy with the value set and leaves the input as it was", () => {
  const input = { page: { offset: 0, limit: 10 }, filter: { q: "x" } };
  const out = setPath(input, "page.offset", 20);
  assert.deepEqual(out, { page: { offset: 20, limit: 10 }, filter: { q: "x" } });
  assert.deepEqual(input, { page: { offset: 0, limit: 10 }, filter: { q: "x" } });
  assert.equal(out.filter, input.filter, "objects off the path are shared, not copied");
});

test("setPath creates missing objects and replaces a list or scalar on the way with an object", () => {
  assert.deepEqual(setPath(undefined, "a.b.c", 1), { a: { b: { c: 1 } } });
  assert.deepEqual(setPath({ a: [1, 2] }, "a.b", 1), { a: { b: 1 } });
  assert.deepEqual(setPath({ a: "text" }, "a.b", 1), { a: { b: 1 } });
  assert.deepEqual(setPath({ a: 1 }, "a", { x: 2 }), { a: { x: 2 } });
});
