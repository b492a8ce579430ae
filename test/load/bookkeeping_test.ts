/**
 * dlt's bookkeeping tables as the Loader writes them (issue #4): `_dlt_pipeline_state` rows are
 * versioned and tied to their load like dlt's, `_dlt_version` stores a new row only when the schema changed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Loader } from "../../src/load/loader.ts";
import type { Schema } from "../../src/normalize/types.ts";
import { testEnv } from "../helpers/index.ts";

test("a completed run with state writes a versioned _dlt_pipeline_state row tied to its load", async () => {
  await using env = await testEnv();
  const db = await env.open({ path: env.path("state.duckdb") });
  const loader = await Loader.open(db, { dataset: "ds", pipelineName: "chat" });
  const schema: Schema = { name: "chat", version: 2, tables: {} };
  for (const [loadId, last] of [["1.5", "2024-03-01"], ["2.5", "2024-03-02"]]) {
    await loader.startRun(loadId, { version: "test", resumed: false });
    await loader.finishRun(loadId, "completed", { schema, state: { sources: { chat: { resources: { chat_messages: { incremental: { last_value: last } } } } } } });
  }
  await loader.startRun("3.5", { version: "test", resumed: false });
  await loader.finishRun("3.5", "failed", { error: "boom", state: { ignored: true } });

  const rows = await db.all<{ version: number; pipeline_name: string; state: string; _dlt_load_id: string; ids: boolean }>(
    `select version::int as version, pipeline_name, state, _dlt_load_id, length(_dlt_id) > 0 and version_hash is not null as ids
     from ds._dlt_pipeline_state order by version`,
  );
  assert.deepEqual(
    rows.map((r) => [r.version, r.pipeline_name, JSON.parse(r.state).sources.chat.resources.chat_messages.incremental.last_value, r._dlt_load_id, r.ids]),
    [
      [1, "chat", "2024-03-01", "1.5", true],
      [2, "chat", "2024-03-02", "2.5", true],
    ],
  );
  const loads = await db.all<{ load_id: string; status: number }>("select load_id, status::int as status from ds._dlt_loads order by load_id");
  assert.deepEqual(loads, [
    { load_id: "1.5", status: 0 },
    { load_id: "2.5", status: 0 },
  ]);
  const versions = await db.all<{ n: number }>("select count(*)::int as n from ds._dlt_version");
  assert.deepEqual(versions, [{ n: 1 }]);
});

test("a batch's row counts and checkpoint are stored exactly, whatever characters they hold, and replace the resource's last one", async () => {
  // The batch's bookkeeping goes to DuckDB as SQL literals with its COMMIT: quotes, backslashes and
  // NUL (which ends SQL text) must come back as they went in.
  await using env = await testEnv();
  const db = await env.open({ path: env.path("books.duckdb") });
  const loader = await Loader.open(db, { dataset: "ds", pipelineName: "chat" });
  await loader.startRun("1.5", { version: "test", resumed: false });
  const resource = `it's "odd" \\ ünï 🚀 \u0000`;
  const schema: Schema = {
    name: "chat",
    version: 1,
    tables: { items: { name: "items", resource, write_disposition: "append", columns: { id: { name: "id", data_type: "bigint", nullable: true } } } },
  };
  const batch = (pages: number, next: unknown, state: unknown) => ({
    loadId: "1.5",
    resource,
    rootTable: "items",
    primaryKey: [],
    disposition: "append" as const,
    schema,
    rows: new Map([["items", Array.from({ length: pages }, (_, i) => ({ id: i }))]]),
    checkpoint: { next, pages, rows: pages, state },
  });
  const next = { url: "/items", params: { q: "O'Brien; DROP TABLE x --", path: "C:\\tmp\\'\"" } };
  await loader.commitBatch(batch(2, next, { cursor: "it's" }));
  await loader.commitBatch(batch(3, { ...next, nul: "a\u0000b" }, undefined));
  const checkpoints = await db.all<{ resource: string; next_request: string; pages: number; rows: number; done: boolean; state: string | null }>(
    "select resource, next_request, pages::int as pages, rows::int as rows, done, state from ds._restduck_checkpoints",
  );
  assert.deepEqual(
    checkpoints.map((c) => ({ ...c, next_request: JSON.parse(c.next_request) })),
    [{ resource, next_request: { ...next, nul: "a\u0000b" }, pages: 3, rows: 3, done: false, state: null }],
  );
  await loader.commitBatch(batch(4, null, { cursor: "it's" }));
  const [last] = await db.all<{ next_request: string | null; state: string }>("select next_request, state from ds._restduck_checkpoints");
  assert.deepEqual([last.next_request, JSON.parse(last.state)], [null, { cursor: "it's" }]);
  const counts = await db.all("select load_id, resource, table_name, rows::int as rows from ds._restduck_table_rows order by rows");
  assert.deepEqual(counts, [2, 3, 4].map((rows) => ({ load_id: "1.5", resource, table_name: "items", rows })));
  assert.deepEqual(await db.all("select count(*)::int as n from ds.items"), [{ n: 9 }]);
});
