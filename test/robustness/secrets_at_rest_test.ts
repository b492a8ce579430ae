/**
 * Secrets at rest (issue #11, item 4): an API that echoes the api_key of the
 * query string into its next link must not get that key into the DuckDB file
 * or its WAL — not in the checkpoint of an interrupted run, not in a failed
 * run's error, not in the free pages a completed run leaves. The raw bytes
 * of the files are searched, while the run works and after it.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { openDatabase } from "../../src/load/db.ts";
import { Loader } from "../../src/load/loader.ts";
import { Redactor } from "../../src/redact.ts";
import { testEnv, type TestEnv } from "../helpers/index.ts";

// '+', '/' and '=' make the key's URL-encoded forms differ from the raw one: all three are searched.
const API_KEY = "sk+live/Zq8Wm3Xr=Echo";
const PAGES = 6;
const PER_PAGE = 5;

interface EchoApi {
  url: string;
  /** Pages asked for, in order, with the api_key each request carried. */
  requests: { page: number; apiKey: string | null }[];
  /** Makes every request from this page on fail with a 500 whose body echoes the key. */
  failFrom: number | undefined;
}

/** A test env whose API (`env.echo`) echoes its query string, api_key included, into the next link (as many real APIs do). */
async function echoEnv(): Promise<TestEnv & { echo: EchoApi }> {
  const api: EchoApi = { url: "", requests: [], failFrom: undefined };
  const answer = (res: ServerResponse, req: IncomingMessage) => {
    const url = new URL(req.url!, "http://127.0.0.1");
    const page = Number(url.searchParams.get("page") ?? 1);
    const apiKey = url.searchParams.get("api_key");
    api.requests.push({ page, apiKey });
    res.setHeader("content-type", "application/json");
    if (apiKey !== API_KEY) {
      res.statusCode = 401;
      return res.end(JSON.stringify({ error: "bad api_key" }));
    }
    if (api.failFrom !== undefined && page >= api.failFrom) {
      res.statusCode = 500;
      return res.end(JSON.stringify({ error: `backend down for ${url.pathname}${url.search} (api_key ${apiKey})` }));
    }
    const messages = Array.from({ length: PER_PAGE }, (_, i) => ({ id: (page - 1) * PER_PAGE + i + 1, text: `message ${page}.${i}` }));
    const next = new URL(url.href);
    next.searchParams.set("page", String(page + 1));
    res.end(JSON.stringify({ messages, next: page < PAGES ? `${api.url}${next.pathname}${next.search}` : null }));
  };
  const env = await testEnv({ prefix: "restduck-secrets-", api: { script: [answer] } });
  api.url = env.api.url;
  return Object.assign(env, { echo: api });
}

function echoConfig(url: string) {
  return prepareConfig(
    {
      pipeline_name: "echo",
      client: { base_url: url, auth: { type: "api_key", name: "api_key", location: "query", api_key: { $secret: "echo_api_key" } }, retry: { max_retries: 1 } },
      resources: [{ name: "messages", endpoint: { path: "/messages", data_selector: "messages", paginator: { type: "json_link", next_url_path: "next" } } }],
    },
    { env: { ECHO_API_KEY: API_KEY }, cwd: "/nonexistent" },
  );
}

const FORMS = [API_KEY, encodeURIComponent(API_KEY), new URLSearchParams({ k: API_KEY }).toString().slice(2)];

/** Which spellings of the key the database file and its WAL hold, byte for byte. */
function leaks(db: string): string[] {
  const found: string[] = [];
  for (const file of [db, `${db}.wal`]) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    for (const form of FORMS) if (bytes.includes(Buffer.from(form))) found.push(`${file.endsWith(".wal") ? "wal" : "db"}: ${form}`);
  }
  return found;
}

test("an api_key echoed into next links never reaches the database file or its WAL, and an interrupted run still resumes", async () => {
  await using env = await echoEnv();
  const api = env.echo;
  const duringRun: string[] = [];
  const stop = new AbortController();
  await assert.rejects(
    env.run(echoConfig(api.url), {
      batchPages: 1,
      signal: stop.signal,
      sleep: async () => {},
      onEvent: (e) => {
        if (e.type !== "batch_committed") return;
        duringRun.push(...leaks(env.db));
        if (e.pages === 3) stop.abort("SIGINT");
      },
    }),
    /interrupted/,
  );
  assert.deepEqual(duringRun, [], "no spelling of the key in the files while the run commits");
  assert.deepEqual(leaks(env.db), [], "no spelling of the key in the files after the interruption");

  const [checkpoint] = await env.query<{ next_request: string; pages: number }>("SELECT next_request, pages::INT AS pages FROM echo_dataset._restduck_checkpoints");
  // The batch committing when the signal came may still land: at least three pages are kept.
  const kept = checkpoint.pages;
  assert.ok(kept >= 3 && kept < PAGES, `pages kept: ${kept}`);
  const stored = JSON.parse(checkpoint.next_request) as { url: string };
  assert.match(stored.url, new RegExp(`page=${kept + 1}`));
  assert.match(stored.url, /api_key=\{\{secret:0\|url\}\}/, "the key's place in the next link is kept as a placeholder");

  const before = api.requests.length;
  const duringResume: string[] = [];
  const summary = await env.run(echoConfig(api.url), { batchPages: 1, sleep: async () => {}, onEvent: (e) => {
      if (e.type === "batch_committed") duringResume.push(...leaks(env.db));
    },
  });
  assert.equal(summary.status, "completed");
  assert.equal(summary.resumed, true);
  const resumedRequests = api.requests.slice(before);
  assert.deepEqual(
    resumedRequests.map((r) => r.page),
    Array.from({ length: PAGES - kept }, (_, i) => kept + 1 + i),
    "the resumed run starts at the stored next link",
  );
  assert.ok(resumedRequests.every((r) => r.apiKey === API_KEY), "the live key is put back into the stored link");
  const [counts] = await env.query<{ n: number; ids: number }>("SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM echo_dataset.messages");
  assert.deepEqual(counts, { n: PAGES * PER_PAGE, ids: PAGES * PER_PAGE });
  assert.deepEqual(duringResume, [], "no spelling of the key in the files while the resumed run commits");
  assert.deepEqual(leaks(env.db), [], "no spelling of the key in the files after completion");
});

test("a failed run whose error echoes the api_key stores its error without the key", async () => {
  await using env = await echoEnv();
  const api = env.echo;
  api.failFrom = 3;
  await assert.rejects(env.run(echoConfig(api.url), { batchPages: 1, sleep: async () => {} }), (error: Error) => {
    assert.ok(!FORMS.some((f) => error.message.includes(f)), error.message);
    return true;
  });
  const [run] = await env.query<{ status: string; error: string }>("SELECT status, error FROM echo_dataset._restduck_runs");
  assert.equal(run.status, "failed");
  assert.match(run.error, /500/);
  assert.deepEqual(leaks(env.db), []);
});

test("a stored position that needs a token of an earlier run is not resumed: the run starts over and says why", async () => {
  await using env = await echoEnv();
  const api = env.echo;
  const stop = new AbortController();
  await assert.rejects(
    env.run(echoConfig(api.url), { batchPages: 1, signal: stop.signal, onEvent: (e) => e.type === "batch_committed" && stop.abort("SIGINT") }),
    /interrupted/,
  );
  // As if the key had been an access token obtained at run time: the next run cannot fill it in.
  const handle = await openDatabase(env.db);
  await handle.run(`UPDATE echo_dataset._restduck_checkpoints SET next_request = replace(next_request::VARCHAR, '{{secret:0|url}}', '{{secret:token}}')::JSON`);
  handle.close();
  const warnings: string[] = [];
  const summary = await env.run(echoConfig(api.url), { onEvent: (e) => e.type === "warning" && warnings.push(e.message) });
  assert.equal(summary.resumed, false);
  assert.match(warnings.join("\n"), /not resuming run .*\{\{secret:token\}\}, a secret this run does not have/);
  const [counts] = await env.query<{ ids: number }>("SELECT count(DISTINCT id)::INT AS ids FROM echo_dataset.messages");
  assert.equal(counts.ids, PAGES * PER_PAGE);
});

test("the loader seals every text it stores about a run: positions, state, errors, pipeline state", async () => {
  await using env = await testEnv({ prefix: "restduck-secrets-" });
  const file = env.path("sealed.duckdb");
  const redactor = new Redactor([API_KEY]);
  const db = await openDatabase(file);
  try {
    const loader = await Loader.open(db, { dataset: "ds", pipelineName: "p", seal: (text) => redactor.seal(text) });
    const schema = { name: "p", version: 1, tables: {} };
    const echo = `https://api.test/x?api_key=${encodeURIComponent(API_KEY)}`;
    await loader.startRun("1.5", { version: "test", resumed: false });
    await loader.commitBatch({ loadId: "1.5", resource: "r", rootTable: "r", primaryKey: [], disposition: "append", schema, rows: new Map(), checkpoint: { next: { url: echo }, pages: 1, rows: 0, state: { [API_KEY]: API_KEY } } });
    await loader.finishRun("1.5", "completed", { schema, state: { cursor: API_KEY } });
    await loader.startRun("2.5", { version: "test", resumed: false });
    await loader.finishRun("2.5", "failed", { error: `boom at ${echo}` });
    await loader.abandonRun("2.5", `gave up on ${API_KEY}`);
    const texts = await db.all<{ t: string }>(
      `SELECT next_request::VARCHAR || state::VARCHAR AS t FROM ds._restduck_checkpoints
       UNION ALL SELECT error FROM ds._restduck_runs WHERE error IS NOT NULL UNION ALL SELECT state FROM ds._dlt_pipeline_state`,
    );
    assert.equal(texts.length, 3);
    for (const { t } of texts) assert.ok(!FORMS.some((f) => t.includes(f)) && t.includes("{{secret:0"), t);
  } finally {
    db.close();
  }
  assert.deepEqual(leaks(file), []);
});

test("sealing puts every spelling of a secret back exactly, and never rescans its own placeholders", () => {
  const redactor = new Redactor(["secret", "p@ss word+/", "tiny".slice(0, 3)]);
  const text = "https://x/?a=secret&b=p%40ss%20word%2B%2F&c=p%40ss+word%2B%2F&d=p@ss word+/&e=abc";
  const sealed = redactor.seal(text);
  assert.equal(sealed, "https://x/?a={{secret:0}}&b={{secret:1|url}}&c={{secret:1|form}}&d={{secret:1}}&e=abc");
  const { value, missing } = redactor.unsealValue({ next: { url: sealed } });
  assert.deepEqual(missing, []);
  assert.equal(value.next.url, text);
  // A rotated secret fills the same placeholder: the stored position follows the config.
  assert.equal(new Redactor(["rotated", "x".repeat(5)]).unsealValue(redactor.seal("k=secret")).value, "k=rotated");
  // A token obtained at run time has no number: a later run only fills it once it has a token of its own.
  const runtime = new Redactor([]);
  runtime.add(["access-123"]);
  assert.equal(runtime.seal("t=access-123"), "t={{secret:token}}");
  assert.deepEqual(new Redactor(["other"]).unsealValue("t={{secret:token}}").missing, ["{{secret:token}}"]);
});
