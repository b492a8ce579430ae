/**
 * Schema evolution across three runs in a real DuckDB file (issue #4): a new field adds a column,
 * a new list adds a nested table, a value that does not fit its column goes to a variant column;
 * `_dlt_version` keeps every version and each column names the load that added it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Schema } from "../../src/normalize/types.ts";
import { testEnv } from "../helpers/index.ts";
import { fixtureConfig, LAYOUT_SQL } from "../load/fixture_api.ts";

const NESTED_DLT = ["_dlt_root_id VARCHAR", "_dlt_parent_id VARCHAR", "_dlt_list_idx BIGINT", "_dlt_id VARCHAR"];

test("three runs add a column, a nested table and a variant column, each recorded with its load and a new schema version", async () => {
  await using env = await testEnv({
    api: { pages: {
      events: [
        { id: 1, name: "a", size: 10 },
        { id: 2, name: "b", size: 20 },
      ],
    } },
  });
  const run = () => env.run(fixtureConfig(env.api.url, { events: { primary_key: "id", write_disposition: "merge" } }));
  const layout = async () =>
    Object.fromEntries((await env.query<{ table_name: string; columns: string[] }>(LAYOUT_SQL("fx_dataset"))).map((t) => [t.table_name, t.columns]));
  const base = ["id BIGINT", "name VARCHAR", "size BIGINT", "_dlt_load_id VARCHAR", "_dlt_id VARCHAR"];

  const first = await run();
  assert.deepEqual(await layout(), { events: base });

  env.api.pages.set("/events", [{ id: 3, name: "c", size: 30, edited_at: "2024-04-01T12:00:00Z" }]);
  const second = await run();
  assert.deepEqual(await layout(), { events: [...base, "edited_at TIMESTAMP WITH TIME ZONE"] });

  env.api.pages.set("/events", [{ id: 4, name: "d", size: "big", labels: ["x", "y"] }]);
  const third = await run();
  assert.deepEqual(await layout(), {
    events: [...base, "edited_at TIMESTAMP WITH TIME ZONE", "size__v_text VARCHAR"],
    events__labels: ["value VARCHAR", ...NESTED_DLT],
  });

  // Old rows keep their values; the misfit is in the variant column, not lost and not an error.
  const rows = await env.query("select id::int as id, size::int as size, size__v_text, epoch(edited_at)::bigint::varchar as edited from events order by id");
  assert.deepEqual(rows, [
    { id: 1, size: 10, size__v_text: null, edited: null },
    { id: 2, size: 20, size__v_text: null, edited: null },
    { id: 3, size: 30, size__v_text: null, edited: String(Date.parse("2024-04-01T12:00:00Z") / 1000) },
    { id: 4, size: null, size__v_text: "big", edited: null },
  ]);
  assert.deepEqual(await env.query("select events_id::int as id, value from events__labels order by labels_idx"), [
    { id: 4, value: "x" },
    { id: 4, value: "y" },
  ]);

  // One stored version per run, versions increasing, each load pointing at its own.
  const versions = await env.query<{ version: number; version_hash: string; schema: string }>(
        "select version::int as version, version_hash, schema from fx_dataset._dlt_version order by inserted_at",
  );
  assert.equal(versions.length, 3);
  assert.ok(versions[0].version < versions[1].version && versions[1].version < versions[2].version, JSON.stringify(versions.map((v) => v.version)));
  const loads = await env.query<{ load_id: string; schema_version_hash: string }>("select load_id, schema_version_hash from fx_dataset._dlt_loads order by load_id");
  assert.deepEqual(loads, [
    { load_id: first.loadId, schema_version_hash: versions[0].version_hash },
    { load_id: second.loadId, schema_version_hash: versions[1].version_hash },
    { load_id: third.loadId, schema_version_hash: versions[2].version_hash },
  ]);

  const schema = JSON.parse(versions[2].schema) as Schema;
  const addedIn = (table: string) => Object.fromEntries(Object.values(schema.tables[table].columns).map((c) => [c.name, c.x_added_in]));
  assert.deepEqual(addedIn("events"), {
    id: first.loadId,
    name: first.loadId,
    size: first.loadId,
    _dlt_load_id: first.loadId,
    _dlt_id: first.loadId,
    edited_at: second.loadId,
    size__v_text: third.loadId,
  });
  assert.equal(schema.tables.events__labels.x_added_in, third.loadId);
  assert.equal(schema.tables.events__labels.parent, "events");
  assert.equal(schema.tables.events.columns.size__v_text.variant, true);
  // Earlier versions do not know what later runs added.
  const second_ = JSON.parse(versions[1].schema) as Schema;
  assert.ok("edited_at" in second_.tables.events.columns && !("size__v_text" in second_.tables.events.columns) && !("events__labels" in second_.tables));

  // The views follow: the resource view shows the new columns after the run that added them.
  const viewCols = await env.query<{ column_name: string }>("select column_name from information_schema.columns where table_schema = 'main' and table_name = 'events' order by ordinal_position");
  assert.deepEqual(viewCols.map((c) => c.column_name), ["id", "name", "size", "edited_at", "size__v_text"]);

  // `restduck schema --json` tells the same story from the file alone.
  const cli = await env.cli(["schema", "--db", env.db, "--json"]);
  assert.equal(cli.code, 0, cli.stderr);
  const out = JSON.parse(cli.stdout) as { datasets: { tables: { name: string; added_in: string; columns: { name: string; duckdb_type: string; added_in: string; status: string }[] }[] }[] };
  const tables = Object.fromEntries(out.datasets[0].tables.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(tables).sort(), ["events", "events__labels"]);
  assert.deepEqual(
    Object.fromEntries(tables.events.columns.map((c) => [c.name, [c.duckdb_type, c.added_in, c.status]])),
    {
      id: ["BIGINT", first.loadId, "ok"],
      name: ["VARCHAR", first.loadId, "ok"],
      size: ["BIGINT", first.loadId, "ok"],
      _dlt_load_id: ["VARCHAR", first.loadId, "ok"],
      _dlt_id: ["VARCHAR", first.loadId, "ok"],
      edited_at: ["TIMESTAMP WITH TIME ZONE", second.loadId, "ok"],
      size__v_text: ["VARCHAR", third.loadId, "ok"],
    },
  );
  assert.equal(tables.events__labels.added_in, third.loadId);
});

test("a run that changes nothing in the schema stores no new version", async () => {
  await using env = await testEnv({ api: { pages: { events: [{ id: 1, tags: ["a"] }] } } });
  const run = () => env.run(fixtureConfig(env.api.url, { events: { primary_key: "id", write_disposition: "merge" } }));
  await run();
  env.api.pages.set("/events", [{ id: 2, tags: ["b", "c"] }]);
  await run();
  const [n] = await env.query("select count(*)::int as versions, (select count(*)::int from fx_dataset._dlt_loads) as loads from fx_dataset._dlt_version");
  assert.deepEqual(n, { versions: 1, loads: 2 });
});
