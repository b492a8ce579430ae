/**
 * Every paginator against the mock API's routes, with their edge cases:
 * empty last page, missing total, relative next links, repeating cursor,
 * has_more false, POST body cursor, OData nextLink, Link header.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as v from "valibot";
import { PaginatorSchema, type PaginatorConfig } from "../../src/config/schema.ts";
import { ConfigError, ResponseError } from "../../src/errors.ts";
import { createHttpClient } from "../../src/http/client.ts";
import { createPaginator, walkPages, type PageRequest } from "../../src/paginate/index.ts";
import { startMockApi, type MockApi } from "../helpers/mock_api.ts";

const retry = { max_retries: 0, backoff_factor: 0, max_delay: 1, status_codes: [429, 500, 502, 503, 504], timeout: 10, respect_retry_after: true };
let api: MockApi;
before(async () => {
  api = await startMockApi({ items: 25 });
});
after(() => api.close());

async function walk(
  path: string,
  paginator: unknown,
  options: { params?: PageRequest["params"]; method?: "GET" | "POST"; json?: Record<string, unknown>; dataSelector?: string; maxPages?: number; onDetect?: (n: string) => void } = {},
) {
  const http = createHttpClient({ baseUrl: api.url, retry });
  const config = v.parse(PaginatorSchema, paginator) as PaginatorConfig;
  const p = createPaginator(config, { onDetect: options.onDetect });
  const first: PageRequest = { method: options.method ?? "GET", url: path, params: options.params ?? {}, json: options.json };
  const ids: number[] = [];
  let pages = 0;
  const before = api.requests.length;
  for await (const page of walkPages(first, { http, paginator: p, dataSelector: options.dataSelector, maxPages: options.maxPages })) {
    pages++;
    for (const r of page.records as { id: number | string }[]) ids.push(Number(r.id));
  }
  return { ids, pages, requests: api.requests.slice(before), name: p.name };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test("single_page makes exactly one request", async () => {
  const r = await walk("/single", "single_page");
  assert.deepEqual(r.ids, [1, 2, 3, 4, 5]);
  assert.equal(r.requests.length, 1);
});

test("offset paginator stops when the total is reached, without an extra request", async () => {
  const r = await walk("/offset", { type: "offset", limit: 10 });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.offset), ["0", "10", "20"]);
  assert.ok(r.requests.every((q) => q.query.limit === "10"));
});

test("offset paginator with a missing total stops at the empty last page", async () => {
  const r = await walk("/offset", { type: "offset", limit: 10 }, { params: { no_total: 1 } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.offset), ["0", "10", "20", "30"]);
});

test("offset and page_number paginators built in code with no stop rule are refused as endless", () => {
  // The schema refuses this config (test/config); a paginator built without it must still not loop.
  const offset = { type: "offset", limit: 10, offset: 0, offset_param: "offset", limit_param: "limit", total_path: null, stop_after_empty_page: false } as const;
  const pageNumber = { type: "page_number", base_page: 0, page_param: "page", total_path: null, stop_after_empty_page: false } as const;
  for (const config of [offset, pageNumber]) {
    assert.throws(() => createPaginator(config), (e: Error) => e instanceof ConfigError && /no stop rule/.test(e.message));
  }
});

test("offset paginator with a missing total and no other stop rule fails clearly instead of looping", async () => {
  await assert.rejects(walk("/offset", { type: "offset", limit: 10, stop_after_empty_page: false }, { params: { no_total: 1 } }), (e: Error) => {
    assert.ok(e instanceof ResponseError);
    assert.match(e.message, /no total at "total" and no other stop rule/);
    return true;
  });
});

test("offset paginator stops when has_more is false", async () => {
  const r = await walk("/offset", { type: "offset", limit: 10, total_path: null, has_more_path: "has_more", stop_after_empty_page: false }, { params: { no_total: 1, has_more: 1 } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.equal(r.requests.length, 3);
});

test("offset paginator honours maximum_offset and a custom start offset", async () => {
  const r = await walk("/offset", { type: "offset", limit: 5, offset: 5, maximum_offset: 15 });
  assert.deepEqual(r.ids, range(6, 15));
});

test("offset paginator writes offset and limit into a POST body", async () => {
  const r = await walk("/offset-body", { type: "offset", limit: 10, offset_body_path: "page.offset", limit_body_path: "page.limit" }, { method: "POST", json: { filter: "all" } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => (q.body as { page: { offset: number } }).page.offset), [0, 10, 20]);
  assert.equal((r.requests[0].body as { filter: string }).filter, "all");
});

test("page_number paginator counts from base_page and stops at total pages", async () => {
  const r = await walk("/pages", { type: "page_number", base_page: 1, total_path: "total_pages" }, { params: { per_page: 10 } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.page), ["1", "2", "3"]);
});

test("page_number paginator without a total stops at the empty last page", async () => {
  const r = await walk("/pages", { type: "page_number", base_page: 1, total_path: null }, { params: { per_page: 10, no_total: 1 } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.page), ["1", "2", "3", "4"]);
});

test("page_number paginator stops at maximum_page (inclusive)", async () => {
  const r = await walk("/pages", { type: "page_number", base_page: 1, maximum_page: 2, total_path: null }, { params: { per_page: 10, no_total: 1 } });
  assert.deepEqual(r.requests.map((q) => q.query.page), ["1", "2"]);
});

test("cursor paginator follows the cursor until it is null", async () => {
  const r = await walk("/cursor", { type: "cursor", cursor_path: "meta.next_cursor", cursor_param: "cursor" });
  assert.deepEqual(r.ids, range(1, 25));
  assert.equal(r.requests.length, 3);
  assert.equal(r.requests[0].query.cursor, undefined);
});

test("cursor paginator stops when has_more is false even if a cursor is sent", async () => {
  const r = await walk("/cursor", { type: "cursor", cursor_path: "meta.next_cursor", cursor_param: "cursor", has_more_path: "meta.has_more" }, { params: { has_more: 1 } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.equal(r.requests.length, 3);
});

test("a repeating cursor stops pagination with a clear error instead of looping", async () => {
  await assert.rejects(walk("/cursor", { type: "cursor", cursor_path: "meta.next_cursor", cursor_param: "cursor" }, { params: { repeat: 1 } }), (e: Error) => {
    assert.ok(e instanceof ResponseError);
    assert.match(e.message, /cursor paginator: the API returned the same next page again/);
    return true;
  });
});

test("cursor paginator sends the cursor in a POST body with cursor_body_path", async () => {
  const r = await walk("/cursor-post", { type: "cursor", cursor_path: "next", cursor_body_path: "cursor" }, { method: "POST", json: {} });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => (q.body as { cursor?: number }).cursor), [undefined, 10, 20]);
  assert.ok(r.requests.every((q) => q.method === "POST" && Object.keys(q.query).length === 0));
});

test("json_link paginator follows absolute next URLs", async () => {
  const r = await walk("/json-link", { type: "json_link", next_url_path: "links.next" });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.p), [undefined, "2", "3"]);
});

test("json_link paginator resolves relative next URLs against the current one", async () => {
  const r = await walk("/json-link", { type: "json_link", next_url_path: "links.next" }, { params: { relative: 1 } });
  assert.deepEqual(r.ids, range(1, 25));
  assert.ok(r.requests.every((q) => q.path === "/json-link"));
});

test("dlt's deprecated json_response name works as json_link", async () => {
  const r = await walk("/json-link", { type: "json_response", next_url_path: "links.next" });
  assert.deepEqual(r.ids, range(1, 25));
});

test("json_link paginator follows OData's @odata.nextLink with a quoted JSONPath", async () => {
  const r = await walk("/odata", { type: "json_link", next_url_path: "$['@odata.nextLink']" }, { dataSelector: "value" });
  assert.deepEqual(r.ids, range(1, 25));
});

test("header_link paginator follows the Link header's rel=next", async () => {
  const r = await walk("/link", "header_link");
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.page), [undefined, "2", "3"]);
});

test("header_cursor paginator sends the header's cursor as a param", async () => {
  const r = await walk("/header-cursor", { type: "header_cursor", cursor_key: "x-next-cursor", cursor_param: "cursor" });
  assert.deepEqual(r.ids, range(1, 25));
  assert.deepEqual(r.requests.map((q) => q.query.cursor), [undefined, "10", "20"]);
});

for (const [path, expected, selector] of [
  ["/link", "header_link", undefined],
  ["/odata", "json_link ($['@odata.nextLink'])", "value"],
  ["/json-link", "json_link (links.next)", undefined],
  ["/cursor", "cursor (meta.next_cursor)", undefined],
  ["/pages", "page_number", undefined],
  ["/single", "single_page", undefined],
] as const) {
  test(`auto paginator detects ${expected} on ${path} and says so`, async () => {
    let detected = "";
    const r = await walk(path, { type: "auto" }, { dataSelector: selector, onDetect: (n) => (detected = n) });
    assert.equal(detected, expected);
    assert.deepEqual(r.ids, path === "/single" ? [1, 2, 3, 4, 5] : range(1, 25));
  });
}

test("max_pages stops the walk after that many pages", async () => {
  const r = await walk("/offset", { type: "offset", limit: 5 }, { maxPages: 2 });
  assert.deepEqual(r.ids, range(1, 10));
  assert.equal(r.requests.length, 2);
});
