/**
 * The seed scenario end to end: the mock chat API on 127.0.0.1, the seed
 * config, a real DuckDB file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { AuthError, HttpError } from "../../src/errors.ts";
import { runPipeline, type PipelineEvent } from "../../src/pipeline/run.ts";
import { chatApi, queryDb, recordingSleep, SEED_ENV, seedConfig, tempDir } from "../helpers/index.ts";

const seed = (url: string, env: Record<string, string> = SEED_ENV) => prepareConfig(seedConfig(url), { env, cwd: "/nonexistent" });

test("the seed run loads every message exactly once", async () => {
  const api = await chatApi({ messages: 250 });
  const tmp = tempDir();
  try {
    const db = join(tmp.dir, "chat.duckdb");
    const summary = await runPipeline(seed(api.url), { database: db, pipelineName: "chat" });
    assert.equal(summary.status, "completed");
    assert.equal(summary.resources[0].rows, 250);
    const [counts] = await queryDb<{ n: number; ids: number }>(db, "select count(*)::int as n, count(distinct id)::int as ids from chat_messages");
    assert.deepEqual(counts, { n: 250, ids: 250 });
    // offset pagination with limit 100: 0, 100, 200 — and it stops at the total without an extra request.
    const offsets = api.requests.filter((r) => r.path === "/v1/messages").map((r) => [r.query.offset, r.query.limit]);
    assert.deepEqual(offsets, [["0", "100"], ["100", "100"], ["200", "100"]]);
    assert.equal(api.tokensIssued, 1);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("the seed's four fields get real types, timestamp as TIMESTAMP WITH TIME ZONE", async () => {
  const api = await chatApi({ messages: 20 });
  const tmp = tempDir();
  try {
    const db = join(tmp.dir, "chat.duckdb");
    await runPipeline(seed(api.url), { database: db, pipelineName: "chat" });
    const cols = await queryDb<{ column_name: string; data_type: string }>(
      db,
      "select column_name, data_type from information_schema.columns where table_schema = 'main' and table_name = 'chat_messages' order by ordinal_position",
    );
    const types = Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]));
    assert.equal(types.id, "BIGINT");
    assert.equal(types.timestamp, "TIMESTAMP WITH TIME ZONE");
    assert.equal(types.content, "VARCHAR");
    assert.equal(types.sender_id, "VARCHAR");
    assert.ok(!cols.some((c) => c.column_name.startsWith("_dlt_")), "the view hides bookkeeping columns");
    const [row] = await queryDb<{ ts: string }>(db, "select strftime(timestamp at time zone 'UTC', '%Y-%m-%dT%H:%M:%S') as ts from chat_messages where id = 1");
    assert.equal(row.ts, api.messages[0].timestamp.slice(0, 19));
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("a second run updates changed messages and adds new ones without duplicates", async () => {
  const api = await chatApi({ messages: 150 });
  const tmp = tempDir();
  try {
    const db = join(tmp.dir, "chat.duckdb");
    await runPipeline(seed(api.url), { database: db, pipelineName: "chat" });
    api.updateMessage(7, { content: "edited: the deploy is done" });
    api.updateMessage(120, { sender_id: "u_new_sender" });
    api.addMessages(60);
    const second = await runPipeline(seed(api.url), { database: db, pipelineName: "chat" });
    assert.equal(second.resources[0].rows, 210);
    const [counts] = await queryDb<{ n: number; ids: number }>(db, "select count(*)::int as n, count(distinct id)::int as ids from chat_messages");
    assert.deepEqual(counts, { n: 210, ids: 210 });
    const changed = await queryDb<{ id: number; content: string; sender_id: string }>(db, "select id::int as id, content, sender_id from chat_messages where id in (7, 120) order by id");
    assert.equal(changed[0].content, "edited: the deploy is done");
    assert.equal(changed[1].sender_id, "u_new_sender");
    const loads = await queryDb<{ n: number }>(db, "select count(*)::int as n from chat_dataset._dlt_loads where status = 0");
    assert.equal(loads[0].n, 2);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("a 429 with Retry-After waits as long as the server asks", async () => {
  const api = await chatApi({
    messages: 120,
    faults: [
      { nth: 1, status: 429, retryAfter: 3 },
      { nth: 3, status: 429, retryAfter: new Date(Date.now() + 60_000).toUTCString() },
    ],
  });
  const tmp = tempDir();
  const { sleep, waits } = recordingSleep();
  try {
    const events: PipelineEvent[] = [];
    const summary = await runPipeline(seed(api.url), { database: join(tmp.dir, "c.duckdb"), sleep, onEvent: (e) => events.push(e) });
    assert.equal(summary.resources[0].rows, 120);
    assert.equal(summary.retries, 2);
    assert.equal(waits[0], 3000);
    // An HTTP-date a minute ahead: about 60 s (the clock moved a little since).
    assert.ok(waits[1] > 55_000 && waits[1] <= 60_000, `waited ${waits[1]} ms`);
    assert.equal(events.filter((e) => e.type === "retry").length, 2);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("a 429 really sleeps for Retry-After seconds before retrying", async () => {
  const api = await chatApi({ messages: 10, faults: [{ nth: 1, status: 429, retryAfter: 1 }] });
  const tmp = tempDir();
  try {
    await runPipeline(seed(api.url), { database: join(tmp.dir, "c.duckdb") });
    const calls = api.requests.filter((r) => r.path === "/v1/messages");
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => c.status), [429, 200]);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("503s are retried with backoff 2, 4, 8 s and then fail with a clear error after 3 retries", async () => {
  // Every attempt at the second page (offset 100) is answered 503.
  const api = await chatApi({ messages: 300, faults: [1, 2, 3, 4].map(() => ({ match: ({ query }) => query.get("offset") === "100", status: 503 })) });
  const tmp = tempDir();
  const { sleep, waits } = recordingSleep();
  try {
    const db = join(tmp.dir, "c.duckdb");
    await assert.rejects(
      runPipeline(seed(api.url), { database: db, pipelineName: "chat", sleep, batchPages: 1, random: () => 0 }),
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
    const [kept] = await queryDb<{ n: number }>(db, "select count(*)::int as n from chat_dataset.chat_messages");
    assert.equal(kept.n, 100);
    const [run] = await queryDb<{ status: string; error: string }>(db, "select status, error from chat_dataset._restduck_runs");
    assert.equal(run.status, "failed");
    assert.match(run.error, /503/);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("a token the server expires mid-run is refreshed once after the 401", async () => {
  const api = await chatApi({ messages: 300 });
  const tmp = tempDir();
  try {
    const events: PipelineEvent[] = [];
    const summary = await runPipeline(seed(api.url), {
      database: join(tmp.dir, "c.duckdb"),
      onEvent: (e) => {
        events.push(e);
        if (e.type === "page" && e.page === 1) api.expireTokens();
      },
    });
    assert.equal(summary.resources[0].rows, 300);
    // Requests in flight with the stale token all get a 401, but they share one new token.
    assert.equal(api.tokensIssued, 2);
    const calls = api.requests.filter((r) => r.path === "/v1/messages");
    assert.deepEqual(calls.filter((c) => c.status === 200).map((c) => c.query.offset).sort(), ["0", "100", "200"]);
    const refused = calls.filter((c) => c.status === 401);
    assert.ok(refused.length >= 1 && refused.length <= 2, `${refused.length} refused`);
    assert.equal(events.filter((e) => e.type === "auth_refresh").length, refused.length);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("a wrong client secret gives a clear auth error that never shows the secret", async () => {
  const api = await chatApi({ messages: 10 });
  const tmp = tempDir();
  try {
    const wrong = "wrong-secret-Value-99";
    await assert.rejects(runPipeline(seed(api.url, { CLIENT_ID: "test-client", CLIENT_SECRET: wrong }), { database: join(tmp.dir, "c.duckdb") }), (error: unknown) => {
      assert.ok(error instanceof AuthError, String(error));
      assert.match(error.message, /OAuth2 token request/);
      assert.match(error.message, /401/);
      assert.match(error.message, /invalid_client/);
      assert.ok(!error.message.includes(wrong));
      assert.match(error.hint ?? "", /client_secret/);
      return true;
    });
    // The token endpoint's 401 is not retried: credentials do not get better by waiting.
    assert.equal(api.requests.filter((r) => r.path === "/oauth/token").length, 1);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("write disposition append adds rows on every run, replace keeps only the latest", async () => {
  const api = await chatApi({ messages: 30 });
  const tmp = tempDir();
  try {
    const db = join(tmp.dir, "c.duckdb");
    const config = (disposition: string) => {
      const c = seedConfig(api.url) as { resource_defaults: Record<string, unknown> };
      c.resource_defaults = { primary_key: "id", write_disposition: disposition };
      return prepareConfig(c, { env: SEED_ENV, cwd: "/nonexistent" });
    };
    await runPipeline(config("append"), { database: db, pipelineName: "a" });
    await runPipeline(config("append"), { database: db, pipelineName: "a" });
    assert.equal((await queryDb<{ n: number }>(db, "select count(*)::int as n from a_dataset.chat_messages"))[0].n, 60);
    api.addMessages(5);
    await runPipeline(config("replace"), { database: db, pipelineName: "a" });
    assert.equal((await queryDb<{ n: number }>(db, "select count(*)::int as n from a_dataset.chat_messages"))[0].n, 35);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});

test("duplicate keys inside one batch resolve to the last record seen", async () => {
  const api = await chatApi({ messages: 5 });
  const tmp = tempDir();
  try {
    // The API serves the same id twice in one page: the later copy wins.
    api.messages.push({ ...api.messages[1], content: "the later copy" });
    const db = join(tmp.dir, "c.duckdb");
    await runPipeline(seed(api.url), { database: db });
    const rows = await queryDb<{ content: string }>(db, "select content from chat_messages where id = 2");
    assert.deepEqual(rows, [{ content: "the later copy" }]);
  } finally {
    await api.close();
    tmp.cleanup();
  }
});
