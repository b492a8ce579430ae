/**
 * Resource options end to end: processing_steps (declarative and functions),
 * response_actions (ignore, errors and retries inside a 200 body),
 * max_pages, table_name and selected.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HttpError } from "../../src/errors.ts";
import { startMockApi, type MockApi } from "../helpers/mock_api.ts";
import { harness } from "./helpers.ts";

let api: MockApi;
before(async () => {
  api = await startMockApi({ items: 20 });
});
after(() => api.close());

const offsetResource = (extra: Record<string, unknown> = {}, endpoint: Record<string, unknown> = {}) => ({
  client: { base_url: api.url },
  resources: [{ name: "items", primary_key: "id", endpoint: { path: "/offset", data_selector: "items", paginator: { type: "offset", limit: 5 }, ...endpoint }, ...extra }],
});

test("declarative processing steps filter, rename, drop and set fields, in order", async () => {
  await using h = harness();
  await h.run(
    offsetResource({
      processing_steps: [
        { filter: { field: "group", equals: "odd" } },
        { filter: { field: "id", not_in: [1, 3] } },
        { map: { rename: { name: "title" }, drop: ["updated_at"], set: { source: "mock" } } },
      ],
    }),
  );
  const rows = await h.query<{ id: number; title: string; source: string }>("select id::int as id, title, source from vocab_dataset.items order by id");
  assert.deepEqual(rows.map((r) => r.id), [5, 7, 9, 11, 13, 15, 17, 19]);
  assert.equal(rows[0].title, "item 5");
  assert.equal(rows[0].source, "mock");
  const cols = await h.query<{ c: string }>("select column_name as c from information_schema.columns where table_schema = 'vocab_dataset' and table_name = 'items'");
  assert.ok(!cols.some((c) => c.c === "updated_at" || c.c === "name"));
});

test("processing steps given as TS functions filter and map records", async () => {
  await using h = harness();
  await h.run(
    offsetResource({
      processing_steps: [{ filter: (r: { id: number }) => r.id <= 4 }, { map: (r: { id: number; name: string }) => ({ ...r, name: r.name.toUpperCase(), double: r.id * 2 }) }],
    }),
  );
  const rows = await h.query<{ name: string; double: number }>("select name, double::int as double from vocab_dataset.items order by id");
  assert.deepEqual(rows, [
    { name: "ITEM 1", double: 2 },
    { name: "ITEM 2", double: 4 },
    { name: "ITEM 3", double: 6 },
    { name: "ITEM 4", double: 8 },
  ]);
});

const slack = (actions: unknown[]) => ({
  client: { base_url: api.url, retry: { max_retries: 2 } },
  resources: [
    {
      name: "messages",
      endpoint: {
        path: "/slack/conversations.history",
        data_selector: "messages",
        params: { channel: "C1", limit: 10 },
        paginator: { type: "cursor", cursor_path: "response_metadata.next_cursor", cursor_param: "cursor" },
        response_actions: actions,
      },
    },
  ],
});

test("Slack's {ok: false, error: ratelimited} in a 200 body is retried with backoff, then the run completes", async () => {
  await using h = harness();
  api.queue("/slack/conversations.history", { status: 200, body: { ok: false, error: "ratelimited" }, headers: { "retry-after": "3" } });
  const summary = await h.run(slack([{ body_path: "error", equals: "ratelimited", action: "retry" }, { body_path: "ok", equals: false, action: "error" }]));
  assert.equal(summary.resources[0].rows, 20);
  assert.deepEqual(h.waits, [3000]);
  assert.ok(summary.events.some((e) => e.type === "retry" && /ratelimited/.test(e.reason)));
});

test("an error inside a 200 body fails the run with the body's error", async () => {
  await using h = harness();
  api.queue("/slack/conversations.history", { status: 200, body: { ok: false, error: "channel_not_found" } });
  await assert.rejects(h.run(slack([{ body_path: "ok", equals: false, action: "error" }])), (e: Error) => {
    assert.ok(e instanceof HttpError);
    assert.match(e.message, /resource messages: .*200 response reports an error: channel_not_found/);
    return true;
  });
});

test("a retry rule that keeps matching gives up after client.retry.max_retries", async () => {
  await using h = harness();
  const busy = { status: 200, body: { ok: false, error: "ratelimited" } };
  api.queue("/slack/conversations.history", busy, busy, busy);
  await assert.rejects(h.run(slack([{ body_path: "error", equals: "ratelimited", action: "retry" }])), /ratelimited \(still after 2 retries\)/);
  assert.deepEqual(h.waits, [2000, 4000]);
});

test("a retry rule also retries a refused response, e.g. GitHub's 403 secondary rate limit", async () => {
  await using h = harness();
  api.queue("/link", { status: 403, body: { message: "You have exceeded a secondary rate limit" } });
  const summary = await h.run({
    client: { base_url: api.url, retry: { max_retries: 2 } },
    resources: [{ name: "issues", endpoint: { path: "/link", paginator: "header_link", response_actions: [{ status_code: 403, content: "secondary rate limit", action: "retry" }] } }],
  });
  assert.equal(summary.resources[0].rows, 20);
  assert.deepEqual(h.waits, [2000]);
});

test("a content match ignores a response: it counts as an empty last page", async () => {
  await using h = harness();
  api.queue("/offset", { status: 200, body: { items: [], total: 0, note: "maintenance window" } });
  const summary = await h.run(offsetResource({}, { response_actions: [{ content: "maintenance", action: "ignore" }] }));
  assert.equal(summary.resources[0].rows, 0);
});

test("max_pages, table_name and selected: false", async () => {
  await using h = harness();
  const config = offsetResource({ table_name: "things" }, { max_pages: 2 });
  (config.resources as unknown[]).push({ name: "skipped", endpoint: { path: "/single" }, selected: false });
  const summary = await h.run(config);
  assert.deepEqual(summary.resources.map((r) => [r.name, r.table, r.rows]), [["items", "things", 10]]);
  const [n] = await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.things");
  assert.equal(n.n, 10);
  assert.equal(api.hits("/single").length, 0);
});

test("a TS config file's filter, map and convert functions run as in dlt's Python", async () => {
  await using h = harness();
  const { writeFileSync } = await import("node:fs");
  const { dirname, join } = await import("node:path");
  const { loadConfig } = await import("../../src/config/index.ts");
  const { runPipeline } = await import("../../src/pipeline/run.ts");
  const file = join(dirname(h.db), "items.ts");
  writeFileSync(
    file,
    `export default {
  client: { base_url: ${JSON.stringify(api.url)} },
  resources: [{
    name: "items",
    processing_steps: [{ filter: (r: { id: number }) => r.id % 5 === 0 }, { map: (r: { name: string }) => ({ ...r, name: r.name.replace("item", "thing") }) }],
    endpoint: {
      path: "/events", data_selector: "events", paginator: "single_page",
      params: { since: "{incremental.start_value}" },
      incremental: { cursor_path: "updated_at", initial_value: "2024-01-01T00:00:00Z", convert: (v: string) => v.slice(0, 10) + "T09:00:00.000Z" },
    },
  }],
};
`,
  );
  const before = api.requests.length;
  await runPipeline(await loadConfig(file, { env: {} }), { database: h.db, pipelineName: "vocab" });
  assert.equal(api.requests.slice(before).find((r) => r.path === "/events")?.query.since, "2024-01-01T09:00:00.000Z");
  const rows = await h.query<{ id: number; name: string }>("select id::int as id, name from vocab_dataset.items order by id");
  assert.deepEqual(rows, [
    { id: 10, name: "thing 10" },
    { id: 15, name: "thing 15" },
    { id: 20, name: "thing 20" },
  ]);
});

test("client auth applies to every resource, endpoint auth overrides it, and both load rows", async () => {
  await using h = harness();
  const { CREDENTIALS } = await import("../helpers/mock_api.ts");
  const summary = await h.run({
    client: { base_url: api.url, auth: { type: "bearer", token: CREDENTIALS.token } },
    resources: [
      { name: "with_bearer", endpoint: { path: "/auth/bearer", paginator: "single_page" } },
      { name: "with_cookie", endpoint: { path: "/auth/cookie", paginator: "single_page", auth: { type: "api_key", name: "session", api_key: CREDENTIALS.apiKey, location: "cookie" } } },
      { name: "with_basic", endpoint: { path: "/auth/basic", paginator: "single_page", auth: { type: "http_basic", username: CREDENTIALS.username, password: CREDENTIALS.password } } },
      {
        name: "with_oauth",
        endpoint: {
          path: "/auth/oauth",
          paginator: "single_page",
          auth: { type: "oauth2", token_url: `${api.url}/oauth/token`, client_id: CREDENTIALS.clientId, client_secret: CREDENTIALS.clientSecret, client_auth: "basic" },
        },
      },
    ],
  });
  assert.deepEqual(summary.resources.map((r) => [r.name, r.rows]), [["with_bearer", 3], ["with_cookie", 3], ["with_basic", 3], ["with_oauth", 3]]);
  const [n] = await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.with_oauth");
  assert.equal(n.n, 3);
});
