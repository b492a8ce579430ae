/**
 * src/config/schema.ts: the valibot schema that is the single source of config types. Table-driven
 * like dlt's own config tests: valid shapes pass, each invalid one is refused with its dot path.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as v from "valibot";
import { prepareConfig } from "../../src/config/index.ts";
import { ConfigSchema, formatIssues } from "../../src/config/schema.ts";
import { ConfigError } from "../../src/errors.ts";
import { base, problemsOf, SECRETS } from "./problems.ts";


test("dlt's own spelling oauth2_client_credentials with access_token_url is accepted too", () => {
  const c = base();
  c.client.auth = { type: "oauth2_client_credentials", access_token_url: "https://x/token", client_id: "a", client_secret: "b" };
  assert.deepEqual(problemsOf(c), []);
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
    () => prepareConfig(c, { env: SECRETS, cwd: "/nonexistent" }),
    (error: ConfigError) => {
      assert.equal(error.message, 'Invalid config:\n  resources[0].endpoint.data_selector: Cannot parse JSONPath "$.messages[unclosed": expected a quoted key, an integer index or * inside brackets at position 11');
      assert.match(error.hint ?? "", /^write JSONPaths like \$\.data\.items or data\.items \(filters and scripts are not supported\)/);
      return true;
    },
  );
});

test("formatIssues gives each schema issue as `dot.path: message`, lists with [i]", () => {
  const result = v.safeParse(ConfigSchema, { client: { base_url: 42 }, resources: [{ name: "a", endpoint: { path: "/a", paginator: { type: "offset", limit: -1 } } }] });
  assert.equal(result.success, false);
  const problems = formatIssues(result.issues!);
  assert.ok(problems.some((p) => /^client\.base_url: /.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /^resources\[0\]\.endpoint\.paginator\.limit: expected a positive integer, got -1$/.test(p)), problems.join("\n"));
});
