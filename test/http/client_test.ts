import assert from "node:assert/strict";
import { test } from "node:test";
import { createHttpClient, type HttpEvent } from "../../src/http/client.ts";
import { HttpError, ResponseError } from "../../src/errors.ts";
import { Redactor } from "../../src/redact.ts";
import { recordingSleep, testEnv } from "../helpers/index.ts";
import { startMockApi } from "../helpers/mock_api.ts";

const policy = { max_retries: 3, backoff_factor: 2, max_delay: 60, status_codes: [429, 500, 502, 503, 504], timeout: 30, respect_retry_after: true };

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (res: import("node:http").ServerResponse) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

test("a dropped connection is retried like a 503", async () => {
  await using env = await testEnv({ api: { script: [(res) => res.socket!.destroy(), json(200, { ok: 1 })] } });
  const { sleep, waits } = recordingSleep();
  const events: HttpEvent[] = [];
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, sleep, random: () => 0, onEvent: (e) => events.push(e) });
  const res = await http.request({ method: "GET", url: "/x" });
  assert.deepEqual(res.body, { ok: 1 });
  assert.equal(env.api.requests.length, 2);
  assert.deepEqual(waits, [2000]);
  assert.match((events[0] as { reason: string }).reason, /network error/);
});

test("a computed backoff is jittered within [d/2, d] while Retry-After is waited exactly", async () => {
  await using env = await testEnv({ api: { script: [json(503, {}), json(429, {}, { "retry-after": "3" }), json(503, {}), json(200, { ok: 3 })] } });
  const { sleep, waits } = recordingSleep();
  const draws = [0.5, 0.9, 0.2];
  const events: HttpEvent[] = [];
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, sleep, random: () => draws.shift()!, onEvent: (e) => events.push(e) });
  const res = await http.request({ method: "GET", url: "/x" });
  assert.deepEqual(res.body, { ok: 3 });
  // Retry 1: 2 s × (1 − 0.5 × 0.5); retry 2: the server's 3 s, no draw taken; retry 3: 8 s × (1 − 0.5 × 0.9).
  assert.deepEqual(waits, [1500, 3000, 4400]);
  assert.deepEqual(events.map((e) => (e as { delayMs: number }).delayMs), waits);
});

test("each attempt gets its own timeout, so a slow first answer does not doom the retry", async () => {
  await using env = await testEnv({ api: { script: [(res) => setTimeout(() => json(200, { late: true })(res), 1500), json(200, { ok: 2 })] } });
  const { sleep } = recordingSleep();
  const http = createHttpClient({ baseUrl: env.api.url, retry: { ...policy, timeout: 0.3 }, sleep });
  const res = await http.request({ method: "GET", url: "/x" });
  assert.deepEqual(res.body, { ok: 2 });
});

test("a request that times out on every attempt fails naming the timeout and attempts", async () => {
  await using env = await testEnv({ api: { script: [(res) => setTimeout(() => json(200, {})(res), 2000)] } });
  const { sleep } = recordingSleep();
  const http = createHttpClient({ baseUrl: env.api.url, retry: { ...policy, max_retries: 1, timeout: 0.2 }, sleep });
  await assert.rejects(http.request({ method: "GET", url: "/slow" }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.match(e.message, /no response within 0\.2 s \(after 2 attempts\)/);
    return true;
  });
});

test("a 404 is not retried and the error names method, URL and status", async () => {
  await using env = await testEnv({ api: { script: [json(404, { error: "nope" })] } });
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy });
  await assert.rejects(http.request({ method: "GET", url: "/v1/missing", params: { a: 1 } }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.equal(e.status, 404);
    assert.match(e.message, /^\[GET\] "http:\/\/127\.0\.0\.1:\d+\/v1\/missing\?a=1": 404 Not Found/);
    assert.match(e.hint ?? "", /base_url/);
    return true;
  });
  assert.equal(env.api.requests.length, 1);
});

test("an HTML page with status 200 is a clear error with the content type and first bytes", async () => {
  await using env = await testEnv({
    api: { script: [
      (res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><body>Maintenance</body></html>");
      },
    ] },
  });
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy });
  await assert.rejects(http.request({ method: "GET", url: "/x" }), (e: unknown) => {
    assert.ok(e instanceof ResponseError);
    assert.match(e.message, /200 response is not valid JSON \(text\/html, \d+ bytes\): "<html><body>Maintenance/);
    return true;
  });
});

test("secret query parameters and known secrets are masked in errors", async () => {
  await using env = await testEnv({ api: { script: [json(400, { error: "bad", echo: "tok-ABCDEFG" })] } });
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, redactor: new Redactor(["tok-ABCDEFG"]) });
  await assert.rejects(http.request({ method: "GET", url: "/x", params: { api_key: "k-123456", q: "tok-ABCDEFG" } }), (e: unknown) => {
    const text = (e as Error).message;
    assert.ok(!text.includes("k-123456") && !text.includes("tok-ABCDEFG"), text);
    assert.match(text, /api_key=\*\*\*/);
    return true;
  });
});

test("a response larger than the limit is refused without reading it all", async () => {
  await using env = await testEnv({ api: { script: [json(200, { data: "x".repeat(200_000) })] } });
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, maxResponseBytes: 10_000 });
  await assert.rejects(http.request({ method: "GET", url: "/big" }), /larger than 10000 bytes/);
});

test("client.max_response_bytes from a config caps what a run reads", async () => {
  const { prepareConfig } = await import("../../src/config/index.ts");
  const { runPipeline } = await import("../../src/pipeline/run.ts");
  const { chatApi, SEED_ENV, seedConfig, tempDir } = await import("../helpers/index.ts");
  await using env = await testEnv({ chat: { messages: 50 } });
  const config = seedConfig(env.chat.url) as { client: Record<string, unknown> };
  config.client.max_response_bytes = 2000;
  await assert.rejects(
    runPipeline(prepareConfig(config, { env: SEED_ENV, cwd: "/nonexistent" }), { database: `${env.dir}/c.duckdb` }),
    /larger than 2000 bytes/,
  );
});

test("a redirect loop stops after 10 hops with an error naming the URL", async () => {
  await using env = await testEnv({ api: { script: [(res) => void res.writeHead(302, { location: "/again" }).end()] } });
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy });
  await assert.rejects(http.request({ method: "GET", url: "/start" }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.match(e.message, /^\[GET\] "http:\/\/127\.0\.0\.1:\d+\/start": more than 10 redirects \(the last to http:\/\/127\.0\.0\.1:\d+\/again\)/);
    assert.match(e.hint ?? "", /final URL/);
    return true;
  });
  assert.equal(env.api.requests.length, 11);
});

test("a 303 after a POST is followed as a GET without the body, and the response names the final URL", async () => {
  const seen: { method?: string; url?: string; type?: string }[] = [];
  await using env = await testEnv({
    api: { script: [
      (res, req) => {
        seen.push({ method: req.method, url: req.url, type: req.headers["content-type"] });
        res.writeHead(303, { location: "done?x=1" }).end();
      },
      (res, req) => {
        seen.push({ method: req.method, url: req.url, type: req.headers["content-type"] });
        json(200, { ok: 3 })(res);
      },
    ] },
  });
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy });
  const res = await http.request({ method: "POST", url: "/v1/search", form: { q: "a" } });
  assert.deepEqual(res.body, { ok: 3 });
  assert.equal(res.url, `${env.api.url}/v1/done?x=1`);
  assert.deepEqual(seen, [
    { method: "POST", url: "/v1/search", type: "application/x-www-form-urlencoded" },
    { method: "GET", url: "/v1/done?x=1", type: undefined },
  ]);
});

test("a 401 from another origin, which got no credentials, is not answered with new ones and says how to trust it", async () => {
  await using env = await testEnv({ api: { script: [json(200, {})] } });
  // A second origin: another mock API, closed with the env.
  const other = await startMockApi({ script: [json(401, { error: "who are you" })] });
  env.defer(() => other.close());
  const events: HttpEvent[] = [];
  let refreshes = 0;
  const auth = {
    async apply({ headers }: { headers: Record<string, string> }) {
      headers.authorization = "Bearer tok-ABCDEFG";
    },
    async refresh() {
      refreshes++;
      return true;
    },
  };
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, auth, onEvent: (e) => events.push(e) });
  await assert.rejects(http.request({ method: "GET", url: `${other.url}/files/1` }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.equal(e.status, 401);
    assert.equal(e.hint, `credentials are sent only to client.base_url's origin; if ${other.url} should get them too, add "${other.url}" to client.trusted_origins`);
    return true;
  });
  assert.equal(refreshes, 0);
  assert.equal(other.requests.length, 1);
  assert.deepEqual(events, [{ type: "credentials_withheld", url: `${other.url}/files/1`, origin: other.url, downgrade: false }]);
});

test("an http base URL upgraded to https on the same host keeps the credentials; another host does not get them", async () => {
  // The https hops are answered in-process (no certificates on a test machine); the first hop is a real server.
  await using env = await testEnv({ api: { script: [(res) => void res.writeHead(301, { location: "https://127.0.0.1/v1/x" }).end()] } });
  const seen: Record<string, string | null>[] = [];
  const fetchVia: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith("https://")) return fetch(input, init);
    seen.push({ url, authorization: new Headers(init?.headers).get("authorization") });
    return url.startsWith("https://127.0.0.1/") ? new Response(null, { status: 302, headers: { location: "https://elsewhere.test/y" } }) : Response.json({ ok: 4 });
  };
  const auth = {
    async apply({ headers }: { headers: Record<string, string> }) {
      headers.authorization = "Bearer tok-ABCDEFG";
    },
  };
  const http = createHttpClient({ baseUrl: env.api.url, retry: policy, auth, fetch: fetchVia });
  const res = await http.request({ method: "GET", url: "/v1/x" });
  assert.deepEqual(res.body, { ok: 4 });
  assert.deepEqual(seen, [
    { url: "https://127.0.0.1/v1/x", authorization: "Bearer tok-ABCDEFG" },
    { url: "https://elsewhere.test/y", authorization: null },
  ]);
});
