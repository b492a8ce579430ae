import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createHttpClient } from "../../src/http/client.ts";
import { createAdaptiveConcurrency } from "../../src/http/concurrency.ts";
import { recordingSleep } from "../helpers/index.ts";

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test("the limit starts at max and halves on a 429", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 16, now: c.now });
  assert.equal(limit.current, 16);
  limit.onThrottle();
  assert.equal(limit.current, 8);
});

test("429s within the cooldown after a decrease count once", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 16, cooldownMs: 1000, now: c.now });
  limit.onThrottle();
  c.advance(10);
  limit.onThrottle();
  limit.onThrottle();
  assert.equal(limit.current, 8);
  c.advance(1000);
  limit.onThrottle();
  assert.equal(limit.current, 4);
});

test("the limit never drops below min", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 4, min: 2, cooldownMs: 0, now: c.now });
  for (let i = 0; i < 5; i++) {
    c.advance(1);
    limit.onThrottle();
  }
  assert.equal(limit.current, 2);
});

test("the limit grows by one per round of successes, up to max", () => {
  const c = clock();
  const changes: [number, string][] = [];
  const limit = createAdaptiveConcurrency({ max: 6, now: c.now, onChange: (n, why) => changes.push([n, why]) });
  limit.onThrottle(); // 6 → 3
  c.advance(3000); // past the hold after a 429
  for (let i = 0; i < 2; i++) limit.onSuccess();
  assert.equal(limit.current, 3);
  limit.onSuccess(); // 3 successes at 3 → 4
  assert.equal(limit.current, 4);
  for (let i = 0; i < 4 + 5 + 100; i++) limit.onSuccess();
  assert.equal(limit.current, 6);
  assert.deepEqual(changes, [
    [3, "throttle"],
    [4, "recover"],
    [5, "recover"],
    [6, "recover"],
  ]);
});

test("a retry after a 429 shrinks the limit, a retry after a 503 does not", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 8, cooldownMs: 0, now: c.now });
  limit.onHttpEvent({ type: "retry", url: "http://127.0.0.1/x", attempt: 1, delayMs: 1000, status: 503, reason: "503 Service Unavailable" });
  assert.equal(limit.current, 8);
  limit.onHttpEvent({ type: "retry", url: "http://127.0.0.1/x", attempt: 1, delayMs: 1000, status: 429, reason: "429 Too Many Requests" });
  assert.equal(limit.current, 4);
});

test("bad options are refused", () => {
  assert.throws(() => createAdaptiveConcurrency({ max: 4, decrease: 1 }), /decrease must be between 0 and 1/);
  assert.equal(createAdaptiveConcurrency({ max: 0 }).current, 1);
});

test("the HTTP client tells the limit about 429s and successes", async () => {
  let n = 0;
  const server: Server = createServer((_req, res) => {
    n++;
    const status = n === 1 ? 429 : 200;
    res.writeHead(status, { "content-type": "application/json", "retry-after": "1" });
    res.end(JSON.stringify({ n }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const c = clock();
    const limit = createAdaptiveConcurrency({ max: 2, now: c.now });
    const { sleep, waits } = recordingSleep();
    const policy = { max_retries: 2, backoff_factor: 2, max_delay: 60, status_codes: [429], timeout: 30, respect_retry_after: true };
    const http = createHttpClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retry: policy, sleep, adaptive: limit });
    const res = await http.request({ method: "GET", url: "/x" });
    assert.deepEqual(res.body, { n: 2 });
    assert.deepEqual(waits, [1000]);
    assert.equal(limit.current, 1, "halved, and not grown while the Retry-After and the hold after it last");
    c.advance(1000 + 3000);
    await http.request({ method: "GET", url: "/x" });
    assert.equal(limit.current, 2, "one success at 1 grows it back to 2");
  } finally {
    await new Promise((r) => server.close(r));
  }
});
