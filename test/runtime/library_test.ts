/**
 * The library API (src/index.ts) against the mock chat API, on whichever
 * runtime runs this file: `node --test`, `deno test -A` or `bun test`.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { ConfigError, InterruptedError, pipeline, restApiSource, SecretError, secret, type PipelineEvent, type SourceConfig } from "../../src/index.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const SECRETS = { client_id: SEED_ENV.CLIENT_ID, client_secret: SEED_ENV.CLIENT_SECRET };
const seedSource = (url: string, extra: Partial<SourceConfig> = {}) => restApiSource({ ...seedConfig(url), ...extra });

test(`a pipeline loads the seed source and queries it back as plain objects (${runtime})`, async () => {
  await using env = await testEnv({ chat: { messages: 230 } });
  const p = pipeline({ database: "chat.duckdb", cwd: env.dir, pipelineName: "chat", secrets: SECRETS, env: {} });
  env.defer(() => p.close()); // close() is the library's own API: the fixture calls it, however the test ends
  const events: PipelineEvent["type"][] = [];
  const summary = await p.run(seedSource(env.chat.url), { onProgress: (e) => events.push(e.type) });
  assert.equal(summary.status, "completed");
  assert.equal(summary.dataset, "chat_dataset");
  assert.deepEqual(summary.resources.map((r) => [r.name, r.rows]), [["chat_messages", 230]]);
  assert.ok(summary.views.includes("chat_messages"));
  assert.equal(events[0], "run_started");
  assert.equal(events.at(-1), "run_finished");
  assert.equal(events.filter((t) => t === "page").length, 3);

  const [row] = await p.query("select count(*) as n, sum(id) as total, min(timestamp) as first, 1.5 as ratio, [1, 2] as ids from chat_messages");
  assert.deepEqual(row, { n: 230, total: (230 * 231) / 2, first: row.first, ratio: 1.5, ids: [1, 2] });
  assert.match(String(row.first), /^2024-03-01 /);
  // Values too large for a double stay exact, as strings.
  const [big] = await p.query("select 12345678901234567::bigint as big, $1::int as param", [7]);
  assert.deepEqual(big, { big: "12345678901234567", param: 7 });
  JSON.stringify(await p.query("select * from chat_messages limit 3"));
});

test("a config file source is read at run time and finds its secrets in .dlt/secrets.toml", async () => {
  await using env = await testEnv({ chat: { messages: 40 } });
  writeFileSync(env.path("Team Chat.json"), JSON.stringify(seedConfig(env.chat.url)));
  mkdirSync(env.path(".dlt"));
  writeFileSync(env.path(".dlt", "secrets.toml"), `[sources]\nclient_id = "${SEED_ENV.CLIENT_ID}"\nclient_secret = "${SEED_ENV.CLIENT_SECRET}"\n`);
  const source = restApiSource("Team Chat.json", { cwd: env.dir });
  assert.equal(source.path, env.path("Team Chat.json"));
  assert.deepEqual(source.resources, []);
  {
    await using p = pipeline({ database: "chat.duckdb", cwd: env.dir, env: {} });
    const summary = await p.run(source);
    assert.equal(summary.pipeline, "team_chat");
    assert.equal(summary.resources[0].rows, 40);
  }
  // Disposed: the file is free for another reader.
  assert.deepEqual(await queryDb(env.path("chat.duckdb"), "select count(*)::int as n from chat_messages"), [{ n: 40 }]);
});

test("restApiSource rejects an invalid config object at once, naming the path, with secret() refs allowed", () => {
  assert.throws(
    () =>
      restApiSource({
        client: { base_url: "https://api.example.com", auth: { type: "bearer", token: secret("token") } },
        resources: [{ name: "m", endpoint: { path: "/m", paginator: { type: "offset", limit: "100" as unknown as number } } }],
      }),
    (error: unknown) => error instanceof ConfigError && /resources\[0\]\.endpoint\.paginator\.limit/.test(error.message),
  );
  const ok = restApiSource({ client: { base_url: "https://api.example.com", auth: { type: "bearer", token: secret("token") } }, resources: ["messages"] });
  assert.deepEqual(ok.resources, ["messages"]);
  assert.equal(JSON.stringify(ok).includes("secret"), false, "a source holds no secret");
});

test("a missing secret fails the run with a SecretError that names it", async () => {
  await using env = await testEnv();
  const p = pipeline({ database: ":memory:", cwd: env.dir, env: {} });
  env.defer(() => p.close());
  await assert.rejects(p.run(seedSource("http://127.0.0.1:9")), (error: unknown) => error instanceof SecretError && /CLIENT_ID/.test(error.message));
});

test("an aborted run keeps its committed batches and the next run resumes to the end", async () => {
  await using env = await testEnv({ chat: { messages: 500 } });
  const p = pipeline({ database: "chat.duckdb", cwd: env.dir, secrets: SECRETS, env: {} });
  env.defer(() => p.close());
  const source = seedSource(env.chat.url, { batch_pages: 1 });
  const controller = new AbortController();
  await assert.rejects(
    p.run(source, { signal: controller.signal, onProgress: (e) => e.type === "batch_committed" && controller.abort() }),
    InterruptedError,
  );
  const [partial] = await p.query<{ n: number }>("select count(*) as n from restduck_dataset.chat_messages");
  assert.ok(partial.n > 0 && partial.n < 500, `partial load, got ${partial.n}`);
  const summary = await p.run(source);
  assert.equal(summary.resumed, true);
  assert.deepEqual(await p.query("select count(*) as n, count(distinct id) as ids from chat_messages"), [{ n: 500, ids: 500 }]);
});

test("run rejects something that is not a source", async () => {
  await using env = await testEnv();
  const p = pipeline({ database: ":memory:" });
  env.defer(() => p.close());
  await assert.rejects(p.run({ kind: "rest_api_source", resources: [] }), /expects a source made by restApiSource/);
});
