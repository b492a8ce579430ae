/**
 * src/config/graph.ts: placeholder templates (Python `str.format` as dlt uses it) and the order
 * parents and children run in. The configs that use them end to end are in test/vocabulary.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bindingsOf, expandPlaceholders, findPlaceholders, isSingleEntityPath, orderResources, parseTemplate } from "../../src/config/graph.ts";
import { ConfigError } from "../../src/errors.ts";

test("parseTemplate splits literal text from placeholder names and reads {{ and }} as literal braces", () => {
  assert.deepEqual(parseTemplate("/issues/{resources.issues.number}/comments"), [
    { literal: "/issues/", field: "resources.issues.number" },
    { literal: "/comments" },
  ]);
  assert.deepEqual(parseTemplate("{{not a placeholder}}"), [{ literal: "{not a placeholder}" }]);
  assert.deepEqual(parseTemplate(""), [{ literal: "" }]);
});

test("parseTemplate refuses an unclosed { and a lone }, saying how to write a literal brace", () => {
  assert.throws(() => parseTemplate("/a/{id"), /unclosed "\{" in "\/a\/\{id"; write "\{\{" for a literal brace/);
  assert.throws(() => parseTemplate("/a/id}"), /single "\}" in "\/a\/id\}"; write "\}\}" for a literal brace/);
});

test("findPlaceholders finds every name once, in strings, object keys and lists", () => {
  const names = findPlaceholders({ path: "/u/{resources.users.id}", params: { "{resources.users.id}": ["{incremental.start_value}"] }, n: 3 });
  assert.deepEqual(names, ["resources.users.id", "incremental.start_value"]);
});

test("expandPlaceholders fills strings, and with preserveType keeps a lone placeholder's type", () => {
  const values = { "resources.users.id": 42, "resources.users.tags": ["a"], none: null };
  assert.deepEqual(expandPlaceholders({ path: "/u/{resources.users.id}", tags: "{resources.users.tags}", n: "{none}" }, values), { path: "/u/42", tags: '["a"]', n: "" });
  assert.deepEqual(expandPlaceholders({ id: "{resources.users.id}", text: "id {resources.users.id}" }, values, true), { id: 42, text: "id 42" });
  assert.throws(() => expandPlaceholders("{missing}", values), /no value for placeholder \{missing\}/);
});

test("bindingsOf names the one parent and the fields a child reads", () => {
  const found = bindingsOf("comments", "resources[1]", [{ path: "resources[1].endpoint.path", value: "/issues/{resources.issues.number}/comments" }], [], false);
  assert.deepEqual(found, { parent: "issues", bindings: [{ placeholder: "resources.issues.number", field: "number" }] });
  const legacy = bindingsOf("comments", "resources[1]", [{ path: "resources[1].endpoint.path", value: "/issues/{n}/comments" }], [{ param: "n", resource: "issues", field: "number" }], false);
  assert.deepEqual(legacy, { parent: "issues", bindings: [{ placeholder: "n", field: "number" }] });
});

test("bindingsOf refuses unknown, malformed and parentless-incremental placeholders and two parents, naming the config path", () => {
  const at = (value: string, hasIncremental = false) => () => bindingsOf("c", "resources[1]", [{ path: "resources[1].endpoint.path", value }], [], hasIncremental);
  assert.throws(at("/x/{user_id}"), (e: ConfigError) => e instanceof ConfigError && /^resources\[1\]\.endpoint\.path: unknown placeholder \{user_id\}; placeholders start with one of: resources, incremental/.test(e.message));
  assert.throws(at("/x/{resources.issues}"), /placeholder \{resources\.issues\} must look like \{resources\.<parent>\.<field>\}/);
  assert.throws(at("/x/{incremental.start_value}"), /placeholder \{incremental\.start_value\} needs endpoint\.incremental/);
  assert.throws(at("/x/{incremental.begin}", true), /unknown placeholder \{incremental\.begin\}; known: \{incremental\.start_value\}/);
  assert.throws(at("/x/{resources.a.id}/{resources.b.id}"), /resources\[1\]: resource "c" refers to more than one parent \(a, b\)/);
  assert.throws(at("/x/{id"), /resources\[1\]\.endpoint\.path: unclosed "\{"/);
  assert.doesNotThrow(at("/x/{incremental.start_value}", true));
});

test("orderResources puts every parent before its children and keeps the config's order otherwise", () => {
  const nodes = [
    { name: "comments", at: "resources[0]", parent: "issues" },
    { name: "users", at: "resources[1]" },
    { name: "issues", at: "resources[2]", parent: "repos" },
    { name: "repos", at: "resources[3]" },
  ];
  assert.deepEqual(orderResources(nodes, (n) => n.parent).map((n) => n.name), ["repos", "issues", "comments", "users"]);
});

test("orderResources refuses an unknown parent, a resource that is its own parent, and a cycle", () => {
  assert.throws(() => orderResources([{ name: "a", at: "resources[0]", parent: "nope" }], (n) => n.parent), /resources\[0\]\.endpoint: resource "a" refers to unknown parent resource "nope"; known: a$/);
  assert.throws(() => orderResources([{ name: "a", at: "resources[0]", parent: "a" }], (n) => n.parent), /resource "a" refers to itself as its parent/);
  const cycle = [
    { name: "a", at: "resources[0]", parent: "b" },
    { name: "b", at: "resources[1]", parent: "a" },
  ];
  assert.throws(() => orderResources(cycle, (n) => n.parent), /resources depend on each other in a cycle: a → b → a/);
});

test("isSingleEntityPath is true for a path ending in a placeholder, not for one ending in literal braces", () => {
  assert.equal(isSingleEntityPath("/users/{resources.users.id}"), true);
  assert.equal(isSingleEntityPath("/users/{id}/"), true);
  assert.equal(isSingleEntityPath("/users/{id}/posts"), false);
  assert.equal(isSingleEntityPath("/users/{{id}}"), false);
  assert.equal(isSingleEntityPath("/users"), false);
});
