/**
 * scd2 in one place (src/load/strategies/scd2.ts): the version id a record gets must stay the one
 * earlier releases wrote, or a new run would take every stored version for a changed record.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { scd2Versions } from "../../src/load/strategies/scd2.ts";

test("an scd2 version id is a hash of the record's content with keys in any order, the id earlier releases wrote", () => {
  const [a, b, c] = scd2Versions([
    { id: 1, name: "Ann", tags: ["a", { z: 1, b: 2 }], nested: { y: null, x: "é" } },
    { nested: { x: "é", y: null }, tags: ["a", { b: 2, z: 1 }], name: "Ann", id: 1 },
    { id: 1, name: "Bob" },
  ]);
  // Pinned: the ids restduck wrote before the loader split (rowKeyHash(record, []) of extract/incremental.ts).
  assert.equal(a._dlt_id, "kkurEM8HPSBJOJTjHOEqID");
  assert.equal(b._dlt_id, a._dlt_id);
  assert.equal(c._dlt_id, "8YHlOqkQFM3/8UPDaWW3fQ");
  assert.equal(c.name, "Bob", "the record's own fields stay");
});
