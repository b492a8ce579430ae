/**
 * `schema_contract` as dlt defines it, checked in a real DuckDB file (issue #4): freeze stops the
 * run with an error naming table, column and the value's type and commits nothing of it;
 * discard_row and discard_value drop what the contract does not allow and load the rest.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SchemaContractError } from "../../src/normalize/normalizer.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { queryDb, testEnv } from "../helpers/index.ts";
import { fixtureConfig, LAYOUT_SQL } from "../load/fixture_api.ts";

/** Loads `first`, then runs `second` under `contract`; the error (if any), events and the db, disposed with `await using`. */
async function twoRuns(first: unknown[], second: unknown[], contract: unknown, secondExtra: Record<string, unknown[]> = {}) {
  const env = await testEnv({ api: { pages: { events: first } } });
  const events: PipelineEvent[] = [];
  let error: unknown;
  try {
    await env.run(fixtureConfig(env.api.url, { events: { primary_key: "id", write_disposition: "merge" } }));
    env.api.pages.set("/events", second);
    for (const [path, items] of Object.entries(secondExtra)) env.api.pages.set(path, items);
    const resources: Record<string, Record<string, unknown>> = { events: { primary_key: "id", write_disposition: "merge", schema_contract: contract } };
    for (const path of Object.keys(secondExtra)) resources[path.slice(1)] = {};
    await env.run(fixtureConfig(env.api.url, resources), { onEvent: (e) => events.push(e) }).catch((e: unknown) => {
      error = e;
    });
  } catch (e) {
    await env[Symbol.asyncDispose]();
    throw e;
  }
  return { db: env.db, error, events, [Symbol.asyncDispose]: () => env[Symbol.asyncDispose]() };
}

const layoutOf = async (db: string) =>
  Object.fromEntries((await queryDb<{ table_name: string; columns: string[] }>(db, LAYOUT_SQL("fx_dataset"))).map((t) => [t.table_name, t.columns]));

test("a data_type freeze stops the run naming table, column and type, and commits nothing of it", async () => {
  await using r = await twoRuns([{ id: 1, size: 10 }], [{ id: 1, size: 11 }, { id: 2, size: "big" }], { data_type: "freeze" }, { "/other": [{ id: 9 }] });
  assert.ok(r.error instanceof SchemaContractError, String(r.error));
  assert.match(r.error.message, /table events/);
  assert.match(r.error.message, /a text value/);
  assert.match(r.error.message, /column size \(bigint\)/);
  assert.match(r.error.message, /size__v_text/);
  assert.match(r.error.hint ?? "", /schema_contract\.data_type/);
  // Not the update of id 1 from the same page, not the other resource's rows, not a column.
  assert.deepEqual(await queryDb(r.db, "select id::int as id, size::int as size from events order by id"), [{ id: 1, size: 10 }]);
  assert.deepEqual(await queryDb(r.db, "select count(*)::int as n from information_schema.tables where table_name = 'other'"), [{ n: 0 }]);
  assert.deepEqual(await layoutOf(r.db), { events: ["id BIGINT", "size BIGINT", "_dlt_load_id VARCHAR", "_dlt_id VARCHAR"] });
  assert.deepEqual(await queryDb(r.db, "select status, error like '%size__v_text%' as named from fx_dataset._restduck_runs order by started_at"), [
    { status: "completed", named: null },
    { status: "failed", named: true },
  ]);
  assert.deepEqual(await queryDb(r.db, "select count(*)::int as n from fx_dataset._dlt_loads"), [{ n: 1 }]);
});

test("a tables freeze stops the run at a new nested table, naming it", async () => {
  await using r = await twoRuns([{ id: 1 }], [{ id: 2, labels: ["x"] }], { tables: "freeze" });
  assert.ok(r.error instanceof SchemaContractError, String(r.error));
  assert.match(r.error.message, /Cannot create table events__labels for resource events: schema_contract.tables is freeze/);
  assert.deepEqual(await queryDb(r.db, "select id::int as id from events"), [{ id: 1 }]);
  assert.deepEqual(Object.keys(await layoutOf(r.db)), ["events"]);
});

test("a columns freeze names the new column and its value's type", async () => {
  await using r = await twoRuns([{ id: 1 }], [{ id: 2, edited_at: "2024-04-01T00:00:00Z" }], "freeze");
  assert.ok(r.error instanceof SchemaContractError, String(r.error));
  assert.equal(r.error.message, "Cannot add column edited_at for a text value to table events (resource events): schema_contract.columns is freeze");
  assert.ok(r.events.some((e) => e.type === "warning" && /one transaction/.test(e.message)));
});

test("discard_row drops the records that would add a column and loads the others", async () => {
  await using r = await twoRuns([{ id: 1, a: 1 }], [{ id: 2, a: 2 }, { id: 3, a: 3, extra: "x" }, { id: 4, a: 4, tags: ["t"] }], { columns: "discard_row" });
  assert.equal(r.error, undefined);
  assert.deepEqual(await queryDb(r.db, "select id::int as id from events order by id"), [{ id: 1 }, { id: 2 }, { id: 4 }]);
  // A new nested table is governed by `tables` (evolve here), so id 4's list loads.
  assert.deepEqual(await layoutOf(r.db), {
    events: ["id BIGINT", "a BIGINT", "_dlt_load_id VARCHAR", "_dlt_id VARCHAR"],
    events__tags: ["value VARCHAR", "_dlt_root_id VARCHAR", "_dlt_parent_id VARCHAR", "_dlt_list_idx BIGINT", "_dlt_id VARCHAR"],
  });
});

test("discard_value keeps the record without the value that would add a column or a variant", async () => {
  await using r = await twoRuns([{ id: 1, a: 1 }], [{ id: 2, a: "two", extra: "x" }], { columns: "discard_value", data_type: "discard_value" });
  assert.equal(r.error, undefined);
  assert.deepEqual(await queryDb(r.db, "select id::int as id, a::int as a from events order by id"), [
    { id: 1, a: 1 },
    { id: 2, a: null },
  ]);
  assert.deepEqual(await layoutOf(r.db), { events: ["id BIGINT", "a BIGINT", "_dlt_load_id VARCHAR", "_dlt_id VARCHAR"] });
});
