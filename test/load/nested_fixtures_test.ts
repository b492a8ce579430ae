/**
 * Nested payloads from test/fixtures/nested/*.json, served over HTTP and loaded into a real
 * DuckDB file, give exactly the tables, columns, DuckDB types and values each fixture lists.
 * The normalizer's unit tests check rows in memory; these check what lands in DuckDB.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { queryDb, testEnv } from "../helpers/index.ts";
import { fixtureConfig, LAYOUT_SQL, NESTED_FIXTURES, readFixture } from "./fixture_api.ts";

const names = readdirSync(NESTED_FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -5))
  .sort();

async function load(name: string, resource: Record<string, unknown>): Promise<{ db: string; views: string[]; viewErrors: unknown[] } & AsyncDisposable> {
  const fixture = readFixture(name);
  const env = await testEnv({ api: { pages: { [name]: fixture.records } } });
  try {
    const summary = await env.run(fixtureConfig(env.api.url, { [name]: resource }));
    return { db: env.db, views: summary.views, viewErrors: summary.viewErrors, [Symbol.asyncDispose]: () => env[Symbol.asyncDispose]() };
  } catch (error) {
    await env[Symbol.asyncDispose]();
    throw error;
  }
}

describe("nested fixtures in DuckDB", () => {
  test("there are fixtures for deep nesting, lists of lists, empty lists, null vs missing and odd keys", () => {
    assert.deepEqual(names, ["deeply_nested", "empty_lists", "lists_of_lists", "null_vs_missing", "odd_keys"]);
  });

  for (const name of names) {
    const fixture = readFixture(name);
    test(`${name}: ${fixture.description}`, async () => {
      await using run = await load(name, { primary_key: "id", write_disposition: "merge" });
      const layout = await queryDb<{ table_name: string; columns: string[] }>(run.db, LAYOUT_SQL("fx_dataset"));
      assert.deepEqual(Object.fromEntries(layout.map((t) => [t.table_name, t.columns])), fixture.tables);
      for (const [sql, rows] of Object.entries(fixture.queries ?? {})) assert.deepEqual(await queryDb(run.db, sql), rows, sql);
      // Every table has its view, tables with only _dlt columns included.
      assert.deepEqual(run.viewErrors, []);
      assert.deepEqual(run.views.filter((v) => !v.startsWith("_")).sort(), Object.keys(fixture.tables).sort());
    });
  }

  test("without merge, nested tables carry no _dlt_root_id; without a primary key, views show no _dlt values, only list positions", async () => {
    const fixture = readFixture("deeply_nested");
    await using run = await load("deeply_nested", {});
    const layout = await queryDb<{ table_name: string; columns: string[] }>(run.db, LAYOUT_SQL("fx_dataset"));
    const expected = Object.fromEntries(Object.entries(fixture.tables).map(([t, cols]) => [t, cols.filter((c) => !c.startsWith("_dlt_root_id"))]));
    assert.deepEqual(Object.fromEntries(layout.map((t) => [t.table_name, t.columns])), expected);
    assert.deepEqual(await queryDb(run.db, "select * from deeply_nested order by id"), [
      { id: "1", a__b__c__d__e: "1", a__b__c__d__f: "x" },
      { id: "2", a__b__c__d__e: null, a__b__c__d__f: null },
    ]);
    assert.deepEqual(await queryDb(run.db, "select * from deeply_nested__l1__l2__l3 order by l3_idx"), [
      { l1_idx: "0", l2_idx: "0", l3_idx: "0", v: true },
      { l1_idx: "0", l2_idx: "0", l3_idx: "1", v: false },
    ]);
    // Joins go through the dataset's tables, as with dlt.
    const [joined] = await queryDb<{ ok: boolean }>(
      run.db,
      `select count(*) = 2 and bool_and(d.id = 1) as ok from fx_dataset.deeply_nested__l1__l2__l3 l3
       join fx_dataset.deeply_nested__l1__l2 l2 on l3._dlt_parent_id = l2._dlt_id join fx_dataset.deeply_nested__l1 l1 on l2._dlt_parent_id = l1._dlt_id
       join fx_dataset.deeply_nested d on l1._dlt_parent_id = d._dlt_id`,
    );
    assert.deepEqual(joined, { ok: true });
  });
});
