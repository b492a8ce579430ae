/**
 * `info` off a terminal (issue #13.8): into a pipe no cell is cut, and `--json` numbers are numbers.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { runCli, SEED_ENV, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";

const CLI = join(import.meta.dirname, "..", "..", "src", "bin", "restduck.ts");

test("info into a pipe prints whole cells however wide, and info --json gives pages and rows as numbers", async () => {
  await using env = await testEnv({ chat: { messages: 150 } });
  const { dir } = env;
  const api = env.chat;
  const long = "chat_messages_with_a_resource_name_long_enough_that_no_terminal_table_would_fit_it_in_one_hundred_and_twenty_columns";
  const config = seedConfig(api.url) as { resources: { name: string }[] };
  config.resources[0].name = long;
  writeConfig(dir, config);
  assert.equal((await runCli(["run", "chat.json", "--db", "c.duckdb"], { cwd: dir, env: SEED_ENV })).code, 0);

  // A real process with stdout on a pipe (not a terminal), as in `restduck info | less`.
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, "info", "--db", "c.duckdb"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
  assert.ok(stdout.includes(long), `the full name is in:\n${stdout}`);
  assert.doesNotMatch(stdout, /…/, "no cell is cut");

  const json = await runCli(["info", "--db", "c.duckdb", "--json"], { cwd: dir });
  const run = JSON.parse(json.stdout).datasets[0].runs[0];
  assert.deepEqual(run.resources, [{ resource: long, pages: 2, rows: 150, done: true }]);
  assert.equal(typeof run.rows, "number");
});
