/**
 * `restduck check` (issue #13.6): the first page of each resource, what a run would make of it,
 * and nothing written.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { runCli, SEED_ENV, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";
import { CREDENTIALS } from "../helpers/mock_api.ts";

test("check fetches one page of the seed config and shows records, paginator, tables and column types, writing nothing", async () => {
  await using env = await testEnv({ chat: { messages: 450 } });
  const { dir } = env;
  const api = env.chat;
  writeConfig(dir, seedConfig(api.url));
  const res = await runCli(["check", "chat.json"], { cwd: dir, env: SEED_ENV });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /✓ chat_messages: 100 records at messages from http:\/\/127\.0\.0\.1:\d+\/v1\/messages\?offset=0&limit=100 \(200\)/);
  assert.match(res.stdout, /paginator offset \(limit 100\): there are more pages/);
  assert.match(res.stdout, /table chat_messages \(100 rows\): id BIGINT, timestamp TIMESTAMP WITH TIME ZONE, content VARCHAR, sender_id VARCHAR/);
  assert.match(res.stdout, /table chat_messages__reactions \(\d+ rows\): emoji VARCHAR/);
  assert.doesNotMatch(res.stdout + res.stderr, new RegExp(SEED_ENV.CLIENT_SECRET));
  // One token request and one page: no more, and no file of any kind.
  assert.equal(api.requests.filter((r) => r.path === "/v1/messages").length, 1);
  assert.deepEqual(readdirSync(dir), ["chat.json"]);

  const json = await runCli(["check", "chat.json", "--json"], { cwd: dir, env: SEED_ENV });
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.resources[0].records, 100);
  assert.equal(doc.resources[0].recordsAt, "messages");
  assert.deepEqual(doc.resources[0].tables.map((t: { name: string }) => t.name).sort(), [
    "chat_messages",
    "chat_messages__attachments",
    "chat_messages__reactions",
    "chat_messages__reactions__users",
  ]);
  assert.ok(doc.resources[0].tables[0].columns.some((c: { name: string; dataType: string }) => c.name === "id" && c.dataType === "bigint"));
});

test("check says what auto detection chose, fills a child from its parent's first record, and reports a failing resource without hiding the others", async () => {
  await using env = await testEnv({ api: { items: 30 } });
  const { dir } = env;
  const api = env.api;
  writeConfig(dir, {
    client: { base_url: api.url, auth: { type: "bearer", token: CREDENTIALS.token } },
    resources: [
      { name: "linked", endpoint: { path: "/link" } },
      { name: "groups", endpoint: { path: "/groups", paginator: "single_page" } },
      { name: "group_items", endpoint: { path: "/groups/{resources.groups.name}/items", paginator: { type: "offset", limit: 5 } } },
      { name: "broken", endpoint: { path: "/no-such-route" } },
    ],
  });
  const res = await runCli(["check", "chat.json"], { cwd: dir });
  assert.equal(res.code, 1, "a resource that fails makes check fail");
  assert.match(res.stdout, /✓ linked: 10 records at \$ from .*\/link \(200\)\n {2}paginator header_link: there are more pages/);
  assert.match(res.stdout, /✓ groups: 3 records at \$/);
  assert.match(res.stdout, /✓ group_items: 5 records at \$\.items from http:\/\/127\.0\.0\.1:\d+\/groups\/odd\/items\?offset=0&limit=5/);
  assert.match(res.stdout, /table group_items \(5 rows\): id BIGINT, name VARCHAR, updated_at TIMESTAMP WITH TIME ZONE, group VARCHAR/);
  assert.match(res.stdout, /✗ broken: .*404/);
  assert.doesNotMatch(res.stdout + res.stderr, new RegExp(CREDENTIALS.token));
  assert.deepEqual(readdirSync(dir), ["chat.json"]);

  const only = await runCli(["check", "chat.json", "--resource", "group_items"], { cwd: dir });
  assert.equal(only.code, 0, only.stdout + only.stderr);
  assert.doesNotMatch(only.stdout, /groups:|linked|broken/, "only the named resource is reported (its parent is fetched, not shown)");
  assert.match(only.stdout, /✓ group_items: 5 records/);
});
