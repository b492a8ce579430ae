/**
 * src/config/plan.ts: a validated config becomes the plan the pipeline runs — defaults filled in,
 * resource_defaults merged, parents ordered, and the checks that need the whole config.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig, prepareConfig } from "../../src/config/index.ts";
import { planConfig } from "../../src/config/plan.ts";
import { ConfigError } from "../../src/errors.ts";
import { seedConfig } from "../helpers/index.ts";

const base = () => seedConfig("https://api.example.com") as any;
const SECRETS = { CLIENT_ID: "id-1234", CLIENT_SECRET: "secret-5678" };
const plan = (config: unknown) => planConfig(parseConfig(config));

test("the seed config is valid as written, with the oauth2 alias and token_url", () => {
  const { plan } = prepareConfig(base(), { env: SECRETS, cwd: "/nonexistent" });
  const [r] = plan.resources;
  assert.equal(r.name, "chat_messages");
  assert.deepEqual(r.primaryKey, ["id"]);
  assert.equal(r.writeDisposition, "merge");
  assert.equal(r.endpoint.dataSelector, "messages");
  assert.deepEqual(r.endpoint.paginator, { type: "offset", limit: 100, offset: 0, offset_param: "offset", limit_param: "limit", stop_after_empty_page: true });
  assert.equal(plan.auth?.type, "oauth2_client_credentials");
  assert.equal((plan.auth as { access_token_url: string }).access_token_url, "https://api.example.com/oauth/token");
  assert.deepEqual(plan.retry.status_codes, [429, 500, 502, 503, 504]);
  assert.equal(plan.retry.max_retries, 3);
  assert.equal(plan.retry.backoff_factor, 2);
});

test("resource_defaults merge into each resource; params merge one level deep", () => {
  const c = base();
  c.resource_defaults.endpoint = { params: { channel: "general", limit: 5 } };
  c.resources.push({ name: "users", endpoint: { path: "/v1/users", params: { limit: 50 } }, write_disposition: "replace" });
  const { plan } = prepareConfig(c, { env: SECRETS, cwd: "/nonexistent" });
  assert.deepEqual(plan.resources[1].endpoint.params, { channel: "general", limit: 50 });
  assert.equal(plan.resources[1].writeDisposition, "replace");
  assert.deepEqual(plan.resources[1].primaryKey, ["id"]);
  assert.equal(plan.resources[0].endpoint.params.channel, "general");
});

test("planConfig orders a child after the parent its placeholder names, whatever the config's order", () => {
  const p = plan({
    client: { base_url: "https://api.example.com" },
    resources: [
      { name: "comments", endpoint: { path: "/issues/{resources.issues.number}/comments" } },
      { name: "issues", endpoint: "/issues" },
    ],
  });
  assert.deepEqual(p.resources.map((r) => r.name), ["issues", "comments"]);
  assert.deepEqual(p.resources[1].parent?.resource, "issues");
  assert.deepEqual(p.resources[1].parent?.bindings, [{ placeholder: "resources.issues.number", field: "number" }]);
});

test("planConfig refuses a relative path without base_url and a merge strategy without a key, naming the config path", () => {
  assert.throws(
    () => plan({ client: {}, resources: [{ name: "a", endpoint: "/a" }] }),
    (error: ConfigError) => error instanceof ConfigError && /^resources\[0\]\.endpoint\.path: "\/a" is relative and client\.base_url is not set/.test(error.message),
  );
  assert.throws(
    () => plan({ client: { base_url: "https://x" }, resources: [{ name: "a", endpoint: "/a", write_disposition: { disposition: "merge", strategy: "upsert" } }] }),
    /resources\[0\]\.write_disposition: merge strategy "upsert" needs a primary_key/,
  );
});
