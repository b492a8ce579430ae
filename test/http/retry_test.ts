import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, isRetryableStatus, parseRetryAfter } from "../../src/http/retry.ts";

test("backoff with factor 2 waits 2 s, 4 s, 8 s and is capped", () => {
  assert.deepEqual([1, 2, 3].map((n) => backoffDelay(n, 2, 60)), [2000, 4000, 8000]);
  assert.equal(backoffDelay(10, 2, 60), 60_000);
  assert.equal(backoffDelay(1, 0.5, 60), 500);
});

test("jitter keeps every wait between half the documented backoff and all of it", () => {
  for (const r of [0, 0.25, 0.5, 0.999999]) {
    for (const n of [1, 2, 3, 10]) {
      const ceiling = backoffDelay(n, 2, 60);
      const wait = backoffDelay(n, 2, 60, { random: () => r });
      assert.ok(wait >= ceiling / 2 && wait <= ceiling, `retry ${n}, random ${r}: ${wait} ms outside [${ceiling / 2}, ${ceiling}]`);
    }
  }
  assert.equal(backoffDelay(1, 2, 60, { random: () => 0 }), 2000);
  assert.equal(backoffDelay(2, 2, 60, { random: () => 0.5 }), 3000);
  // The cap bounds the jittered wait too.
  assert.equal(backoffDelay(10, 2, 60, { random: () => 0.5 }), 45_000);
});

test("the same random draws give the same waits, and different draws spread them", () => {
  const draws = [0.1, 0.9];
  const waits = draws.map((r) => backoffDelay(3, 2, 60, { random: () => r }));
  assert.deepEqual(waits, [7600, 4400]);
  assert.deepEqual(draws.map((r) => backoffDelay(3, 2, 60, { random: () => r })), waits);
});

test("jitter 1 is deno std's full jitter: anywhere from 0 to the backoff", () => {
  assert.equal(backoffDelay(2, 2, 60, { random: () => 0.75, jitter: 1 }), 1000);
  assert.equal(backoffDelay(2, 2, 60, { random: () => 0.75, jitter: 0 }), 4000);
});

const now = Date.parse("2026-01-01T00:00:00Z");
for (const [header, expected] of [
  ["3", 3000],
  ["0", 0],
  ["1.5", 1500],
  ["Thu, 01 Jan 2026 00:00:10 GMT", 10_000],
  ["Wed, 31 Dec 2025 23:59:00 GMT", 0],
  ["soon", undefined],
  ["", undefined],
  [null, undefined],
] as const) {
  test(`Retry-After ${JSON.stringify(header)} means ${expected} ms`, () => {
    assert.equal(parseRetryAfter(header, now), expected);
  });
}

test("the seed's statuses are retryable and others are not", () => {
  const seed = [429, 500, 502, 503, 504];
  for (const s of seed) assert.ok(isRetryableStatus(s, seed));
  for (const s of [400, 401, 403, 404, 501]) assert.ok(!isRetryableStatus(s, seed));
});
