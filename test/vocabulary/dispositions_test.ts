/**
 * Merge strategies delete-insert and scd2 end to end in a DuckDB file.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeItems } from "../helpers/mock_api.ts";
import { testEnv } from "../helpers/index.ts";
import { harness } from "./helpers.ts";

/** Each test changes its API's items between runs, so each has an API of its own (6 items to start). */
const apiEnv = () => testEnv({ api: { items: 6 } });

const config = (url: string, writeDisposition: unknown, extra: Record<string, unknown> = {}) => ({
  client: { base_url: url },
  batch_pages: 1,
  resources: [{ name: "items", write_disposition: writeDisposition, endpoint: { path: "/offset", data_selector: "items", paginator: { type: "offset", limit: 2 } }, ...extra }],
});

test("delete-insert by primary key replaces changed rows and keeps the rest", async () => {
  await using env = await apiEnv();
  const { api } = env;
  await using h = harness();
  api.setItems(makeItems(6));
  await h.run(config(api.url, { disposition: "merge", strategy: "delete-insert" }, { primary_key: "id" }));
  api.setItems(makeItems(6).map((i) => (i.id === 2 ? { ...i, name: "changed" } : i)).concat(makeItems(1, 7)));
  await h.run(config(api.url, { disposition: "merge", strategy: "delete-insert" }, { primary_key: "id" }));
  const rows = await h.query<{ id: number; name: string }>("select id::int as id, name from vocab_dataset.items order by id");
  assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(rows[1].name, "changed");
});

test("delete-insert by merge key replaces every row of a key from earlier loads, across batches of one load", async () => {
  await using env = await apiEnv();
  const { api } = env;
  await using h = harness();
  api.setItems(makeItems(6));
  await h.run(config(api.url, { disposition: "merge", strategy: "delete-insert" }, { merge_key: "group" }));
  // The odd group now has only two items; each group spans several batches (limit 2, batch_pages 1).
  api.setItems(makeItems(6).filter((i) => i.group === "even" || i.id <= 3));
  await h.run(config(api.url, { disposition: "merge", strategy: "delete-insert" }, { merge_key: "group" }));
  const rows = await h.query<{ id: number }>("select id::int as id from vocab_dataset.items order by id");
  assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 6]);
});

test("scd2 closes a changed or vanished row's version and opens a new one", async () => {
  await using env = await apiEnv();
  const { api } = env;
  await using h = harness();
  api.setItems(makeItems(4));
  await h.run(config(api.url, { disposition: "merge", strategy: "scd2" }));
  let rows = await h.query<{ id: number; open: boolean }>("select id::int as id, _dlt_valid_to is null as open from vocab_dataset.items order by id");
  assert.deepEqual(rows, [1, 2, 3, 4].map((id) => ({ id, open: true })));
  const [f] = await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.items where _dlt_valid_from is not null");
  assert.equal(f.n, 4);
  // Item 2 changes, item 4 disappears, item 5 appears.
  api.setItems(makeItems(3).map((i) => (i.id === 2 ? { ...i, name: "changed" } : i)).concat(makeItems(1, 5)));
  await h.run(config(api.url, { disposition: "merge", strategy: "scd2" }));
  rows = await h.query<{ id: number; name: string; open: boolean }>("select id::int as id, name, _dlt_valid_to is null as open from vocab_dataset.items order by id, open");
  assert.deepEqual(rows, [
    { id: 1, name: "item 1", open: true },
    { id: 2, name: "item 2", open: false },
    { id: 2, name: "changed", open: true },
    { id: 3, name: "item 3", open: true },
    { id: 4, name: "item 4", open: false },
    { id: 5, name: "item 5", open: true },
  ]);
  // The resource's view shows the current versions only.
  const current = await h.query<{ id: number; name: string }>("select id::int as id, name from main.items order by id");
  assert.deepEqual(current, [
    { id: 1, name: "item 1" },
    { id: 2, name: "changed" },
    { id: 3, name: "item 3" },
    { id: 5, name: "item 5" },
  ]);
  // The closed versions end when the new ones begin.
  const [b] = await h.query<{ ok: boolean }>(
    "select (select max(_dlt_valid_to) from vocab_dataset.items) = (select _dlt_valid_from from vocab_dataset.items where name = 'changed') as ok",
  );
  assert.equal(b.ok, true);
});
