/**
 * `restduck init`: a starter config and a secrets template that never
 * overwrite anything, and configs generated from OpenAPI files that pass
 * `restduck validate` and (for the built-in chat API) load end to end.
 */
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { queryDb, runCli, SEED_ENV, testEnv } from "../helpers/index.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "openapi");

test("init writes a starter config and a .dlt/secrets.toml template, and the config validates once secrets are set", async () => {
  await using env = await testEnv();
  const res = await env.cli(["init", "chat.yaml"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /✓ wrote chat\.yaml: 1 resource\n  chat_messages: GET \/v1\/messages, paginator offset/);
  assert.match(res.stdout, /wrote \.dlt\/secrets\.toml with client_id, client_secret to fill in \(or set CLIENT_ID, CLIENT_SECRET\)/);
  const yaml = readFileSync(env.path("chat.yaml"), "utf8");
  assert.match(yaml, /^# restduck starter config/);
  assert.match(yaml, /client_secret:\n\s+\$secret: client_secret/);
  const secrets = readFileSync(env.path(".dlt", "secrets.toml"), "utf8");
  assert.match(secrets, /^# client_id = ""/m);
  // Commented out, so a forgotten secret is reported by name instead of sent empty.
  const missing = await runCli(["validate", "chat.yaml"], { cwd: env.dir, env: {} });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Missing secrets? "client_id" \(environment variable CLIENT_ID\)/);
  const ok = await env.cli(["validate", "chat.yaml"], { env: SEED_ENV });
  assert.equal(ok.code, 0, ok.stderr);
});

test("init never overwrites a config without --force, and never touches an existing secrets file", async () => {
  await using env = await testEnv();
  writeFileSync(env.path("restduck.yaml"), "mine\n");
  mkdirSync(env.path(".dlt"));
  writeFileSync(env.path(".dlt", "secrets.toml"), 'client_id = "kept"\n');
  const refused = await env.cli(["init"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /error: restduck\.yaml already exists; init does not overwrite it\nhint: pick another file name, or add --force to replace it/);
  assert.equal(readFileSync(env.path("restduck.yaml"), "utf8"), "mine\n");
  const forced = await env.cli(["init", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(readFileSync(env.path("restduck.yaml"), "utf8"), /chat_messages/);
  assert.match(forced.stdout, /\.dlt\/secrets\.toml exists and was left alone; it \(or the environment\) needs: client_id, client_secret/);
  assert.equal(readFileSync(env.path(".dlt", "secrets.toml"), "utf8"), 'client_id = "kept"\n');
  const badName = await env.cli(["init", "chat.toml"]);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /init writes \.yaml, \.yml or \.json/);
});

test("init writes .dlt/secrets.toml readable by its owner only, in a .dlt folder only its owner can open", async () => {
  await using env = await testEnv();
  const res = await env.cli(["init", "chat.yaml"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(statSync(env.path(".dlt", "secrets.toml")).mode & 0o777, 0o600);
  assert.equal(statSync(env.path(".dlt")).mode & 0o777, 0o700);
});

test("init leaves an existing .dlt folder's mode alone and still writes the secrets file 0600", async () => {
  await using env = await testEnv();
  mkdirSync(env.path(".dlt"), { mode: 0o755 });
  const res = await env.cli(["init", "chat.yaml"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(statSync(env.path(".dlt")).mode & 0o777, 0o755);
  assert.equal(statSync(env.path(".dlt", "secrets.toml")).mode & 0o777, 0o600);
});

test("init never writes its secrets template through a symlink planted at .dlt/secrets.toml", async () => {
  await using env = await testEnv();
  mkdirSync(env.path(".dlt"));
  const victim = env.path("victim.txt");
  // A dangling link: exists() says no file, yet writing the name would create the link's target.
  symlinkSync(victim, env.path(".dlt", "secrets.toml"));
  const res = await env.cli(["init", "chat.yaml"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /\.dlt\/secrets\.toml exists and was left alone/);
  assert.equal(existsSync(victim), false);
  assert.ok(lstatSync(env.path(".dlt", "secrets.toml")).isSymbolicLink());
  assert.equal(readlinkSync(env.path(".dlt", "secrets.toml")), victim);
});

for (const [fixture, file, env, resources] of [
  ["discord.json", "discord.yaml", { BOT_TOKEN: "Bot x" }, ["guilds", "channels", "messages"]],
  ["twilio_conversations.json", "twilio.json", { USERNAME: "AC1", PASSWORD: "p" }, ["conversations", "messages", "participants"]],
  ["mattermost.yaml", "mattermost.yml", { API_TOKEN: "t" }, ["teams", "channels"]],
] as const) {
  test(`init --openapi ${fixture} writes a config that restduck validate accepts`, async () => {
    await using tmp = await testEnv(); // `env` is the fixture's secrets here
    const res = await runCli(["init", "--openapi", join(FIXTURES, fixture), file, "--json"], { cwd: tmp.dir });
    assert.equal(res.code, 0, res.stderr);
    const summary = JSON.parse(res.stdout) as { valid: boolean; problems: string[]; resources: { name: string }[]; secrets: string[] };
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.valid, true);
    for (const name of resources) assert.ok(summary.resources.some((r) => r.name === name), `${name} in ${summary.resources.map((r) => r.name)}`);
    assert.ok(existsSync(join(tmp.dir, ".dlt", "secrets.toml")));
    const v = await runCli(["validate", file, "--json"], { cwd: tmp.dir, env });
    assert.equal(v.code, 0, v.stderr);
    const validated = JSON.parse(v.stdout) as { valid: boolean; resources: { name: string }[] };
    assert.equal(validated.valid, true);
    assert.deepEqual(validated.resources.map((r) => r.name).sort(), summary.resources.map((r) => r.name).sort());
  });
}

test("a config generated from the chat API's OpenAPI file loads every message end to end", async () => {
  await using env = await testEnv({ chat: { messages: 250 } });
  const spec = readFileSync(join(FIXTURES, "restduck_chat.yaml"), "utf8").replaceAll("http://127.0.0.1:8080", env.chat.url);
  writeFileSync(env.path("chat_openapi.yaml"), spec);
  const init = await runCli(["init", "--openapi", "chat_openapi.yaml", "chat.yaml"], { cwd: env.dir });
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /messages: GET \/v1\/messages, paginator offset/);
  const run = await env.cli(["run", "chat.yaml", "--db", "chat.duckdb"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /✓ messages: 250 rows from 3 pages/);
  const [row] = await queryDb<{ n: number; ids: number }>(env.path("chat.duckdb"), "select count(*)::INT as n, count(distinct id)::INT as ids from messages");
  assert.deepEqual(row, { n: 250, ids: 250 });
});

test("init --openapi explains a missing, unparsable or Swagger 2 file and exits 2", async () => {
  await using env = await testEnv();
  const missing = await env.cli(["init", "--openapi", "nope.json"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error: Cannot read OpenAPI file nope\.json: no such file\nhint: /);
  writeFileSync(env.path("bad.yaml"), "openapi: [3\n  x: :\n");
  const bad = await env.cli(["init", "--openapi", "bad.yaml"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error: Cannot parse OpenAPI file bad\.yaml/);
  writeFileSync(env.path("old.json"), JSON.stringify({ swagger: "2.0", info: { title: "x" }, paths: {} }));
  const old = await env.cli(["init", "--openapi", "old.json"]);
  assert.equal(old.code, 2);
  assert.match(old.stderr, /Swagger 2\.0 document; restduck reads OpenAPI 3\.x\nhint: convert it first/);
  assert.ok(!existsSync(env.path("restduck.yaml")), "nothing written on failure");
  assert.doesNotMatch(missing.stderr + bad.stderr + old.stderr, /\n\s+at /, "no stack trace");
});
