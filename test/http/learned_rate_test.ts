import assert from "node:assert/strict";
import { test } from "node:test";
import { createHttpClient } from "../../src/http/client.ts";
import { createAdaptiveConcurrency, type AdaptiveConcurrency } from "../../src/http/concurrency.ts";
import * as v from "valibot";
import { PaginatorSchema, type PaginatorConfig } from "../../src/config/schema.ts";
import { createPaginator, walkPages } from "../../src/paginate/index.ts";
import { testEnv } from "../helpers/index.ts";

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Feeds `limit` a burst of `n` accepted answers, then a 429 with a Retry-After, at the clock's time. */
function burst(limit: { onSuccess(): void; onThrottle(retryAfterMs?: number): void }, n: number, retryAfterMs: number) {
  for (let i = 0; i < n; i++) limit.onSuccess();
  limit.onThrottle(retryAfterMs);
}

test("a rate is learned from the window after a 429's Retry-After, and paced at 97% of it", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 16, now: c.now });
  c.advance(300);
  burst(limit, 140, 1000); // the ramp-up straddled two of the server's windows: not a rate
  assert.equal(limit.rate, undefined);
  assert.equal(limit.current, 8);
  c.advance(1000 + 150); // the Retry-After, then a burst of one fresh window's worth
  burst(limit, 100, 1000);
  assert.ok(Math.abs(limit.rate! - 97) < 1e-9, `rate ${limit.rate}`);
  assert.equal(limit.current, 8, "the rate takes the decrease: the slots stay");
});

test("once paced, a 429 lowers the rate, not the slots", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 16, now: c.now });
  burst(limit, 50, 1000);
  c.advance(1100);
  burst(limit, 100, 1000);
  const learned = limit.rate!;
  for (let i = 0; i < 3; i++) {
    c.advance(10_000);
    for (let j = 0; j < 500; j++) limit.onSuccess(); // 50/s sustained since the last 429: far under the pace
    const slots = limit.current;
    limit.onThrottle(1000);
    assert.equal(limit.current, slots);
  }
  assert.ok(limit.rate! < learned * 0.97 ** 2, `rate ${limit.rate} after ${learned}`);
  assert.ok(limit.rate! >= learned * 0.7 ** 3 - 1e-9, "never more than 30% down per 429");
});

test("429s answering requests sent before the last one count once", () => {
  const c = clock();
  const limit = createAdaptiveConcurrency({ max: 16, now: c.now });
  burst(limit, 50, 1000);
  c.advance(1100);
  burst(limit, 100, 1000);
  const learned = limit.rate;
  assert.ok(learned !== undefined);
  c.advance(20);
  limit.onThrottle(1000);
  limit.onThrottle(1000);
  assert.equal(limit.rate, learned);
});

test("a learned rate spaces the grants out, and yields to a pace the server announces in headers", async () => {
  const c = clock();
  const waits: number[] = [];
  let governed = false;
  // The sleep is the clock: it moves time on by what was asked.
  const sleep = async (ms: number) => {
    waits.push(ms);
    c.advance(ms);
  };
  const limit = createAdaptiveConcurrency({ max: 16, initial: 16, now: c.now, sleep, governed: () => governed });
  burst(limit, 10, 1000);
  c.advance(1000);
  burst(limit, 10, 1000); // 10 in a 1 s window: 9.7/s
  c.advance(1000);
  for (let i = 0; i < 6; i++) (await limit.acquire()).release();
  const spaced = waits.filter((ms) => ms > 0 && ms < 1000);
  assert.ok(spaced.length >= 3, `paced waits: ${JSON.stringify(waits)}`);
  for (const ms of spaced) assert.ok(ms <= (1000 / 9.7) * 1.01, `a wait of ${ms} ms is longer than one interval`);
  governed = true;
  waits.length = 0;
  for (let i = 0; i < 6; i++) (await limit.acquire()).release();
  assert.deepEqual(waits, []);
  assert.equal(limit.rate, undefined);
});

/**
 * A server that allows `perWindow` requests in each fixed 1 s window of `clock` time and answers
 * 429 with a whole-second Retry-After beyond it, announcing nothing in headers. The client's
 * sleeps move the clock: while no request is on the wire (`idle`), the earliest sleeper's time
 * comes, a few real ms apart; a request takes no time on this clock.
 */
function virtualTime(idle: () => boolean) {
  let t = 0;
  const sleepers: { at: number; wake: () => void }[] = [];
  const timer = setInterval(() => {
    if (!sleepers.length || !idle()) return;
    sleepers.sort((a, b) => a.at - b.at);
    t = Math.max(t, sleepers[0].at);
    while (sleepers.length && sleepers[0].at <= t) sleepers.shift()!.wake();
  }, 2);
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      signal?.throwIfAborted();
      const sleeper = { at: t + ms, wake: () => (signal?.removeEventListener("abort", onAbort), resolve()) };
      const onAbort = () => {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      sleepers.push(sleeper);
    });
  return { now: () => t, sleep, [Symbol.dispose]: () => clearInterval(timer) };
}

test("against a server allowing 20 requests a second and no rate headers, refusals stop once the pace is learned", async () => {
  let limit: AdaptiveConcurrency | undefined;
  using time = virtualTime(() => limit?.inUse === 0);
  const perWindow = 20;
  const pages = 240;
  const accepted = new Map<number, number>();
  const refused = new Map<number, number>();
  await using env = await testEnv({
    api: {
      script: [
        (res, req) => {
          const now = time.now();
          const window = Math.floor(now / 1000);
          const n = (accepted.get(window) ?? 0) + 1;
          if (n > perWindow) {
            refused.set(window, (refused.get(window) ?? 0) + 1);
            const retryAfter = Math.max(1, Math.ceil(((window + 1) * 1000 - now) / 1000));
            res.writeHead(429, { "content-type": "application/json", "retry-after": String(retryAfter) }).end("{}");
            return;
          }
          accepted.set(window, n);
          const offset = Number(new URL(req.url!, "http://x").searchParams.get("offset") ?? 0);
          const items = Array.from({ length: 10 }, (_, i) => ({ id: offset + i }));
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items, total: pages * 10 }));
        },
      ],
    },
  });
  limit = createAdaptiveConcurrency({ max: 16, initial: 4, now: time.now, sleep: time.sleep });
  const policy = { max_retries: 10, backoff_factor: 1, max_delay: 60, status_codes: [429], timeout: 30, respect_retry_after: true };
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, adaptive: limit, now: time.now, sleep: time.sleep });
  let walked = 0;
  for await (const page of walkPages({ method: "GET", url: "/items", params: {} }, { http, paginator: createPaginator(v.parse(PaginatorSchema, { type: "offset", limit: 10, total_path: "total" }) as PaginatorConfig), dataSelector: "items", concurrency: limit })) {
    walked += page.records.length;
  }
  assert.equal(walked, pages * 10);
  const windows = [...new Set([...accepted.keys(), ...refused.keys()])].sort((a, b) => a - b);
  const refusing = windows.filter((w) => refused.has(w));
  const total = [...refused.values()].reduce((a, b) => a + b, 0);
  // The first window refuses what its burst had in flight, the window after its Retry-After one more
  // burst's; from then on the pace stays under the server's rate.
  assert.ok(refusing.length <= 3, `windows with refusals: ${refusing.join(", ")} of ${windows.length}`);
  assert.ok(total <= 16, `${total} refused`);
  // Settled: every full window after the first three is used, none beyond what it allows.
  const settled = windows.slice(3, -1);
  assert.ok(settled.length >= 6, `${windows.length} windows`);
  for (const w of settled) assert.ok(accepted.get(w)! >= perWindow * 0.85, `window ${w} accepted ${accepted.get(w)} of ${perWindow}`);
  assert.ok(limit.rate! > perWindow * 0.9 && limit.rate! <= perWindow * 1.05, `rate ${limit.rate}`);
});
