/**
 * One record with thousands of new keys for a table that exists (issue #11, item 2). Adding the
 * columns must cost memory linear in them, so the batch fits DuckDB's 512 MB limit; a rebuild of
 * the table must keep everything the table had and roll back whole; the first SIGTERM must stop a
 * long DuckDB statement at once (exit 143, run interrupted, nothing half-written); and DuckDB's
 * spill files must not outlive the process.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { InterruptedError } from "../../src/errors.ts";
import { pipeline, restApiSource } from "../../src/library.ts";
import { openDatabase } from "../../src/load/db.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { queryDb, testEnv } from "../helpers/index.ts";
import { startMockApi, type MockApi } from "../helpers/mock_api.ts";
import { spawnCli } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Path → the records the API serves there; `/wide_<n>` is one record (id 1001) with n new keys, `/wide_<n>_bad` the same without a name. */
function records(path: string): Record<string, unknown>[] {
  if (path === "/normal") return Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, name: `n${i}`, score: i / 2 }));
  const wide = /^\/wide_(\d+)(_bad)?$/.exec(path);
  if (!wide) return [];
  return [{ id: 1001, ...(wide[2] ? {} : { name: "wide" }), ...Object.fromEntries(Array.from({ length: Number(wide[1]) }, (_, i) => [`key_${i}`, i])) }];
}

/** One API for the whole file (the mock API, routes by path): the tests only read from it. */
let server: MockApi;
let base = "";
before(async () => {
  const serve = ({ url }: { url: URL }) => ({ body: { items: records(url.pathname) } });
  server = await startMockApi({ routes: { "/normal": serve, "/wide_:n": serve } });
  base = server.url;
});
after(() => server.close());

const config = (path: string) => ({
  pipeline_name: "wide",
  client: { base_url: base, retry: { max_retries: 0 } },
  resource_defaults: { primary_key: "id", write_disposition: "merge" },
  resources: [{ name: "things", endpoint: { path, data_selector: "items", paginator: "single_page" } }],
});

const load = (db: string, path: string) => runPipeline(prepareConfig(config(path), { env: {} }), { database: db });

interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
  dflt: string | null;
}

const columnsOf = (db: string) =>
  queryDb<ColumnInfo>(
    db,
    `SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS dflt FROM duckdb_columns()
     WHERE schema_name = 'wide_dataset' AND table_name = 'things' ORDER BY column_index`,
  );

const tablesOf = async (db: string) =>
  (await queryDb<{ name: string }>(db, "SELECT table_name AS name FROM duckdb_tables() WHERE schema_name = 'wide_dataset' ORDER BY 1")).map((t) => t.name);

/**
 * Loads the normal page, then adds two million rows by hand: the rebuild for 1,000 new columns then
 * writes two billion cells, one statement of several minutes. Returns the table's columns.
 */
async function loadWithBulkRows(db: string): Promise<ColumnInfo[]> {
  await load(db, "/normal");
  const handle = await openDatabase(db);
  await handle.run(
    "INSERT INTO wide_dataset.things (id, name, score, _dlt_load_id, _dlt_id) SELECT 10000 + i, 'bulk', 0, 'bulk', 'bulk' || i FROM range(2000000) r(i)",
  );
  handle.close();
  return columnsOf(db);
}

describe("a record with thousands of new keys", () => {
  test("2,000 new keys for a table that exists load within DuckDB's 512 MB limit, keeping its rows, columns and constraints", async () => {
    await using env = await testEnv({ prefix: "restduck-wide-" });
    await load(env.db, "/normal");
    // A column added by hand, with a default, must survive too.
    const handle = await openDatabase(env.db);
    await handle.run("ALTER TABLE wide_dataset.things ADD COLUMN note VARCHAR DEFAULT 'by hand'");
    handle.close();
    const before = await columnsOf(env.db);
    const oldRows = `SELECT ${before.map((c) => `"${c.name}"`).join(", ")} FROM wide_dataset.things WHERE id <= 1000 ORDER BY id`;
    const rowsBefore = await env.query(oldRows);

    const summary = await load(env.db, "/wide_2000");
    assert.equal(summary.status, "completed");
    const after = await columnsOf(env.db);
    assert.deepEqual(after.slice(0, before.length), before, "the columns it had keep their order, types, NOT NULL and defaults");
    assert.deepEqual(
      after.slice(before.length).map((c) => `${c.name} ${c.type} ${c.nullable}`),
      Array.from({ length: 2000 }, (_, i) => `key_${i} BIGINT true`),
    );
    assert.equal(rowsBefore.length, 1000);
    assert.deepEqual(await env.query(oldRows), rowsBefore, "the rows it had are all there, unchanged");
    const [wide] = await env.query<Record<string, number | string | null>>(
            "SELECT name, key_0::INT AS a, key_1999::INT AS b, (SELECT count(*) FROM wide_dataset.things WHERE key_0 IS NOT NULL)::INT AS filled FROM wide_dataset.things WHERE id = 1001",
    );
    assert.deepEqual(wide, { name: "wide", a: 0, b: 1999, filled: 1 });
    assert.deepEqual(await tablesOf(env.db), ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version", "_restduck_checkpoints", "_restduck_runs", "_restduck_table_rows", "things"]);
    // The next batch appends into the rebuilt table as into any other.
    const again = await load(env.db, "/wide_2000");
    assert.equal(again.status, "completed");
    const [count] = await env.query<{ n: number }>("SELECT count(*)::INT AS n FROM wide_dataset.things");
    assert.equal(count.n, 1001);
  });

  test("a batch that fails after its table was rebuilt leaves the table exactly as it was", async () => {
    await using env = await testEnv({ prefix: "restduck-wide-" });
    await load(env.db, "/normal");
    // Made NOT NULL by hand: the wide record, which has no name, fails the batch once the table is rebuilt.
    const handle = await openDatabase(env.db);
    await handle.run("ALTER TABLE wide_dataset.things ALTER COLUMN name SET NOT NULL");
    handle.close();
    const before = await columnsOf(env.db);
    await assert.rejects(load(env.db, "/wide_500_bad"), /Loading a batch of things failed: .*NOT NULL constraint failed: things\.name/);
    assert.deepEqual(await columnsOf(env.db), before);
    const [rows] = await env.query<{ n: number }>("SELECT count(*)::INT AS n FROM wide_dataset.things");
    assert.equal(rows.n, 1000);
    assert.ok(!(await tablesOf(env.db)).includes("_rd_widen"));
  });

  test("a table with an index a rebuild would drop gets its new columns one by one and keeps the index", async () => {
    await using env = await testEnv({ prefix: "restduck-wide-" });
    await load(env.db, "/normal");
    const handle = await openDatabase(env.db);
    await handle.run("CREATE INDEX things_name ON wide_dataset.things (name)");
    handle.close();
    assert.equal((await load(env.db, "/wide_100")).status, "completed");
    assert.equal((await columnsOf(env.db)).filter((c) => c.name.startsWith("key_")).length, 100);
    const indexes = await env.query<{ n: string }>("SELECT index_name AS n FROM duckdb_indexes() WHERE table_name = 'things'");
    assert.deepEqual(indexes, [{ n: "things_name" }]);
  });

  test("the first SIGTERM interrupts a long DuckDB statement: exit 143, run interrupted, the table as it was, no spill files", async () => {
    await using env = await testEnv({ prefix: "restduck-wide-" });
    const before = await loadWithBulkRows(env.db);
    const file = env.config(config("/wide_1000"), "wide.json");
    const proc = spawnCli(["run", file, "--db", env.db, "--json"], { cwd: env.dir });
    // SIGTERM once the wide page is in: its batch is being loaded (or about to be).
    let buffered = "";
    let signalled = false;
    proc.child.stdout!.on("data", (chunk) => {
      buffered += chunk;
      if (!signalled && /"type":"page"/.test(buffered)) {
        signalled = true;
        proc.child.kill("SIGTERM");
      }
    });
    // The bound this asserts: exit 143 before the statement would have ended. Waiting it out (what
    // restduck did before) takes minutes; interrupting it, a second or two.
    const safety = setTimeout(() => proc.child.kill("SIGKILL"), 60_000);
    env.defer(() => clearTimeout(safety));
    const exit = await proc.done;
    assert.ok(signalled, exit.stderr);
    assert.equal(exit.code, 143, `exit ${exit.code} / ${exit.signal}\n${exit.stderr}`);
    assert.match(exit.stdout, /"type":"error","code":"INTERRUPTED","message":"run interrupted by SIGTERM"/);
    const runs = await env.query<{ status: string }>("SELECT status FROM wide_dataset._restduck_runs ORDER BY started_at");
    assert.deepEqual(runs.map((r) => r.status), ["completed", "interrupted"]);
    assert.deepEqual(await columnsOf(env.db), before, "no column of the interrupted batch");
    const [rows] = await env.query<{ n: number; wide: number }>("SELECT count(*)::INT AS n, count(*) FILTER (id = 1001)::INT AS wide FROM wide_dataset.things");
    assert.deepEqual(rows, { n: 2_001_000, wide: 0 });
    assert.ok(!(await tablesOf(env.db)).includes("_rd_widen"));
    assert.deepEqual(readdirSync(env.dir).filter((f) => f.endsWith(".tmp")), []);
  });
});

test("aborting a library run interrupts its long DuckDB statement, and the pipeline's connection works on", async () => {
  await using env = await testEnv({ prefix: "restduck-wide-" });
  const before = await loadWithBulkRows(env.db);
  await using p = pipeline({ database: env.db });
  const controller = new AbortController();
  // As in the CLI test: waiting the statement out takes minutes, interrupting it a moment.
  let bound: ReturnType<typeof setTimeout> | undefined;
  env.defer(() => clearTimeout(bound));
  const outcome = await Promise.race([
    p
      // Aborted just after the page, when the run is past its last check between pages: only
      // interrupting DuckDB stops the batch now.
      .run(restApiSource(config("/wide_1000")), { signal: controller.signal, onProgress: (e) => e.type === "page" && setTimeout(() => controller.abort("SIGTERM"), 0) })
      .then(
        () => "completed",
        (error) => error,
      ),
    new Promise((resolve) => (bound = setTimeout(() => resolve("still running after 60 s"), 60_000))),
  ]);
  assert.ok(outcome instanceof InterruptedError, String(outcome));
  assert.equal(outcome.exitCode, 143);
  // The same open connection: no transaction left open, no statement refused.
  assert.deepEqual(await p.query("SELECT status FROM wide_dataset._restduck_runs ORDER BY started_at"), [{ status: "completed" }, { status: "interrupted" }]);
  assert.deepEqual(await p.query("SELECT count(*) AS n FROM wide_dataset.things WHERE id = 1001"), [{ n: 0 }]);
  p.close();
  assert.deepEqual(await columnsOf(env.db), before);
});

describe("DuckDB's spill files", () => {
  test("spill files a killed process left beside the database are removed by the next open for writing", async () => {
    await using env = await testEnv({ prefix: "restduck-spill-" });
    // A real DuckDB spilling a sort to <env.db>.tmp, killed (SIGKILL) once the spill files are there.
    const script = `
      import { DuckDBInstance } from "@duckdb/node-api";
      const instance = await DuckDBInstance.create(${JSON.stringify(env.db)}, { memory_limit: "64MB", threads: "1" });
      const c = await instance.connect();
      await c.run("CREATE TABLE t AS SELECT i, md5(i::VARCHAR) AS s FROM range(3000000) r(i)");
      process.stdout.write("sorting\\n");
      await c.run("SELECT s, count(*) FROM t GROUP BY s ORDER BY s");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const kill = async () => {
      child.kill("SIGKILL");
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.on("close", resolve)));
    };
    env.defer(kill); // should the wait below fail, the child still goes
    const spill = `${env.db}.tmp`;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(spill) && readdirSync(spill).some((f) => f.startsWith("duckdb_temp_"))) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
      child.on("exit", (code) => {
        clearInterval(poll);
        reject(new Error(`the spilling process ended (${code}) before it spilled`));
      });
    });
    await kill(); // spilled: killed now, mid-sort, so its spill files stay behind
    assert.ok(readdirSync(spill).length > 0, "the killed process left its spill files");
    mkdirSync(env.path("other.duckdb.tmp"));
    writeFileSync(env.path("other.duckdb.tmp", "duckdb_temp_storage_S32K-0.tmp"), "another database's");

    const handle = await env.open();
    assert.equal(existsSync(spill), false, "the next open removed them");
    assert.deepEqual(readdirSync(env.path("other.duckdb.tmp")), ["duckdb_temp_storage_S32K-0.tmp"], "another database's folder is not touched");
  });
});
