/**
 * src/config/read.ts: a config file read and parsed, not yet validated — JSON, YAML or a TS/JS
 * module — with errors that point at the line and column where the syntax breaks.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { loadConfig } from "../../src/config/index.ts";
import { jsonErrorOffset, lineColumn, readConfigFile } from "../../src/config/read.ts";
import { ConfigError } from "../../src/errors.ts";
import { testEnv } from "../helpers/index.ts";

const SECRETS = { CLIENT_ID: "id-1234", CLIENT_SECRET: "secret-5678" };

test("unreadable config files say where the syntax breaks", async () => {
  await using env = await testEnv();
  writeFileSync(env.path("bad.json"), '{\n  "client": {,\n}');
  await assert.rejects(loadConfig(env.path("bad.json"), { env: SECRETS }), /Cannot parse JSON config .*bad\.json at line 2, column \d+/);
  writeFileSync(env.path("bad.yaml"), "client:\n  base_url: [unclosed\n");
  await assert.rejects(loadConfig(env.path("bad.yaml"), { env: SECRETS }), /Cannot parse YAML config .*bad\.yaml at line \d+/);
  await assert.rejects(loadConfig(env.path("missing.json"), { env: SECRETS }), /Cannot read config .*missing\.json: no such file/);
  writeFileSync(env.path("c.txt"), "x");
  await assert.rejects(loadConfig(env.path("c.txt"), { env: SECRETS }), /unknown file type "\.txt"/);
});

test("readConfigFile returns the parsed data unvalidated, relative to cwd, and shows the broken line with a caret", async () => {
  await using env = await testEnv();
  env.config({ anything: [1, 2] }, "raw.json");
  assert.deepEqual(await readConfigFile("raw.json", env.dir), { path: "raw.json", data: { anything: [1, 2] } });
  env.config('{\n  "client": {\n    "base_url": "x",,\n  }\n}', "broken.json");
  await assert.rejects(readConfigFile("broken.json", env.dir), (error: ConfigError) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^Cannot parse JSON config broken\.json at line 3, column 21: /);
    assert.match(error.message, /\n  2 \|   "client": \{\n  3 \|     "base_url": "x",,\n    \| {21}\^$/);
    assert.equal(error.hint, "fix the JSON syntax");
    return true;
  });
});

test("a broken line that looks like a secret shows its key only", async () => {
  await using env = await testEnv();
  env.config('{\n  "client_secret": "hunter2-Value" oops\n}', "leaky.json");
  await assert.rejects(readConfigFile("leaky.json", env.dir), (error: ConfigError) => {
    assert.doesNotMatch(error.message, /hunter2/);
    assert.match(error.message, /"client_secret": \*\*\*/);
    return true;
  });
});

test("a TS config module warns that it runs code, and one without a default export is refused", async () => {
  await using env = await testEnv();
  env.config("export default { resources: [] };\n", "ok.ts");
  env.config("export const config = {};\n", "none.ts");
  const warnings: string[] = [];
  const raw = await readConfigFile("ok.ts", env.dir, { warn: (m) => warnings.push(m) });
  assert.deepEqual(raw.data, { resources: [] });
  assert.deepEqual(warnings, ["ok.ts is a TS module: loading it runs its code with your permissions; use JSON or YAML for a config you did not write"]);
  await assert.rejects(readConfigFile("none.ts", env.dir), /Config module none\.ts has no default export/);
});

test("lineColumn counts lines and columns from 1", () => {
  assert.deepEqual(lineColumn("ab\ncd", 0), { line: 1, col: 1 });
  assert.deepEqual(lineColumn("ab\ncd", 4), { line: 2, col: 2 });
});

test("jsonErrorOffset finds where JSON first breaks the grammar, and nothing in valid JSON", () => {
  assert.equal(jsonErrorOffset('{"a": 1}'), undefined);
  assert.equal(jsonErrorOffset('{"a": 1,}'), 8);
  assert.equal(jsonErrorOffset('{"a": tru}'), 6);
  assert.equal(jsonErrorOffset('["\\x"]'), 3);
  assert.equal(jsonErrorOffset("[1] 2"), 4);
});
