/**
 * Table-driven config tests for the dlt vocabulary: every invalid fixture
 * with the exact message it must give (path, what is allowed), and valid
 * fixtures with the plan they make (dlt's defaults applied).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { ConfigError } from "../../src/errors.ts";

const base = () => ({ client: { base_url: "https://api.example.com" }, resources: [{ name: "issues", endpoint: { path: "/issues" } }] as any[] });
const planOf = (c: unknown) => prepareConfig(c, { env: {}, cwd: "/nonexistent" }).plan;
const problemsOf = (c: unknown): string[] => {
  try {
    planOf(c);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.length ? [...error.problems] : [error.message];
    throw error;
  }
  return [];
};

const invalid: [string, (c: any) => void, string][] = [
  ["unknown paginator", (c) => (c.resources[0].endpoint.paginator = { type: "ofset" }), "resources[0].endpoint.paginator.type: unknown paginator \"ofset\"; known: auto, single_page, offset, page_number, cursor, json_link, header_link, header_cursor, json_response"],
  ["paginator string unknown", (c) => (c.resources[0].endpoint.paginator = "cursorr"), "resources[0].endpoint.paginator.type: unknown paginator \"cursorr\"; known: auto, single_page, offset, page_number, cursor, json_link, header_link, header_cursor, json_response"],
  ["unknown auth", (c) => (c.client.auth = { type: "oauth3" }), "client.auth.type: unknown auth type \"oauth3\"; known: bearer, api_key, http_basic, oauth2_client_credentials, oauth2"],
  ["api_key location", (c) => (c.client.auth = { type: "api_key", api_key: "x", location: "body" }), "client.auth.location: expected one of \"header\", \"query\", \"param\", \"cookie\", got \"body\""],
  ["incremental missing cursor_path", (c) => (c.resources[0].endpoint.incremental = { initial_value: 1 }), "resources[0].endpoint.incremental.cursor_path: required key \"cursor_path\" is missing"],
  ["last_value_func", (c) => (c.resources[0].endpoint.incremental = { cursor_path: "a", last_value_func: "avg" }), "resources[0].endpoint.incremental.last_value_func: expected one of \"max\", \"min\", got \"avg\""],
  ["range_start", (c) => (c.resources[0].endpoint.incremental = { cursor_path: "a", range_start: "half" }), "resources[0].endpoint.incremental.range_start: expected one of \"closed\", \"open\", got \"half\""],
  ["on_cursor_value_missing", (c) => (c.resources[0].endpoint.incremental = { cursor_path: "a", on_cursor_value_missing: "skip" }), "resources[0].endpoint.incremental.on_cursor_value_missing: expected one of \"raise\", \"include\", \"exclude\", got \"skip\""],
  ["convert", (c) => (c.resources[0].endpoint.incremental = { cursor_path: "a", convert: "epoch" }), "resources[0].endpoint.incremental.convert: expected one of \"unix_seconds\", \"unix_ms\", \"iso\", \"date\" or a function, got \"epoch\""],
  ["lag neg", (c) => (c.resources[0].endpoint.incremental = { cursor_path: "a", lag: -1 }), "resources[0].endpoint.incremental.lag: expected a non-negative number (seconds for date-times, days for dates), got -1"],
  ["response action", (c) => (c.resources[0].endpoint.response_actions = [{ status_code: 404, action: 7 }]), "resources[0].endpoint.response_actions[0].action: expected one of \"ignore\", \"error\", \"retry\" or a function, got 7"],
  ["response equals without body_path", (c) => (c.resources[0].endpoint.response_actions = [{ equals: false, action: "error" }]), "resources[0].endpoint.response_actions[0]: \"equals\" and \"not_equals\" need \"body_path\""],
  ["param type", (c) => (c.resources[0].endpoint.params = { x: { type: "resolved", resource: "a", field: "b" } }), "resources[0].endpoint.params.x.type: unknown param type \"resolved\"; known: resolve, incremental"],
  ["filter two ops", (c) => (c.resources[0].processing_steps = [{ filter: { field: "a", equals: 1, in: [1] } }]), "resources[0].processing_steps[0].filter: a filter needs exactly one of: equals, not_equals, in, not_in, exists"],
  ["step empty", (c) => (c.resources[0].processing_steps = [{}]), "resources[0].processing_steps[0]: a processing step needs \"filter\" or \"map\""],
  ["step unknown", (c) => (c.resources[0].processing_steps = [{ reduce: 1 }]), "resources[0].processing_steps[0].reduce: unknown key \"reduce\"; known: filter, map"],
  ["map unknown", (c) => (c.resources[0].processing_steps = [{ map: { upper: ["a"] } }]), "resources[0].processing_steps[0].map.upper: unknown key \"upper\"; known: rename, drop, set"],
  ["unknown parent", (c) => c.resources.push({ name: "comments", endpoint: { path: "/issues/{resources.isues.id}/comments" } }), "resources[1].endpoint: resource \"comments\" refers to unknown parent resource \"isues\"; known: issues, comments"],
  ["cycle", (c) => { c.resources[0].endpoint.path = "/a/{resources.b.id}"; c.resources.push({ name: "b", endpoint: { path: "/b/{resources.issues.id}" } }); }, "resources[0].endpoint: resources depend on each other in a cycle: issues → b → issues"],
  ["two parents", (c) => { c.resources.push({ name: "u", endpoint: "/u" }); c.resources.push({ name: "x", endpoint: { path: "/x/{resources.issues.id}", params: { u: "{resources.u.id}" } } }); }, "resources[2]: resource \"x\" refers to more than one parent (issues, u); a resource has at most one parent"],
  ["bad placeholder context", (c) => (c.resources[0].endpoint.params = { since: "{last.value}" }), "resources[0].endpoint.params: unknown placeholder {last.value}; placeholders start with one of: resources, incremental (e.g. {resources.<parent>.<field>}); write {{ and }} for literal braces"],
  ["bad resources placeholder", (c) => (c.resources[0].endpoint.path = "/a/{resources.issues}"), "resources[0].endpoint.path: placeholder {resources.issues} must look like {resources.<parent>.<field>}"],
  ["path param missing", (c) => (c.resources[0].endpoint.path = "/a/{id}"), "resources[0].endpoint.path: placeholder {id} is neither a param in endpoint.params nor {resources.<parent>.<field>}"],
  ["include_from_parent no parent", (c) => (c.resources[0].include_from_parent = ["id"]), "resources[0].include_from_parent: resource \"issues\" has no parent; include_from_parent needs a {resources.<parent>.<field>} placeholder in its endpoint"],
  ["bad incremental placeholder", (c) => { c.resources[0].endpoint.incremental = { cursor_path: "a" }; c.resources[0].endpoint.params = { s: "{incremental.begin}" }; }, "resources[0].endpoint.params: unknown placeholder {incremental.begin}; known: {incremental.start_value}, {incremental.initial_value}, {incremental.end_value}, {incremental.last_value}, {incremental.lag}, {incremental.cursor_path}"],
  ["max_pages 0", (c) => (c.resources[0].endpoint.max_pages = 0), "resources[0].endpoint.max_pages: expected a positive number of pages, got 0"],
  ["strategy without merge", (c) => (c.resources[0].write_disposition = { disposition: "append", strategy: "scd2" }), "resources[0].write_disposition.strategy: a strategy needs disposition \"merge\", got \"append\""],
  ["strategy unknown", (c) => (c.resources[0].write_disposition = { disposition: "merge", strategy: "upsertt" }), "resources[0].write_disposition.strategy: expected one of \"upsert\", \"delete-insert\", \"scd2\", got \"upsertt\""],
  ["upsert without pk", (c) => (c.resources[0].write_disposition = { disposition: "merge", strategy: "upsert" }), "resources[0].write_disposition: merge strategy \"upsert\" needs a primary_key"],
  ["two incrementals", (c) => { c.resources[0].endpoint.incremental = { cursor_path: "a" }; c.resources[0].endpoint.params = { s: { type: "incremental", cursor_path: "b" } }; }, "resources[0].endpoint.params.s: only one incremental per endpoint; endpoint.incremental already sets one"],
  ["resolve not in path", (c) => c.resources.push({ name: "x", endpoint: { path: "/x", params: { id: { type: "resolve", resource: "issues", field: "id" } } } }), "resources[1].endpoint.params.id: a \"resolve\" param must appear in the path as {id}; to send a parent field as a query parameter write \"{resources.issues.id}\""],
  ["unclosed brace", (c) => (c.resources[0].endpoint.path = "/a/{id"), "resources[0].endpoint.path: unclosed \"{\" in \"/a/{id\"; write \"{{\" for a literal brace"],];

for (const [what, mutate, message] of invalid) {
  test(`invalid: ${what} gives exactly its message`, () => {
    const c = base();
    mutate(c);
    assert.deepEqual(problemsOf(c), [message]);
  });
}

test("valid: every dlt paginator with its defaults", () => {
  const paginators = [
    ["single_page", { type: "single_page" }],
    [{ type: "offset", limit: 10 }, { type: "offset", limit: 10, offset: 0, offset_param: "offset", limit_param: "limit", stop_after_empty_page: true }],
    [{ type: "page_number" }, { type: "page_number", base_page: 0, page_param: "page", stop_after_empty_page: true }],
    [{ type: "cursor" }, { type: "cursor", cursor_path: "cursors.next", stop_after_empty_page: false }],
    ["json_link", { type: "json_link", next_url_path: "next" }],
    [{ type: "json_response", next_url_path: "links.next" }, { type: "json_link", next_url_path: "links.next" }],
    ["header_link", { type: "header_link", links_next_key: "next" }],
    ["header_cursor", { type: "header_cursor", cursor_key: "next", cursor_param: "cursor" }],
    ["auto", { type: "auto" }],
  ] as const;
  for (const [given, expected] of paginators) {
    const c = base();
    c.resources[0].endpoint.paginator = given;
    assert.deepEqual(planOf(c).resources[0].endpoint.paginator, expected, JSON.stringify(given));
  }
});

test("valid: without a paginator it is auto, or single_page with data_selector $ for a path ending in a placeholder", () => {
  const c = base();
  c.resources.push({ name: "issue", endpoint: { path: "/issues/{resources.issues.id}" } });
  const [issues, issue] = planOf(c).resources;
  assert.deepEqual(issues.endpoint.paginator, { type: "auto" });
  assert.deepEqual(issue.endpoint.paginator, { type: "single_page" });
  assert.equal(issue.endpoint.dataSelector, "$");
});

test("valid: incremental gets dlt's defaults and the resource's primary key for de-duplication", () => {
  const c = base();
  c.resources[0].primary_key = "id";
  c.resources[0].endpoint.incremental = { cursor_path: "updated_at", initial_value: "2024-01-01T00:00:00Z" };
  assert.deepEqual(planOf(c).resources[0].incremental, {
    cursorPath: "updated_at",
    initialValue: "2024-01-01T00:00:00Z",
    endValue: undefined,
    lastValueFunc: "max",
    lag: undefined,
    rangeStart: "closed",
    rangeEnd: "open",
    onCursorValueMissing: "raise",
    rowOrder: undefined,
    primaryKey: ["id"],
    convert: undefined,
    startParam: undefined,
    endParam: undefined,
  });
});

test("valid: children come after their parents whatever the order written, with their bindings", () => {
  const c = base();
  c.resources.unshift({
    name: "comments",
    include_from_parent: ["title"],
    endpoint: { path: "/issues/{resources.issues.number}/comments", params: { per_page: 100, since: { type: "resolve", resource: "issues", field: "updated_at" } } },
  });
  c.resources[0].endpoint.path = "/issues/{since}/{resources.issues.number}/comments";
  const plan = planOf(c);
  assert.deepEqual(plan.resources.map((r) => r.name), ["issues", "comments"]);
  assert.deepEqual(plan.resources[1].parent, {
    resource: "issues",
    bindings: [
      { placeholder: "resources.issues.number", field: "number" },
      { placeholder: "since", field: "updated_at" },
    ],
    includeFromParent: ["title"],
  });
  assert.deepEqual(plan.resources[1].endpoint.params, { per_page: 100 });
});

test("valid: a plain param named in the path is written into it (dlt's legacy binding)", () => {
  const c = base();
  c.resources[0].endpoint = { path: "/repos/{owner}/issues", params: { owner: "dlt-hub", state: "open" } };
  const [r] = planOf(c).resources;
  assert.equal(r.endpoint.path, "/repos/dlt-hub/issues");
  assert.deepEqual(r.endpoint.params, { state: "open" });
});

test("valid: resource_defaults merge params and json one level deep, the rest shallowly", () => {
  const c: any = base();
  c.resource_defaults = { write_disposition: "append", endpoint: { params: { per_page: 50, state: "all" }, json: { filter: { a: 1 } }, max_pages: 3 } };
  c.resources[0].endpoint = { path: "/issues", params: { state: "open" }, json: { sort: "asc" } };
  const [r] = planOf(c).resources;
  assert.deepEqual(r.endpoint.params, { per_page: 50, state: "open" });
  assert.deepEqual(r.endpoint.json, { filter: { a: 1 }, sort: "asc" });
  assert.equal(r.endpoint.maxPages, 3);
});

test("valid: bearer auth written without a type, api_key location param, response actions, processing steps and scd2 without a key", () => {
  const c: any = base();
  c.client.auth = { token: "t0ken-value" };
  c.resources[0].endpoint.auth = { type: "api_key", name: "key", api_key: "k3y-value", location: "param" };
  c.resources[0].endpoint.response_actions = [{ status_code: 404, action: "ignore" }, { body_path: "ok", equals: false, action: "error" }];
  c.resources[0].processing_steps = [{ filter: { field: "state", in: ["open", "closed"] } }, { map: { drop: ["body"] } }];
  c.resources[0].write_disposition = { disposition: "merge", strategy: "scd2" };
  const plan = planOf(c);
  assert.equal(plan.auth?.type, "bearer");
  assert.deepEqual(plan.resources[0].endpoint.auth, { type: "api_key", name: "key", api_key: "k3y-value", location: "query" });
  assert.equal(plan.resources[0].endpoint.responseActions.length, 2);
  assert.equal(plan.resources[0].processingSteps.length, 2);
  assert.equal(plan.resources[0].mergeStrategy, "scd2");
});

test("valid: column hints from resource_defaults merge per column with the resource's", () => {
  const c: any = base();
  c.resource_defaults = { columns: { created_at: { data_type: "timestamp" }, id: { data_type: "bigint" } } };
  c.resources[0].columns = { created_at: { nullable: false } };
  assert.deepEqual(planOf(c).resources[0].columns, { created_at: { data_type: "timestamp", nullable: false }, id: { data_type: "bigint" } });
});
