/**
 * Concurrent page fetches: several requests in flight, pages committed in
 * order, checkpoints that resume at the first page not committed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { runHttp } from "../../src/pipeline/http_edge.ts";
import { Redactor } from "../../src/redact.ts";
import { recordingSleep, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const seed = (url: string) => prepareConfig(seedConfig(url), { env: SEED_ENV, cwd: "/nonexistent" });

test("offset pages are fetched several at a time once the total is known", async () => {
  await using env = await testEnv({ chat: { messages: 1000, latencyMs: 30 } });
  const summary = await env.run(seed(env.chat.url), { concurrency: 4 });
  assert.equal(summary.resources[0].rows, 1000);
  assert.ok(env.chat.maxInFlight > 1 && env.chat.maxInFlight <= 4, `max in flight ${env.chat.maxInFlight}`);
  const [c] = await env.query<{ n: number; ids: number }>("select count(*)::int n, count(distinct id)::int ids from chat_messages");
  assert.deepEqual(c, { n: 1000, ids: 1000 });
});

test("concurrency 1 fetches one page at a time", async () => {
  await using env = await testEnv({ chat: { messages: 500, latencyMs: 10 } });
  await env.run(seed(env.chat.url), { concurrency: 1 });
  assert.equal(env.chat.maxInFlight, 1);
});

test("a failing page stops the run after the pages before it are committed, and a rerun resumes there", async () => {
  await using env = await testEnv({ chat: { messages: 1000 } });
  const { sleep } = recordingSleep();
  const failAt500 = [1, 2, 3, 4].map(() => ({ match: ({ query }: { query: URLSearchParams }) => query.get("offset") === "500", status: 503 }));
  env.chat.addFaults(failAt500);
  await assert.rejects(env.run(seed(env.chat.url), { pipelineName: "chat", concurrency: 4, batchPages: 1, sleep }), /503/);
  const [kept] = await env.query<{ n: number; max: number }>("select count(*)::int n, max(id)::int max from chat_dataset.chat_messages");
  assert.deepEqual(kept, { n: 500, max: 500 });
  const before = env.chat.requests.length;
  const second = await env.run(seed(env.chat.url), { pipelineName: "chat", concurrency: 4, batchPages: 1, sleep });
  assert.equal(second.resumed, true);
  const refetched = env.chat.requests.slice(before).filter((r) => r.path === "/v1/messages").map((r) => Number(r.query.offset));
  assert.ok(Math.min(...refetched) === 500, `resumed at ${Math.min(...refetched)}`);
  const [all] = await env.query<{ n: number; ids: number }>("select count(*)::int n, count(distinct id)::int ids from chat_messages");
  assert.deepEqual(all, { n: 1000, ids: 1000 });
});

test("a run whose config changed since the failure starts over instead of resuming, and says why", async () => {
  await using env = await testEnv({ chat: { messages: 600 } });
  const { sleep } = recordingSleep();
  env.chat.addFaults([1, 2, 3, 4].map(() => ({ match: ({ query }: { query: URLSearchParams }) => query.get("offset") === "300", status: 503 })));
  await assert.rejects(env.run(seed(env.chat.url), { pipelineName: "chat", batchPages: 1, sleep }), /503/);
  const changed = seedConfig(env.chat.url) as { resources: { endpoint: { paginator: { limit: number } } }[] };
  changed.resources[0].endpoint.paginator.limit = 200;
  const warnings: string[] = [];
  const before = env.chat.requests.length;
  const second = await env.run(prepareConfig(changed, { env: SEED_ENV, cwd: "/nonexistent" }), {
    pipelineName: "chat",
    sleep,
    onEvent: (e) => void (e.type === "warning" && warnings.push(e.message)),
  });
  assert.equal(second.resumed, false);
  assert.ok(warnings.some((w) => /config changed since this run stopped/.test(w)), warnings.join("\n"));
  const first = env.chat.requests.slice(before).find((r) => r.path === "/v1/messages");
  assert.deepEqual([first?.query.offset, first?.query.limit], ["0", "200"]);
  const runs = await env.query<{ status: string }>("select status from chat_dataset._restduck_runs order by started_at");
  assert.deepEqual(runs.map((r) => r.status), ["abandoned", "completed"]);
  const [all] = await env.query<{ n: number; ids: number }>("select count(*)::int n, count(distinct id)::int ids from chat_messages");
  assert.deepEqual(all, { n: 600, ids: 600 });
});

test("without client.concurrency the limit starts at 4 and may grow to 16; a configured one is where it starts and a hard cap", () => {
  const limitOf = (config: Record<string, unknown>, concurrency?: number) => {
    const loaded = prepareConfig(config, { env: SEED_ENV, cwd: "/nonexistent" });
    const edge = runHttp(loaded, [], { database: ":memory:", concurrency }, { pipelineName: "chat", redactor: new Redactor(), emit: () => {} });
    const start = edge.adaptive.current;
    for (let i = 0; i < 1000; i++) edge.adaptive.onSuccess();
    return [start, edge.adaptive.current];
  };
  const config = seedConfig("http://127.0.0.1:9") as { client: Record<string, unknown> };
  assert.deepEqual(limitOf(config), [4, 16]);
  assert.deepEqual(limitOf({ ...config, client: { ...config.client, concurrency: 8 } }), [8, 8]);
  assert.deepEqual(limitOf({ ...config, client: { ...config.client, concurrency: 32 } }), [32, 32]);
  assert.deepEqual(limitOf(config, 2), [2, 2], "the run option caps it too");
});
