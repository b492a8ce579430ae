/**
 * The hostile-data corpus (issue 5): payloads an API (broken or malicious)
 * may send, each with its defined outcome. Identifiers from data are always
 * normalised and quoted, so no key, resource or table name runs SQL; values
 * round-trip byte for byte; what cannot be loaded fails the run with a clear
 * error and loads nothing of that batch.
 *
 * The mock API on 127.0.0.1 serves each case's raw body at its own path.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { RestduckError } from "../../src/errors.ts";
import { openDatabase, quoteIdent } from "../../src/load/db.ts";
import { runPipeline, type RunSummary } from "../../src/pipeline/run.ts";
import { queryDb, testEnv } from "../helpers/index.ts";
import { startMockApi, type MockApi, type MockHandler } from "../helpers/mock_api.ts";

const TEN_MB = "€".repeat((10 * 1024 * 1024) / 3) + "end"; // ~10 MB of 3-byte characters
const WIDE = Object.fromEntries([["id", 1], ...Array.from({ length: 10_000 }, (_, i) => [`key_${i}`, i])]);
const nestedObject = (depth: number) => `{"id": 1, "d": ${'{"a":'.repeat(depth)}{"leaf": 1}${"}".repeat(depth)}}`;
const nestedList = (depth: number) => `{"id": 1, "d": ${'[{"l":'.repeat(depth)}1${"}]".repeat(depth)}}`;

/** Path → raw response body (a function gets the query string). */
const BODIES: Record<string, string | ((query: URLSearchParams) => string)> = {
  "/sql_keys": JSON.stringify({ items: [{ id: 1, 'id"; drop table x; --': "boom", "name'); DROP TABLE keep; --": "y", v: "'); drop table x; --" }] }),
  "/plain": JSON.stringify({ items: [{ id: 1, v: "ok" }] }),
  "/unicode": JSON.stringify({ items: [{ id: 1, 名前: "鴨", "emoji_🦆": "🦆🦆", Ñandú: "ñ", rtl: "مرحبا بالعالم", nul: "a\u0000b", zero_width: "a\u200bb", combining: "e\u0301" }] }),
  "/lone_surrogate": '{"items": [{"id": 1, "s": "x\\ud800y"}]}',
  "/colliding_keys": JSON.stringify({ items: [{ id: 1, "a-b": 1, a_b: 2, "A B": 3 }] }),
  "/wide": JSON.stringify({ items: [WIDE] }),
  "/ten_mb": JSON.stringify({ items: [{ id: 1, s: TEN_MB }] }),
  "/deep_5000": `{"items": [${nestedObject(5000)}]}`,
  "/deep_100000": `{"items": [${nestedObject(100_000)}]}`,
  "/deep_lists": `{"items": [${nestedList(30)}]}`,
  "/duplicates": '{"items": [{"id": 1, "v": "first", "v": "second"}, {"id": 2, "v": "a"}, {"id": 1, "v": "last"}]}',
  "/null_pk": (q) =>
    q.get("page") === "2"
      ? JSON.stringify({ items: [{ id: 3 }, { id: null, v: "no key" }] })
      : JSON.stringify({ items: [{ id: 1 }, { id: 2 }], next: "/null_pk?page=2" }),
  "/not_objects": JSON.stringify({ items: [1, 2, 3] }),
  "/poison": (q) =>
    q.get("page") === "2"
      ? JSON.stringify({ items: [{ id: 3, v: "fine" }, { id: 4, v: "poison" }] })
      : JSON.stringify({ items: [{ id: 1, v: "a" }, { id: 2, v: "b" }], next: "/poison?page=2" }),
  "/huge_int": '{"items": [{"id": 1, "n": 18446744073709551616}]}',
  "/dlt_columns": JSON.stringify({ items: [{ id: 1, _dlt_load_id: "forged", v: 1 }] }),
  "/empty_keys": JSON.stringify({ items: [{ id: 1, "": "empty", __: "underscores" }] }),
};

let api: MockApi;
let base = "";

before(async () => {
  // Each case's raw body at its own path, on the one mock API.
  const routes = Object.fromEntries(Object.entries(BODIES).map(([path, body]): [string, MockHandler] => [path, ({ q }) => ({ raw: typeof body === "function" ? body(q) : body })]));
  api = await startMockApi({ items: 0, routes });
  base = api.url;
});
after(() => api.close());

interface Loaded {
  db: string;
  summary?: RunSummary;
  error?: RestduckError;
  /** `await using r = await load(…)` removes the folder when the test ends. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Loads one case into a fresh database; `prepare` may put tables in it first. */
async function load(
  path: string,
  options: { name?: string; disposition?: "merge" | "append"; paginator?: unknown; prepare?: (db: string) => Promise<void> } = {},
): Promise<Loaded> {
  const env = await testEnv({ prefix: "restduck-hostile-" });
  const db = env.path("hostile.duckdb");
  const dispose = async () => env[Symbol.asyncDispose]();
  if (options.prepare) await options.prepare(db);
  const config = {
    pipeline_name: "hostile",
    batch_pages: 1,
    client: { base_url: base, retry: { max_retries: 0 } },
    resource_defaults: options.disposition === "append" ? { write_disposition: "append" } : { primary_key: "id", write_disposition: "merge" },
    resources: [{ name: options.name ?? "things", endpoint: { path, data_selector: "items", paginator: options.paginator ?? "single_page" } }],
  };
  try {
    const summary = await runPipeline(prepareConfig(config, { env: {} }), { database: db });
    return { db, summary, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    assert.ok(error instanceof RestduckError, `hostile data ends in a RestduckError, not ${String(error)}`);
    return { db, error, [Symbol.asyncDispose]: dispose };
  }
}

const columnsOf = async (db: string, table = "things") =>
  (
    await queryDb<{ column_name: string }>(
      db,
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'hostile_dataset' AND table_name = '${table}' ORDER BY ordinal_position`,
    )
  ).map((c) => c.column_name);

const tablesIn = async (db: string) =>
  (await queryDb<{ name: string }>(db, "SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() ORDER BY 1")).map((t) => t.name);

describe("hostile data", { concurrency: 3 }, () => {
  test("SQL in JSON keys and values creates harmless columns and runs no SQL", async () => {
    await using r = await load("/sql_keys", {
      prepare: async (path) => {
        const db = await openDatabase(path);
        await db.run("CREATE TABLE x AS SELECT 1 AS a; CREATE TABLE keep AS SELECT 2 AS b");
        db.close();
      },
    });
    assert.equal(r.error, undefined, r.error?.message);
    const tables = await tablesIn(r.db);
    assert.ok(tables.includes("main.x") && tables.includes("main.keep"), "the tables named in the keys still exist");
    assert.deepEqual((await columnsOf(r.db)).filter((c) => !c.startsWith("_dlt_")), ["id", "id_drop_table_xxxx", "name_drop_table_keepxxx", "v"]);
    const [row] = await queryDb<Record<string, string>>(r.db, "SELECT * FROM things");
    assert.equal(row.id_drop_table_xxxx, "boom");
    assert.equal(row.v, "'); drop table x; --", "a SQL-looking value is stored verbatim");
  });

  test("SQL in a resource name gives a normalised table and a quoted view, and runs no SQL", async () => {
    await using r = await load("/plain", {
      name: 'things"; drop table x; --',
      prepare: async (path) => {
        const db = await openDatabase(path);
        await db.run("CREATE TABLE x AS SELECT 1 AS a");
        db.close();
      },
    });
    assert.equal(r.error, undefined, r.error?.message);
    const tables = await tablesIn(r.db);
    assert.ok(tables.includes("main.x"));
    const data = tables.filter((t) => t.startsWith("hostile_dataset.") && !t.includes("._"));
    assert.equal(data.length, 1, `one data table: ${data.join(", ")}`);
    assert.match(data[0], /^hostile_dataset\.things_drop_table_x/);
    // The view keeps the resource's own name, quoted: odd, but it names nothing else and runs nothing.
    const [row] = await queryDb<{ v: string }>(r.db, `SELECT v FROM main.${quoteIdent('things"; drop table x; --')}`);
    assert.equal(row.v, "ok");
  });

  test("unicode keys are normalised like dlt's snake_case and unicode values round-trip exactly, NUL and zero-width included", async () => {
    await using r = await load("/unicode");
    assert.equal(r.error, undefined, r.error?.message);
    const [row] = await queryDb<Record<string, string>>(r.db, "SELECT * EXCLUDE (_dlt_id, _dlt_load_id) FROM hostile_dataset.things");
    assert.deepEqual(row, { id: "1", x: "鴨", emojixx: "🦆🦆", _andx: "ñ", rtl: "مرحبا بالعالم", nul: "a\u0000b", zero_width: "a\u200bb", combining: "e\u0301" });
  });

  test("a lone UTF-16 surrogate, which is not valid UTF-8, is stored as U+FFFD instead of failing the run", async () => {
    await using r = await load("/lone_surrogate");
    assert.equal(r.error, undefined, r.error?.message);
    const [row] = await queryDb<{ s: string }>(r.db, "SELECT s FROM things");
    assert.equal(row.s, "x\ufffdy");
  });

  test("keys that normalise to the same name get distinct columns, losing no value", async () => {
    await using r = await load("/colliding_keys");
    assert.equal(r.error, undefined, r.error?.message);
    const cols = (await columnsOf(r.db)).filter((c) => c.startsWith("a_b"));
    assert.equal(cols.length, 3, cols.join(", "));
    const [row] = await queryDb<Record<string, string>>(r.db, `SELECT ${cols.map((c) => `"${c}"::INT AS "${c}"`).join(", ")} FROM things`);
    assert.deepEqual(Object.values(row).map(Number).sort(), [1, 2, 3]);
  });

  test("10,000 distinct keys in a record load as 10,000 columns with every value in place", async () => {
    await using r = await load("/wide", { disposition: "append" });
    assert.equal(r.error, undefined, r.error?.message);
    const cols = await columnsOf(r.db);
    assert.equal(cols.filter((c) => c.startsWith("key_")).length, 10_000);
    const [row] = await queryDb<Record<string, string>>(r.db, 'SELECT key_0::INT AS a, key_4999::INT AS b, key_9999::INT AS c FROM hostile_dataset.things');
    assert.deepEqual(row, { a: 0, b: 4999, c: 9999 });
  });

  test("a 10 MB string is stored intact", async () => {
    await using r = await load("/ten_mb");
    assert.equal(r.error, undefined, r.error?.message);
    const [row] = await queryDb<{ n: number; md5: string }>(r.db, "SELECT length(s)::INT AS n, md5(s) AS md5 FROM things");
    assert.equal(row.n, TEN_MB.length);
    assert.equal(row.md5, createHash("md5").update(TEN_MB).digest("hex"));
  });

  test("an object nested 5,000 levels deep loads its leaf", async () => {
    await using r = await load("/deep_5000");
    assert.equal(r.error, undefined, r.error?.message);
    const rows = await queryDb(r.db, "SELECT * EXCLUDE (_dlt_id, _dlt_load_id) FROM hostile_dataset.things");
    assert.equal(rows.length, 1);
    assert.match(JSON.stringify(rows[0]), /leaf/);
  });

  test("an object nested 100,000 levels deep fails with a clear error and loads nothing", async () => {
    await using r = await load("/deep_100000");
    assert.ok(r.error, "the run fails");
    assert.match(r.error.message, /resource things: Loading a batch of things failed: a record holds a value nested too deeply to store as JSON/);
    assert.ok(r.error.hint);
    const tables = await tablesIn(r.db);
    assert.ok(!tables.includes("hostile_dataset.things"), "no table with half a batch");
    const [run] = await queryDb<{ status: string }>(r.db, "SELECT status FROM hostile_dataset._restduck_runs");
    assert.equal(run.status, "failed");
  });

  test("lists nested 30 deep become 30 linked child tables", async () => {
    await using r = await load("/deep_lists");
    assert.equal(r.error, undefined, r.error?.message);
    const children = (await tablesIn(r.db)).filter((t) => t.startsWith("hostile_dataset.things__d"));
    assert.equal(children.length, 30);
    // Every child row points at a parent row one level up.
    for (const child of children) {
      const name = child.split(".")[1];
      const parent = name.slice(0, name.lastIndexOf("__"));
      const [n] = await queryDb<{ n: number }>(r.db, `SELECT count(*)::INT AS n FROM hostile_dataset."${name}" c JOIN hostile_dataset."${parent}" p ON c._dlt_parent_id = p._dlt_id`);
      assert.equal(n.n, 1, `${name} is linked to ${parent}`);
    }
  });

  test("duplicate primary keys in one page keep the last record, and a duplicate JSON key keeps its last value", async () => {
    await using r = await load("/duplicates");
    assert.equal(r.error, undefined, r.error?.message);
    const rows = await queryDb<{ id: number; v: string }>(r.db, "SELECT id::INT AS id, v FROM things ORDER BY id");
    assert.deepEqual(rows, [{ id: 1, v: "last" }, { id: 2, v: "a" }]);
  });

  test("a null primary key fails the run naming the resource and key, keeping the batches before it", async () => {
    await using r = await load("/null_pk", { paginator: { type: "json_link", next_url_path: "next" } });
    assert.ok(r.error, "the run fails");
    assert.match(r.error.message, /things/);
    assert.match(r.error.message, /primary key column id is missing, null/);
    const rows = await queryDb<{ id: number }>(r.db, "SELECT id::INT AS id FROM hostile_dataset.things ORDER BY id");
    assert.deepEqual(rows, [{ id: 1 }, { id: 2 }], "page 1 stays, nothing of page 2 is loaded");
  });

  test("a DuckDB error in the middle of a batch rolls that batch back and keeps the ones before", async () => {
    // A CHECK constraint someone put on the table makes DuckDB itself refuse the second batch mid-transaction.
    await using r = await load("/poison", {
      paginator: { type: "json_link", next_url_path: "next" },
      prepare: async (path) => {
        const db = await openDatabase(path);
        await db.run("CREATE SCHEMA hostile_dataset; CREATE TABLE hostile_dataset.things (id BIGINT NOT NULL, v VARCHAR CHECK (v <> 'poison'), _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)");
        db.close();
      },
    });
    assert.ok(r.error, "the run fails");
    assert.match(r.error.message, /resource things: Loading a batch of things failed: .*CHECK/i);
    assert.match(r.error.hint ?? "", /earlier batches are kept/);
    const rows = await queryDb<{ id: number }>(r.db, "SELECT id::INT AS id FROM hostile_dataset.things ORDER BY id");
    assert.deepEqual(rows, [{ id: 1 }, { id: 2 }], "batch 1 stays; nothing of batch 2, not even its valid row 3");
    const [cp] = await queryDb<{ pages: number }>(r.db, "SELECT pages::INT AS pages FROM hostile_dataset._restduck_checkpoints");
    assert.equal(cp.pages, 1, "the checkpoint still points after batch 1");
    const [run] = await queryDb<{ status: string }>(r.db, "SELECT status FROM hostile_dataset._restduck_runs");
    assert.equal(run.status, "failed");
  });

  test("records that are not objects fail naming the record and the URL, loading nothing", async () => {
    await using r = await load("/not_objects");
    assert.ok(r.error);
    assert.match(r.error.message, /Record 0 in the response from http:\/\/127\.0\.0\.1:\d+\/not_objects is a number, not an object/);
    assert.ok(!(await tablesIn(r.db)).includes("hostile_dataset.things"));
  });

  test("an integer beyond BIGINT is stored without losing the run", async () => {
    await using r = await load("/huge_int");
    assert.equal(r.error, undefined, r.error?.message);
    const [row] = await queryDb<{ n: string }>(r.db, "SELECT n::VARCHAR AS n FROM things");
    assert.match(row.n, /^1\.8446744073709552e\+?19$|^18446744073709551616(\.0+)?$/);
  });

  test("a forged _dlt_load_id in the data is replaced by the run's own load id", async () => {
    await using r = await load("/dlt_columns");
    assert.equal(r.error, undefined, r.error?.message);
    const [row] = await queryDb<{ load: string }>(r.db, "SELECT _dlt_load_id AS load FROM hostile_dataset.things");
    assert.equal(row.load, r.summary!.loadId);
  });

  test("an empty key and a key of only underscores become _empty columns, as in dlt", async () => {
    await using r = await load("/empty_keys");
    assert.equal(r.error, undefined, r.error?.message);
    const [row] = await queryDb<Record<string, string>>(r.db, "SELECT * EXCLUDE (_dlt_id, _dlt_load_id) FROM hostile_dataset.things");
    assert.deepEqual(Object.values(row).sort(), ["1", "empty", "underscores"]);
    assert.ok(Object.keys(row).every((k) => k === "id" || k.startsWith("_empty")));
  });
});
