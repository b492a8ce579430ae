/**
 * Response actions as the HTTP client's classification hook (issue #14): one retry loop and one
 * budget whatever asks for the retry, every retry told through the client's one event path, and
 * an ignored answer as a typed result the paginator reads.
 */
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { ResponseActionConfig } from "../../src/config/schema.ts";
import { HttpError } from "../../src/errors.ts";
import { createHttpClient, isIgnored, type HttpEvent } from "../../src/http/client.ts";
import { stopOnIgnored, withResponseActions } from "../../src/paginate/response_actions.ts";
import type { Paginator } from "../../src/paginate/types.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { Redactor } from "../../src/redact.ts";
import { recordingSleep, testEnv } from "../helpers/index.ts";

type Handler = (res: ServerResponse, req: IncomingMessage) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => (res) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

const policy = (maxRetries: number) => ({ max_retries: maxRetries, backoff_factor: 1, max_delay: 60, status_codes: [429, 500, 502, 503, 504], timeout: 10, respect_retry_after: true });

function client(url: string, maxRetries: number, actions: ResponseActionConfig[]) {
  const { sleep, waits } = recordingSleep();
  const events: HttpEvent[] = [];
  const http = withResponseActions(createHttpClient({ baseUrl: url, retry: policy(maxRetries), sleep, random: () => 0, onEvent: (e) => events.push(e) }), actions);
  return { http, waits, retries: () => events.filter((e) => e.type === "retry") };
}

for (const maxRetries of [0, 1, 2, 3]) {
  test(`a server that always answers 503 while a response action also says retry is asked exactly max_retries + 1 times (max_retries ${maxRetries})`, async () => {
    await using env = await testEnv({ api: { script: [json(503, { error: "busy" })] } });
    const { http, retries } = client(env.api.url, maxRetries, [{ status_code: 503, action: "retry" }]);
    await assert.rejects(http.request({ method: "GET", url: "/x" }), (e: unknown) => {
      assert.ok(e instanceof HttpError);
      assert.equal(e.status, 503);
      assert.equal(e.attempts, maxRetries + 1);
      return true;
    });
    assert.equal(env.api.requests.length, maxRetries + 1);
    assert.equal(retries().length, maxRetries);
  });
}

test("503s and a retry asked for inside a 200 share one budget", async () => {
  const busy = json(200, { ok: false, error: "ratelimited" });
  await using env = await testEnv({ api: { script: [json(503, {}), busy, json(503, {}), busy] } });
  const { http, waits, retries } = client(env.api.url, 3, [{ body_path: "error", equals: "ratelimited", action: "retry" }]);
  await assert.rejects(http.request({ method: "GET", url: "/x" }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.equal(e.code, "RESPONSE_ACTION");
    assert.match(e.message, /200 response reports an error: ratelimited \(still after 3 retries\)/);
    assert.equal(e.attempts, 4);
    return true;
  });
  assert.equal(env.api.requests.length, 4);
  // One backoff sequence across both kinds of retry: 1 s, 2 s, 4 s.
  assert.deepEqual(waits, [1000, 2000, 4000]);
  assert.deepEqual(
    retries().map((e) => (e as { reason: string }).reason),
    ["503 Service Unavailable", "response action: ratelimited", "503 Service Unavailable"],
  );
});

test("a retry a response action asks for is told through the client's one event stream, with its status", async () => {
  await using env = await testEnv({ api: { script: [json(200, { ok: false, error: "ratelimited" }, { "retry-after": "7" }), json(200, { ok: true, items: [1] })] } });
  const { http, waits, retries } = client(env.api.url, 2, [{ body_path: "error", equals: "ratelimited", action: "retry" }]);
  const res = await http.request({ method: "GET", url: "/x" });
  assert.deepEqual(res.body, { ok: true, items: [1] });
  // Retry-After is kept exact: jitter applies only to computed backoff.
  assert.deepEqual(waits, [7000]);
  assert.deepEqual(retries(), [{ type: "retry", url: `${env.api.url}/x`, attempt: 1, delayMs: 7000, status: 200, reason: "response action: ratelimited" }]);
});

test("an ignored answer is a typed result with no body, and the walk stops after it", async () => {
  await using env = await testEnv({ api: { script: [json(404, { message: "gone" })] } });
  const { http, retries } = client(env.api.url, 2, [{ status_code: 404, action: "ignore" }]);
  const res = await http.request({ method: "GET", url: "/x" });
  assert.equal(res.ignored, true);
  assert.ok(isIgnored(res));
  assert.equal(res.body, undefined);
  assert.equal(res.status, 404);
  assert.equal(retries().length, 0);
  // A paginator that would always go on ends on the ignored answer, and only on that.
  const onwards: Paginator = { name: "onwards", init: (r) => r, next: (r) => r, totalPages: () => 9 };
  const paginator = stopOnIgnored(onwards);
  const request = { method: "GET" as const, url: "/x", params: {} };
  assert.equal(paginator.next(request, res, []), undefined);
  assert.equal(paginator.totalPages!(res), undefined);
  assert.equal(paginator.next(request, { ...res, ignored: undefined }, []), request);
});

test("a response action that ignores a 503 does so once the client's own retries are spent", async () => {
  await using env = await testEnv({ api: { script: [json(503, { error: "maintenance" })] } });
  const { http, retries } = client(env.api.url, 2, [{ status_code: 503, action: "ignore" }]);
  const res = await http.request({ method: "GET", url: "/x" });
  assert.ok(isIgnored(res));
  assert.equal(env.api.requests.length, 3);
  assert.equal(retries().length, 2);
});

test("a function action may replace the body the page is read from", async () => {
  await using env = await testEnv({ api: { script: [json(200, { data: { rows: [{ id: 1 }] } })] } });
  const unwrap = (view: { body: unknown }) => {
    view.body = (view.body as { data: unknown }).data;
  };
  const { http } = client(env.api.url, 0, [{ status_code: 200, action: unwrap } as ResponseActionConfig]);
  const res = await http.request({ method: "GET", url: "/x" });
  assert.deepEqual(res.body, { rows: [{ id: 1 }] });
  assert.ok(!isIgnored(res));
});

test("in a run, a 503 that a response action also retries is asked max_retries + 1 times, each retry one event", async () => {
  await using env = await testEnv({ api: { script: [json(503, { error: "busy" })] }, prefix: "restduck-actions-" });
  const { sleep } = recordingSleep();
  const events: PipelineEvent[] = [];
  const loaded = prepareConfig(
    {
      client: { base_url: env.api.url, retry: { max_retries: 2 } },
      resources: [{ name: "items", endpoint: { path: "/items", paginator: "single_page", response_actions: [{ status_code: 503, action: "retry" }] } }],
    },
    { env: {}, cwd: env.dir },
  );
  await assert.rejects(env.run(loaded, { pipelineName: "actions", sleep, onEvent: (e) => events.push(e) }), /503/);
  assert.equal(env.api.requests.length, 3);
  const retried = events.filter((e) => e.type === "retry");
  assert.deepEqual(
    retried.map((e) => [e.resource, e.attempt, e.status]),
    [
      ["items", 1, 503],
      ["items", 2, 503],
    ],
  );
});

test("an error a response action reports from the body masks a secret the body echoes", async () => {
  await using env = await testEnv({ api: { script: [json(200, { ok: false, error: "invalid key sk-live-SECRET99" })] } });
  const events: HttpEvent[] = [];
  const { sleep } = recordingSleep();
  const base = createHttpClient({ baseUrl: env.api.url, retry: policy(1), sleep, random: () => 0, redactor: new Redactor(["sk-live-SECRET99"]), onEvent: (e) => events.push(e) });
  const http = withResponseActions(base, [{ body_path: "ok", equals: false, action: "retry" }]);
  await assert.rejects(http.request({ method: "GET", url: "/x" }), (e: unknown) => {
    assert.ok(e instanceof HttpError);
    assert.match(e.message, /reports an error: invalid key \*+/);
    assert.doesNotMatch(e.message, /SECRET99/);
    return true;
  });
  assert.equal(events.length, 1);
  assert.doesNotMatch(JSON.stringify(events), /SECRET99/);
});
