/**
 * src/config/secrets.ts: `{ "$secret": name }` references resolved from the environment,
 * .dlt/secrets.toml and a --secrets file, in that order, and masked before anything echoes them.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { credentialSections, isSecretRef, resolveSecrets, secret, secretEnvName } from "../../src/config/secrets.ts";
import { ConfigError, SecretError } from "../../src/errors.ts";
import { testEnv } from "../helpers/index.ts";
import { base, problemsOf } from "./problems.ts";


test("a missing secret names it, its environment variable and every file looked at", async () => {
  await using env = await testEnv();
  mkdirSync(env.path(".dlt"));
  writeFileSync(env.path(".dlt", "secrets.toml"), 'client_id = "from-toml"\n');
  assert.throws(
    () => prepareConfig(base(), { env: {}, cwd: env.dir, secretsFile: "extra.toml" }),
    (error: unknown) => {
      // The --secrets file does not exist: that is reported first.
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /extra\.toml/);
      return true;
    },
  );
  writeFileSync(env.path("extra.toml"), "[other]\nx = 1\n");
  assert.throws(
    () => prepareConfig(base(), { env: {}, cwd: env.dir, secretsFile: "extra.toml" }),
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
});

test("secrets resolve from the environment first, then .dlt/secrets.toml (top level or [sources]), then --secrets", async () => {
  await using env = await testEnv();
  mkdirSync(env.path(".dlt"));
  writeFileSync(env.path(".dlt", "secrets.toml"), '[sources]\nclient_id = "toml-id"\nclient_secret = "toml-secret"\n');
  writeFileSync(env.path("more.json"), JSON.stringify({ client_secret: "json-secret", token: "json-token" }));
  const c = base();
  c.client.headers = { "x-extra": { $secret: "token" } };
  const loaded = prepareConfig(c, { env: { CLIENT_ID: "env-id" }, cwd: env.dir, secretsFile: "more.json" });
  const auth = loaded.config.client.auth as { client_id: string; client_secret: string };
  assert.equal(auth.client_id, "env-id");
  assert.equal(auth.client_secret, "toml-secret");
  assert.equal(loaded.plan.headers["x-extra"], "json-token");
  assert.deepEqual(loaded.secretOrigins, { client_id: "env CLIENT_ID", client_secret: ".dlt/secrets.toml", token: "more.json" });
  assert.ok(loaded.secrets.includes("toml-secret") && loaded.secrets.includes("json-token"));
});

test("a config error never echoes a secret value put in the wrong place", () => {
  const c = base();
  c.resources[0].endpoint.paginator.limit = { $secret: "client_secret" };
  const problems = problemsOf(c);
  assert.ok(problems.length > 0);
  assert.ok(problems.every((p) => !p.includes("secret-5678")), problems.join("\n"));
});

test("secret() makes the reference isSecretRef recognises, and nothing else passes for one", () => {
  assert.deepEqual(secret("token"), { $secret: "token" });
  assert.equal(isSecretRef(secret("token")), true);
  for (const other of [null, "token", ["$secret"], { $secret: 1 }, { $secret: "a", other: 1 }]) assert.equal(isSecretRef(other), false, JSON.stringify(other));
});

test("secretEnvName upper-cases a name and turns dots into dlt's double underscores", () => {
  assert.equal(secretEnvName("client_id"), "CLIENT_ID");
  assert.equal(secretEnvName("sources.chat.token"), "SOURCES__CHAT__TOKEN");
  assert.equal(secretEnvName("api-key v2"), "API_KEY_V2");
});

test("credentialSections looks in the named source's sections first, then dlt's shared ones", () => {
  assert.deepEqual(credentialSections("chat"), ["sources.rest_api.chat.credentials", "sources.chat.credentials", "sources.rest_api.credentials", "sources.credentials", "credentials"]);
  assert.deepEqual(credentialSections("rest_api"), ["sources.rest_api.rest_api.credentials", "sources.rest_api.credentials", "sources.credentials", "credentials"]);
  assert.deepEqual(credentialSections(), ["sources.rest_api.credentials", "sources.credentials", "credentials"]);
});

test("resolveSecrets replaces references and reports each value with where it came from", () => {
  const resolved = resolveSecrets({ headers: { a: secret("token") }, keep: "plain" }, { env: { TOKEN: "t-1" }, cwd: "/nonexistent" });
  assert.deepEqual(resolved.value, { headers: { a: "t-1" }, keep: "plain" });
  assert.deepEqual(resolved.origins, { token: "env TOKEN" });
  assert.ok(resolved.values.includes("t-1"));
});
