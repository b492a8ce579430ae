import assert from "node:assert/strict";
import { test } from "node:test";
import { compileProcessingSteps } from "../../src/extract/processing.ts";

test("a map renames, drops and sets nested fields by dotted or $. path, and leaves the input record as it was", () => {
  const step = compileProcessingSteps([
    { map: { rename: { "user.name": "author.name", "$.meta.old": "meta.new" }, drop: ["user.email", "$.missing.field"], set: { "source.kind": "api", "meta.seen": true } } },
  ])!;
  const input = { id: 1, user: { name: "ann", email: "a@x", role: "admin" }, meta: { old: 5 } };
  const before = structuredClone(input);
  assert.deepEqual(step(input), { id: 1, user: { role: "admin" }, meta: { new: 5, seen: true }, author: { name: "ann" }, source: { kind: "api" } });
  assert.deepEqual(input, before);
});

test("a map's set replaces a scalar on its path with an object, and rename skips a missing field", () => {
  const step = compileProcessingSteps([{ map: { rename: { nope: "other" }, set: { "label.text": "x" } } }])!;
  assert.deepEqual(step({ id: 1, label: "old" }), { id: 1, label: { text: "x" } });
});
