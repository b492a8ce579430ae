/**
 * The seed scenario end to end: the mock chat API on 127.0.0.1, the seed
 * config, a real DuckDB file.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { AuthError, HttpError } from "../../src/errors.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { recordingSleep, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const seed = (url: string, env: Record<string, string> = SEED_ENV) => prepareConfig(seedConfig(url), { env, cwd: "/nonexistent" });

test("the seed run loads every message exactly once", async () => {
  await using env = await testEnv({ chat: { messages: 250 } });
  const summary = await env.run(seed(env.chat.url), { pipelineName: "chat" });
  assert.equal(summary.status, "completed");
  assert.equal(summary.resources[0].rows, 250);
  const [counts] = await env.query<{ n: number; ids: number }>("select count(*)::int as n, count(distinct id)::int as ids from chat_messages");
  assert.deepEqual(counts, { n: 250, ids: 250 });
  // offset pagination with limit 100: 0, 100, 200 — and it stops at the total without an extra request.
  const offsets = env.chat.requests.filter((r) => r.path === "/v1/messages").map((r) => [r.query.offset, r.query.limit]);
  assert.deepEqual(offsets, [["0", "100"], ["100", "100"], ["200", "100"]]);
  assert.equal(env.chat.tokensIssued, 1);
});

test("the seed's four fields get real types, timestamp as TIMESTAMP WITH TIME ZONE", async () => {
  await using env = await testEnv({ chat: { messages: 20 } });
  await env.run(seed(env.chat.url), { pipelineName: "chat" });
  const cols = await env.query<{ column_name: string; data_type: string }>(
        "select column_name, data_type from information_schema.columns where table_schema = 'main' and table_name = 'chat_messages' order by ordinal_position",
  );
  const types = Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]));
  assert.equal(types.id, "BIGINT");
  assert.equal(types.timestamp, "TIMESTAMP WITH TIME ZONE");
  assert.equal(types.content, "VARCHAR");
  assert.equal(types.sender_id, "VARCHAR");
  assert.ok(!cols.some((c) => c.column_name.startsWith("_dlt_")), "the view hides bookkeeping columns");
  const [row] = await env.query<{ ts: string }>("select strftime(timestamp at time zone 'UTC', '%Y-%m-%dT%H:%M:%S') as ts from chat_messages where id = 1");
  assert.equal(row.ts, env.chat.messages[0].timestamp.slice(0, 19));
});

test("a second run updates changed messages and adds new ones without duplicates", async () => {
  await using env = await testEnv({ chat: { messages: 150 } });
  await env.run(seed(env.chat.url), { pipelineName: "chat" });
  env.chat.updateMessage(7, { content: "edited: the deploy is done" });
  env.chat.updateMessage(120, { sender_id: "u_new_sender" });
  env.chat.addMessages(60);
  const second = await env.run(seed(env.chat.url), { pipelineName: "chat" });
  assert.equal(second.resources[0].rows, 210);
  const [counts] = await env.query<{ n: number; ids: number }>("select count(*)::int as n, count(distinct id)::int as ids from chat_messages");
  assert.deepEqual(counts, { n: 210, ids: 210 });
  const changed = await env.query<{ id: number; content: string; sender_id: string }>("select id::int as id, content, sender_id from chat_messages where id in (7, 120) order by id");
  assert.equal(changed[0].content, "edited: the deploy is done");
  assert.equal(changed[1].sender_id, "u_new_sender");
  const loads = await env.query<{ n: number }>("select count(*)::int as n from chat_dataset._dlt_loads where status = 0");
  assert.equal(loads[0].n, 2);
});

test("a 429 with Retry-After waits as long as the server asks", async () => {
  await using env = await testEnv({
    chat: {
      messages: 120,
      faults: [
        { nth: 1, status: 429, retryAfter: 3 },
        { nth: 3, status: 429, retryAfter: new Date(Date.now() + 60_000).toUTCString() },
      ],
    },
  });
  const { sleep, waits } = recordingSleep();
  const events: PipelineEvent[] = [];
  const summary = await env.run(seed(env.chat.url), { sleep, onEvent: (e) => events.push(e) });
  assert.equal(summary.resources[0].rows, 120);
  assert.equal(summary.retries, 2);
  assert.equal(waits[0], 3000);
  // An HTTP-date a minute ahead: about 60 s (the clock moved a little since).
  assert.ok(waits[1] > 55_000 && waits[1] <= 60_000, `waited ${waits[1]} ms`);
  assert.equal(events.filter((e) => e.type === "retry").length, 2);
});

test("a 429 really sleeps for Retry-After seconds before retrying", async () => {
  await using env = await testEnv({ chat: { messages: 10, faults: [{ nth: 1, status: 429, retryAfter: 1 }] } });
  await env.run(seed(env.chat.url));
  const calls = env.chat.requests.filter((r) => r.path === "/v1/messages");
  assert.equal(calls.length, 2);
  assert.deepEqual(calls.map((c) => c.status), [429, 200]);
});

test("503s are retried with backoff 2, 4, 8 s and then fail with a clear error after 3 retries", async () => {
  // Every attempt at the second page (offset 100) is answered 503.
  await using env = await testEnv({ chat: { messages: 300, faults: [1, 2, 3, 4].map(() => ({ match: ({ query }) => query.get("offset") === "100", status: 503 })) } });
  const { sleep, waits } = recordingSleep();
  await assert.rejects(
    env.run(seed(env.chat.url), { pipelineName: "chat", sleep, batchPages: 1, random: () => 0 }),
    (error: unknown) => {
      assert.ok(error instanceof HttpError);
      assert.match(error.message, /resource chat_messages/);
      assert.match(error.message, /503/);
      assert.match(error.message, /after 4 attempts/);
      assert.match(error.message, /offset=100/);
      assert.equal(error.attempts, 4);
      return true;
    },
  );
  assert.deepEqual(waits, [2000, 4000, 8000]);
  // The first page was committed before the failure and stays; the run is recorded as failed.
  const [kept] = await env.query<{ n: number }>("select count(*)::int as n from chat_dataset.chat_messages");
  assert.equal(kept.n, 100);
  const [run] = await env.query<{ status: string; error: string }>("select status, error from chat_dataset._restduck_runs");
  assert.equal(run.status, "failed");
  assert.match(run.error, /503/);
});

test("a token the server expires mid-run is refreshed once after the 401", async () => {
  await using env = await testEnv({ chat: { messages: 300 } });
  const events: PipelineEvent[] = [];
  const summary = await env.run(seed(env.chat.url), {
    onEvent: (e) => {
      events.push(e);
      if (e.type === "page" && e.page === 1) env.chat.expireTokens();
    },
  });
  assert.equal(summary.resources[0].rows, 300);
  // Requests in flight with the stale token all get a 401, but they share one new token.
  assert.equal(env.chat.tokensIssued, 2);
  const calls = env.chat.requests.filter((r) => r.path === "/v1/messages");
  assert.deepEqual(calls.filter((c) => c.status === 200).map((c) => c.query.offset).sort(), ["0", "100", "200"]);
  const refused = calls.filter((c) => c.status === 401);
  assert.ok(refused.length >= 1 && refused.length <= 2, `${refused.length} refused`);
  assert.equal(events.filter((e) => e.type === "auth_refresh").length, refused.length);
});

test("a wrong client secret gives a clear auth error that never shows the secret", async () => {
  await using env = await testEnv({ chat: { messages: 10 } });
  const wrong = "wrong-secret-Value-99";
  await assert.rejects(env.run(seed(env.chat.url, { CLIENT_ID: "test-client", CLIENT_SECRET: wrong })), (error: unknown) => {
    assert.ok(error instanceof AuthError, String(error));
    assert.match(error.message, /OAuth2 token request/);
    assert.match(error.message, /401/);
    assert.match(error.message, /invalid_client/);
    assert.ok(!error.message.includes(wrong));
    assert.match(error.hint ?? "", /client_secret/);
    return true;
  });
  // The token endpoint's 401 is not retried: credentials do not get better by waiting.
  assert.equal(env.chat.requests.filter((r) => r.path === "/oauth/token").length, 1);
});

test("write disposition append adds rows on every run, replace keeps only the latest", async () => {
  await using env = await testEnv({ chat: { messages: 30 } });
  const config = (disposition: string) => {
    const c = seedConfig(env.chat.url) as { resource_defaults: Record<string, unknown> };
    c.resource_defaults = { primary_key: "id", write_disposition: disposition };
    return prepareConfig(c, { env: SEED_ENV, cwd: "/nonexistent" });
  };
  await env.run(config("append"), { pipelineName: "a" });
  await env.run(config("append"), { pipelineName: "a" });
  assert.equal((await env.query<{ n: number }>("select count(*)::int as n from a_dataset.chat_messages"))[0].n, 60);
  env.chat.addMessages(5);
  await env.run(config("replace"), { pipelineName: "a" });
  assert.equal((await env.query<{ n: number }>("select count(*)::int as n from a_dataset.chat_messages"))[0].n, 35);
});

test("duplicate keys inside one batch resolve to the last record seen", async () => {
  await using env = await testEnv({ chat: { messages: 5 } });
  // The API serves the same id twice in one page: the later copy wins.
  env.chat.messages.push({ ...env.chat.messages[1], content: "the later copy" });
  await env.run(seed(env.chat.url));
  const rows = await env.query<{ content: string }>("select content from chat_messages where id = 2");
  assert.deepEqual(rows, [{ content: "the later copy" }]);
});
