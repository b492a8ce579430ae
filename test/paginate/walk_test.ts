/**
 * walkPages with planned pages: the read-ahead window past a page that waits out a Retry-After,
 * pages still yielded in order, and bodies of pages fetched ahead parsed only when consumed.
 */
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { test } from "node:test";
import * as v from "valibot";
import { PaginatorSchema, type PaginatorConfig } from "../../src/config/schema.ts";
import { ResponseError } from "../../src/errors.ts";
import { createHttpClient } from "../../src/http/client.ts";
import { createPaginator, walkPages } from "../../src/paginate/index.ts";
import { testEnv } from "../helpers/index.ts";

const LIMIT = 10;

/**
 * A test env whose API serves an offset API of `total` items; `answer` may take over a request (return true
 * when it did). `url` and `requests` (the offsets asked for, in order) sit on the env itself.
 */
async function offsetApi(total: number, answer: (offset: number, res: ServerResponse, seen: number) => boolean = () => false) {
  const requests: number[] = [];
  const serve = (res: ServerResponse, req: { url?: string }) => {
    const offset = Number(new URL(req.url ?? "/", "http://127.0.0.1").searchParams.get("offset") ?? 0);
    requests.push(offset);
    if (answer(offset, res, requests.filter((o) => o === offset).length)) return;
    const items = Array.from({ length: Math.max(0, Math.min(LIMIT, total - offset)) }, (_, i) => ({ id: offset + i }));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items, total }));
  };
  const env = await testEnv({ api: { script: [serve] } });
  return Object.assign(env, { url: env.api.url, requests });
}

const retry = { max_retries: 2, backoff_factor: 1, max_delay: 10, status_codes: [429, 503], timeout: 10, respect_retry_after: true };
const paginator = () => createPaginator(v.parse(PaginatorSchema, { type: "offset", limit: LIMIT, total_path: "total" }) as PaginatorConfig);

test("while the first planned page waits out a Retry-After, the pages after it are fetched far ahead, and still come out in order", async () => {
  await using api = await offsetApi(600, (offset, res, seen) => {
    if (offset !== 10 || seen > 1) return false;
    res.writeHead(503, { "retry-after": "1" }).end();
    return true;
  });
  let seenWhileWaiting = -1;
  // The retry's wait ends once the other requests have gone as far as they will (or after 3 s).
  const sleep = async (_ms: number) => {
    const until = Date.now() + 3000;
    let last = -1;
    while (Date.now() < until && api.requests.length !== last) {
      last = api.requests.length;
      await new Promise((r) => setTimeout(r, 100));
    }
    seenWhileWaiting = api.requests.length;
  };
  const http = createHttpClient({ baseUrl: api.url, retry, sleep });
  const ids: number[] = [];
  for await (const page of walkPages({ method: "GET", url: "/items", params: {} }, { http, paginator: paginator(), dataSelector: "items", concurrency: 2 })) {
    for (const r of page.records as { id: number }[]) ids.push(r.id);
  }
  // With 2 in flight, the window used to end 8 pages past the waiting one; now all 60 pages were asked for.
  assert.equal(seenWhileWaiting, 60, `requests made while page 2 waited: ${seenWhileWaiting}`);
  assert.deepEqual(ids, Array.from({ length: 600 }, (_, i) => i));
});

test("a page fetched ahead that is not JSON fails when its turn comes, after the pages before it", async () => {
  await using api = await offsetApi(100, (offset, res) => {
    if (offset !== 50) return false;
    res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
    return true;
  });
  const http = createHttpClient({ baseUrl: api.url, retry });
  const pages: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const page of walkPages({ method: "GET", url: "/items", params: {} }, { http, paginator: paginator(), dataSelector: "items", concurrency: 4 })) {
        pages.push(page.index);
      }
    })(),
    (e: unknown) => e instanceof ResponseError && /offset=50.*200 response is not valid JSON \(text\/html/.test(e.message),
  );
  assert.deepEqual(pages, [0, 1, 2, 3, 4]);
});

test("without a page waiting for its answer, only 4× the concurrency pages are fetched ahead of a slow consumer", async () => {
  await using api = await offsetApi(600);
  const http = createHttpClient({ baseUrl: api.url, retry });
  const pages = walkPages({ method: "GET", url: "/items", params: {} }, { http, paginator: paginator(), dataSelector: "items", concurrency: 2 });
  await pages.next(); // the first page, which gives the total
  await pages.next(); // the first planned page: the window opens
  // The consumer stops here; wait until no more requests come.
  let last = -1;
  while (api.requests.length !== last) {
    last = api.requests.length;
    await new Promise((r) => setTimeout(r, 150));
  }
  // 1 first page + the consumed planned page + a window of 4 × 2 pages.
  assert.equal(api.requests.length, 10, `requests: ${api.requests.join(",")}`);
  await pages.return(undefined);
});

test("while a page sleeps through its backoff, the pages after it keep `concurrency` requests on the wire", async () => {
  // While page 2 sleeps, the server holds each request until a second one is open (or 300 ms pass,
  // so a client that sends one at a time is still answered), and notes how many were open at once.
  let sleeping = false;
  let answeredWhileSleeping = 0;
  let mostOpenWhileSleeping = 0;
  let held: (() => void)[] = [];
  let fallback: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(fallback);
    const now = held;
    held = [];
    for (const answer of now) answer();
  };
  await using api = await offsetApi(600, (offset, res, seen) => {
    if (offset === 10 && seen === 1) {
      res.writeHead(503).end();
      return true;
    }
    if (!sleeping) return false;
    held.push(() => {
      answeredWhileSleeping++;
      const items = Array.from({ length: LIMIT }, (_, i) => ({ id: offset + i }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items, total: 600 }));
    });
    mostOpenWhileSleeping = Math.max(mostOpenWhileSleeping, held.length);
    if (held.length >= 2) flush();
    else fallback ??= setTimeout(() => ((fallback = undefined), flush()), 300);
    return true;
  });
  api.defer(() => clearTimeout(fallback));
  // The backoff ends once 10 requests were answered during it (or after 5 s).
  const sleep = async (_ms: number) => {
    sleeping = true;
    const until = Date.now() + 5000;
    while (Date.now() < until && answeredWhileSleeping < 10) await new Promise((r) => setTimeout(r, 20));
    sleeping = false;
    flush();
  };
  const http = createHttpClient({ baseUrl: api.url, retry, sleep });
  const ids: number[] = [];
  for await (const page of walkPages({ method: "GET", url: "/items", params: {} }, { http, paginator: paginator(), dataSelector: "items", concurrency: 2 })) {
    for (const r of page.records as { id: number }[]) ids.push(r.id);
  }
  // The sleeping page used to hold one of the 2 slots, leaving one request on the wire.
  assert.equal(mostOpenWhileSleeping, 2, "requests open at once while page 2 slept");
  assert.deepEqual(ids, Array.from({ length: 600 }, (_, i) => i));
});

test("however long a page sleeps, no more than 1,024 pages are fetched ahead of it", async () => {
  await using api = await offsetApi(12_000, (offset, res, seen) => {
    if (offset !== 10 || seen > 1) return false;
    res.writeHead(503).end();
    return true;
  });
  let seenWhileWaiting = -1;
  // The backoff ends once no more requests come (or after 20 s).
  const sleep = async (_ms: number) => {
    const until = Date.now() + 20_000;
    let last = -1;
    while (Date.now() < until && api.requests.length !== last) {
      last = api.requests.length;
      await new Promise((r) => setTimeout(r, 200));
    }
    seenWhileWaiting = api.requests.length;
  };
  const http = createHttpClient({ baseUrl: api.url, retry, sleep });
  let pages = 0;
  let next = 0;
  for await (const page of walkPages({ method: "GET", url: "/items", params: {} }, { http, paginator: paginator(), dataSelector: "items", concurrency: 8 })) {
    pages++;
    for (const r of page.records as { id: number }[]) assert.equal(r.id, next++);
  }
  assert.equal(pages, 1200);
  // The first page, then the sleeping page and the window past it: 1,024 pages in all.
  assert.ok(seenWhileWaiting > 1000 && seenWhileWaiting <= 1 + 1024, `requests made while page 2 slept: ${seenWhileWaiting}`);
});
