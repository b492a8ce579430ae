/**
 * The read API (src/load/read.ts) that `info`, `schema` and `export` use instead of their own SQL:
 * it reads back what the Loader wrote, and reads a file that lacks bookkeeping tables as empty.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openDatabase } from "../../src/load/db.ts";
import { Loader } from "../../src/load/loader.ts";
import * as read from "../../src/load/read.ts";
import type { Schema } from "../../src/normalize/types.ts";
import { testEnv } from "../helpers/index.ts";

const schema: Schema = {
  name: "chat",
  version: 3,
  tables: {
    messages: {
      name: "messages",
      resource: "messages",
      write_disposition: "append",
      columns: {
        id: { name: "id", data_type: "bigint", nullable: false },
        text: { name: "text", data_type: "text", nullable: true },
        _dlt_load_id: { name: "_dlt_load_id", data_type: "text", nullable: false },
        _dlt_id: { name: "_dlt_id", data_type: "text", nullable: false },
      },
    },
  },
};

test("the read API gives back the runs, positions, states, schema and tables the Loader wrote", async () => {
  await using env = await testEnv();
  const db = await openDatabase(env.db);
  try {
    const loader = await Loader.open(db, { dataset: "ds", pipelineName: "chat" });
    await loader.startRun("1.5", { version: "test", resumed: false });
    const rows = [1, 2, 3].map((id) => ({ id, text: `m${id}`, _dlt_load_id: "1.5", _dlt_id: `r${id}` }));
    const base = { loadId: "1.5", resource: "messages", rootTable: "messages", primaryKey: [], disposition: "append" as const, schema };
    await loader.commitBatch({ ...base, rows: new Map([["messages", rows]]), checkpoint: { next: { page: 2 }, pages: 1, rows: 3, state: { last_value: 3 } } });
    await loader.finishResource({ ...base, checkpoint: { next: null, pages: 1, rows: 3, state: { last_value: 3 } } });
    await loader.finishRun("1.5", "completed", { schema, requests: 2, retries: 1, state: { cursor: 3 } });
    await loader.startRun("2.5", { version: "test", resumed: false });
    await loader.finishRun("2.5", "failed", { error: "boom" });
  } finally {
    db.close();
  }
  // Written and closed: read it back through a connection the env closes.
  const ro = await env.open({ readOnly: true });
  assert.deepEqual(await read.readDatasets(ro), ["ds"]);
  const runs = await read.readRuns(ro, "ds", { limit: 10 });
  assert.deepEqual(
    runs.map((r) => [r.loadId, r.pipelineName, r.status, r.error, r.rows, r.requests, r.retries, r.resources]),
    [
      ["2.5", "chat", "failed", "boom", null, 0, 0, null],
      ["1.5", "chat", "completed", null, 3, 2, 1, [{ resource: "messages", pages: 1, rows: 3, done: true }]],
    ],
  );
  assert.equal((await read.readRuns(ro, "ds", { limit: 1 })).length, 1);
  assert.deepEqual(Object.keys(await read.readRunStarts(ro, "ds")).sort(), ["1.5", "2.5"]);
  assert.deepEqual((await read.readResourceStates(ro, "ds")).map((s) => [s.resource, s.state, s.loadId]), [["messages", { last_value: 3 }, "1.5"]]);
  assert.deepEqual((await read.readPipelineStates(ro, "ds")).map((s) => [s.pipelineName, s.version, s.state]), [["chat", 1, { cursor: 3 }]]);
  const [stored] = await read.readStoredSchemas(ro, "ds");
  assert.deepEqual([stored.name, stored.version, JSON.parse(stored.schema).tables.messages.name], ["chat", 3, "messages"]);
  assert.deepEqual(await read.readTableStats(ro, "ds"), [{ table: "messages", rows: 3, columns: 4 }]);
  assert.deepEqual([...(await read.readColumns(ro, "ds")).get("messages")!], [
    ["id", { type: "BIGINT", nullable: false }],
    ["text", { type: "VARCHAR", nullable: true }],
    ["_dlt_load_id", { type: "VARCHAR", nullable: false }],
    ["_dlt_id", { type: "VARCHAR", nullable: false }],
  ]);
  assert.equal(await read.countRows(ro, "ds", "messages"), 3);
});

test("the read API reads a dataset without restduck's own bookkeeping tables (one dlt wrote) as empty, not as an error", async () => {
  await using env = await testEnv();
  const db = await env.open();
  await db.run(`CREATE SCHEMA ds; CREATE TABLE ds._dlt_version (version BIGINT, engine_version BIGINT, inserted_at TIMESTAMPTZ, schema_name VARCHAR, version_hash VARCHAR, schema VARCHAR)`);
  await db.run(`INSERT INTO ds._dlt_version VALUES (1, 11, now(), 'x', 'h', '{"name":"x","tables":{}}')`);
  assert.deepEqual(await read.readDatasets(db), ["ds"]);
  assert.deepEqual(await read.readRuns(db, "ds", { limit: 5 }), []);
  assert.deepEqual(await read.readRunStarts(db, "ds"), {});
  assert.deepEqual(await read.readResourceStates(db, "ds"), []);
  assert.deepEqual(await read.readPipelineStates(db, "ds"), []);
  assert.deepEqual((await read.readStoredSchemas(db, "ds")).map((s) => s.name), ["x"]);
  assert.deepEqual(await read.readTableStats(db, "ds"), []);
});
