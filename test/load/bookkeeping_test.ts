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
