/**
 * Incremental loading end to end, and the cursor rules as pure functions.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { IncrementalPlan } from "../../src/config/plan.ts";
import { applyLag, compareCursor, Incremental } from "../../src/extract/incremental.ts";
import { makeItems, startMockApi, type MockApi } from "../helpers/mock_api.ts";
import { testEnv } from "../helpers/index.ts";
import { harness } from "./helpers.ts";

/** The API the tests share; a test that changes its items runs on an API of its own (`apiEnv`). */
let api: MockApi;
before(async () => {
  api = await startMockApi({ items: 10 });
});
after(() => api.close());
const apiEnv = () => testEnv({ api: { items: 10 } });

const plan = (over: Partial<IncrementalPlan> = {}): IncrementalPlan => ({
  cursorPath: "updated_at",
  lastValueFunc: "max",
  rangeStart: "closed",
  rangeEnd: "open",
  onCursorValueMissing: "raise",
  primaryKey: ["id"],
  ...over,
});

test("cursor values compare as numbers, as date-times across formats, else as strings", () => {
  assert.ok(compareCursor(9, 10) < 0);
  assert.ok(compareCursor("2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z") < 0);
  assert.ok(compareCursor("2024-01-02", "2024-01-01T23:00:00Z") > 0);
  assert.ok(compareCursor("b", "a") > 0);
});

test("lag moves the start back by seconds for date-times, days for dates, units for numbers", () => {
  assert.equal(applyLag("2024-01-01T01:00:00Z", 3600, "max"), "2024-01-01T00:00:00.000Z");
  assert.equal(applyLag("2024-01-10", 2, "max"), "2024-01-08");
  assert.equal(applyLag(100, 5, "max"), 95);
  assert.equal(applyLag(100, 5, "min"), 105);
});

test("rows before the start and from the end on are filtered; the boundary is closed at the start and open at the end", () => {
  const inc = new Incremental(plan({ initialValue: 3, endValue: 6, cursorPath: "n" }), undefined);
  const { records } = inc.filter([2, 3, 4, 5, 6, 7].map((n) => ({ id: n, n })));
  assert.deepEqual(records.map((r) => r.n), [3, 4, 5]);
  const open = new Incremental(plan({ initialValue: 3, endValue: 6, cursorPath: "n", rangeStart: "open", rangeEnd: "closed" }), undefined);
  assert.deepEqual(open.filter([3, 4, 6].map((n) => ({ id: n, n }))).records.map((r) => r.n), [4, 6]);
});

test("boundary rows already loaded are dropped by primary key, new rows at the boundary are kept", () => {
  const first = new Incremental(plan({ cursorPath: "n" }), undefined);
  first.filter([{ id: 1, n: 5 }, { id: 2, n: 7 }, { id: 3, n: 7 }]);
  const state = first.state()!;
  assert.equal(state.last_value, 7);
  assert.equal(state.unique_hashes.length, 2);
  const second = new Incremental(plan({ cursorPath: "n" }), state);
  assert.equal(second.startValue, 7);
  const { records } = second.filter([{ id: 2, n: 7 }, { id: 3, n: 7 }, { id: 4, n: 7 }, { id: 5, n: 8 }]);
  assert.deepEqual(records.map((r) => r.id), [4, 5]);
});

test("last_value_func min walks downwards", () => {
  const inc = new Incremental(plan({ cursorPath: "n", lastValueFunc: "min", initialValue: 10 }), undefined);
  assert.deepEqual(inc.filter([{ id: 1, n: 11 }, { id: 2, n: 9 }, { id: 3, n: 4 }]).records.map((r) => r.id), [2, 3]);
  assert.equal(inc.state()!.last_value, 4);
});

test("on_cursor_value_missing raises by default, and can include or exclude the row", () => {
  const rows = [{ id: 1 }, { id: 2, updated_at: null }, { id: 3, updated_at: "2024-01-01" }];
  assert.throws(() => new Incremental(plan(), undefined, "events").filter(rows), /resource events: incremental cursor "updated_at" is missing in a record \(keys: id\)/);
  assert.deepEqual(new Incremental(plan({ onCursorValueMissing: "include" }), undefined).filter(rows).records.map((r) => r.id), [1, 2, 3]);
  assert.deepEqual(new Incremental(plan({ onCursorValueMissing: "exclude" }), undefined).filter(rows).records.map((r) => r.id), [3]);
});

test("with an end_value the stored state is left as it was (a backfill)", () => {
  const inc = new Incremental(plan({ cursorPath: "n", initialValue: 0, endValue: 100 }), undefined);
  inc.filter([{ id: 1, n: 5 }]);
  assert.equal(inc.state(), undefined);
});

test("row_order desc stops the walk at the first row before the start", () => {
  const inc = new Incremental(plan({ cursorPath: "n", initialValue: 5, rowOrder: "desc" }), undefined);
  const r = inc.filter([{ id: 1, n: 9 }, { id: 2, n: 4 }]);
  assert.equal(r.stop, true);
  assert.deepEqual(r.records.map((x) => x.id), [1]);
});

const eventsConfig = (endpoint: Record<string, unknown> = {}, disposition = "append", url = api.url) => ({
  client: { base_url: url },
  resources: [
    {
      name: "events",
      primary_key: "id",
      write_disposition: disposition,
      endpoint: {
        path: "/events",
        data_selector: "events",
        paginator: "single_page",
        params: { since: "{incremental.start_value}" },
        incremental: { cursor_path: "updated_at", initial_value: "2024-01-01T02:00:00.000Z" },
        ...endpoint,
      },
    },
  ],
});

test("a second run asks from the stored cursor and loads only new rows, without duplicating the boundary row", async () => {
  await using env = await apiEnv();
  const { api } = env;
  await using h = harness();
  api.setItems(makeItems(10));
  const before = api.requests.length;
  await h.run(eventsConfig({}, "append", api.url));
  let rows = await h.query<{ id: number }>("select id::int as id from vocab_dataset.events order by id");
  assert.deepEqual(rows.map((r) => r.id), [3, 4, 5, 6, 7, 8, 9, 10]);
  api.setItems(makeItems(13));
  await h.run(eventsConfig({}, "append", api.url));
  rows = await h.query<{ id: number }>("select id::int as id from vocab_dataset.events order by id");
  // Append: row 10 (the stored last value) comes back from the API but is not loaded twice.
  assert.deepEqual(rows.map((r) => r.id), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const sinces = api.requests.slice(before).filter((r) => r.path === "/events").map((r) => r.query.since);
  assert.deepEqual(sinces, ["2024-01-01T02:00:00.000Z", "2024-01-01T09:00:00.000Z"]);
  // The cursor is stored next to the rows, and in dlt's _dlt_pipeline_state.
  const [st] = await h.query<{ state: string }>("select state from vocab_dataset._dlt_pipeline_state order by version desc limit 1");
  assert.equal(JSON.parse(st.state).sources.vocab.resources.events.incremental.updated_at.last_value, "2024-01-01T12:00:00.000Z");
});

test("legacy start_param and end_param carry the range; end_value rows are filtered client-side", async () => {
  await using h = harness();
  const before = api.requests.length;
  await h.run(
    eventsConfig({
      params: {},
      incremental: { cursor_path: "updated_at", initial_value: "2024-01-01T01:00:00.000Z", end_value: "2024-01-01T04:00:00.000Z", start_param: "since" },
    }),
  );
  const rows = await h.query<{ id: number }>("select id::int as id from vocab_dataset.events order by id");
  assert.deepEqual(rows.map((r) => r.id), [2, 3, 4]);
  const req = api.requests.slice(before).find((r) => r.path === "/events")!;
  assert.equal(req.query.since, "2024-01-01T01:00:00.000Z");
  assert.equal(req.query.until, undefined);
});

test("the legacy incremental param and convert: unix_seconds", async () => {
  await using h = harness();
  const before = api.requests.length;
  const config = eventsConfig({ params: { ts: { type: "incremental", cursor_path: "updated_at", initial_value: "2024-01-01T05:00:00Z", convert: "unix_seconds" } }, incremental: undefined });
  await h.run(config);
  const req = api.requests.slice(before).find((r) => r.path === "/events")!;
  assert.equal(req.query.ts, String(Date.UTC(2024, 0, 1, 5) / 1000));
  const rows = await h.query<{ id: number }>("select min(id)::int as id from vocab_dataset.events");
  assert.equal(rows[0].id, 6);
});

test("a child keeps one cursor per parent record", async () => {
  await using env = await apiEnv();
  const { api } = env;
  await using h = harness();
  const config = {
    client: { base_url: api.url },
    resources: [
      { name: "groups", endpoint: { path: "/groups", paginator: "single_page" }, selected: false },
      {
        name: "group_items",
        primary_key: "id",
        endpoint: {
          path: "/groups/{resources.groups.name}/items",
          data_selector: "items",
          paginator: { type: "offset", limit: 5 },
          response_actions: [{ status_code: 404, action: "ignore" }],
          incremental: { cursor_path: "id", initial_value: 0 },
        },
      },
    ],
  };
  await h.run(config);
  const [cp] = await h.query<{ state: string }>("select state from vocab_dataset._restduck_checkpoints where resource = 'group_items' and done");
  const parents = JSON.parse(cp.state).parents as Record<string, { incremental: { last_value: number } }>;
  const lasts = Object.entries(parents).map(([k, v]) => [JSON.parse(k)[0][1], v.incremental?.last_value]);
  assert.deepEqual(Object.fromEntries(lasts), { odd: 9, even: 10, gone: 0 });
  // A new odd item only: the even chain's cursor does not hide it, and nothing is loaded twice.
  api.setItems(makeItems(11));
  await h.run(config);
  const rows = await h.query<{ id: number }>("select id::int as id from vocab_dataset.group_items order by id");
  assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

test("an {incremental.*} placeholder without endpoint.incremental is a config error naming the path", () => {
  const c = eventsConfig({ incremental: undefined });
  assert.throws(() => prepareConfig(c, { env: {}, cwd: "/x" }), /resources\[0\]\.endpoint\.params: placeholder \{incremental\.start_value\} needs endpoint\.incremental/);
});

test("an interrupted incremental run resumes with the cursor of its committed rows, and the next run starts after it", async () => {
  await using env = await apiEnv();
  const { api } = env;
  await using h = harness();
  api.setItems(makeItems(20));
  const config = {
    client: { base_url: api.url, retry: { max_retries: 0 }, concurrency: 1 },
    batch_pages: 1,
    resources: [{ name: "numbered", endpoint: { path: "/offset", data_selector: "items", paginator: { type: "offset", limit: 5 }, incremental: { cursor_path: "id", initial_value: 0 } } }],
  };
  api.queue("/offset", { status: 200, body: { items: makeItems(5), total: 20 } }, { status: 503, body: { error: "down" } });
  await assert.rejects(h.run(config), /503/);
  const [cp] = await h.query<{ state: string }>("select state from vocab_dataset._restduck_checkpoints where resource = 'numbered'");
  assert.equal(JSON.parse(cp.state).incremental.last_value, 5);
  const resumed = await h.run(config);
  assert.equal(resumed.resumed, true);
  let rows = await h.query<{ n: number; d: number }>("select count(*)::int as n, count(distinct id)::int as d from vocab_dataset.numbered");
  assert.deepEqual(rows, [{ n: 20, d: 20 }]);
  // The next run filters everything up to the stored 20: nothing new, nothing twice.
  await h.run(config);
  rows = await h.query<{ n: number; d: number }>("select count(*)::int as n, count(distinct id)::int as d from vocab_dataset.numbered");
  assert.deepEqual(rows, [{ n: 20, d: 20 }]);
});
