/**
 * `init --openapi` on eight whole public API documents (test/fixtures/openapi/corpus): every generated
 * config passes `validate`, and the generator writes the resources a careful engineer writes by hand
 * (corpus_expectations.ts) — path with its parent bindings, data_selector, paginator, primary key.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateConfig } from "../../src/openapi/generate.ts";
import { EXPECTATIONS, KNOWN_MISSES } from "./corpus_expectations.ts";
import { differences, loadCorpusDocument, validateProblems } from "./corpus_score.ts";

const total = Object.values(EXPECTATIONS).flat().length;

test(`the corpus holds at least eight documents and 50 hand-written list endpoints (${total})`, () => {
  assert.ok(Object.keys(EXPECTATIONS).length >= 8);
  assert.ok(Object.values(EXPECTATIONS).flat().filter((e) => !e.left_out).length >= 50);
});

for (const [document, expected] of Object.entries(EXPECTATIONS)) {
  test(`${document}: the generated config passes validate and matches the hand-written resources`, () => {
    const generated = generateConfig(loadCorpusDocument(document));
    assert.deepEqual(validateProblems(generated.config), [], "validate rejects the generated config");
    const misses: string[] = [];
    for (const e of expected) {
      const key = `${document} GET ${e.openapi}`;
      const diff = differences(generated, e);
      if (key in KNOWN_MISSES) assert.notDeepEqual(diff, [], `${key} is met now: remove it from KNOWN_MISSES`);
      else if (diff.length) misses.push(`${key}: ${diff.join("; ")}`);
    }
    assert.deepEqual(misses, []);
  });
}
