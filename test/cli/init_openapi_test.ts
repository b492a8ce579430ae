/**
 * `restduck init --openapi` through the CLI: a generated config that would fail `validate` is never
 * written, and a whole public document (Twilio Conversations) gives a config that validates.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { runCli, testEnv } from "../helpers/index.ts";

const CORPUS = join(import.meta.dirname, "..", "fixtures", "openapi", "corpus");

test("init --openapi writes nothing and exits 1 when the config it made would fail validate", async () => {
  await using env = await testEnv();
  // A stray "}" in a path survives into the resource's path template, which `validate` rejects.
  const list = (key: string) => ({
    responses: {
      200: {
        description: "ok",
        content: { "application/json": { schema: { type: "object", properties: { [key]: { type: "array", items: { type: "object", properties: { id: { type: "string" } } } } } } } },
      },
    },
  });
  const spec = {
    openapi: "3.0.3",
    info: { title: "Reports" },
    servers: [{ url: "https://reports.example.com" }],
    components: { securitySchemes: { token: { type: "http", scheme: "bearer" } } },
    security: [{ token: [] }],
    paths: { "/reports": { get: list("reports") }, "/reports/{id}}/rows": { get: list("rows") } },
  };
  writeFileSync(env.path("reports.json"), JSON.stringify(spec));
  const res = await env.cli(["init", "--openapi", "reports.json", "reports.yaml"]);
  assert.equal(res.code, 1, res.stdout);
  assert.match(res.stderr, /error: init --openapi made a config from reports\.json that does not pass validation, so nothing was written:\n  resources\[1\]/);
  assert.match(res.stderr, /hint: leave the endpoints named above out with --include/);
  assert.ok(!existsSync(env.path("reports.yaml")), "no config written");
  assert.ok(!existsSync(env.path(".dlt")), "no secrets file written");
});

test("init --openapi on the whole Twilio Conversations document binds a service user's conversations to one parent and validates", async () => {
  await using env = await testEnv();
  writeFileSync(env.path("conversations.json"), gunzipSync(readFileSync(join(CORPUS, "twilio_conversations.json.gz"))));
  const res = await env.cli(["init", "--openapi", "conversations.json", "twilio.yaml", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  const summary = JSON.parse(res.stdout) as { valid: boolean; resources: { name: string; path: string }[] };
  assert.equal(summary.valid, true);
  assert.ok(summary.resources.some((r) => r.path === "/v1/Services/{resources.services_users.chat_service_sid}/Users/{resources.services_users.sid}/Conversations"));
  const v = await runCli(["validate", "twilio.yaml"], { cwd: env.dir, env: { USERNAME: "AC1", PASSWORD: "p" } });
  assert.equal(v.code, 0, v.stderr);
});
