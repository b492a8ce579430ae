/**
 * src/config/index.ts: the entry that reads, resolves, validates and plans a config
 * (`loadConfig`, `prepareConfig`). Each module behind it has its own suite beside this one:
 * schema_test, plan_test, secrets_test, read_test, graph_test, names_test.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { loadConfig } from "../../src/config/index.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const base = () => seedConfig("https://api.example.com") as any;
const SECRETS = { CLIENT_ID: "id-1234", CLIENT_SECRET: "secret-5678" };

test("JSON, YAML and TS configs load to the same plan", async () => {
  await using env = await testEnv();
  writeFileSync(env.path("chat.json"), JSON.stringify(base()));
  writeFileSync(
    env.path("chat.yaml"),
    `client:
  base_url: https://api.example.com
  auth:
    type: oauth2
    client_id: { $secret: client_id }
    client_secret: { $secret: client_secret }
    token_url: https://api.example.com/oauth/token
resource_defaults:
  primary_key: id
  write_disposition: merge
resources:
  - name: chat_messages
    endpoint:
      path: /v1/messages
      data_selector: messages
      paginator: { type: offset, limit: 100 }
`,
  );
  const helpers = new URL("../../src/config/secrets.ts", import.meta.url).href;
  writeFileSync(
    env.path("chat.ts"),
    `import { secret } from ${JSON.stringify(helpers)};
export default {
  client: {
    base_url: "https://api.example.com",
    auth: { type: "oauth2", client_id: secret("client_id"), client_secret: secret("client_secret"), token_url: "https://api.example.com/oauth/token" },
  },
  resource_defaults: { primary_key: "id", write_disposition: "merge" },
  resources: [{ name: "chat_messages", endpoint: { path: "/v1/messages", data_selector: "messages", paginator: { type: "offset", limit: 100 } } }],
};
`,
  );
  const plans = await Promise.all(["chat.json", "chat.yaml", "chat.ts"].map(async (f) => (await loadConfig(env.path(f), { env: SECRETS, cwd: env.dir })).plan));
  assert.deepEqual(plans[1], plans[0]);
  assert.deepEqual(plans[2], plans[0]);
});

test("validate refuses a paginator that nothing stops: exit 2, naming its path", async () => {
  await using env = await testEnv({ env: SEED_ENV });
  const c = seedConfig("http://127.0.0.1:9") as any;
  c.resources[0].endpoint.paginator = { type: "offset", limit: 100, total_path: null, stop_after_empty_page: false };
  env.config(c);
  const result = await env.cli(["validate", "chat.json"]);
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, /resources\[0\]\.endpoint\.paginator: no stop rule/);
  assert.doesNotMatch(result.stdout, /is valid/);
});
