/**
 * Credentials stay with the API's origin (issue #11, items 3 and 7). Two real servers on
 * 127.0.0.1 with different ports are two origins: the API, and another one that records every
 * request it gets. Whatever leads a run there — a json_link, header_link or auto next page, an
 * absolute endpoint path, a 302 or 307 redirect — the other origin sees no bearer token, api_key
 * (header, query or cookie), basic password or OAuth2 access token, and the run warns once,
 * naming the origin and client.trusted_origins. The OAuth2 token request follows no redirect to
 * another origin and carries no client.headers.
 */
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, before, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { ConfigError, RestduckError } from "../../src/errors.ts";
import { runPipeline, type PipelineEvent, type RunSummary } from "../../src/pipeline/run.ts";
import { testEnv } from "../helpers/index.ts";
import { startMockApi } from "../helpers/mock_api.ts";

const SECRETS = {
  TOKEN: "bearer-SECRET-1111",
  API_KEY: "apikey-SECRET-2222",
  PASSWORD: "basic-SECRET-3333",
  CLIENT_SECRET: "client-SECRET-4444",
  CUSTOM: "custom-SECRET-6666",
};
/** Issued by the API's token endpoint. */
const ACCESS_TOKEN = "access-SECRET-5555";

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Origin {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

type Answer = { status?: number; headers?: Record<string, string>; body?: unknown };

/**
 * A server on 127.0.0.1, port 0, that records every request (all its headers and its raw body, which the
 * mock API's own log does not keep) and answers by path: the mock API with one script handler.
 */
async function origin(routes: (path: string, req: Seen, self: string) => Answer): Promise<Origin> {
  const seen: Seen[] = [];
  let self = "";
  const server = await startMockApi({
    script: [
      (res: ServerResponse, req: IncomingMessage, body: string) => {
        const entry = { method: req.method ?? "", url: req.url ?? "", headers: { ...req.headers }, body };
        seen.push(entry);
        const answer = routes(new URL(entry.url, self).pathname, entry, self);
        res.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers });
        res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
      },
    ],
  });
  self = server.url;
  return { url: self, seen, close: () => server.close() };
}

/** A token endpoint: the client secret in the form, or in Basic credentials (`client_auth: basic`). */
const tokenAnswer = (req: Seen): Answer => {
  const form = new URLSearchParams(req.body);
  const basic = req.headers.authorization === `Basic ${btoa(`client-1:${SECRETS.CLIENT_SECRET}`)}`;
  return basic || form.get("client_secret") === SECRETS.CLIENT_SECRET ? { body: { access_token: ACCESS_TOKEN, expires_in: 3600 } } : { status: 401, body: { error: "invalid_client" } };
};

let api: Origin;
let other: Origin;

before(async () => {
  other = await origin((path, req) => {
    if (path === "/token") return tokenAnswer(req);
    return { body: { data: [{ id: 2 }] } };
  });
  api = await origin((path, req) => {
    const elsewhere = `${other.url}/page2`;
    switch (path) {
      case "/token":
        return tokenAnswer(req);
      case "/token-same-origin":
        return { status: 307, headers: { location: "/token" } };
      case "/token-elsewhere":
        return { status: 307, headers: { location: `${other.url}/token` } };
      case "/json-link":
      case "/auto":
        return { body: { data: [{ id: 1 }], next: elsewhere } };
      case "/header-link":
        return { headers: { link: `<${elsewhere}>; rel="next"` }, body: { data: [{ id: 1 }] } };
      case "/redirect-302":
        return { status: 302, headers: { location: elsewhere } };
      case "/redirect-307":
        return { status: 307, headers: { location: elsewhere } };
      case "/redirect-here":
        return { status: 302, headers: { location: "/page-here" } };
      case "/same-link":
        return { body: { data: [{ id: 1 }], next: `${api.url}/page-here` } };
      default:
        return { body: { data: [{ id: 2 }] } };
    }
  });
});

after(async () => {
  await api?.close();
  await other?.close();
});

/** The secrets the configs' `$secret` refs resolve against. */
const SECRET_ENV = { TOKEN: SECRETS.TOKEN, API_KEY: SECRETS.API_KEY, PASSWORD: SECRETS.PASSWORD, CLIENT_SECRET: SECRETS.CLIENT_SECRET, CUSTOM: SECRETS.CUSTOM };

const AUTHS: Record<string, (api: string) => Record<string, unknown>> = {
  bearer: () => ({ type: "bearer", token: { $secret: "token" } }),
  "api_key in a header": () => ({ type: "api_key", name: "X-API-Key", api_key: { $secret: "api_key" } }),
  "api_key in the query": () => ({ type: "api_key", name: "api_key", api_key: { $secret: "api_key" }, location: "query" }),
  "api_key in a cookie": () => ({ type: "api_key", name: "session", api_key: { $secret: "api_key" }, location: "cookie" }),
  http_basic: () => ({ type: "http_basic", username: "ada", password: { $secret: "password" } }),
  "oauth2 access token": (url) => ({ type: "oauth2_client_credentials", access_token_url: `${url}/token`, client_id: "client-1", client_secret: { $secret: "client_secret" } }),
};

/** Where a page elsewhere comes from, and how many rows the run loads (the first page's and the other origin's). */
const ROUTES: Record<string, { endpoint: (other: string) => Record<string, unknown>; rows: number }> = {
  "a json_link next page": { endpoint: () => ({ path: "json-link", paginator: { type: "json_link", next_url_path: "next" } }), rows: 2 },
  "a header_link next page": { endpoint: () => ({ path: "header-link", paginator: "header_link" }), rows: 2 },
  "an auto-detected next page": { endpoint: () => ({ path: "auto", paginator: "auto" }), rows: 2 },
  "an absolute endpoint path": { endpoint: (o) => ({ path: `${o}/page2`, paginator: "single_page" }), rows: 1 },
  "a 302 redirect": { endpoint: () => ({ path: "redirect-302", paginator: "single_page" }), rows: 1 },
  "a 307 redirect": { endpoint: () => ({ path: "redirect-307", paginator: "single_page" }), rows: 1 },
};

interface Outcome {
  summary?: RunSummary;
  error?: unknown;
  warnings: string[];
  /** What each origin saw during this run. */
  api: Seen[];
  other: Seen[];
}

async function run(client: Record<string, unknown>, endpoint: Record<string, unknown>): Promise<Outcome> {
  await using env = await testEnv({ prefix: "restduck-origin-" });
  const apiFrom = api.seen.length;
  const otherFrom = other.seen.length;
  const events: PipelineEvent[] = [];
  let summary: RunSummary | undefined;
  let error: unknown;
  try {
    const config = { client: { base_url: api.url, ...client }, resources: [{ name: "things", endpoint: { data_selector: "data", ...endpoint } }] };
    summary = await runPipeline(prepareConfig(config, { env: SECRET_ENV }), {
      database: env.db,
      pipelineName: "origin",
      onEvent: (e) => events.push(e),
    });
  } catch (e) {
    error = e;
  }
  return {
    summary,
    error,
    warnings: events.flatMap((e) => (e.type === "warning" ? [e.message] : [])),
    api: api.seen.slice(apiFrom),
    other: other.seen.slice(otherFrom),
  };
}

/** No credential of any kind in what a server saw: no secret in any header, URL or body, no auth or cookie header. */
function assertNoCredentials(seen: Seen[], what: string): void {
  assert.ok(seen.length > 0, `${what}: the other origin was not asked at all`);
  for (const s of seen) {
    assert.equal(s.headers.authorization, undefined, `${what}: Authorization reached the other origin`);
    assert.equal(s.headers.cookie, undefined, `${what}: a cookie reached the other origin`);
    assert.equal(s.headers["x-api-key"], undefined, `${what}: X-API-Key reached the other origin`);
    assert.doesNotMatch(JSON.stringify(s), /SECRET/, `${what}: a secret reached the other origin: ${JSON.stringify(s)}`);
  }
}

/** The API's own requests did carry the credential: the test checks withholding, not a broken auth. */
function assertCredentialed(seen: Seen[], auth: string, what: string): void {
  const page = seen.find((s) => s.method === "GET");
  assert.ok(page, `${what}: the API got no page request`);
  const text = JSON.stringify(page);
  const ok =
    auth === "http_basic"
      ? page.headers.authorization === `Basic ${btoa(`ada:${SECRETS.PASSWORD}`)}`
      : auth === "oauth2 access token"
        ? page.headers.authorization === `Bearer ${ACCESS_TOKEN}`
        : text.includes(auth === "bearer" ? SECRETS.TOKEN : SECRETS.API_KEY);
  assert.ok(ok, `${what}: the API's own request carried no credential: ${text}`);
}

for (const [routeName, route] of Object.entries(ROUTES)) {
  for (const [authName, auth] of Object.entries(AUTHS)) {
    test(`${routeName} on another origin gets no credentials (${authName}), and the run warns once`, async () => {
      const out = await run({ auth: auth(api.url) }, route.endpoint(other.url));
      const what = `${routeName}, ${authName}`;
      assert.equal(out.error, undefined, `${what}: ${String(out.error)}`);
      assert.equal(out.summary?.resources[0].rows, route.rows, what);
      assertNoCredentials(out.other, what);
      if (route.rows === 2 || routeName.includes("redirect")) assertCredentialed(out.api, authName, what);
      const warned = out.warnings.filter((w) => w.includes("client.trusted_origins"));
      assert.equal(warned.length, 1, `${what}: ${out.warnings.join("\n")}`);
      assert.ok(warned[0].includes(other.url), warned[0]);
      assert.doesNotMatch(warned[0], /SECRET/);
    });
  }
}

test("the warning comes once per run however many requests go to the other origin", async () => {
  // Resources: three absolute paths on the other origin, one run.
  await using env = await testEnv({ prefix: "restduck-origin-" });
  const events: PipelineEvent[] = [];
  const resources = ["a", "b", "c"].map((name) => ({ name, endpoint: { path: `${other.url}/page2?r=${name}`, data_selector: "data", paginator: "single_page" } }));
  await runPipeline(prepareConfig({ client: { base_url: api.url, auth: AUTHS.bearer(api.url) }, resources }, { env: SECRET_ENV }), {
    database: env.db,
    onEvent: (e) => events.push(e),
  });
  const warned = events.filter((e) => e.type === "warning" && e.message.includes("client.trusted_origins"));
  assert.equal(warned.length, 1);
});

test("client.trusted_origins lets a listed origin receive the credentials, without a warning", async () => {
  const out = await run({ auth: AUTHS["api_key in a header"](api.url), trusted_origins: [other.url] }, ROUTES["a json_link next page"].endpoint(other.url));
  assert.equal(out.error, undefined, String(out.error));
  assert.equal(out.other.length, 1);
  assert.equal(out.other[0].headers["x-api-key"], SECRETS.API_KEY);
  assert.deepEqual(out.warnings, []);
});

test("a trusted origin gets the credentials after a redirect too; a same-origin redirect keeps them", async () => {
  const trusted = await run({ auth: AUTHS.bearer(api.url), trusted_origins: [`${other.url}/`] }, ROUTES["a 307 redirect"].endpoint(other.url));
  assert.equal(trusted.error, undefined, String(trusted.error));
  assert.equal(trusted.other[0].headers.authorization, `Bearer ${SECRETS.TOKEN}`);
  const same = await run({ auth: AUTHS["api_key in the query"](api.url) }, { path: "redirect-here", paginator: "single_page" });
  assert.equal(same.error, undefined, String(same.error));
  const hop = same.api.find((s) => s.url.startsWith("/page-here"));
  assert.ok(hop?.url.includes(`api_key=${SECRETS.API_KEY}`), JSON.stringify(same.api));
  assert.deepEqual(same.warnings, []);
});

test("endpoint.auth written beside an absolute path goes to that path's origin, without a warning", async () => {
  const endpoint = { path: `${other.url}/page2`, paginator: "single_page", auth: AUTHS["api_key in the query"](api.url) };
  const out = await run({ auth: AUTHS.bearer(api.url) }, endpoint);
  assert.equal(out.error, undefined, String(out.error));
  assert.equal(out.other.length, 1);
  assert.ok(out.other[0].url.includes(`api_key=${SECRETS.API_KEY}`), out.other[0].url);
  assert.equal(out.other[0].headers.authorization, undefined, "client.auth's bearer token went along");
  assert.deepEqual(out.warnings, []);
});

test("client.headers follow to another origin, except those holding a secret or named like a credential", async () => {
  const headers = { "X-Trace": "trace-1", "X-Tenant": { $secret: "custom" }, "X-Auth-Token": "plain-value" };
  const out = await run({ headers, auth: AUTHS.bearer(api.url) }, ROUTES["a json_link next page"].endpoint(other.url));
  assert.equal(out.error, undefined, String(out.error));
  assert.equal(out.api[0].headers["x-tenant"], SECRETS.CUSTOM);
  assert.equal(out.api[0].headers["x-auth-token"], "plain-value");
  assertNoCredentials(out.other, "client.headers");
  assert.equal(out.other[0].headers["x-trace"], "trace-1");
  assert.equal(out.other[0].headers["x-auth-token"], undefined);
});

test("a secret-bearing client header is withheld from another origin even without client.auth, and the run says so", async () => {
  const out = await run({ headers: { "X-Tenant": { $secret: "custom" } } }, ROUTES["a header_link next page"].endpoint(other.url));
  assert.equal(out.error, undefined, String(out.error));
  assertNoCredentials(out.other, "header only");
  assert.equal(out.warnings.filter((w) => w.includes("client.trusted_origins")).length, 1);
});

test("a next page on the API's own origin keeps the credentials and raises no warning", async () => {
  const out = await run({ auth: AUTHS["api_key in a cookie"](api.url) }, { path: "same-link", paginator: { type: "json_link", next_url_path: "next" } });
  assert.equal(out.error, undefined, String(out.error));
  assert.equal(out.api.length, 2);
  for (const s of out.api) assert.equal(s.headers.cookie, `session=${SECRETS.API_KEY}`);
  assert.deepEqual(out.warnings, []);
});

test("an https API whose redirect leads to plain http sends no credentials there, even to a listed origin", async () => {
  // The https API is answered in-process (no certificates on a test machine); the http hop is the real other origin.
  const fetchVia: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith("https://api.example.test/")) return new Response(null, { status: 302, headers: { location: `${other.url}/page2` } });
    return fetch(input, init);
  };
  await using env = await testEnv({ prefix: "restduck-origin-" });
  const events: PipelineEvent[] = [];
  const from = other.seen.length;
  const config = {
    client: { base_url: "https://api.example.test", auth: AUTHS.bearer(api.url), trusted_origins: [other.url] },
    resources: [{ name: "things", endpoint: { path: "moved", data_selector: "data", paginator: "single_page" } }],
  };
  const summary = await runPipeline(prepareConfig(config, { env: SECRET_ENV }), { database: env.db, fetch: fetchVia, onEvent: (e) => events.push(e) });
  assert.equal(summary.resources[0].rows, 1);
  assertNoCredentials(other.seen.slice(from), "downgrade");
  const warned = events.flatMap((e) => (e.type === "warning" && e.message.includes("plain http") ? [e.message] : []));
  assert.equal(warned.length, 1, JSON.stringify(events));
});

test("the OAuth2 token request follows no redirect to another origin: the client secret never arrives there and the run fails clearly", async () => {
  const auth = { ...AUTHS["oauth2 access token"](api.url), access_token_url: `${api.url}/token-elsewhere` };
  const out = await run({ auth }, { path: "single", paginator: "single_page" });
  assert.deepEqual(out.other, [], "the other origin was asked");
  assert.ok(out.error instanceof RestduckError, String(out.error));
  assert.equal(out.error.code, "AUTH_FAILED");
  assert.match(out.error.message, /token request to .*token-elsewhere.* 307, a redirect to http:\/\/127\.0\.0\.1:\d+; the client credentials are not sent there/);
  assert.ok(out.error.message.includes(other.url), out.error.message);
  assert.doesNotMatch(out.error.message + (out.error.hint ?? ""), /SECRET/);
  assert.equal(out.summary, undefined);
});

test("the OAuth2 token request follows a redirect on its own origin", async () => {
  const auth = { ...AUTHS["oauth2 access token"](api.url), access_token_url: `${api.url}/token-same-origin` };
  const out = await run({ auth }, { path: "single", paginator: "single_page" });
  assert.equal(out.error, undefined, String(out.error));
  const page = out.api.find((s) => s.method === "GET");
  assert.equal(page?.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
});

test("a token URL on its own origin (a login server) gets the client's Basic credentials, and only the API gets the token", async () => {
  const auth = { ...AUTHS["oauth2 access token"](api.url), access_token_url: `${other.url}/token`, client_auth: "basic" };
  const out = await run({ auth }, { path: "single", paginator: "single_page" });
  assert.equal(out.error, undefined, String(out.error));
  assert.equal(out.other.length, 1);
  assert.equal(out.other[0].headers.authorization, `Basic ${btoa(`client-1:${SECRETS.CLIENT_SECRET}`)}`);
  assert.equal(out.api[0].headers.authorization, `Bearer ${ACCESS_TOKEN}`);
  assert.deepEqual(out.warnings, []);
});

test("client.headers are not sent to the OAuth2 token endpoint, only to the API", async () => {
  const headers = { "X-Tenant": { $secret: "custom" }, "X-Trace": "trace-1" };
  const out = await run({ headers, auth: AUTHS["oauth2 access token"](api.url) }, { path: "single", paginator: "single_page" });
  assert.equal(out.error, undefined, String(out.error));
  const token = out.api.filter((s) => s.method === "POST");
  assert.equal(token.length, 1);
  assert.equal(token[0].headers["x-tenant"], undefined);
  assert.equal(token[0].headers["x-trace"], undefined);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(token[0].body)), { grant_type: "client_credentials", client_id: "client-1", client_secret: SECRETS.CLIENT_SECRET });
  const page = out.api.find((s) => s.method === "GET");
  assert.equal(page?.headers["x-tenant"], SECRETS.CUSTOM);
});

test("client.trusted_origins accepts origins only, with an error that names the entry", () => {
  for (const bad of ["files.example.com", "https://files.example.com/path", "ftp://files.example.com", "https://user:pw@files.example.com"]) {
    assert.throws(
      () => prepareConfig({ client: { base_url: "https://api.example.com", trusted_origins: [bad] }, resources: ["things"] }),
      (e: unknown) => e instanceof ConfigError && /client\.trusted_origins\[0\].*expected an origin like "https:\/\/files\.example\.com"/.test(e.message),
      bad,
    );
  }
  assert.doesNotThrow(() => prepareConfig({ client: { base_url: "https://api.example.com", trusted_origins: ["https://files.example.com:8443", "https://cdn.example.com/"] }, resources: ["things"] }));
});
