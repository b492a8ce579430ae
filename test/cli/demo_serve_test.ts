/**
 * `demo --serve` (issue #13.9): the built-in chat API stays up, says where and with which
 * credentials, serves a user's own config, and stops on the signal.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { main } from "../../src/cli/main.ts";
import type { Io } from "../../src/cli/output.ts";
import { queryDb, runCli, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";

test("demo --serve keeps the chat API up with its URL and credentials on stdout until the signal, and a config loads from it", async () => {
  await using env = await testEnv();
  const { dir } = env;
  let stdout = "";
  let stderr = "";
  let announced!: () => void;
  const ready = new Promise<void>((resolve) => (announced = resolve));
  const io: Io = {
    stdout: (text) => {
      stdout += text;
      if (stdout.includes("\n")) announced();
    },
    stderr: (text) => void (stderr += text),
    env: {},
    cwd: dir,
    isTTY: false,
    columns: 120,
  };
  const stop = new AbortController();
  const serving = main(["demo", "--serve", "--json", "--no-faults", "--messages", "230"], io, stop.signal);
  await ready;
  const info = JSON.parse(stdout.split("\n")[0]);
  assert.equal(info.type, "serving");
  assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(info.token_url, `${info.url}/oauth/token`);

  // A user's config, pointed at the served API with the printed credentials.
  writeConfig(dir, seedConfig(info.url), "mine.json");
  const run = await runCli(["run", "mine.json"], { cwd: dir, env: { CLIENT_ID: info.client_id, CLIENT_SECRET: info.client_secret } });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await queryDb(join(dir, "mine.duckdb"), "select count(*)::INTEGER as n from mine_dataset.chat_messages"), [{ n: 230 }]);

  stop.abort("SIGINT");
  assert.equal(await serving, 0, stderr);
  await assert.rejects(fetch(`${info.url}/v1/messages`), "the server is closed once the signal came");
});

test("demo --serve on a port in use fails with the port named, exit 1", async () => {
  // The fixture's mock API holds a port on 127.0.0.1: the one the demo is asked for.
  await using env = await testEnv({ api: true });
  const port = Number(new URL(env.api.url).port);
  const res = await runCli(["demo", "--serve", "--port", String(port)], { cwd: "/", signal: AbortSignal.abort() });
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use`));
  const bad = await runCli(["demo", "--serve", "--port", "70000"], { cwd: "/" });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port expects a port number/);
});
