/**
 * Record and replay (issue #16.1): a run's HTTP exchanges in a HAR file with no secret in it, and a
 * replay that rebuilds the same database with no network and no secrets.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pipeline, restApiSource } from "../../src/index.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

/** The seed config as an incremental merge on id, with quick retries, so a recording holds faults without long waits. */
function config(url: string, limit = 100): Record<string, unknown> {
  const c = seedConfig(url) as { client: Record<string, unknown>; resources: Record<string, any>[] };
  c.client.retry = { backoff_factor: 0.01 };
  c.resources[0].endpoint.paginator.limit = limit;
  c.resources[0].endpoint.incremental = { cursor_path: "id", initial_value: 0 };
  return c;
}

/** Everything a run leaves that is not random: every view's rows in order, the dataset's column types, the incremental state. */
async function content(db: string): Promise<string> {
  const views = (await queryDb<{ v: string }>(db, `select view_name as v from duckdb_views() where schema_name = 'main' and not internal and view_name not like '\\_%' escape '\\' order by 1`)).map((r) => r.v);
  const out: Record<string, unknown> = {};
  for (const v of views) out[v] = await queryDb(db, `select * from "${v}" order by all`);
  out.columns = await queryDb(db, `select table_name, column_name, data_type from information_schema.columns where table_schema = 'chat_dataset' and table_name not like '\\_%' escape '\\' order by 1, 2`);
  out.state = (await queryDb<{ state: string }>(db, `select state::varchar as state from chat_dataset._restduck_checkpoints where state is not null`)).map((r) => JSON.parse(r.state));
  return JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

test("a run recorded with faults and a token refresh replays offline, without secrets, into the same tables, and the recording holds no secret", async () => {
  await using env = await testEnv({
    chat: {
      messages: 640,
      faults: [
        { nth: 2, status: 503 },
        { nth: 4, status: 429, retryAfter: 0 },
      ],
    },
  });
  const api = env.chat;
  // Every token is refused once, mid-run: the recording holds the 401 and the second token request.
  api.onRequest = (n) => {
    if (n === 5) api.expireTokens();
  };
  env.config(config(api.url));
  const recorded = await env.cli(["run", "chat.json", "--db", "recorded.duckdb", "--record", "rec"]);
  assert.equal(recorded.code, 0, recorded.stderr);
  assert.match(recorded.stderr, /recording to .*rec\/chat\.har/);
  assert.ok(api.tokensIssued >= 2, "the run refreshed its token");
  await api.close();

  // The recording: HAR 1.2, the token requests, the faults and the retries, in order; no secret or token anywhere.
  const bytes = readFileSync(env.path("rec", "chat.har"), "utf8");
  const har = JSON.parse(bytes);
  assert.equal(har.log.version, "1.2");
  const entries = har.log.entries as { request: { method: string; url: string }; response: { status: number } }[];
  assert.equal(entries.filter((e) => e.request.url.endsWith("/oauth/token")).length, api.tokensIssued);
  // Requests in flight when the tokens expired each got their 401.
  assert.deepEqual([...new Set(entries.filter((e) => e.response.status !== 200).map((e) => e.response.status))].sort(), [401, 429, 503]);
  const tokens = new Set(api.requests.map((r) => r.authorization?.replace(/^Bearer /, "")).filter((v): v is string => !!v));
  assert.ok(tokens.size >= 2);
  for (const secret of [SEED_ENV.CLIENT_ID, SEED_ENV.CLIENT_SECRET, ...tokens]) assert.ok(!bytes.includes(secret), `the recording holds ${secret.slice(0, 4)}…`);
  assert.ok(!bytes.includes(Buffer.from(`${SEED_ENV.CLIENT_ID}:${SEED_ENV.CLIENT_SECRET}`).toString("base64")));

  // The replay: the API is closed and no secret is set.
  const replayed = await env.cli(["run", "chat.json", "--db", "replayed.duckdb", "--replay", "rec"], { env: {} });
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stderr, /replaying .*chat\.har/);
  assert.equal(await content(env.path("replayed.duckdb")), await content(env.path("recorded.duckdb")));
  const rows = await env.query<{ n: bigint }>("select count(*) as n from chat_messages", env.path("replayed.duckdb"));
  assert.equal(Number(rows[0].n), 640);
});

test("a replay refuses a request the recording does not hold, naming it, and never reaches the network", async () => {
  await using env = await testEnv({ chat: { messages: 150 } });
  const api = env.chat;
  env.config(config(api.url));
  assert.equal((await env.cli(["run", "chat.json", "--db", "a.duckdb", "--record", "rec"])).code, 0);
  const before = api.requests.length;
  // The config changed since (limit 50): its first page was never recorded. The API is still up, and must not be asked.
  env.config(config(api.url, 50));
  const res = await env.cli(["run", "chat.json", "--db", "b.duckdb", "--replay", "rec"], { env: {} });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /holds no answer for \[GET\] "http:\/\/127\.0\.0\.1:\d+\/v1\/messages\?offset=0&limit=50"; replay never goes to the network/);
  assert.equal(api.requests.length, before, "no request reached the API");

  const none = await env.cli(["run", "chat.json", "--replay", "nowhere"], { env: {} });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /No recording of pipeline chat in .*nowhere/);
  const both = await env.cli(["run", "chat.json", "--replay", "rec", "--record", "rec2"], { env: {} });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /mutually exclusive/);
});

test("the library records and replays too: a notebook reruns offline", async () => {
  await using env = await testEnv({ chat: { messages: 120 } });
  const api = env.chat;
  const { dir } = env;
  const source = restApiSource(config(api.url));
  {
    await using p = pipeline({ database: join(dir, "live.duckdb"), pipelineName: "chat", secrets: { client_id: SEED_ENV.CLIENT_ID, client_secret: SEED_ENV.CLIENT_SECRET } });
    assert.equal((await p.run(source, { record: join(dir, "rec") })).resources[0].rows, 120);
  }
  await api.close();
  assert.deepEqual(readdirSync(join(dir, "rec")), ["chat.har"]);
  await using offline = pipeline({ database: join(dir, "offline.duckdb"), pipelineName: "chat", env: {} });
  assert.equal((await offline.run(source, { replay: join(dir, "rec") })).resources[0].rows, 120);
  assert.deepEqual(await offline.query("select count(*) as n from chat_messages"), [{ n: 120 }]);
});
