/**
 * Every auth type against the mock API's routes: the right credentials get
 * records, wrong ones give a clear error, and no secret shows in a message.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as v from "valibot";
import { createAuthenticator } from "../../src/auth/index.ts";
import { AuthSchema, type AuthConfig } from "../../src/config/schema.ts";
import { AuthError, HttpError } from "../../src/errors.ts";
import { createHttpClient } from "../../src/http/client.ts";
import { Redactor } from "../../src/redact.ts";
import { CREDENTIALS, startMockApi, type MockApi } from "../helpers/mock_api.ts";

const retry = { max_retries: 0, backoff_factor: 0, max_delay: 1, status_codes: [429, 500, 502, 503, 504], timeout: 10, respect_retry_after: true };
let api: MockApi;
before(async () => {
  api = await startMockApi({ items: 5 });
});
after(() => api.close());

async function get(path: string, auth: unknown) {
  const redactor = new Redactor(Object.values(CREDENTIALS));
  const plain = createHttpClient({ baseUrl: api.url, retry, redactor });
  const config = v.parse(AuthSchema, auth) as AuthConfig;
  const authenticator = createAuthenticator(config, { http: plain, redactor });
  const http = createHttpClient({ baseUrl: api.url, retry, redactor, auth: authenticator });
  return http.request({ method: "GET", url: path, params: {} });
}

const cases: [string, string, unknown][] = [
  ["bearer", "/auth/bearer", { type: "bearer", token: CREDENTIALS.token }],
  ["bearer written without a type (dlt's shorthand)", "/auth/bearer", { token: CREDENTIALS.token }],
  ["api_key in a header", "/auth/api-key-header", { type: "api_key", name: "X-API-Key", api_key: CREDENTIALS.apiKey }],
  ["api_key in the query", "/auth/api-key-query", { type: "api_key", name: "api_key", api_key: CREDENTIALS.apiKey, location: "query" }],
  ["api_key in the query, dlt's 'param' spelling", "/auth/api-key-query", { type: "api_key", name: "api_key", api_key: CREDENTIALS.apiKey, location: "param" }],
  ["api_key in a cookie", "/auth/cookie", { type: "api_key", name: "session", api_key: CREDENTIALS.apiKey, location: "cookie" }],
  ["http_basic with a UTF-8 password", "/auth/basic", { type: "http_basic", username: CREDENTIALS.username, password: CREDENTIALS.password }],
];

for (const [what, path, auth] of cases) {
  test(`${what} is accepted by the API`, async () => {
    const res = await get(path, auth);
    assert.equal(res.status, 200);
    assert.equal((res.body as unknown[]).length, 3);
  });
}

test("a wrong bearer token fails with 401 and the message hides the token", async () => {
  await assert.rejects(get("/auth/bearer", { type: "bearer", token: "wrong-token-value" }), (e: Error) => {
    assert.ok(e instanceof HttpError);
    assert.equal(e.status, 401);
    return true;
  });
});

for (const clientAuth of ["body", "basic"] as const) {
  test(`oauth2_client_credentials with client_auth ${clientAuth} gets a token, then records`, async () => {
    const res = await get("/auth/oauth", {
      type: "oauth2",
      token_url: `${api.url}/oauth/token`,
      client_id: CREDENTIALS.clientId,
      client_secret: CREDENTIALS.clientSecret,
      scopes: ["read", "write"],
      access_token_request_data: { audience: "mock" },
      client_auth: clientAuth,
    });
    assert.equal((res.body as { data: unknown[] }).data.length, 3);
    const token = api.hits("/oauth/token").at(-1)!;
    const form = new URLSearchParams(token.body as string);
    assert.equal(form.get("scope"), "read write");
    assert.equal(form.get("audience"), "mock");
    assert.equal(form.has("client_secret"), clientAuth === "body");
    assert.equal(Boolean(token.headers.authorization), clientAuth === "basic");
  });
}

test("a refused OAuth2 token request reports status and error_description, never the secret", async () => {
  await assert.rejects(
    get("/auth/oauth", { type: "oauth2_client_credentials", access_token_url: `${api.url}/oauth/token`, client_id: CREDENTIALS.clientId, client_secret: "not-the-secret" }),
    (e: Error) => {
      assert.ok(e instanceof AuthError);
      assert.match(e.message, /401/);
      assert.match(e.message, /invalid_client: Client authentication failed/);
      assert.doesNotMatch(e.message, /not-the-secret/);
      return true;
    },
  );
});
