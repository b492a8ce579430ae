/**
 * `--db` is optional, as in dlt (issue #13.5): `run` writes `<pipeline>.duckdb`, and the reading
 * commands find it by `--pipeline` or as the one DuckDB file in the folder.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli, SEED_ENV, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";

test("run without --db writes <pipeline>.duckdb, and query, info, schema and export find it without --db", async () => {
  await using env = await testEnv({ chat: { messages: 150 } });
  const { dir } = env;
  const api = env.chat;
  writeConfig(dir, seedConfig(api.url), "Chat API.json");
  const run = await runCli(["run", "Chat API.json"], { cwd: dir, env: SEED_ENV });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(join(dir, "chat_api.duckdb")), `files: ${readdirSync(dir).join(", ")}`);
  assert.match(run.stderr, /→ chat_api\.duckdb/);

  const query = await runCli(["query", "select count(*) as n from chat_messages", "-f", "csv"], { cwd: dir });
  assert.equal(query.code, 0, query.stderr);
  assert.equal(query.stdout, "n\n150\n");
  for (const cmd of [["info"], ["schema"], ["export", "--to", "lake"]]) {
    const res = await runCli(cmd, { cwd: dir });
    assert.equal(res.code, 0, `${cmd[0]}: ${res.stderr}`);
  }
  assert.ok(existsSync(join(dir, "lake", "chat_messages.parquet")));

  // --pipeline names the file too.
  const named = await runCli(["run", "Chat API.json", "--pipeline", "other"], { cwd: dir, env: SEED_ENV });
  assert.equal(named.code, 0, named.stderr);
  assert.ok(existsSync(join(dir, "other.duckdb")));
});

test("with several DuckDB files and no --db, a reading command names them and asks; --pipeline picks one", async () => {
  await using env = await testEnv({ chat: { messages: 50 } });
  const { dir } = env;
  const api = env.chat;
  const empty = await runCli(["query", "select 1"], { cwd: dir });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /No DuckDB file in .* to open/);
  assert.match(empty.stderr, /--db FILE/);

  writeConfig(dir, seedConfig(api.url), "chat.json");
  assert.equal((await runCli(["run", "chat.json"], { cwd: dir, env: SEED_ENV })).code, 0);
  copyFileSync(join(dir, "chat.duckdb"), join(dir, "backup.duckdb"));
  const two = await runCli(["info"], { cwd: dir });
  assert.equal(two.code, 2);
  assert.match(two.stderr, /2 DuckDB files in .* \(backup\.duckdb, chat\.duckdb\): which one\?/);
  const picked = await runCli(["query", "select count(*) as n from chat_messages", "-f", "csv", "--pipeline", "chat"], { cwd: dir });
  assert.equal(picked.code, 0, picked.stderr);
  assert.equal(picked.stdout, "n\n50\n");
  const explicit = await runCli(["query", "select count(*) as n from chat_messages", "-f", "csv", "--db", "backup.duckdb"], { cwd: dir });
  assert.equal(explicit.stdout, "n\n50\n");
});
