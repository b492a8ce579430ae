/**
 * The dlt config shapes of issue #12 that need run-time support, run against
 * the mock API on 127.0.0.1 into a real DuckDB file, checking the requests
 * that reach the server: `endpoint.data` bodies (form, pairs, raw, empty)
 * with parent and incremental placeholders, `{incremental.*}` in path,
 * params, json, data and headers (`{incremental.lag}` included), and auth
 * type names as bare strings filled from dlt's credential sections; and
 * dlt's layout for nested tables of an scd2 resource (no `_dlt_root_id`).
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CREDENTIALS, makeItems, type MockApi } from "../helpers/mock_api.ts";
import { queryDb, testEnv, type CliResult } from "../helpers/index.ts";
import { harness } from "../vocabulary/helpers.ts";
import { restoreRequest, storableRequest } from "../../src/pipeline/checkpoint_request.ts";
import { pipeline, restApiSource } from "../../src/index.ts";

/** Runs `restduck run config.json --json` in a temp folder; the API is closed and the folder removed afterwards. */
async function runConfig(
  config: (url: string) => unknown,
  options: { env?: Record<string, string> | ((url: string) => Record<string, string>); files?: Record<string, string> } = {},
  check: (ctx: { api: MockApi; result: CliResult; db: string }) => Promise<void>,
): Promise<void> {
  await using env = await testEnv({ api: true, prefix: "restduck-dlt-run-" });
  const { api, dir } = env;
  for (const [path, text] of Object.entries(options.files ?? {})) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  env.config(config(api.url), "config.json");
  const db = env.path("out.duckdb");
  const result = await env.cli(["run", "config.json", "--db", "out.duckdb", "--json"], { env: typeof options.env === "function" ? options.env(api.url) : (options.env ?? {}) });
  await check({ api, result, db });
}

const form = "application/x-www-form-urlencoded";

test("endpoint.data sends a form, repeated pairs, a raw body and no body for an empty form, as dlt does", async () => {
  const post = (name: string, data: unknown) => ({ name, endpoint: { path: "/single", method: "POST", data, paginator: "single_page", data_selector: "data" } });
  await runConfig(
    (url) => ({
      client: { base_url: url },
      resources: [
        post("form_body", { a: "1", b: ["x", "y"], skipped: null, n: 5, flag: true, "with space": "a&b=c" }),
        post("pair_body", [["k", "v1"], ["other", "w"], ["k", "v2"]]),
        post("raw_body", "raw string data"),
        post("empty_body", {}),
      ],
    }),
    {},
    async ({ api, result, db }) => {
      assert.equal(result.code, 0, result.stderr);
      const [f, p, r, e] = api.hits("/single");
      assert.deepEqual([f.method, f.contentType, f.body], ["POST", form, "a=1&b=x&b=y&n=5&flag=true&with+space=a%26b%3Dc"]);
      assert.deepEqual([p.contentType, p.body], [form, "k=v1&other=w&k=v2"]);
      // requests sends a str body with no content type; fetch would add text/plain to a string.
      assert.deepEqual([r.contentType, r.body], [undefined, "raw string data"]);
      assert.deepEqual([e.method, e.contentType, e.body], ["POST", undefined, ""]);
      const rows = await queryDb<{ n: bigint | number }>(db, "select count(*) as n from form_body");
      assert.equal(Number(rows[0].n), 5);
    },
  );
});

test("endpoint.data fills parent fields per parent record and keeps {{ }} as literal braces", async () => {
  await runConfig(
    (url) => ({
      client: { base_url: url },
      resources: [
        { name: "groups", endpoint: { path: "/groups", paginator: "single_page", data_selector: "$" }, primary_key: "name" },
        {
          name: "group_search",
          endpoint: { path: "/single", method: "POST", data: { group: "{resources.groups.name}", escaped: "{{literal}}" }, paginator: "single_page", data_selector: "data" },
        },
        { name: "raw_child", endpoint: { path: "/single", method: "POST", data: "{resources.groups.label}", paginator: "single_page", data_selector: "data" } },
      ],
    }),
    {},
    async ({ api, result }) => {
      assert.equal(result.code, 0, result.stderr);
      // The two children run side by side, and each fetches for its parent records ahead, so the
      // server sees their requests in no fixed order: compare what each child sent, not the interleaving.
      const bodies = api.hits("/single").map((r) => String(r.body));
      assert.deepEqual(bodies.filter((b) => b.startsWith("group=")).sort(), [
        "group=even&escaped=%7Bliteral%7D",
        "group=gone&escaped=%7Bliteral%7D",
        "group=odd&escaped=%7Bliteral%7D",
      ]);
      assert.deepEqual(bodies.filter((b) => !b.startsWith("group=")).sort(), ["Deleted", "Even", "Odd"]);
    },
  );
});

test("{incremental.*} placeholders, {incremental.lag} included, fill path, params, json, data and headers", async () => {
  const incremental = { cursor_path: "updated_at", initial_value: "2024-01-01T00:00:00Z", end_value: "2024-02-01T00:00:00Z", lag: 3600 };
  await runConfig(
    (url) => ({
      client: { base_url: url },
      resources: [
        {
          name: "by_path",
          endpoint: {
            path: "/groups/{incremental.start_value}/items",
            params: { since: "{incremental.start_value}", until: "{incremental.end_value}", lag: "{incremental.lag}", first: "{incremental.initial_value}", last: "{incremental.last_value}" },
            headers: { "X-Group": "{incremental.start_value}|{incremental.lag}" },
            paginator: "single_page",
            data_selector: "items",
            incremental,
          },
        },
        { name: "by_json", endpoint: { path: "/single", method: "POST", json: { since: "{incremental.start_value}", lag: "{incremental.lag}" }, paginator: "single_page", data_selector: "data", incremental } },
        { name: "by_data", endpoint: { path: "/single", method: "POST", data: { since: "{incremental.start_value}", lag: "{incremental.lag}" }, paginator: "single_page", data_selector: "data", incremental } },
      ],
    }),
    {},
    async ({ api, result }) => {
      assert.equal(result.code, 0, result.stderr);
      const [byPath] = api.requests.filter((r) => r.path.startsWith("/groups/"));
      assert.equal(decodeURIComponent(byPath.path), "/groups/2024-01-01T00:00:00Z/items");
      assert.deepEqual(byPath.query, { since: "2024-01-01T00:00:00Z", until: "2024-02-01T00:00:00Z", lag: "3600", first: "2024-01-01T00:00:00Z", last: "2024-01-01T00:00:00Z" });
      assert.equal(byPath.headers["x-group"], "2024-01-01T00:00:00Z|3600");
      const [byJson, byData] = api.hits("/single");
      // In json a whole-string placeholder keeps its type (dlt's preserve_value_type); form values are text.
      assert.deepEqual(byJson.body, { since: "2024-01-01T00:00:00Z", lag: 3600 });
      assert.equal(byData.body, "since=2024-01-01T00%3A00%3A00Z&lag=3600");
    },
  );
});

test('auth "bearer" as a bare string takes its token from SOURCES__REST_API__CREDENTIALS__TOKEN and never prints it', async () => {
  await runConfig(
    (url) => ({ client: { base_url: url, auth: "bearer" }, resources: [{ name: "secured", endpoint: { path: "/auth/bearer", data_selector: "$", paginator: "single_page" } }] }),
    { env: { SOURCES__REST_API__CREDENTIALS__TOKEN: CREDENTIALS.token } },
    async ({ api, result, db }) => {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(api.hits("/auth/bearer")[0].headers.authorization, `Bearer ${CREDENTIALS.token}`);
      assert.equal(Number((await queryDb<{ n: number }>(db, "select count(*) as n from secured"))[0].n), 3);
      assert.ok(!(result.stdout + result.stderr).includes(CREDENTIALS.token), "the token is never printed");
    },
  );
});

test('auth "api_key" as a bare string takes its key and header name from [sources.rest_api.credentials] in .dlt/secrets.toml', async () => {
  await runConfig(
    (url) => ({ client: { base_url: url, auth: "api_key" }, resources: [{ name: "secured", endpoint: { path: "/auth/api-key-header", data_selector: "$", paginator: "single_page" } }] }),
    { files: { ".dlt/secrets.toml": `[sources.rest_api.credentials]\napi_key = "${CREDENTIALS.apiKey}"\nname = "X-API-Key"\n` } },
    async ({ api, result }) => {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(api.hits("/auth/api-key-header")[0].headers["x-api-key"], CREDENTIALS.apiKey);
      assert.ok(!(result.stdout + result.stderr).includes(CREDENTIALS.apiKey));
    },
  );
});

test("http_basic with only a username takes the password from the source-name section, which wins over the general one", async () => {
  await runConfig(
    (url) => ({
      pipeline_name: "shop",
      client: { base_url: url, auth: { type: "http_basic", username: CREDENTIALS.username } },
      resources: [{ name: "secured", endpoint: { path: "/auth/basic", data_selector: "$", paginator: "single_page" } }],
    }),
    { env: { SOURCES__REST_API__SHOP__CREDENTIALS__PASSWORD: CREDENTIALS.password, SOURCES__REST_API__CREDENTIALS__PASSWORD: "the-general-one" } },
    async ({ api, result }) => {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(api.hits("/auth/basic").length, 1);
      assert.ok(!(result.stdout + result.stderr).includes(CREDENTIALS.password));
    },
  );
});

test('auth "oauth2_client_credentials" as a bare string is completed from CREDENTIALS__* and fetches its token', async () => {
  await runConfig(
    (url) => ({ client: { base_url: url, auth: "oauth2_client_credentials" }, resources: [{ name: "secured", endpoint: { path: "/auth/oauth", paginator: "single_page" } }] }),
    { env: { CREDENTIALS__CLIENT_ID: CREDENTIALS.clientId, CREDENTIALS__CLIENT_SECRET: CREDENTIALS.clientSecret } },
    async ({ api, result }) => {
      // The token URL is not set anywhere: a missing credential, exit 2, before any request.
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, /client\.auth \(oauth2_client_credentials\) needs "access_token_url": not in the config, nor in SOURCES__REST_API__CONFIG__CREDENTIALS__ACCESS_TOKEN_URL/);
      assert.equal(api.requests.length, 0);
      assert.ok(!result.stderr.includes(CREDENTIALS.clientSecret));
    },
  );
  await runConfig(
    (url) => ({ client: { base_url: url, auth: "oauth2_client_credentials" }, resources: [{ name: "secured", endpoint: { path: "/auth/oauth", paginator: "single_page" } }] }),
    { env: (url) => ({ CREDENTIALS__CLIENT_ID: CREDENTIALS.clientId, CREDENTIALS__CLIENT_SECRET: CREDENTIALS.clientSecret, SOURCES__CREDENTIALS__ACCESS_TOKEN_URL: `${url}/oauth/token` }) },
    async ({ api, result, db }) => {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(api.hits("/oauth/token").length, 1);
      assert.equal(api.hits("/auth/oauth")[0].headers.authorization, "Bearer oauth-1");
      assert.equal(Number((await queryDb<{ n: number }>(db, "select count(*) as n from secured"))[0].n), 3);
      assert.ok(!(result.stdout + result.stderr).includes(CREDENTIALS.clientSecret));
    },
  );
});

test("in dlt's layout, nested tables of an scd2 resource have no _dlt_root_id, and a new version adds its nested rows once", async () => {
  await using h = harness();
  await using env = await testEnv({ api: true });
  const withTags = (id: number, users: string[]) => ({ ...makeItems(1, id)[0], tags: [{ label: `t${id}`, users }] });
  const config = {
    client: { base_url: env.api.url },
    batch_pages: 1,
    resources: [{ name: "items", write_disposition: { disposition: "merge", strategy: "scd2" }, endpoint: { path: "/offset", data_selector: "items", paginator: { type: "offset", limit: 2 } } }],
  };
  env.api.setItems([withTags(1, ["a"]), withTags(2, ["b", "c"]), withTags(3, ["d"])] as never);
  await h.run(config);
  const columns = await h.query<{ t: string; c: string }>(
    "select table_name as t, column_name as c from information_schema.columns where table_schema = 'vocab_dataset' and table_name like 'items__%' order by all",
  );
  assert.deepEqual([...new Set(columns.map((r) => r.t))], ["items__tags", "items__tags__users"]);
  assert.ok(!columns.some((r) => r.c === "_dlt_root_id"), `no _dlt_root_id: ${JSON.stringify(columns)}`);
  // Item 2 gains a user: a new version of it, with its own nested rows; the unchanged items add none.
  env.api.setItems([withTags(1, ["a"]), withTags(2, ["b", "c", "e"]), withTags(3, ["d"])] as never);
  await h.run(config);
  const users = await h.query<{ id: number; open: boolean; value: string }>(
    `select i.id::int as id, i._dlt_valid_to is null as open, u.value
     from vocab_dataset.items i
     join vocab_dataset.items__tags t on t._dlt_parent_id = i._dlt_id
     join vocab_dataset.items__tags__users u on u._dlt_parent_id = t._dlt_id
     order by id, open, value`,
  );
  assert.deepEqual(users.map((u) => `${u.id}${u.open ? "+" : "-"}${u.value}`), ["1+a", "2-b", "2-c", "2+b", "2+c", "2+e", "3+d"]);
  const [tags] = await h.query<{ n: number }>("select count(*)::int as n from vocab_dataset.items__tags");
  assert.equal(tags.n, 4);
});

test("a checkpoint never stores a data body (it may hold a password); a resumed request takes it from the config again", () => {
  const base = { params: {}, data: { form: [["user", "ada"], ["password", "s3cret-form"]] as [string, string][] } };
  const next = { method: "POST" as const, url: "/items", params: { offset: 20 }, data: base.data };
  const stored = storableRequest(next, base);
  assert.ok(!JSON.stringify(stored).includes("s3cret"), JSON.stringify(stored));
  assert.deepEqual(restoreRequest(JSON.parse(JSON.stringify(stored)), base), { ...next, headers: undefined, json: undefined });
});

test("run reports the keys that do nothing here as warning events naming their paths", async () => {
  await runConfig(
    (url) => ({
      client: { base_url: url },
      resources: [{ name: "items", table_format: "delta", endpoint: { path: "/single", data_selector: "data", paginator: "single_page", response_actions: [{ status_code: 404, action: "skip" }] } }],
    }),
    {},
    async ({ result }) => {
      assert.equal(result.code, 0, result.stderr);
      const warnings = result.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "warning").map((e) => e.message as string);
      assert.ok(warnings.some((w) => /^resources\[0\]\.table_format: "delta" has no effect on DuckDB/.test(w)), JSON.stringify(warnings));
      assert.ok(warnings.some((w) => /^resources\[0\]\.endpoint\.response_actions\[0\]\.action: unknown action "skip" is ignored .*known: ignore, error, retry$/.test(w)), JSON.stringify(warnings));
    },
  );
});

test('the library takes auth "bearer" at once and fills it from the credential sections when it runs', async () => {
  await using env = await testEnv({ api: true, prefix: "restduck-dlt-lib-" });
  const { api, dir } = env;
  const source = restApiSource({ client: { base_url: api.url, auth: "bearer" }, resources: [{ name: "secured", endpoint: { path: "/auth/bearer", data_selector: "$", paginator: "single_page" } }] });
  await using p = pipeline({ database: env.path("lib.duckdb"), cwd: dir, env: { SOURCES__REST_API__CREDENTIALS__TOKEN: CREDENTIALS.token } });
  const summary = await p.run(source);
  assert.equal(summary.status, "completed");
  assert.equal(api.hits("/auth/bearer")[0].headers.authorization, `Bearer ${CREDENTIALS.token}`);
});
