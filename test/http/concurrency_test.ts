import assert from "node:assert/strict";
import { test } from "node:test";
import { createHttpClient } from "../../src/http/client.ts";
import { createAdaptiveConcurrency, createSlotGate, DEFAULT_CONCURRENCY } from "../../src/http/concurrency.ts";
import { recordingSleep, testEnv } from "../helpers/index.ts";

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
  await using env = await testEnv({
    api: {
      script: [
        (res) => {
          n++;
          const status = n === 1 ? 429 : 200;
          res.writeHead(status, { "content-type": "application/json", "retry-after": "1" });
          res.end(JSON.stringify({ n }));
        },
      ],
    },
  });
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 2, now: c.now });
  const { sleep, waits } = recordingSleep();
  const policy = { max_retries: 2, backoff_factor: 2, max_delay: 60, status_codes: [429], timeout: 30, respect_retry_after: true };
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, sleep, adaptive: limit });
  const res = await http.request({ method: "GET", url: "/x" });
  assert.deepEqual(res.body, { n: 2 });
  assert.deepEqual(waits, [1000]);
  assert.equal(limit.current, 1, "halved, and not grown while the Retry-After and the hold after it last");
  c.advance(1000 + 3000);
  await http.request({ method: "GET", url: "/x" });
  assert.equal(limit.current, 2, "one success at 1 grows it back to 2");
});

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test("slots go to waiting attempts by rank, so a retry goes before requests made after it", async () => {
  const gate = createSlotGate({ limit: () => 1 });
  const order: number[] = [];
  const take = (rank?: number) => gate.acquire(undefined, rank).then((slot) => (order.push(slot.rank), slot));
  const first = await take(); // rank 0, then it goes to sleep
  const second = take(); // rank 1, in line
  first.release();
  const held = await second;
  const third = take(); // rank 2, in line
  const retry = take(first.rank); // rank 0 again: first in line
  held.release();
  (await retry).release();
  (await third).release();
  assert.deepEqual(order, [0, 1, 0, 2]);
  assert.equal(gate.inUse, 0);
});

test("an attempt waiting for a slot stops when its signal aborts", async () => {
  const gate = createSlotGate({ limit: () => 1 });
  const slot = await gate.acquire();
  const controller = new AbortController();
  const waiting = gate.acquire(controller.signal);
  controller.abort(new Error("stopped"));
  await assert.rejects(waiting, /stopped/);
  assert.equal(gate.waiting, 0);
  slot.release();
  assert.equal(gate.inUse, 0);
});

for (const status of [429, 503]) {
  test(`a ${status} with Retry-After ${status === 429 ? "halves the limit and holds every new request back until it has passed" : "neither shrinks the limit nor holds other requests back"}`, async () => {
    const seen: string[] = [];
    await using env = await testEnv({
      api: {
        script: [
          (res, req) => {
            seen.push(req.url!);
            const refuse = req.url === "/a" && seen.filter((u) => u === "/a").length === 1;
            res.writeHead(refuse ? status : 200, { "content-type": "application/json", "retry-after": "5" }).end("{}");
          },
        ],
      },
    });
    const paused = deferred();
    const pauseOver = deferred();
    // The gate waits out the pause with this sleep; request /a's retry waits with the client's.
    const limit = createAdaptiveConcurrency({ max: 4, sleep: () => (paused.resolve(), pauseOver.promise) });
    const retrying = deferred();
    const retryOver = deferred();
    const policy = { max_retries: 1, backoff_factor: 1, max_delay: 60, status_codes: [429, 503], timeout: 30, respect_retry_after: true };
    const http = createHttpClient({ baseUrl: env.api.url, retry: policy, adaptive: limit, sleep: () => (retrying.resolve(), retryOver.promise) });
    const a = http.request({ method: "GET", url: "/a" }, { slots: limit });
    await retrying.promise; // /a was refused and sleeps, holding no slot
    assert.equal(limit.inUse, 0);
    const b = http.request({ method: "GET", url: "/b" }, { slots: limit });
    if (status === 429) {
      assert.equal(limit.current, 2);
      await paused.promise; // /b waits at the gate
      assert.deepEqual(seen, ["/a"]);
      pauseOver.resolve();
    } else assert.equal(limit.current, 4);
    await b;
    assert.deepEqual(seen, ["/a", "/b"]);
    retryOver.resolve();
    await a;
    assert.deepEqual(seen, ["/a", "/b", "/a"]);
  });
}

test("the default limit starts at 4 and grows no further than 16", () => {
  const limit = createAdaptiveConcurrency({ ...DEFAULT_CONCURRENCY });
  assert.equal(limit.current, 4);
  for (let i = 0; i < 1000; i++) limit.onSuccess();
  assert.equal(limit.current, 16);
});

test("the refused request's own next attempt ends a 429's pause, having waited the same Retry-After", async () => {
  const gate = createSlotGate({ limit: () => 2, sleep: () => new Promise(() => {}) });
  const refused = await gate.acquire();
  refused.release();
  gate.pause(60_000, refused.rank);
  const other = gate.acquire(); // made after the 429: held back
  assert.equal(gate.waiting, 1);
  const retry = await gate.acquire(undefined, refused.rank);
  assert.equal(retry.rank, refused.rank);
  (await other).release();
  retry.release();
  assert.equal(gate.inUse, 0);
});
