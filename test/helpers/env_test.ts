/**
 * The test fixture itself: what it starts, it stops, even when the test throws.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { seedConfig, testEnv, type TestEnv } from "./index.ts";

test("testEnv removes its folder and closes its APIs when the block throws", async () => {
  let seen: TestEnv | undefined;
  let urls: string[] = [];
  await assert.rejects(async () => {
    await using env = await testEnv({ api: true, chat: { messages: 5 } });
    seen = env;
    urls = [env.api.url, env.chat.url];
    env.config({ hello: "world" }, "x.json");
    throw new Error("the test failed");
  }, /the test failed/);
  assert.ok(seen);
  assert.equal(existsSync(seen.dir), false);
  for (const url of urls) await assert.rejects(fetch(url), "the server is closed");
});

test("testEnv runs the pipeline into its database and reads it back", async () => {
  await using env = await testEnv({ chat: { messages: 30 } });
  const summary = await env.run(seedConfig(env.chat.url), { pipelineName: "chat" });
  assert.equal(summary.resources[0].rows, 30);
  const [row] = await env.query<{ n: number }>("select count(*)::int as n from chat_messages");
  assert.equal(row.n, 30);
  const cli = await env.cli(["info", "--db", env.db]);
  assert.equal(cli.code, 0, cli.stderr);
});

test("testEnv runs deferred cleanups in reverse order and still removes the folder when one fails", async () => {
  const order: string[] = [];
  let dir = "";
  await assert.rejects(async () => {
    await using env = await testEnv();
    dir = env.dir;
    env.defer(() => order.push("first"));
    env.defer(() => {
      order.push("second");
      throw new Error("cleanup broke");
    });
  }, /cleanup broke/);
  assert.deepEqual(order, ["second", "first"]);
  assert.equal(existsSync(dir), false);
});

test("testEnv names the option a missing API needs", async () => {
  await using env = await testEnv();
  assert.throws(() => env.api, /pass \{ api: true \}/);
  assert.throws(() => env.chat, /pass \{ chat: true \}/);
});

test("the mock API's pages, auth, latency and faults options shape its answers", async () => {
  await using env = await testEnv({
    api: { pages: { things: [{ id: 1 }] }, auth: { header: "x-key", value: "k" }, latencyMs: 1, faults: { "/things": [{ status: 503, body: { error: "busy" } }] } },
  });
  const get = (key?: string) => fetch(`${env.api.url}/things`, { headers: key ? { "x-key": key } : {} });
  assert.equal((await get()).status, 401);
  assert.equal((await get("k")).status, 503);
  const ok = await get("k");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { items: [{ id: 1 }] });
});

test("the mock API's script answers the n-th request with the n-th handler, the last one repeating", async () => {
  await using env = await testEnv({
    api: { script: [(res) => void res.writeHead(503).end(), (res, req) => void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ path: req.url }))] },
  });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${env.api.url}/x?i=${i}`)).status);
  assert.deepEqual(statuses, [503, 200, 200]);
  assert.equal(env.api.requests.length, 3);
});
