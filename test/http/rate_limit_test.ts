import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../src/config/index.ts";
import { createHttpClient, type HttpEvent } from "../../src/http/client.ts";
import { createRateLimiter, parseReset, perSecondWindow, rateLimitOptions } from "../../src/http/rate_limit.ts";
import { testEnv } from "../helpers/index.ts";

/** A clock that only moves when someone sleeps. */
function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    advance: (ms: number) => void (t += ms),
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
  };
}

const headers = (h: Record<string, string>) => new Headers(h);

test("a limit of 2 per second sends two requests at once and makes the third wait out the window", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ requests: 2, perSeconds: 1, now: clock.now, sleep: clock.sleep });
  assert.equal((await limiter.acquire()).waitedMs, 0);
  assert.equal((await limiter.acquire()).waitedMs, 0);
  const third = await limiter.acquire();
  assert.deepEqual(third, { waitedMs: 1000, reason: "rate_limit", slot: 0 });
});

/** A simulated clock: sleeps resolve in time order as the driver moves the clock to the next wake-up. */
function simulatedClock(start = 1_700_000_000_000) {
  let t = start;
  const timers: { at: number; resolve: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((resolve) => void timers.push({ at: t + ms, resolve })),
    /** Runs until `done` settles, waking sleepers in order (bounded). */
    async drive(done: Promise<unknown>): Promise<void> {
      let finished = false;
      void done.finally(() => (finished = true));
      for (let i = 0; i < 10_000 && !finished; i++) {
        await new Promise((r) => setImmediate(r));
        if (!timers.length) continue;
        timers.sort((x, y) => x.at - y.at);
        const next = timers.shift()!;
        t = Math.max(t, next.at);
        next.resolve();
      }
      await done;
    },
  };
}

test("never more than N requests go out in any window, even when many wait at once", async () => {
  const clock = simulatedClock();
  const limiter = createRateLimiter({ requests: 3, perSeconds: 2, now: clock.now, sleep: clock.sleep });
  const sent: number[] = [];
  const all = Promise.all(
    Array.from({ length: 10 }, async () => {
      await limiter.acquire();
      sent.push(clock.now());
    }),
  );
  await clock.drive(all);
  assert.equal(sent.length, 10);
  for (const t of sent) assert.ok(sent.filter((u) => u >= t && u < t + 2000).length <= 3, `more than 3 sent in the window from ${t}`);
  // …and the limit is used: the 10 requests go out within 3 windows.
  assert.ok(Math.max(...sent) - Math.min(...sent) <= 6000);
});

test("a request's slot counts from its response, so one that reached the server late keeps the window after it free", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ requests: 1, perSeconds: 1, now: clock.now, sleep: clock.sleep });
  const { slot } = await limiter.acquire();
  clock.advance(800);
  limiter.release(undefined, slot);
  assert.deepEqual(await limiter.acquire(), { waitedMs: 1000, reason: "rate_limit", slot: 0 });
});

test("a number rate becomes a window of whole requests: 2.5/s is 2 per 0.8 s, 0.5/s is 1 per 2 s", () => {
  assert.deepEqual(perSecondWindow(2.5), { requests: 2, perSeconds: 0.8 });
  assert.deepEqual(perSecondWindow(0.5), { requests: 1, perSeconds: 2 });
  assert.throws(() => perSecondWindow(0), /positive number/);
});

test("a reset header is read as epoch seconds, epoch milliseconds or seconds from now", () => {
  const now = 1_700_000_000_000;
  assert.equal(parseReset("30", "auto", now), now + 30_000);
  assert.equal(parseReset("1700000060", "auto", now), 1_700_000_060_000);
  assert.equal(parseReset("1700000060000", "auto", now), 1_700_000_060_000);
  assert.equal(parseReset("1700000060", "delta", now), now + 1_700_000_060_000);
  assert.equal(parseReset("60", "epoch", now), 60_000);
  assert.equal(parseReset(new Date(now + 5000).toUTCString(), "auto", now), now + 5000);
  assert.equal(parseReset("soon", "auto", now), undefined);
  assert.equal(parseReset(null, "auto", now), undefined);
});

test("when the server reports no requests left, the next one waits until its reset", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  limiter.release(headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String((clock.now() + 7000) / 1000) }));
  const next = await limiter.acquire();
  assert.deepEqual(next, { waitedMs: 7000, reason: "server_budget" });
  // After the reset the budget is unknown again: no more waiting.
  assert.equal((await limiter.acquire()).waitedMs, 0);
});

test("requests still in flight count against the server's remaining budget", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ now: clock.now, sleep: clock.sleep });
  await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
  // One answers "2 left, reset in 5 s" while two others are still out: none may be sent now.
  limiter.release(headers({ "x-ratelimit-remaining": "2", "x-ratelimit-reset": "5" }));
  assert.deepEqual(await limiter.acquire(), { waitedMs: 5000, reason: "server_budget" });
});

test("a response counted in a window that has already reset does not hold back the next request", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  const staleReset = String(Math.floor(clock.now() / 1000));
  clock.advance(1500);
  limiter.release(headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": staleReset }));
  assert.equal((await limiter.acquire()).waitedMs, 0);
});

test("after a reset, the new window starts with the announced limit less the requests still out", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  await limiter.acquire();
  // One answers: limit 3, none left, reset in 1 s; the other is still out.
  limiter.release(headers({ "x-ratelimit-limit": "3", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" }));
  assert.deepEqual(await limiter.acquire(), { waitedMs: 1000, reason: "server_budget" });
  assert.equal((await limiter.acquire()).waitedMs, 0);
  // 3 in the new window's budget minus the 1 still out = 2 sent: the next waits (no response has said more).
  assert.equal((await limiter.acquire()).waitedMs, 1000);
});

test("within one window, a response counted earlier cannot raise the budget again", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  await limiter.acquire();
  const reset = String((clock.now() + 5000) / 1000);
  // Counted second by the server, answered first: 0 left.
  limiter.release(headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }));
  // Counted first, answered last: says 1 left, which is no longer true.
  limiter.release(headers({ "x-ratelimit-remaining": "1", "x-ratelimit-reset": reset }));
  assert.deepEqual(await limiter.acquire(), { waitedMs: 5000, reason: "server_budget" });
});

test("header names and the reset format are configurable", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ remainingHeader: "RateLimit-Left", resetHeader: "RateLimit-Wait", resetFormat: "delta", now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  limiter.release(headers({ "ratelimit-left": "0", "ratelimit-wait": "3", "x-ratelimit-remaining": "100" }));
  assert.equal((await limiter.acquire()).waitedMs, 3000);
});

test("headers are ignored when `headers` is false", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ headers: false, now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  limiter.release(headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60" }));
  assert.equal((await limiter.acquire()).waitedMs, 0);
});

test("a reset further away than maxWait is waited for at most maxWait", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ maxWait: 10, now: clock.now, sleep: clock.sleep });
  await limiter.acquire();
  limiter.release(headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "86400" }));
  assert.equal((await limiter.acquire()).waitedMs, 10_000);
});

test("a wait stops when the signal aborts", async () => {
  const limiter = createRateLimiter({ requests: 1, perSeconds: 60 });
  await limiter.acquire();
  const controller = new AbortController();
  const waiting = limiter.acquire(controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
});

test("client.rate_limit accepts a rate per second or { requests, per_seconds } and rejects other values", () => {
  const base = { client: { base_url: "http://127.0.0.1:1" }, resources: ["x"] };
  const number = parseConfig({ ...base, client: { ...base.client, rate_limit: 5 } });
  assert.deepEqual(rateLimitOptions(number.client.rate_limit), { requests: 5, perSeconds: 1, headers: true, remainingHeader: undefined, resetHeader: undefined, resetFormat: "auto" });
  const window = parseConfig({ ...base, client: { ...base.client, rate_limit: { requests: 100, per_seconds: 60, reset_format: "epoch" } } });
  assert.deepEqual(rateLimitOptions(window.client.rate_limit), {
    requests: 100,
    perSeconds: 60,
    headers: true,
    remainingHeader: undefined,
    resetHeader: undefined,
    resetFormat: "epoch",
  });
  assert.throws(() => parseConfig({ ...base, client: { ...base.client, rate_limit: "fast" } }), /client\.rate_limit: expected a number of requests per second/);
  assert.throws(() => parseConfig({ ...base, client: { ...base.client, rate_limit: { requests: 100, per: 60 } } }), /unknown key "per"/);
});

/** A test env whose API answers every request with `X-RateLimit-Remaining: 0` and a reset `resetIn` seconds away. */
async function budgetServer(resetIn: number) {
  const statuses: number[] = [];
  const env = await testEnv({
    api: {
      script: [
        (res) => {
          statuses.push(200);
          res.writeHead(200, { "content-type": "application/json", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(resetIn) });
          res.end(JSON.stringify({ ok: true }));
        },
      ],
    },
  });
  return Object.assign(env, { url: env.api.url, statuses });
}

test("the client waits for the server's reset before its next request and reports the throttle", async () => {
  await using srv = await budgetServer(4);
  const clock = fakeClock();
  const events: HttpEvent[] = [];
  const policy = { max_retries: 0, backoff_factor: 2, max_delay: 60, status_codes: [429], timeout: 30, respect_retry_after: true };
  const http = createHttpClient({ baseUrl: srv.url, retry: policy, rateLimit: {}, now: clock.now, sleep: clock.sleep, onEvent: (e) => events.push(e) });
  await http.request({ method: "GET", url: "/a" });
  assert.deepEqual(events, []);
  await http.request({ method: "GET", url: "/b" });
  assert.equal(srv.statuses.length, 2);
  assert.deepEqual(clock.waits, [4000]);
  assert.deepEqual(events, [{ type: "throttle", url: `${srv.url}/b`, delayMs: 4000, reason: "server_budget" }]);
});
