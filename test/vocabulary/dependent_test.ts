/**
 * Dependent resources end to end: placeholders in path, params, json and
 * headers; the legacy resolve param; include_from_parent; unselected parents;
 * one request chain per parent record; a 404 for a deleted parent ignored.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startMockApi, type MockApi } from "../helpers/mock_api.ts";
import { harness } from "./helpers.ts";

let api: MockApi;
before(async () => {
  api = await startMockApi({ items: 12 });
});
after(() => api.close());

const groupsChild = (endpoint: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  client: { base_url: api.url },
  resources: [
    { name: "groups", endpoint: { path: "/groups", paginator: "single_page" }, selected: false },
    {
      name: "group_items",
      primary_key: "id",
      write_disposition: "merge",
      include_from_parent: ["label"],
      endpoint: {
        path: "/groups/{resources.groups.name}/items",
        data_selector: "items",
        paginator: { type: "offset", limit: 5 },
        response_actions: [{ status_code: 404, action: "ignore" }],
        ...endpoint,
      },
      ...extra,
    },
  ],
});

test("a child resource makes one request chain per parent record and adds _<parent>_<field> columns", async () => {
  await using h = harness();
  const before = api.requests.length;
  const summary = await h.run(groupsChild({}));
  assert.equal(summary.status, "completed");
  const rows = await h.query<{ id: number; group: string; _groups_label: string }>("select id, \"group\", _groups_label from vocab_dataset.group_items order by id");
  assert.equal(rows.length, 12);
  assert.ok(rows.every((r) => r._groups_label === (r.group === "odd" ? "Odd" : "Even")));
  const paths = api.requests.slice(before).map((r) => `${r.path}?${r.query.offset ?? ""}`);
  // groups once; each group's chain pages through its own offsets (chains run ahead concurrently); the deleted group's 404 is ignored.
  assert.equal(paths[0], "/groups?");
  assert.deepEqual(paths.slice(1).sort(), ["/groups/even/items?0", "/groups/even/items?5", "/groups/gone/items?0", "/groups/odd/items?0", "/groups/odd/items?5"]);
  for (const g of ["odd", "even"]) assert.deepEqual(paths.filter((p) => p.includes(`/${g}/`)), [`/groups/${g}/items?0`, `/groups/${g}/items?5`]);
  const rowsInOrder = await h.query<{ g: string }>("select _groups_label as g from vocab_dataset.group_items order by _dlt_load_id, rowid");
  assert.deepEqual([...new Set(rowsInOrder.map((r) => r.g))], ["Odd", "Even"], "rows are loaded in parent order");
  // The unselected parent was fetched but not loaded.
  const tables = await h.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = 'vocab_dataset' and table_name = 'groups'");
  assert.equal(tables.length, 0);
  assert.deepEqual(summary.resources.map((r) => r.name), ["group_items"]);
});

test("without an ignore action a deleted parent's 404 fails the run and names the URL", async () => {
  await using h = harness();
  await assert.rejects(h.run(groupsChild({ response_actions: [] })), /resource group_items: .*\/groups\/gone\/items.*404/);
});

test("the legacy resolve param fills the path like a placeholder", async () => {
  await using h = harness();
  const config = {
    client: { base_url: api.url },
    resources: [
      { name: "items", endpoint: { path: "/offset", data_selector: "items", paginator: { type: "offset", limit: 100 }, params: { limit: 3 } } },
      { name: "details", primary_key: "id", endpoint: { path: "/items/{item_id}", params: { item_id: { type: "resolve", resource: "items", field: "id" } } } },
    ],
  };
  await h.run(config);
  const rows = await h.query<{ id: number; detail: string }>("select id, detail from vocab_dataset.details order by id");
  assert.equal(rows.length, 12);
  assert.equal(rows[0].detail, "detail of 1");
  assert.deepEqual(
    (await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.items"))[0].n,
    12,
    "a selected parent is loaded too",
  );
});

test("placeholders fill a POST json body (keeping types), query params and headers", async () => {
  await using h = harness();
  const before = api.requests.length;
  await h.run({
    client: { base_url: api.url },
    resources: [
      { name: "groups", endpoint: { path: "/groups", paginator: "single_page" } },
      {
        name: "hits",
        endpoint: {
          path: "/search",
          method: "POST",
          json: { group: "{resources.groups.name}", size: 2 },
          params: { label: "group {resources.groups.label}" },
          headers: { "x-group": "{resources.groups.name}" },
          data_selector: "hits",
          paginator: "single_page",
        },
      },
    ],
  });
  const searches = api.requests.slice(before).filter((r) => r.path === "/search");
  assert.deepEqual(searches.map((r) => r.body), [{ group: "odd", size: 2 }, { group: "even", size: 2 }, { group: "gone", size: 2 }]);
  assert.deepEqual(searches.map((r) => r.query.label), ["group Odd", "group Even", "group Deleted"]);
  assert.deepEqual(searches.map((r) => r.headers["x-group"]), ["odd", "even", "gone"]);
  const [n] = await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.hits");
  assert.equal(n.n, 4);
});

test("--resource for a child fetches its parent without loading it", async () => {
  await using h = harness();
  const config = groupsChild({});
  (config.resources[0] as { selected?: boolean }).selected = true;
  const summary = await h.run(config, { resources: ["group_items"] });
  assert.deepEqual(summary.resources.map((r) => r.name), ["group_items"]);
  const tables = await h.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = 'vocab_dataset' and table_name in ('groups', 'group_items') order by 1");
  assert.deepEqual(tables.map((t) => t.t), ["group_items"]);
});

test("a failed child run resumes at the parent record and page where it stopped, without loading a row twice", async () => {
  await using h = harness();
  const config = groupsChild({}, { write_disposition: "append", primary_key: undefined });
  (config as { batch_pages?: number }).batch_pages = 1;
  (config.client as { retry?: unknown }).retry = { max_retries: 0 };
  (config.client as { concurrency?: number }).concurrency = 1;
  api.queue("/groups/even/items", { status: 500, body: { error: "boom" } });
  await assert.rejects(h.run(config), /500/);
  const [partial] = await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.group_items");
  assert.equal(partial.n, 6, "the odd chain's pages were committed");
  const before = api.requests.length;
  const summary = await h.run(config);
  assert.equal(summary.resumed, true);
  const rows = await h.query<{ id: number }>("select id::int as id from vocab_dataset.group_items order by id");
  assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.ok(!api.requests.slice(before).some((r) => r.path === "/groups/odd/items"), "the finished chain is not fetched again");
});
