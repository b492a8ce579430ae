/**
 * The fault matrix (issue 5): every fault the mock chat API can inject, with
 * its defined outcome. Transient faults are retried and the run loads every
 * row; persistent ones fail the run with an error naming the resource, the
 * redacted URL, the last status and the attempts, while the batches committed
 * before stay and nothing from the bad page is loaded. Sleeps are recorded,
 * not slept, so the suite does not wait for backoff, and the backoff's jitter
 * is pinned (`random: () => 0`), so the waits are the documented ones.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { ChatApi, ChatApiOptions, Fault } from "../../src/demo/chat_api.ts";
import { RestduckError } from "../../src/errors.ts";
import { runPipeline, type RunSummary } from "../../src/pipeline/run.ts";
import { queryDb, recordingSleep, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const MESSAGES = 50;
const LIMIT = 10;
/** A secret-named query parameter: every URL shown must mask it. */
const PARAM_SECRET = "param-secret-3f9a";
/** A fixed clock, so a Retry-After HTTP date gives an exact wait. */
const NOW = Date.parse("2026-01-01T00:00:00Z");
/**
 * Bun's and Deno's fetch resend a request once by themselves when its kept-alive connection drops
 * before the answer (Node's does not), so there a drop reaches restduck only when both sends drop.
 */
const SENDS_PER_ATTEMPT = "Bun" in globalThis || "Deno" in globalThis ? 2 : 1;
/**
 * A fault for the next request for page `page` (1-based), whichever request of the run that is: a
 * page waiting out its backoff holds no slot (issue #15), so the next page goes meanwhile and
 * request numbers no longer name pages once one is retried.
 */
const onPage = (page: number, fault: Omit<Fault, "nth" | "match">): Fault => ({ ...fault, match: ({ query }) => query.get("offset") === String((page - 1) * LIMIT) });
/** The same fault for the first `times` requests for page `page`. */
const onPageTimes = (page: number, times: number, fault: Omit<Fault, "nth" | "match">): Fault[] => Array.from({ length: times }, () => onPage(page, fault));
/** `attempts` restduck attempts at page 3, each dropped on every send. */
const dropsFromRequest3 = (attempts: number) => onPageTimes(3, attempts * SENDS_PER_ATTEMPT, { kind: "reset" });

function faultConfig(url: string, retry: Record<string, unknown> = {}): Record<string, unknown> {
  const config = seedConfig(url) as {
    client: Record<string, unknown>;
    resources: { endpoint: Record<string, unknown> & { paginator: { limit: number } } }[];
  };
  config.client.retry = { max_retries: 3, backoff_factor: 2, ...retry };
  config.client.concurrency = 1; // the n-th request is the n-th page, so faults hit a known page
  config.resources[0].endpoint.paginator.limit = LIMIT;
  config.resources[0].endpoint.params = { access_token: PARAM_SECRET };
  return { pipeline_name: "faults", batch_pages: 1, ...config };
}

interface Outcome {
  api: ChatApi;
  summary?: RunSummary;
  error?: RestduckError;
  waits: number[];
  rows: number;
  maxId: number | null;
  run: { status: string; error: string | null };
}

async function runWith(options: ChatApiOptions & { retry?: Record<string, unknown>; hook?: (api: ChatApi, count: number) => void }): Promise<Outcome> {
  let api: ChatApi | undefined;
  const hookFault: Fault[] = options.hook ? [{ match: ({ count }) => (options.hook!(api!, count), false) }] : [];
  // The API is closed and the folder removed on return; the outcome keeps the API's request log.
  await using env = await testEnv({ chat: { messages: MESSAGES, ...options, faults: [...(options.faults ?? []), ...hookFault] }, prefix: "restduck-faults-" });
  api = env.chat;
  const { sleep, waits } = recordingSleep();
  const db = env.path("faults.duckdb");
  const loaded = prepareConfig(faultConfig(api.url, options.retry), { env: SEED_ENV, cwd: env.dir });
  let summary: RunSummary | undefined;
  let error: RestduckError | undefined;
  try {
    summary = await runPipeline(loaded, { database: db, pipelineName: "faults", sleep, now: () => NOW, random: () => 0 });
  } catch (e) {
    assert.ok(e instanceof RestduckError, `a fault ends in a RestduckError, not ${String(e)}`);
    error = e;
  }
  const tables = await queryDb<{ n: number }>(db, "SELECT count(*)::INT AS n FROM information_schema.tables WHERE table_schema = 'faults_dataset' AND table_name = 'chat_messages'");
  const [counts] = tables[0].n
    ? await queryDb<{ n: number; hi: number | null }>(db, "SELECT count(*)::INT AS n, max(id)::INT AS hi FROM faults_dataset.chat_messages")
    : [{ n: 0, hi: null }];
  const [run] = await queryDb<{ status: string; error: string | null }>(db, "SELECT status, error FROM faults_dataset._restduck_runs ORDER BY started_at DESC LIMIT 1");
  return { api, summary, error, waits, rows: counts.n, maxId: counts.hi, run };
}

function assertRecovered(o: Outcome, waits?: number[]): void {
  assert.equal(o.error, undefined, o.error?.message);
  assert.equal(o.summary?.status, "completed");
  assert.equal(o.rows, MESSAGES, "every row loaded once");
  assert.equal(o.run.status, "completed");
  if (waits) assert.deepEqual(o.waits, waits);
}

/** A run that failed on page 3: the clear error, and only pages 1–2 in the table. */
function assertFailedOnPage3(o: Outcome, expect: { status?: number; attempts?: number; message: RegExp }): void {
  assert.ok(o.error, "the run fails");
  const message = o.error.message;
  assert.match(message, /resource chat_messages/, "names the resource");
  assert.match(message, /offset=20/, "names the URL of the failing page");
  assert.match(message, /access_token=\*\*\*/, "the URL is redacted");
  assert.ok(!message.includes(PARAM_SECRET) && !(o.error.hint ?? "").includes(PARAM_SECRET), "no secret in the error");
  if (expect.status) assert.match(message, new RegExp(`\\b${expect.status}\\b`), "names the status");
  if (expect.attempts) assert.match(message, new RegExp(`after ${expect.attempts} attempts`), "names the attempts");
  assert.match(message, expect.message);
  assert.ok(o.error.hint, "says what to do next");
  assert.equal(o.rows, 2 * LIMIT, "the two batches committed before the fault stay");
  assert.equal(o.maxId, 2 * LIMIT, "nothing from the bad page is loaded");
  assert.equal(o.run.status, "failed");
  assert.ok(o.run.error && !o.run.error.includes(PARAM_SECRET), "the stored error is redacted");
}

// Each case has its own API and database, so they run side by side.
describe("the fault matrix", { concurrency: 4 }, () => {
  // ------------------------------------------------------------------ transient: retried, then every row

  for (const status of [500, 502, 503, 504]) {
    test(`a ${status} is retried after the backoff and the run loads every row`, async () => {
      assertRecovered(await runWith({ faults: [{ nth: 3, status }] }), [2000]);
    });
  }

  test("a 429 without Retry-After waits the computed backoff, then succeeds", async () => {
    assertRecovered(await runWith({ faults: onPageTimes(2, 2, { status: 429 }) }), [2000, 4000]);
  });

  // The refused page waits, and so does the next page, held at the gate: a 429's Retry-After pauses every request.
  test("a 429 with Retry-After in seconds waits exactly that long", async () => {
    assertRecovered(await runWith({ faults: [onPage(2, { status: 429, retryAfter: 7 })] }), [7000, 7000]);
  });

  test("a 429 with Retry-After as an HTTP date waits until that date", async () => {
    const date = new Date(NOW + 11_000).toUTCString();
    assertRecovered(await runWith({ faults: [onPage(2, { status: 429, retryAfter: date })] }), [11_000, 11_000]);
  });

  test("a Retry-After longer than max_delay still caps at the client's Retry-After limit, never hangs for hours", async () => {
    const o = await runWith({ faults: [onPage(2, { status: 429, retryAfter: 86_400 })] });
    assertRecovered(o);
    assert.equal(o.waits.length, 2);
    assert.ok(o.waits.every((w) => w <= 300_000), `waited ${o.waits.join(", ")} ms`);
  });

  test("a dropped connection is retried and the run loads every row", async () => {
    assertRecovered(await runWith({ faults: dropsFromRequest3(1) }), [2000]);
  });

  test("a response slower than client.retry.timeout is abandoned and retried", async () => {
    const o = await runWith({ retry: { timeout: 0.25 }, faults: [{ nth: 3, kind: "slow", delayMs: 1500 }] });
    assertRecovered(o, [2000]);
  });

  test("a token that expires mid-run is refreshed once and the run goes on", async () => {
    const o = await runWith({ hook: (api, count) => count === 3 && api.expireTokens() });
    assertRecovered(o, []);
    assert.equal(o.api.tokensIssued, 2);
    const refused = o.api.requests.filter((r) => r.status === 401);
    assert.equal(refused.length, 1, "one 401, then the new token");
  });

  test("a 401 on a token that still looks valid refreshes the token once and retries", async () => {
    const o = await runWith({ faults: [{ nth: 3, status: 401 }] });
    assertRecovered(o, []);
    assert.equal(o.api.tokensIssued, 2);
  });

  test("a token endpoint that answers 503 is retried like any request", async () => {
    const o = await runWith({ faults: [{ token: true, nth: 1, status: 503 }] });
    assertRecovered(o, [2000]);
    assert.equal(o.api.tokensIssued, 1);
  });

  // ------------------------------------------------------------- persistent: a clear error, earlier batches kept

  for (const status of [429, 500, 502, 503, 504]) {
    test(`a ${status} on every attempt fails after 4 attempts naming resource, URL, status and attempts`, async () => {
      const o = await runWith({ faults: onPageTimes(3, 4, { status }) });
      assertFailedOnPage3(o, { status, attempts: 4, message: new RegExp(`${status}`) });
      assert.deepEqual(o.waits, [2000, 4000, 8000], "backoff 2, 4, 8 s between the attempts");
    });
  }

  test("a connection dropped on every attempt fails naming the network error and the attempts", async () => {
    const o = await runWith({ faults: dropsFromRequest3(4) });
    assertFailedOnPage3(o, { attempts: 4, message: /network error/ });
  });

  test("a server slower than the timeout on every attempt fails naming the timeout", async () => {
    const o = await runWith({ retry: { timeout: 0.2, max_retries: 1 }, faults: onPageTimes(3, 2, { kind: "slow", delayMs: 1000 }) });
    assertFailedOnPage3(o, { attempts: 2, message: /no response within 0\.2 s/ });
  });

  test("a 401 that survives the token refresh fails with a credentials hint", async () => {
    const o = await runWith({ faults: onPageTimes(3, 2, { status: 401 }) });
    assertFailedOnPage3(o, { status: 401, message: /401/ });
    assert.match(o.error!.hint!, /credentials/);
    assert.equal(o.api.tokensIssued, 2, "refreshed exactly once");
  });

  test("a token endpoint failing on every attempt fails naming the token URL, and loads nothing", async () => {
    const o = await runWith({ faults: [1, 2, 3, 4].map((nth) => ({ token: true, nth, status: 500 })) });
    assert.ok(o.error);
    assert.match(o.error.message, /\/oauth\/token/);
    assert.match(o.error.message, /500/);
    assert.match(o.error.message, /after 4 attempts/);
    assert.equal(o.rows, 0);
    assert.equal(o.run.status, "failed");
  });

  // ------------------------------------------------------------ unusable 200s: not retried, nothing loaded

  test("a 200 that is not JSON fails with status, content type, URL and the first bytes", async () => {
    const o = await runWith({ faults: [{ nth: 3, kind: "not_json" }] });
    assertFailedOnPage3(o, { status: 200, message: /not valid JSON \(text\/plain.*"OK"/ });
  });

  test("truncated JSON fails with the content type and the first bytes, loading nothing of that page", async () => {
    const o = await runWith({ faults: [{ nth: 3, kind: "truncated" }] });
    assertFailedOnPage3(o, { status: 200, message: /not valid JSON \(application\/json.*cut he/ });
  });

  test("an HTML error page with status 200 fails naming text/html and showing the page's start", async () => {
    const o = await runWith({ faults: [{ nth: 3, kind: "html200" }] });
    assertFailedOnPage3(o, { status: 200, message: /text\/html.*Gateway maintenance/ });
  });

  test("a response without the data_selector path fails naming the selector and the keys it saw", async () => {
    const o = await runWith({ faults: [{ nth: 3, kind: "wrong_selector" }] });
    assertFailedOnPage3(o, { status: 200, message: /data_selector "messages" matches nothing.*top-level keys: data, total/ });
  });
});

// --------------------------------------------------------------------------- through the CLI

test("a failed run exits 1 with the error and hint on stderr, no stack trace, and the next run resumes to every row", async () => {
  await using env = await testEnv({ chat: { messages: MESSAGES, faults: onPageTimes(3, 2, { status: 502 }) }, prefix: "restduck-faults-" });
  const config = env.config(faultConfig(env.chat.url, { max_retries: 1, backoff_factor: 0 }));
  const failed = await env.cli(["run", config, "--db", "f.duckdb"]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /error: resource chat_messages: \[GET\] "http:\/\/127\.0\.0\.1:\d+\/v1\/messages\?access_token=\*\*\*&offset=20&limit=10": 502/);
  assert.match(failed.stderr, /hint: /);
  assert.doesNotMatch(failed.stderr, /\n\s+at /, "no stack trace");
  assert.ok(!failed.stderr.includes(PARAM_SECRET) && !failed.stdout.includes(PARAM_SECRET));
  const from = env.chat.requests.length;
  const again = await env.cli(["run", config, "--db", "f.duckdb"]);
  assert.equal(again.code, 0, again.stderr);
  const offsets = env.chat.requests.slice(from).filter((r) => r.path === "/v1/messages").map((r) => r.query.offset);
  assert.deepEqual(offsets, ["20", "30", "40"], "resumes after the committed pages");
  const [counts] = await queryDb<{ n: number; ids: number }>(env.path("f.duckdb"), "SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM chat_messages");
  assert.deepEqual(counts, { n: MESSAGES, ids: MESSAGES });
});
