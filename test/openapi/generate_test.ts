/**
 * The OpenAPI → config generator on trimmed copies of real chat/messaging
 * API specs (Discord, Twilio Conversations, Mattermost) and on edge cases.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "../../src/config/index.ts";
import { generateConfig } from "../../src/openapi/generate.ts";
import { readOpenApiFile } from "../../src/openapi/read.ts";
import { testEnv } from "../helpers/index.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "openapi");
const load = (name: string) => readOpenApiFile(join(FIXTURES, name));
/** Secrets replaced by stand-ins, as `validate` would see them once set. */
const withStandIns = (config: unknown): unknown =>
  JSON.parse(JSON.stringify(config), (_k, v) => (v && typeof v === "object" && typeof v.$secret === "string" ? "stand-in" : v));
const resource = (config: any, name: string) => config.resources.find((r: any) => r.name === name);

test("Discord: guilds → channels → messages become parent/child resources with resource placeholders", async () => {
  const { config, notes, skipped, secrets } = generateConfig(await load("discord.json"));
  assert.equal(config.client.base_url, "https://discord.com/api/v10");
  assert.deepEqual(config.client.auth, { type: "api_key", name: "Authorization", api_key: { $secret: "bot_token" }, location: "header" });
  assert.deepEqual(secrets, ["bot_token"]);
  assert.equal(resource(config, "guilds").endpoint.path, "/users/@me/guilds");
  assert.equal(resource(config, "channels").endpoint.path, "/guilds/{resources.guilds.id}/channels");
  assert.equal(resource(config, "messages").endpoint.path, "/channels/{resources.channels.id}/messages");
  assert.equal(resource(config, "messages").primary_key, "id");
  assert.equal(resource(config, "messages").endpoint.data_selector, "$");
  // Parents come before their children in the list.
  const order = config.resources.map((r: any) => r.name);
  assert.ok(order.indexOf("guilds") < order.indexOf("channels") && order.indexOf("channels") < order.indexOf("messages"), order.join(","));
  // Keyset paging by the last id: the cursor paginator reads it with a JSONPath; newest first is assumed, and said so.
  assert.deepEqual(resource(config, "messages").endpoint.paginator, { type: "cursor", cursor_path: "$[-1].id", cursor_param: "before" });
  assert.equal(resource(config, "messages").endpoint.params.limit, 100);
  assert.ok(notes.some((n) => /messages .*before=<last record's id>, which assumes newest first/.test(n)), notes.join("\n"));
  assert.ok(notes.some((n) => /"Bot <token>"/.test(n)));
  assert.ok(skipped.some((s) => s.startsWith("GET /channels/{channel_id}/messages/{message_id}: ends in a path parameter")));
  assert.ok(skipped.some((s) => s.startsWith("GET /gateway: response has no list of objects")));
  parseConfig(withStandIns(config));
});

test("Twilio Conversations: json_link from meta.next_page_url, records under the list key, http basic, sid as key", async () => {
  const { config, notes, secrets } = generateConfig(await load("twilio_conversations.json"));
  assert.equal(config.client.base_url, "https://conversations.twilio.com");
  assert.deepEqual(config.client.auth, { type: "http_basic", username: { $secret: "username" }, password: { $secret: "password" } });
  assert.deepEqual(secrets.sort(), ["password", "username"]);
  const messages = resource(config, "messages");
  assert.deepEqual(messages.endpoint, {
    path: "/v1/Conversations/{resources.conversations.sid}/Messages",
    data_selector: "messages",
    paginator: { type: "json_link", next_url_path: "meta.next_page_url" },
    params: { PageSize: 1000 },
  });
  assert.equal(messages.primary_key, "sid");
  assert.equal(resource(config, "participants").endpoint.path, "/v1/Conversations/{resources.conversations.sid}/Participants");
  // Two list endpoints end in /Conversations: the nested one is named after its parent path.
  assert.equal(resource(config, "users_conversations").endpoint.path, "/v1/Users/{resources.users.sid}/Conversations");
  assert.deepEqual(notes, []);
  parseConfig(withStandIns(config));
  // --include keeps only paths under the given prefixes.
  const only = generateConfig(await load("twilio_conversations.json"), { include: ["/v1/Conversations"] });
  assert.deepEqual(only.config.resources.map((r: any) => r.name), ["conversations", "messages", "participants"]);
});

test("Mattermost (YAML): page/per_page become page_number from base page 0; a map-shaped post list is left out with the reason", async () => {
  const { config, skipped, secrets } = generateConfig(await load("mattermost.yaml"));
  assert.equal(config.client.base_url, "http://localhost:8065/api/v4", "server variables take their defaults");
  assert.deepEqual(config.client.auth, { type: "bearer", token: { $secret: "api_token" } });
  assert.deepEqual(secrets, ["api_token"]);
  assert.deepEqual(resource(config, "channels").endpoint, {
    path: "/teams/{resources.teams.id}/channels",
    data_selector: "$",
    paginator: { type: "page_number", base_page: 0, total_path: null },
    params: { per_page: 60 },
  });
  assert.ok(skipped.some((s) => /^GET \/channels\/\{channel_id\}\/posts: records come as an object keyed by id \("posts"/.test(s)), skipped.join("\n"));
  // `/posts/{post_id}/files/info` has no list of posts to hang from: written, but not selected.
  const files = resource(config, "files_info");
  assert.equal(files.selected, false);
  assert.equal(files.endpoint.path, "/posts/{post_id}/files/info");
  assert.deepEqual(files.endpoint.params, { post_id: "<post_id>" });
  parseConfig(withStandIns(config));
});

test("cursor and offset paginators are read from parameters and the response", () => {
  const spec = {
    openapi: "3.0.0",
    info: { title: "Example Chat API", version: "1" },
    servers: [{ url: "https://chat.example.com/api/" }],
    components: { securitySchemes: { apiKey: { type: "apiKey", in: "query", name: "key" } } },
    security: [{ apiKey: [] }],
    paths: {
      "/conversations.list": {
        get: {
          parameters: [{ name: "cursor", in: "query", schema: { type: "string" } }, { name: "limit", in: "query", schema: { type: "integer", maximum: 200 } }],
          responses: {
            200: {
              description: "ok",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      ok: { type: "boolean" },
                      channels: { type: "array", items: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } } } },
                      response_metadata: { type: "object", properties: { next_cursor: { type: "string" } } },
                    },
                  },
                },
              },
            },
          },
        },
      },
      "/users": {
        get: {
          parameters: [{ name: "skip", in: "query", schema: { type: "integer" } }, { name: "limit", in: "query", schema: { type: "integer", default: 50 } }],
          responses: {
            200: {
              description: "ok",
              content: {
                "application/json": {
                  schema: {
                    allOf: [
                      { type: "object", properties: { total_count: { type: "integer" } } },
                      { type: "object", properties: { data: { type: "array", items: { type: "object", properties: { user_id: { type: "string" } } } } } },
                    ],
                  },
                },
              },
            },
          },
        },
      },
    },
  };
  const { config } = generateConfig(spec);
  assert.equal(config.pipeline_name, "example_chat");
  assert.equal(config.client.base_url, "https://chat.example.com/api");
  assert.deepEqual(config.client.auth, { type: "api_key", name: "key", api_key: { $secret: "api_key" }, location: "query" });
  assert.deepEqual(resource(config, "conversations_list").endpoint, {
    path: "/conversations.list",
    data_selector: "channels",
    paginator: { type: "cursor", cursor_path: "response_metadata.next_cursor", cursor_param: "cursor" },
    params: { limit: 200 },
  });
  const users = resource(config, "users");
  assert.deepEqual(users.endpoint.paginator, { type: "offset", limit: 50, offset_param: "skip", total_path: "total_count" });
  assert.equal(users.primary_key, "user_id");
  parseConfig(withStandIns(config));
});

test("a Swagger 2.0 or non-OpenAPI document is refused with what to do", () => {
  assert.throws(() => generateConfig({ swagger: "2.0", paths: {} }), (e: any) => e.exitCode === 2 && /Swagger 2\.0 document; restduck reads OpenAPI 3\.x/.test(e.message) && /swagger2openapi/.test(e.hint));
  assert.throws(() => generateConfig({ hello: "world" }), /Not an OpenAPI 3\.x document/);
  assert.throws(
    () => generateConfig({ openapi: "3.1.0", info: { title: "x" }, paths: { "/health": { get: { responses: { 200: { description: "ok" } } } } } }),
    (e: any) => /No list endpoints found in the OpenAPI document \(1 paths looked at\)/.test(e.message),
  );
});

test("auth: bearer over basic when both are offered, an empty password where the key is the user name, a required header prefix in the notes", () => {
  const spec = (securitySchemes: Record<string, unknown>) => ({
    openapi: "3.0.0",
    info: { title: "Auth" },
    servers: [{ url: "https://api.example.com" }],
    components: { securitySchemes },
    security: Object.keys(securitySchemes).map((name) => ({ [name]: [] })),
    paths: { "/things": { get: { responses: { 200: { description: "ok", content: { "application/json": { schema: { type: "array", items: { type: "object", properties: { id: { type: "string" } } } } } } } } } } },
  });
  // Stripe: basic (`api_key:`) and bearer; bearer needs one secret.
  const both = generateConfig(spec({ basicAuth: { type: "http", scheme: "basic", description: "Authorization: Basic <base64 hash of `api_key:`>" }, bearerAuth: { type: "http", scheme: "bearer" } }));
  assert.deepEqual(both.config.client.auth, { type: "bearer", token: { $secret: "api_token" } });
  assert.deepEqual(both.secrets, ["api_token"]);
  const basicOnly = generateConfig(spec({ basicAuth: { type: "http", scheme: "basic", description: "Authorization: Basic <base64 hash of `api_key:`>" } }));
  assert.deepEqual(basicOnly.config.client.auth, { type: "http_basic", username: { $secret: "username" }, password: "" });
  assert.deepEqual(basicOnly.secrets, ["username"]);
  assert.ok(basicOnly.notes.includes("auth: basicAuth takes the API key as the user name and an empty password"), basicOnly.notes.join("\n"));
  parseConfig(withStandIns(basicOnly.config));
  // PagerDuty-style: the header value must start with `Token token=`.
  const prefixed = generateConfig(spec({ api_key: { type: "apiKey", in: "header", name: "Authorization", description: "Send `Authorization: Token token=<your key>`" } }));
  assert.equal(prefixed.config.client.auth.type, "api_key");
  assert.ok(prefixed.notes.some((n) => n.includes('as "Token token=<key>": store the secret with that prefix')), prefixed.notes.join("\n"));
});

test("a document split over several files is bundled: paths, schemas and parameters in other files, a self-referencing schema", async () => {
  const { config } = generateConfig(await load("split/openapi.yaml"));
  assert.deepEqual(resource(config, "channels").endpoint, {
    path: "/channels",
    data_selector: "$",
    paginator: { type: "page_number", base_page: 1, total_path: null },
    params: { per_page: 50 },
  });
  assert.deepEqual(resource(config, "messages").endpoint, {
    path: "/channels/{resources.channels.id}/messages",
    data_selector: "messages",
    paginator: { type: "cursor", cursor_path: "next_cursor", cursor_param: "cursor" },
  });
  parseConfig(withStandIns(config));
});

test("a $ref to a missing file or to nothing is an error naming the file and the reference", async () => {
  await using env = await testEnv({ prefix: "restduck-openapi-" });
  const tmp = env.dir;
  const doc = (ref: string) => JSON.stringify({ openapi: "3.0.0", info: { title: "x" }, paths: { "/a": { $ref: ref } } });
  writeFileSync(join(tmp, "missing.json"), doc("paths/a.yaml"));
  await assert.rejects(readOpenApiFile("missing.json", tmp), (e: any) => e.exitCode === 2 && /^Cannot read OpenAPI file paths\/a\.yaml: no such file$/.test(e.message) && /missing\.json refers to it with \$ref/.test(e.hint));
  writeFileSync(join(tmp, "nothing.json"), doc("parts.json#/nope"));
  writeFileSync(join(tmp, "parts.json"), "{}");
  await assert.rejects(readOpenApiFile("nothing.json", tmp), /Cannot resolve \$ref "parts\.json#\/nope" in nothing\.json: parts\.json has nothing at "#\/nope"/);
});

test("a total the API sends only on request (total=true) is asked for; an opaque string offset is a cursor, not a number", () => {
  const list = (properties: Record<string, unknown>) => ({
    200: { description: "ok", content: { "application/json": { schema: { type: "object", properties: { ...properties } } } } },
  });
  const records = { type: "array", items: { type: "object", properties: { id: { type: "string" } } } };
  const spec = {
    openapi: "3.0.0",
    info: { title: "Paging" },
    servers: [{ url: "https://api.example.com" }],
    paths: {
      "/incidents": {
        get: {
          parameters: [
            { name: "offset", in: "query", schema: { type: "integer" } },
            { name: "limit", in: "query", schema: { type: "integer", maximum: 100 } },
            { name: "total", in: "query", description: "total is null unless total=true", schema: { type: "boolean", default: false } },
          ],
          responses: list({ incidents: records, total: { type: "integer", nullable: true }, more: { type: "boolean" } }),
        },
      },
      "/tasks": {
        get: {
          parameters: [{ name: "offset", in: "query", schema: { type: "string" } }, { name: "limit", in: "query", schema: { type: "integer", maximum: 100 } }],
          responses: list({ data: records, next_page: { type: "object", nullable: true, properties: { offset: { type: "string" }, uri: { type: "string" } } } }),
        },
      },
    },
  };
  const { config } = generateConfig(spec);
  assert.deepEqual(resource(config, "incidents").endpoint.paginator, { type: "offset", limit: 100, total_path: "total" });
  assert.deepEqual(resource(config, "incidents").endpoint.params, { total: true });
  assert.deepEqual(resource(config, "tasks").endpoint, {
    path: "/tasks",
    data_selector: "data",
    paginator: { type: "cursor", cursor_path: "next_page.offset", cursor_param: "offset" },
    params: { limit: 100 },
  });
  parseConfig(withStandIns(config));
});
