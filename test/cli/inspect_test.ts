/**
 * `info`, `schema`, `export` and `query --out` on a real DuckDB file loaded
 * from the mock chat API: output shape, --json, exit codes.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openDatabase } from "../../src/load/db.ts";
import { queryDb, runCli, SEED_ENV, seedConfig, testEnv, writeConfig, type TestEnv } from "../helpers/index.ts";

/** The folder the tests share, with a database loaded twice (the chat API is gone once it is loaded). */
let tmp: TestEnv;
const DB = "chat.duckdb";

before(async () => {
  tmp = await testEnv();
  await using env = await testEnv({ chat: { messages: 150 } });
  writeConfig(tmp.dir, seedConfig(env.chat.url));
  for (let i = 0; i < 2; i++) {
    const res = await runCli(["run", "chat.json", "--db", DB], { cwd: tmp.dir, env: SEED_ENV });
    assert.equal(res.code, 0, res.stderr);
  }
  // A resource with an incremental cursor, as a run with `incremental` leaves it.
  const db = await openDatabase(join(tmp.dir, DB));
  try {
    await db.run(`UPDATE chat_dataset._restduck_checkpoints SET state = '{"last_value": "2024-03-01T00:00:00Z"}' WHERE resource = 'chat_messages'`);
    await db.run(
      `INSERT INTO chat_dataset._dlt_pipeline_state VALUES (7, 4, 'chat', '{"sources": {"chat": {"resources": {"chat_messages": {"incremental": {"timestamp": {"last_value": "2024-03-01T00:00:00Z"}}}}}}}', now(), 'h', '1.0', 'x')`,
    );
  } finally {
    db.close();
  }
});
after(() => tmp?.[Symbol.asyncDispose]());

test("info lists runs with status and rows, tables with row counts, and the incremental state", async () => {
  const res = await runCli(["info", "--db", DB], { cwd: tmp.dir });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^chat\.duckdb: [\d.]+ [KM]?B · 1 dataset: chat_dataset\n/);
  assert.match(res.stdout, /Runs \(newest first\)/);
  assert.equal(res.stdout.match(/\| completed \| +150 \| +\d+ \| +\d+ \|/g)?.length, 2, res.stdout);
  assert.match(res.stdout, /dataset chat_dataset \(pipeline chat\)/);
  assert.match(res.stdout, /\| chat_messages +\| +150 \| +\d+ \|/);
  assert.match(res.stdout, /\| chat_messages__reactions +\| +\d+ \|/);
  assert.match(res.stdout, /chat_messages: \{"last_value":"2024-03-01T00:00:00Z"\} \(run \d+\.\d+, /);
  assert.match(res.stdout, /pipeline chat v7: \{"sources":/);
  assert.equal(res.stderr, "");

  const json = await runCli(["info", "--db", DB, "--json"], { cwd: tmp.dir });
  assert.equal(json.code, 0, json.stderr);
  const info = JSON.parse(json.stdout) as {
    file_bytes: number;
    datasets: { dataset: string; runs: { status: string; rows: number; resources: { resource: string; rows: number }[] }[]; tables: { table: string; rows: number; columns: number }[]; incremental_state: { resource: string; state: unknown }[] }[];
  };
  assert.ok(info.file_bytes > 0);
  assert.equal(info.datasets.length, 1);
  const [d] = info.datasets;
  assert.equal(d.dataset, "chat_dataset");
  assert.deepEqual(d.runs.map((r) => [r.status, r.rows]), [["completed", 150], ["completed", 150]]);
  const messages = d.tables.find((t) => t.table === "chat_messages")!;
  assert.equal(messages.rows, 150);
  assert.ok(messages.columns >= 5, `${messages.columns} columns`);
  assert.ok(!d.tables.some((t) => t.table.startsWith("_")), "bookkeeping tables are not data");
  assert.deepEqual(d.incremental_state.map((s) => [s.resource, s.state]), [["chat_messages", { last_value: "2024-03-01T00:00:00Z" }]]);
});

test("info and schema on a missing file, a file without datasets, or an unknown dataset say what to do", async () => {
  const missing = await runCli(["info", "--db", "nope.duckdb"], { cwd: tmp.dir });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: Database nope\.duckdb does not exist\nhint: check --db/);
  assert.ok(!existsSync(join(tmp.dir, "nope.duckdb")), "a read-only look creates nothing");
  await using env = await testEnv();
  const db = await openDatabase(env.path("empty.duckdb"));
  await db.run("create table t (x int)");
  db.close();
  const res = await env.cli(["schema", "--db", "empty.duckdb"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error: empty\.duckdb holds no restduck dataset .*\nhint: load something first: restduck run <config> --db empty\.duckdb/);
  const unknown = await runCli(["info", "--db", DB, "--dataset", "nope"], { cwd: tmp.dir });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Dataset nope is not in chat\.duckdb; datasets: chat_dataset/);
});

test("schema shows every table's columns with dlt and DuckDB types and the load that added them", async () => {
  const runs = await queryDb<{ load_id: string }>(join(tmp.dir, DB), "select load_id from chat_dataset._restduck_runs order by started_at");
  const res = await runCli(["schema", "--db", DB], { cwd: tmp.dir });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^dataset chat_dataset \(schema chat v\d+\)\n/);
  assert.match(res.stdout, new RegExp(`\\nchat_messages: resource chat_messages, merge, 150 rows, added in load ${runs[0].load_id.replace(".", "\\.")} \\(\\d{4}-`));
  assert.match(res.stdout, /\| id +\| bigint +\| BIGINT +\| no +\| primary \| \d+\.\d+ +\| +\|/);
  assert.match(res.stdout, /\| timestamp +\| timestamp +\| TIMESTAMP WITH TIME ZONE \|/);
  assert.match(res.stdout, /\nchat_messages__reactions: child of chat_messages/);
  assert.doesNotMatch(res.stdout, /_dlt_loads|_restduck_runs/);

  const json = await runCli(["schema", "--db", DB, "--json", "--table", "chat_messages"], { cwd: tmp.dir });
  const out = JSON.parse(json.stdout) as { datasets: { schemas: { version: number }[]; tables: { name: string; added_in: string; rows: number; columns: { name: string; data_type: string; duckdb_type: string; nullable: boolean; primary_key: boolean; added_in: string; status: string }[] }[] }[] };
  const [table] = out.datasets[0].tables;
  assert.equal(out.datasets[0].tables.length, 1);
  assert.equal(table.name, "chat_messages");
  assert.equal(table.added_in, runs[0].load_id);
  const id = table.columns.find((c) => c.name === "id")!;
  assert.deepEqual(
    { data_type: id.data_type, duckdb_type: id.duckdb_type, primary_key: id.primary_key, status: id.status, added_in: id.added_in },
    { data_type: "bigint", duckdb_type: "BIGINT", primary_key: true, status: "ok", added_in: runs[0].load_id },
  );
  assert.ok(table.columns.every((c) => c.status === "ok"), "the stored schema and DuckDB agree");
});

test("schema marks a column DuckDB has but the stored schema does not", async () => {
  await using env = await testEnv();
  const db = await openDatabase(env.path("c.duckdb"));
  await db.run(`ATTACH ${"'" + join(tmp.dir, DB).replace(/'/g, "''") + "'"} AS src (READ_ONLY); COPY FROM DATABASE src TO "c"; DETACH src;`);
  await db.run(`ALTER TABLE chat_dataset.chat_messages ADD COLUMN added_by_hand VARCHAR`);
  db.close();
  const res = await env.cli(["schema", "--db", "c.duckdb", "--table", "chat_messages", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  const cols = (JSON.parse(res.stdout) as any).datasets[0].tables[0].columns as { name: string; status: string }[];
  assert.deepEqual(cols.find((c) => c.name === "added_by_hand"), { ...cols.find((c) => c.name === "added_by_hand"), status: "not in the schema" });
});

test("export writes every view as Parquet, hive-partitioned where the column exists, readable by DuckDB", async () => {
  const res = await runCli(["export", "--db", DB, "--to", "lake", "--partition-by", "channel"], { cwd: tmp.dir });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "");
  assert.match(res.stderr, /chat_messages: 150 rows → lake\/chat_messages\//);
  assert.match(res.stderr, /chat_messages__reactions: has no column channel; written unpartitioned/);
  assert.match(res.stderr, /exported \d+ views \([\d,]+ rows\) as parquet to lake/);
  const lake = join(tmp.dir, "lake");
  assert.ok(readdirSync(join(lake, "chat_messages")).every((d) => d.startsWith("channel=")));
  assert.ok(existsSync(join(lake, "chat_messages__reactions.parquet")));
  assert.ok(!existsSync(join(lake, "_restduck_runs.parquet")), "bookkeeping views only on request");
  const [row] = await queryDb<{ n: number; channels: number }>(
    join(tmp.dir, DB),
    `select count(*)::INT as n, count(distinct channel)::INT as channels from read_parquet('${join(lake, "chat_messages", "**", "*.parquet")}', hive_partitioning = true)`,
  );
  assert.equal(row.n, 150);
  assert.ok(row.channels > 1);
  // Running it again replaces what it wrote.
  const again = await runCli(["export", "--db", DB, "--to", "lake", "--partition-by", "channel", "--json"], { cwd: tmp.dir });
  assert.equal(again.code, 0, again.stderr);
  const events = again.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; name: string; rows: number; partitioned_by: string[] });
  assert.deepEqual(events.find((e) => e.name === "chat_messages"), { ...events.find((e) => e.name === "chat_messages")!, type: "exported", rows: 150, partitioned_by: ["channel"] });
});

test("export --tables writes the dataset tables, and --only picks by name", async () => {
  const res = await runCli(["export", "--db", DB, "--to", "raw", "--tables", "--only", "chat_messages"], { cwd: tmp.dir });
  assert.equal(res.code, 0, res.stderr);
  const file = join(tmp.dir, "raw", "chat_dataset", "chat_messages.parquet");
  const [row] = await queryDb<{ n: number; has_load_id: boolean }>(
    join(tmp.dir, DB),
    `select count(*)::INT as n, bool_or(_dlt_load_id is not null) as has_load_id from read_parquet('${file}')`,
  );
  assert.deepEqual(row, { n: 150, has_load_id: true });
  const unknown = await runCli(["export", "--db", DB, "--to", "raw", "--only", "nope"], { cwd: tmp.dir });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /error: Nothing named nope to export in chat\.duckdb; there is: chat_messages/);
});

test("query --out writes Parquet, CSV and JSON through COPY, with a quoted path", async () => {
  const sql = "select id, sender_id from chat_messages order by id limit 5;";
  for (const [name, check] of [
    ["it's out.parquet", (p: string) => `select count(*)::INT as n from read_parquet('${p.replace(/'/g, "''")}')`],
    ["out.csv", (p: string) => `select count(*)::INT as n from read_csv('${p}', header = true)`],
    ["out.ndjson", (p: string) => `select count(*)::INT as n from read_json('${p}')`],
  ] as const) {
    const res = await runCli(["query", "--db", DB, sql, "--out", name], { cwd: tmp.dir });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, "");
    assert.match(res.stderr, new RegExp(`wrote 5 rows to ${name.replace(".", "\\.")}`));
    const [row] = await queryDb<{ n: number }>(join(tmp.dir, DB), check(join(tmp.dir, name)));
    assert.equal(row.n, 5, name);
  }
  const json = await runCli(["query", "--db", DB, sql, "--out", "out.json"], { cwd: tmp.dir });
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(readFileSync(join(tmp.dir, "out.json"), "utf8")) as { id: number }[];
  assert.equal(rows.length, 5);
  const bad = await runCli(["query", "--db", DB, sql, "--out", "out.xlsx"], { cwd: tmp.dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Cannot tell the format of --out out\.xlsx from its extension\nhint: name the file with one of \.parquet, \.csv, \.json, \.ndjson, \.jsonl/);
});

test("query formats: ndjson one object per line, table truncated to the terminal width", async () => {
  const nd = await runCli(["query", "--db", DB, "-f", "ndjson", "select id, content from chat_messages order by id limit 3"], { cwd: tmp.dir });
  const lines = nd.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: number; content: string });
  assert.deepEqual(lines.map((l) => l.id), [1, 2, 3]);
  const narrow = await runCli(["query", "--db", DB, "select * from chat_messages order by id limit 3"], { cwd: tmp.dir, columns: 60 });
  assert.equal(narrow.code, 0, narrow.stderr);
  for (const line of narrow.stdout.split("\n").filter((l) => l.startsWith("|") || l.startsWith("+"))) assert.ok(line.length <= 60, `${line.length}: ${line}`);
  assert.match(narrow.stdout, /…/);
  assert.match(narrow.stdout, /3 rows · \d+ columns? not shown \(.*\): widen the terminal or use -f csv\/json\n$/);
});
