/**
 * The CLI run in-process: exit codes, stdout/stderr discipline, and no
 * secret in any output.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runCli, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

test("--help lists the commands and the exit codes", async () => {
  const res = await runCli(["--help"], { cwd: "/" });
  assert.equal(res.code, 0);
  for (const cmd of ["run <config>", "query <sql>", "validate <config>", "demo"]) assert.ok(res.stdout.includes(cmd), cmd);
  assert.match(res.stdout, /Exit codes: 0 ok · 1 run failed · 2 bad usage/);
  for (const cmd of ["run", "query", "validate", "demo"]) {
    const sub = await runCli([cmd, "--help"], { cwd: "/" });
    assert.equal(sub.code, 0, `${cmd} --help`);
    assert.match(sub.stdout, /Exit codes/);
  }
});

test("an unknown command or flag is a usage error with exit code 2", async () => {
  const res = await runCli(["frobnicate"], { cwd: "/" });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /error: Unknown command frobnicate; commands: run, check, query/);
  const flag = await runCli(["run", "x.json", "--dbb", "x"], { cwd: "/" });
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown argument: dbb; did you mean --db\?/);
});

test("run, then query in every format, with data on stdout and progress on stderr", async () => {
  await using env = await testEnv({ chat: { messages: 120 } });
  env.config(seedConfig(env.chat.url));
  const res = await env.cli(["run", "chat.json", "--db", "chat.duckdb"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "");
  assert.match(res.stderr, /✓ chat_messages: 120 rows from 2 pages/);
  assert.match(res.stderr, /pipeline chat → chat\.duckdb \(dataset chat_dataset\)/);

  const sql = "select sender_id, count(*) as n from chat_messages group by 1 order by 1 limit 2";
  const csv = await runCli(["query", "--db", "chat.duckdb", "--format", "csv", sql], { cwd: env.dir });
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdout, /^sender_id,n\nu_[a-z]+,\d+\nu_[a-z]+,\d+\n$/);
  const json = await runCli(["query", "--db", "chat.duckdb", "-f", "json", sql], { cwd: env.dir });
  const rows = JSON.parse(json.stdout) as { sender_id: string; n: string | number }[];
  assert.equal(rows.length, 2);
  const table = await runCli(["query", "--db", "chat.duckdb", sql], { cwd: env.dir });
  assert.match(table.stdout, /\| sender_id +\| +n \|/);
  assert.match(table.stdout, /2 rows\n$/);
  const bad = await runCli(["query", "--db", "chat.duckdb", "select nope from nowhere"], { cwd: env.dir });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /error: Query failed: Catalog Error/);
});

test("a bad config exits 2, names the path, and creates no database file", async () => {
  await using env = await testEnv();
  const c = seedConfig("http://127.0.0.1:9") as any;
  c.resources[0].endpoint.paginator.limit = "100";
  env.config(c);
  const res = await env.cli(["run", "chat.json", "--db", "x.duckdb"], { env: SEED_ENV });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /resources\[0\]\.endpoint\.paginator\.limit: expected a positive integer, got "100"/);
  assert.throws(() => readFileSync(env.path("x.duckdb")), /ENOENT/);
  const v = await env.cli(["validate", "chat.json"], { env: SEED_ENV });
  assert.equal(v.code, 2);
});

test("a missing secret exits 2 and names the environment variable", async () => {
  await using env = await testEnv();
  env.config(seedConfig("http://127.0.0.1:9"));
  const res = await runCli(["run", "chat.json"], { cwd: env.dir, env: { CLIENT_ID: "x" } });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /Missing secret "client_secret" \(environment variable CLIENT_SECRET\); looked in: environment, \.dlt\/secrets\.toml \(not found\)/);
});

test("no secret or token appears in any output, even verbose, JSON or failing", async () => {
  await using env = await testEnv({ chat: { messages: 150, faults: [{ nth: 2, status: 429, retryAfter: 0 }] } });
  env.config(seedConfig(env.chat.url));
  const outputs: string[] = [];
  for (const flags of [[], ["--verbose"], ["--json"]]) {
    const res = await env.cli(["run", "chat.json", "--db", "c.duckdb", ...flags]);
    assert.equal(res.code, 0, res.stderr);
    outputs.push(res.stdout, res.stderr);
  }
  const wrong = await runCli(["run", "chat.json", "--db", "c.duckdb", "--verbose"], { cwd: env.dir, env: { ...SEED_ENV, CLIENT_SECRET: "Wrong-Secret-777" } });
  assert.equal(wrong.code, 1);
  outputs.push(wrong.stdout, wrong.stderr);
  const v = await env.cli(["validate", "chat.json", "--json"]);
  outputs.push(v.stdout, v.stderr);
  const tokens = env.chat.requests.map((r) => r.authorization?.replace(/^Bearer /, "")).filter((t): t is string => Boolean(t));
  assert.ok(tokens.length > 0);
  const all = outputs.join("\n");
  for (const secret of [SEED_ENV.CLIENT_SECRET, "Wrong-Secret-777", ...tokens]) assert.ok(!all.includes(secret), `leaked ${secret.slice(0, 3)}…`);
  const db = readFileSync(env.path("c.duckdb"));
  for (const secret of [SEED_ENV.CLIENT_SECRET, ...tokens]) assert.equal(db.indexOf(secret), -1, "secret in the DuckDB file");
});

test("--json emits one JSON event per line on stdout", async () => {
  await using env = await testEnv({ chat: { messages: 50 } });
  env.config(seedConfig(env.chat.url));
  const res = await env.cli(["run", "chat.json", "--db", "c.duckdb", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  const events = res.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string });
  assert.equal(events[0].type, "run_started");
  assert.equal(events.at(-1)!.type, "run_finished");
  assert.ok(events.some((e) => e.type === "batch_committed"));
});
