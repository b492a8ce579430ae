/**
 * Checkpoint requests (issue 5): what the endpoint config supplies — secrets
 * among it — is left out of the stored resume position and put back from the
 * config on resume, so the resumed request is the one that was interrupted.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { restorePosition, restoreRequest, storablePosition, storableRequest } from "../../src/pipeline/checkpoint_request.ts";
import type { PageRequest } from "../../src/paginate/types.ts";

const endpoint = {
  params: { token: "s3cret-param", kind: "all" },
  headers: { "x-api-key": "s3cret-header" },
  json: { auth: { key: "s3cret-body" }, query: "q" },
};

test("a stored request keeps only what the paginator changed, never the endpoint's own values", () => {
  const next: PageRequest = {
    method: "POST",
    url: "/items",
    params: { token: "s3cret-param", kind: "all", offset: 200, limit: 100 },
    headers: { "x-api-key": "s3cret-header" },
    json: { auth: { key: "s3cret-body" }, query: "q", page: { cursor: "abc" } },
  };
  const stored = storableRequest(next, endpoint);
  assert.ok(!JSON.stringify(stored).includes("s3cret"));
  assert.deepEqual(stored.params, { offset: 200, limit: 100 });
  assert.deepEqual(restoreRequest(JSON.parse(JSON.stringify(stored)), endpoint), next);
});

test("a param the paginator dropped (a next URL carries its own query) stays dropped on resume", () => {
  const next: PageRequest = { method: "GET", url: "https://api.example.com/items?page=3", params: {} };
  const stored = storableRequest(next, endpoint);
  assert.deepEqual(stored.params, { token: null, kind: null });
  assert.deepEqual(restoreRequest(JSON.parse(JSON.stringify(stored)), endpoint), { ...next, headers: undefined, json: undefined });
});

test("a resumed request picks up a rotated secret from the current config", () => {
  const stored = storableRequest({ method: "GET", url: "/items", params: { token: "old-secret", offset: 10 } }, { params: { token: "old-secret" } });
  assert.deepEqual(restoreRequest(stored, { params: { token: "new-secret" } }).params, { token: "new-secret", offset: 10 });
});

test("a child resource's position keeps its parent index and masks its request the same way", () => {
  const position = { parent: 4, request: { method: "GET" as const, url: "/items/7/comments", params: { token: "s3cret-param", page: 2 } } };
  const stored = storablePosition(position, endpoint);
  assert.equal(stored.parent, 4);
  assert.ok(!JSON.stringify(stored).includes("s3cret"));
  assert.deepEqual(restorePosition(stored, endpoint).request!.params, { token: "s3cret-param", page: 2 });
  assert.equal(storablePosition(null, endpoint), null);
  assert.deepEqual(storablePosition({ parent: 1, request: null }, endpoint), { parent: 1, request: null });
});
