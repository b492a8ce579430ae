import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig, prepareConfig } from "../../src/config/index.ts";
import { ConfigError, SecretError } from "../../src/errors.ts";
import { runCli, SEED_ENV, seedConfig, tempDir, writeConfig } from "../helpers/index.ts";

const base = () => seedConfig("https://api.example.com") as any;
const env = { CLIENT_ID: "id-1234", CLIENT_SECRET: "secret-5678" };
const problemsOf = (config: unknown): string[] => {
  try {
    prepareConfig(config, { env, cwd: "/nonexistent" });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.length ? [...error.problems] : [error.message];
    if (error instanceof SecretError) return [error.message];
    throw error;
  }
  return [];
};

test("the seed config is valid as written, with the oauth2 alias and token_url", () => {
  const { plan } = prepareConfig(base(), { env, cwd: "/nonexistent" });
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

test("dlt's own spelling oauth2_client_credentials with access_token_url is accepted too", () => {
  const c = base();
  c.client.auth = { type: "oauth2_client_credentials", access_token_url: "https://x/token", client_id: "a", client_secret: "b" };
  assert.deepEqual(problemsOf(c), []);
});

test("resource_defaults merge into each resource; params merge one level deep", () => {
  const c = base();
  c.resource_defaults.endpoint = { params: { channel: "general", limit: 5 } };
  c.resources.push({ name: "users", endpoint: { path: "/v1/users", params: { limit: 50 } }, write_disposition: "replace" });
  const { plan } = prepareConfig(c, { env, cwd: "/nonexistent" });
  assert.deepEqual(plan.resources[1].endpoint.params, { channel: "general", limit: 50 });
  assert.equal(plan.resources[1].writeDisposition, "replace");
  assert.deepEqual(plan.resources[1].primaryKey, ["id"]);
  assert.equal(plan.resources[0].endpoint.params.channel, "general");
});

const invalid: [string, (c: any) => void, RegExp][] = [
  ["a string where a positive integer belongs", (c) => (c.resources[0].endpoint.paginator.limit = "100"), /^resources\[0\]\.endpoint\.paginator\.limit: expected a positive integer, got "100"$/],
  ["a zero limit", (c) => (c.resources[0].endpoint.paginator.limit = 0), /^resources\[0\]\.endpoint\.paginator\.limit: expected a positive integer, got 0$/],
  ["an unknown key in the client", (c) => (c.client.base_ulr = "x"), /^client\.base_ulr: unknown key "base_ulr"; known: base_url, headers, auth, paginator, retry/],
  ["an unknown key in an endpoint", (c) => (c.resources[0].endpoint.data_selecter = "x"), /^resources\[0\]\.endpoint\.data_selecter: unknown key/],
  ["an unknown paginator", (c) => (c.resources[0].endpoint.paginator.type = "ofset"), /^resources\[0\]\.endpoint\.paginator\.type: unknown paginator "ofset"; known: auto, single_page, offset, page_number, cursor/],
  ["an unknown auth type", (c) => (c.client.auth.type = "oauth3"), /^client\.auth\.type: unknown auth type "oauth3"; known: bearer, api_key, http_basic, oauth2_client_credentials, oauth2$/],
  ["oauth2 without a token URL", (c) => delete c.client.auth.token_url, /client\.auth \(oauth2\) needs "access_token_url": not in the config, nor in SOURCES__REST_API__CREDENTIALS__ACCESS_TOKEN_URL/],
  ["a wrong write disposition", (c) => (c.resource_defaults.write_disposition = "upsert"), /^resource_defaults\.write_disposition(\.disposition)?: expected one of "append", "replace", "merge", got "upsert"$/],
  ["no resources", (c) => (c.resources = []), /^resources: expected at least one resource/],
  ["resources not a list", (c) => (c.resources = { a: 1 }), /^resources: expected a list of resources/],
  ["a missing client", (c) => delete c.client, /^client: required key "client" is missing$/],
  ["a negative max_retries", (c) => (c.client.retry = { max_retries: -1 }), /^client\.retry\.max_retries: expected a non-negative integer, got -1$/],
  ["merge without a primary key", (c) => delete c.resource_defaults.primary_key, /resources\[0\]: write_disposition "merge" needs a primary_key/],
  ["two resources with one name", (c) => c.resources.push({ ...c.resources[0] }), /resources\[1\]\.name: duplicate resource name "chat_messages"/],
  ["a view name with a quote", (c) => (c.views = { 'x"y': "select 1" }), /^views\.x"y: expected a view name/],
  [
    "an offset paginator that nothing stops",
    (c) => (c.resources[0].endpoint.paginator = { type: "offset", limit: 100, total_path: null, stop_after_empty_page: false }),
    /^resources\[0\]\.endpoint\.paginator: no stop rule: .*set total_path, has_more_path, maximum_offset, or stop_after_empty_page: true$/,
  ],
  [
    "a client page_number paginator that nothing stops",
    (c) => (c.client.paginator = { type: "page_number", total_path: null, stop_after_empty_page: false }),
    /^client\.paginator: no stop rule: .*set total_path, has_more_path, maximum_page, or stop_after_empty_page: true$/,
  ],
  [
    "a data_selector JSONPath that does not parse",
    (c) => (c.resources[0].endpoint.data_selector = "$.messages[?(@.id > 1)]"),
    /^resources\[0\]\.endpoint\.data_selector: Cannot parse JSONPath "\$\.messages\[\?\(@\.id > 1\)\]": filter expressions \[\?\(\.\.\.\)\] are not supported at position 10$/,
  ],
  [
    "a paginator JSONPath that does not parse",
    (c) => (c.resources[0].endpoint.paginator.total_path = "meta[unclosed"),
    /^resources\[0\]\.endpoint\.paginator\.total_path: Cannot parse JSONPath "meta\[unclosed": expected a quoted key, an integer index or \* inside brackets at position 5$/,
  ],
];

for (const [what, mutate, message] of invalid) {
  test(`a config with ${what} is rejected with its path`, () => {
    const c = base();
    mutate(c);
    const problems = problemsOf(c);
    assert.ok(problems.some((p) => message.test(p)), `expected ${message} in:\n${problems.join("\n")}`);
  });
}

test("a missing secret names it, its environment variable and every file looked at", () => {
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, ".dlt"));
    writeFileSync(join(tmp.dir, ".dlt", "secrets.toml"), 'client_id = "from-toml"\n');
    assert.throws(
      () => prepareConfig(base(), { env: {}, cwd: tmp.dir, secretsFile: "extra.toml" }),
      (error: unknown) => {
        // The --secrets file does not exist: that is reported first.
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /extra\.toml/);
        return true;
      },
    );
    writeFileSync(join(tmp.dir, "extra.toml"), "[other]\nx = 1\n");
    assert.throws(
      () => prepareConfig(base(), { env: {}, cwd: tmp.dir, secretsFile: "extra.toml" }),
      (error: unknown) => {
        assert.ok(error instanceof SecretError);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, /"client_secret" \(environment variable CLIENT_SECRET\)/);
        assert.match(error.message, /environment, \.dlt\/secrets\.toml, extra\.toml/);
        assert.doesNotMatch(error.message, /client_id/, "client_id was found in secrets.toml");
        assert.doesNotMatch(error.message, /from-toml/);
        return true;
      },
    );
  } finally {
    tmp.cleanup();
  }
});

test("secrets resolve from the environment first, then .dlt/secrets.toml (top level or [sources]), then --secrets", () => {
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, ".dlt"));
    writeFileSync(join(tmp.dir, ".dlt", "secrets.toml"), '[sources]\nclient_id = "toml-id"\nclient_secret = "toml-secret"\n');
    writeFileSync(join(tmp.dir, "more.json"), JSON.stringify({ client_secret: "json-secret", token: "json-token" }));
    const c = base();
    c.client.headers = { "x-extra": { $secret: "token" } };
    const loaded = prepareConfig(c, { env: { CLIENT_ID: "env-id" }, cwd: tmp.dir, secretsFile: "more.json" });
    const auth = loaded.config.client.auth as { client_id: string; client_secret: string };
    assert.equal(auth.client_id, "env-id");
    assert.equal(auth.client_secret, "toml-secret");
    assert.equal(loaded.plan.headers["x-extra"], "json-token");
    assert.deepEqual(loaded.secretOrigins, { client_id: "env CLIENT_ID", client_secret: ".dlt/secrets.toml", token: "more.json" });
    assert.ok(loaded.secrets.includes("toml-secret") && loaded.secrets.includes("json-token"));
  } finally {
    tmp.cleanup();
  }
});

test("a config error never echoes a secret value put in the wrong place", () => {
  const c = base();
  c.resources[0].endpoint.paginator.limit = { $secret: "client_secret" };
  const problems = problemsOf(c);
  assert.ok(problems.length > 0);
  assert.ok(problems.every((p) => !p.includes("secret-5678")), problems.join("\n"));
});

test("JSON, YAML and TS configs load to the same plan", async () => {
  const tmp = tempDir();
  try {
    writeFileSync(join(tmp.dir, "chat.json"), JSON.stringify(base()));
    writeFileSync(
      join(tmp.dir, "chat.yaml"),
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
      join(tmp.dir, "chat.ts"),
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
    const plans = await Promise.all(["chat.json", "chat.yaml", "chat.ts"].map(async (f) => (await loadConfig(join(tmp.dir, f), { env, cwd: tmp.dir })).plan));
    assert.deepEqual(plans[1], plans[0]);
    assert.deepEqual(plans[2], plans[0]);
  } finally {
    tmp.cleanup();
  }
});

test("unreadable config files say where the syntax breaks", async () => {
  const tmp = tempDir();
  try {
    writeFileSync(join(tmp.dir, "bad.json"), '{\n  "client": {,\n}');
    await assert.rejects(loadConfig(join(tmp.dir, "bad.json"), { env }), /Cannot parse JSON config .*bad\.json at line 2, column \d+/);
    writeFileSync(join(tmp.dir, "bad.yaml"), "client:\n  base_url: [unclosed\n");
    await assert.rejects(loadConfig(join(tmp.dir, "bad.yaml"), { env }), /Cannot parse YAML config .*bad\.yaml at line \d+/);
    await assert.rejects(loadConfig(join(tmp.dir, "missing.json"), { env }), /Cannot read config .*missing\.json: no such file/);
    writeFileSync(join(tmp.dir, "c.txt"), "x");
    await assert.rejects(loadConfig(join(tmp.dir, "c.txt"), { env }), /unknown file type "\.txt"/);
  } finally {
    tmp.cleanup();
  }
});

test("a paginator that stops on a maximum, has_more or the default total is not refused as endless", () => {
  for (const paginator of [
    { type: "offset", limit: 100, total_path: null, stop_after_empty_page: false, maximum_offset: 1000 },
    { type: "offset", limit: 100, total_path: null, stop_after_empty_page: false, has_more_path: "has_more" },
    { type: "offset", limit: 100, stop_after_empty_page: false },
    { type: "page_number", total_path: null, stop_after_empty_page: false, maximum_page: 3 },
    { type: "page_number", total_path: null },
  ]) {
    const c = base();
    c.resources[0].endpoint.paginator = paginator;
    assert.deepEqual(problemsOf(c), [], JSON.stringify(paginator));
  }
});

test("a bad JSONPath keeps its message and its JSONPath hint now that the schema parses it", () => {
  const c = base();
  c.resources[0].endpoint.data_selector = "$.messages[unclosed";
  assert.throws(
    () => prepareConfig(c, { env, cwd: "/nonexistent" }),
    (error: ConfigError) => {
      assert.equal(error.message, 'Invalid config:\n  resources[0].endpoint.data_selector: Cannot parse JSONPath "$.messages[unclosed": expected a quoted key, an integer index or * inside brackets at position 11');
      assert.match(error.hint ?? "", /^write JSONPaths like \$\.data\.items or data\.items \(filters and scripts are not supported\)/);
      return true;
    },
  );
});

test("validate refuses a paginator that nothing stops: exit 2, naming its path", async () => {
  const tmp = tempDir();
  try {
    const c = seedConfig("http://127.0.0.1:9") as any;
    c.resources[0].endpoint.paginator = { type: "offset", limit: 100, total_path: null, stop_after_empty_page: false };
    writeConfig(tmp.dir, c);
    const result = await runCli(["validate", "chat.json"], { cwd: tmp.dir, env: SEED_ENV });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /resources\[0\]\.endpoint\.paginator: no stop rule/);
    assert.doesNotMatch(result.stdout, /is valid/);
  } finally {
    tmp.cleanup();
  }
});
