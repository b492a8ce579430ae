/**
 * Errors that say everything they know (issue #13, item 7): the fault's place in a config file on
 * every runtime, DuckDB's own suggestions, typo suggestions, and network failures classified.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { runCli, SEED_ENV, seedConfig, testEnv, writeConfig, type TestEnv } from "../helpers/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** The folder the tests share, with a database loaded once (the chat API is gone once it is loaded). */
let tmp: TestEnv;
const DB = "chat.duckdb";

before(async () => {
  tmp = await testEnv();
  await using env = await testEnv({ chat: { messages: 50 } });
  writeConfig(tmp.dir, seedConfig(env.chat.url));
  const res = await runCli(["run", "chat.json", "--db", DB, "--quiet"], { cwd: tmp.dir, env: SEED_ENV });
  assert.equal(res.code, 0, res.stderr);
});
after(() => tmp?.[Symbol.asyncDispose]());

test("a YAML syntax error shows the faulty lines with a caret, not a message cut off at its colon", async () => {
  writeFileSync(join(tmp.dir, "bad.yaml"), 'client:\n  base_url: "https://x"\n  headers: {a: 1\nresources:\n  - name: a\n');
  const res = await runCli(["validate", "bad.yaml"], { cwd: tmp.dir });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /error: Cannot parse YAML config bad\.yaml at line 4, column 1: Flow map in block collection must be sufficiently indented and end with a \}\n/);
  assert.match(res.stderr, /\n {2}3 \| {3}headers: \{a: 1\n {2}4 \| resources:\n {2} {2}\| \^\n/);
});

test("a JSON syntax error names line and column on Node and on Bun, whose messages carry no position", () => {
  writeFileSync(join(tmp.dir, "bad.json"), '{\n  "client": {\n    "base_url": "https://x",\n  },\n  "resources": []\n}\n');
  for (const runtime of ["node", "bun"]) {
    const res = spawnSync(join(ROOT, "node_modules/.bin", runtime), [join(ROOT, "src/bin/restduck.ts"), "validate", "bad.json"], { cwd: tmp.dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(res.status, 2, runtime);
    assert.match(res.stderr, /error: Cannot parse JSON config bad\.json at line 4, column 3: /, runtime);
    assert.match(res.stderr, /\n {2}4 \| {3}\},\n {2} {2}\| {3}\^\n/, runtime);
  }
});

test("a query error keeps DuckDB's suggestion and the caret under the fault", async () => {
  const res = await runCli(["query", "--db", DB, "select * from chat_mesages"], { cwd: tmp.dir });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error: Query failed: Catalog Error: Table with name chat_mesages does not exist!\n {2}Did you mean "chat_messages"\?\n {2}LINE 1: select \* from chat_mesages\n {24}\^\n/);
  const column = await runCli(["query", "--db", DB, "select sendr_id from chat_messages"], { cwd: tmp.dir });
  assert.match(column.stderr, /Candidate bindings: "sender_id"/);
});

test("a mistyped command or option gets a suggestion; an unknown one lists what there is", async () => {
  const cmd = await runCli(["qurey", "select 1"], { cwd: tmp.dir });
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /error: Unknown command qurey; did you mean query\?/);
  const flag = await runCli(["query", "--db", DB, "--formt", "csv", "select 1"], { cwd: tmp.dir });
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /error: Unknown argument: formt; did you mean --format\?/);
  const none = await runCli(["frobnicate"], { cwd: tmp.dir });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /error: Unknown command frobnicate; commands: run, check, query, info, schema, export, init, validate, demo/);
});

test("info and schema take the database file positionally, like duckdb and sqlite3", async () => {
  for (const cmd of ["info", "schema"]) {
    const positional = await runCli([cmd, DB], { cwd: tmp.dir });
    assert.equal(positional.code, 0, positional.stderr);
    const flag = await runCli([cmd, "--db", DB], { cwd: tmp.dir });
    assert.equal(positional.stdout, flag.stdout);
    assert.match(positional.stdout, /chat_messages/);
    const both = await runCli([cmd, DB, "--db", "other.duckdb"], { cwd: tmp.dir });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /error: Two databases given: chat\.duckdb and --db other\.duckdb/);
  }
});

const plainConfig = (baseUrl: string) => ({
  client: { base_url: baseUrl, retry: { max_retries: 2, backoff_factor: 0.01 } },
  resources: [{ name: "items", endpoint: { path: "/items", paginator: { type: "single_page" } } }],
});

test("a host DNS does not know fails at once, naming the host, without retries", async () => {
  writeConfig(tmp.dir, plainConfig("http://no-such-api.invalid"), "dns.json");
  const res = await runCli(["run", "dns.json", "--db", "dns.duckdb"], { cwd: tmp.dir });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot resolve host no-such-api\.invalid: DNS knows no such name \(ENOTFOUND\); not retried\n/);
  assert.doesNotMatch(res.stderr, /retry \d+ in/);
  assert.match(res.stderr, /hint: check the host in client\.base_url/);
});

test("a refused connection is retried, and its first failure says so and why", async () => {
  // A port that was just ours and is closed now: nothing listens there.
  let url: string;
  {
    await using gone = await testEnv({ api: true });
    url = gone.api.url;
  }
  writeConfig(tmp.dir, plainConfig(url), "refused.json");
  const res = await runCli(["run", "refused.json", "--db", "refused.duckdb"], { cwd: tmp.dir });
  assert.equal(res.code, 1);
  const lines = res.stderr.split("\n");
  const first = lines.findIndex((l) => /ECONNREFUSED/.test(l));
  assert.match(lines[first], /items: network error ECONNREFUSED \(connection refused: nothing listens at that address\) from http:\/\/127\.0\.0\.1:\d+\/items; retry 1 in /);
  assert.match(res.stderr, /retry 2 in /);
  assert.match(res.stderr, /error: .*ECONNREFUSED.* \(after 3 attempts\)/);
});
