/**
 * The leak test (issue 5): every command runs with known secret values — an
 * OAuth2 client secret and the tokens it earns, a bearer token, an API key
 * sent as a query parameter, a basic-auth password, a secret query
 * parameter, secrets from the environment, .dlt/secrets.toml and --secrets —
 * in plain, --verbose and --json modes, succeeding and failing (including an
 * API that echoes credentials back in its error page). Then stdout, stderr,
 * the DuckDB file's bytes, every table's contents and every file left in the
 * folder are searched for each secret: 0 hits.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ChatApi } from "../../src/demo/chat_api.ts";
import { openDatabase } from "../../src/load/db.ts";
import { chatApi, queryDb, seedConfig, testEnv, type CliResult } from "../helpers/index.ts";
import { startMockApi, type MockApi, type MockHandler } from "../helpers/mock_api.ts";

const SECRETS = {
  CLIENT_ID: "leak-client-id-7Hq2",
  CLIENT_SECRET: "leak-client-secret-Zr81xP",
  BEARER_TOKEN: "leak-bearer-token-Kd93mQ",
  API_KEY: "leak-api-key-Vb27nW",
  BASIC_PASSWORD: "leak-basic-password-Jx55",
  PARAM_TOKEN: "leak-param-token-Qe64",
  TOML_SECRET: "leak-toml-secret-Lp09",
  FILE_SECRET: "leak-file-secret-Rt33",
};
/** The demo's credentials are public, but its tokens and secret must still never be printed. */
const DEMO_SECRET = "demo-secret";

let api: ChatApi;
let server: MockApi;
let base = "";
/** Whether /param_pages serves its third page (it fails until a test heals it). */
let pagesHealed = false;

/** Routes guarded by each auth style, plus one that echoes the credentials it got in a 500 page (on the mock API). */
function startAuthApi(): Promise<MockApi> {
  const items = JSON.stringify({ items: [{ id: 1, v: "a" }, { id: 2, v: "b" }] });
  const guarded: MockHandler = ({ req, url }) => {
    const auth = req.headers.authorization ?? "";
    const ok =
      (url.pathname === "/bearer" && auth === `Bearer ${SECRETS.BEARER_TOKEN}`) ||
      (url.pathname === "/apikey" && url.searchParams.get("api_key") === SECRETS.API_KEY) ||
      (url.pathname === "/basic" && auth === `Basic ${Buffer.from(`user:${SECRETS.BASIC_PASSWORD}`).toString("base64")}`) ||
      (url.pathname === "/param" && url.searchParams.get("token") === SECRETS.PARAM_TOKEN) ||
      (url.pathname === "/toml" && auth === `Bearer ${SECRETS.TOML_SECRET}`) ||
      (url.pathname === "/file" && auth === `Bearer ${SECRETS.FILE_SECRET}`);
    return { status: ok ? 200 : 401, raw: ok ? items : JSON.stringify({ error: "unauthorized", got: auth }) };
  };
  return startMockApi({
    routes: {
      ...Object.fromEntries(["/bearer", "/apikey", "/basic", "/param", "/toml", "/file"].map((path) => [path, guarded])),
      // Offset pages of one record; the third page fails, so the checkpoint keeps a next request carrying the secret param.
      "/param_pages": ({ url }) => {
        const offset = Number(url.searchParams.get("offset") ?? 0);
        const good = url.searchParams.get("token") === SECRETS.PARAM_TOKEN && (offset < 2 || pagesHealed);
        return { status: good ? 200 : 500, body: good ? { items: [{ id: offset + 1 }], total: 3 } : { error: "boom" } };
      },
      "/echo": ({ req, url }) => ({
        status: 500,
        headers: { "content-type": "text/html" },
        raw: `<html><body>Internal error handling ${req.url} with authorization ${req.headers.authorization ?? ""} and key ${url.searchParams.get("api_key")}</body></html>`,
      }),
    },
  });
}

before(async () => {
  api = await chatApi({ clientId: SECRETS.CLIENT_ID, clientSecret: SECRETS.CLIENT_SECRET, messages: 60 });
  server = await startAuthApi();
  base = server.url;
});
after(async () => {
  await api.close();
  await server.close();
});

/** A config using every auth style, each secret from a different place. */
function leakyConfig(): Record<string, unknown> {
  const seed = seedConfig(api.url) as { client: Record<string, unknown>; resources: Record<string, unknown>[] };
  const endpoint = (path: string, auth?: unknown, params?: unknown) => ({ path: `${base}${path}`, data_selector: "items", paginator: "single_page", ...(auth ? { auth } : {}), ...(params ? { params } : {}) });
  return {
    pipeline_name: "leak",
    ...seed,
    client: { ...seed.client, retry: { max_retries: 1, backoff_factor: 0 } },
    resources: [
      { ...seed.resources[0] },
      { name: "bearer_things", endpoint: endpoint("/bearer", { type: "bearer", token: { $secret: "bearer_token" } }) },
      { name: "api_key_things", endpoint: endpoint("/apikey", { type: "api_key", name: "api_key", api_key: { $secret: "api_key" }, location: "query" }) },
      { name: "basic_things", endpoint: endpoint("/basic", { type: "http_basic", username: "user", password: { $secret: "basic_password" } }) },
      { name: "param_things", endpoint: endpoint("/param", undefined, { token: { $secret: "param_token" } }) },
      { name: "toml_things", endpoint: endpoint("/toml", { type: "bearer", token: { $secret: "toml_secret" } }) },
      { name: "file_things", endpoint: endpoint("/file", { type: "bearer", token: { $secret: "file_secret" } }) },
    ],
  };
}

/** Everything secret: the configured values, plus every access token the OAuth2 endpoint handed out. */
function allSecrets(): string[] {
  const tokens = api.requests.map((r) => /^Bearer (tok_\S+)$/.exec(r.authorization ?? "")?.[1]).filter((t): t is string => Boolean(t));
  return [...Object.values(SECRETS), ...new Set(tokens), Buffer.from(`user:${SECRETS.BASIC_PASSWORD}`).toString("base64")];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every row of every table and view, as text: what a byte search of a compressed file could miss. */
async function dumpDatabase(path: string): Promise<string> {
  const db = await openDatabase(path, { readOnly: true });
  try {
    const tables = await db.all<{ s: string; t: string }>("SELECT schema_name AS s, table_name AS t FROM duckdb_tables() UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal");
    let out = "";
    for (const { s, t } of tables) out += JSON.stringify(await db.all(`SELECT * FROM "${s.replace(/"/g, '""')}"."${t.replace(/"/g, '""')}"`)) + "\n";
    return out;
  } finally {
    db.close();
  }
}

interface Hit {
  where: string;
  secret: string;
}

function search(where: string, text: string | Buffer, secrets: string[], hits: Hit[]): void {
  const haystack = typeof text === "string" ? text : text.toString("latin1");
  for (const secret of secrets) if (haystack.includes(secret)) hits.push({ where, secret: `${secret.slice(0, 8)}…` });
}

test("no secret appears in any command's output, the --json events, the DuckDB file or any file left behind", async () => {
  await using env = await testEnv({ prefix: "restduck-leak-" });
  const { dir } = env;
  mkdirSync(join(dir, ".dlt"));
  writeFileSync(join(dir, ".dlt", "secrets.toml"), `[sources]\ntoml_secret = "${SECRETS.TOML_SECRET}"\n`);
  writeFileSync(join(dir, "extra_secrets.json"), JSON.stringify({ file_secret: SECRETS.FILE_SECRET }));
  writeFileSync(join(dir, "leak.json"), JSON.stringify(leakyConfig(), null, 2));
  const secretEnv = {
    CLIENT_ID: SECRETS.CLIENT_ID,
    CLIENT_SECRET: SECRETS.CLIENT_SECRET,
    BEARER_TOKEN: SECRETS.BEARER_TOKEN,
    API_KEY: SECRETS.API_KEY,
    BASIC_PASSWORD: SECRETS.BASIC_PASSWORD,
    PARAM_TOKEN: SECRETS.PARAM_TOKEN,
  };
  const withFile = ["--secrets", "extra_secrets.json"];
  const outputs: [string, CliResult][] = [];
  const cli = async (label: string, argv: string[], options: { env?: Record<string, string>; expect?: number } = {}) => {
    const result = await env.cli(argv, { env: options.env ?? secretEnv });
    if (options.expect !== undefined) assert.equal(result.code, options.expect, `${label}: exit ${options.expect}\n${result.stderr}`);
    outputs.push([label, result]);
    return result;
  };

  // Successful runs in every output mode; the second and third resume nothing and reload everything.
  await cli("run", ["run", "leak.json", "--db", "leak.duckdb", ...withFile], { expect: 0 });
  const json = await cli("run --json", ["run", "leak.json", "--db", "leak.duckdb", "--json", ...withFile], { expect: 0 });
  assert.ok(json.stdout.split("\n").filter(Boolean).every((l) => JSON.parse(l)), "--json writes NDJSON");
  await cli("run --verbose", ["run", "leak.json", "--db", "leak.duckdb", "--verbose", ...withFile], { expect: 0 });
  // The rows really arrived through every auth style.
  const rows = await cli("query", ["query", "--db", "leak.duckdb", "--format", "csv", "select (select count(*) from chat_messages) + (select count(*) from bearer_things) + (select count(*) from api_key_things) + (select count(*) from basic_things) + (select count(*) from param_things) + (select count(*) from toml_things) + (select count(*) from file_things) as n"], { expect: 0 });
  assert.equal(rows.stdout, "n\n72\n");

  // Queries, validation, help and version.
  await cli("query json", ["query", "--db", "leak.duckdb", "--format", "json", "select * from leak_dataset._restduck_checkpoints"], { expect: 0 });
  await cli("query runs", ["query", "--db", "leak.duckdb", "--json", "select * from _restduck_runs"], { expect: 0 });
  await cli("query state", ["query", "--db", "leak.duckdb", "--format", "ndjson", "select * from leak_dataset._dlt_version"], { expect: 0 });
  await cli("query error", ["query", "--db", "leak.duckdb", `select '${"x"}' from nowhere`], { expect: 1 });
  await cli("validate", ["validate", "leak.json", ...withFile], { expect: 0 });
  await cli("validate --json", ["validate", "leak.json", "--json", ...withFile], { expect: 0 });
  await cli("validate --verbose", ["validate", "leak.json", "--verbose", ...withFile], { expect: 0 });
  await cli("--help", ["--help"], { expect: 0 });
  await cli("run --help", ["run", "--help"], { expect: 0 });
  await cli("--version", ["--version"], { expect: 0 });

  // Failing runs: a wrong client secret, a wrong bearer token, an API that echoes credentials, a secret in the wrong place.
  writeFileSync(join(dir, "echo.json"), JSON.stringify({
    pipeline_name: "echo",
    client: { base_url: base, retry: { max_retries: 0 }, auth: { type: "api_key", name: "api_key", api_key: { $secret: "api_key" }, location: "query" } },
    resources: [{ name: "echo", endpoint: { path: "/echo", data_selector: "items", paginator: "single_page", headers: { "x-extra": "1" }, auth: { type: "bearer", token: { $secret: "bearer_token" } } } }],
  }));
  writeFileSync(join(dir, "echo_key.json"), JSON.stringify({
    pipeline_name: "echo_key",
    client: { base_url: base, retry: { max_retries: 0 }, auth: { type: "api_key", name: "api_key", api_key: { $secret: "api_key" }, location: "query" } },
    resources: [{ name: "echo", endpoint: { path: "/echo", data_selector: "items", paginator: "single_page" } }],
  }));
  writeFileSync(join(dir, "misplaced.json"), JSON.stringify({ ...leakyConfig(), batch_pages: { $secret: "bearer_token" } }));
  for (const verbose of [[], ["--verbose"], ["--json"]]) {
    await cli(`run wrong client secret ${verbose}`, ["run", "leak.json", "--db", "fail.duckdb", "--restart", ...verbose, ...withFile], { env: { ...secretEnv, CLIENT_SECRET: `${SECRETS.CLIENT_SECRET}-wrong` }, expect: 1 });
    await cli(`run echoing bearer ${verbose}`, ["run", "echo.json", "--db", "fail.duckdb", ...verbose], { expect: 1 });
    await cli(`run echoing api key ${verbose}`, ["run", "echo_key.json", "--db", "fail.duckdb", ...verbose], { expect: 1 });
    await cli(`run misplaced secret ${verbose}`, ["run", "misplaced.json", "--db", "fail.duckdb", ...verbose, ...withFile], { expect: 2 });
    await cli(`validate misplaced secret ${verbose}`, ["validate", "misplaced.json", ...verbose, ...withFile], { expect: 2 });
  }
  const echoed = outputs.find(([l]) => l === "run echoing bearer ")![1].stderr;
  assert.match(echoed, /500/, "the echoing API's error is shown (masked)");
  // The built-in demo, with its own (public) credentials and tokens.
  await cli("demo", ["demo", "--db", "demo.duckdb", "--messages", "30", "--no-faults"], { expect: 0 });
  await cli("demo --json", ["demo", "--db", "demo.duckdb", "--messages", "30", "--no-faults", "--json"], { expect: 0 });

  const secrets = allSecrets();
  assert.ok(secrets.length > Object.keys(SECRETS).length, "the OAuth2 tokens handed out are searched for too");
  const hits: Hit[] = [];
  for (const [label, r] of outputs) {
    search(`${label} stdout`, r.stdout, [...secrets, DEMO_SECRET], hits);
    search(`${label} stderr`, r.stderr, [...secrets, DEMO_SECRET], hits);
  }
  for (const db of ["leak.duckdb", "fail.duckdb", "demo.duckdb"]) search(`${db} contents`, await dumpDatabase(join(dir, db)), [...secrets, DEMO_SECRET], hits);
  // Every file left behind, except the inputs that hold secrets on purpose.
  const inputs = new Set([join(dir, ".dlt", "secrets.toml"), join(dir, "extra_secrets.json")]);
  const files = filesUnder(dir).filter((f) => !inputs.has(f));
  assert.ok(files.some((f) => f.endsWith("leak.duckdb")));
  for (const file of files) search(`file ${file.slice(dir.length + 1)}`, readFileSync(file), [...secrets, DEMO_SECRET], hits);
  assert.deepEqual(hits, [], `secrets leaked: ${JSON.stringify(hits)}`);
});

test(
  "a secret query parameter never reaches the resume checkpoint, and the resumed run sends it again",
  async () => {
    await using env = await testEnv({ prefix: "restduck-leak-" });
    env.defer(() => void (pagesHealed = false));
    const { dir } = env;
    writeFileSync(join(dir, "pages.json"), JSON.stringify({
      pipeline_name: "pages",
      batch_pages: 1,
      client: { base_url: base, retry: { max_retries: 0 }, concurrency: 1 },
      resources: [{ name: "pages", endpoint: { path: "/param_pages", data_selector: "items", params: { token: { $secret: "param_token" }, kind: "all" }, paginator: { type: "offset", limit: 1, total_path: "total" } } }],
    }));
    env.env = { PARAM_TOKEN: SECRETS.PARAM_TOKEN };
    pagesHealed = false;
    const failed = await env.cli(["run", "pages.json", "--db", "pages.duckdb", "--verbose"]);
    assert.equal(failed.code, 1, failed.stderr);
    const db = join(dir, "pages.duckdb");
    assert.ok(existsSync(db));
    const [cp] = await queryDb<{ next_request: string; pages: number }>(db, "SELECT next_request, pages::INT AS pages FROM pages_dataset._restduck_checkpoints");
    assert.equal(cp.pages, 2, "two pages committed before the failure");
    const hits: Hit[] = [];
    search("stdout", failed.stdout, [SECRETS.PARAM_TOKEN], hits);
    search("stderr", failed.stderr, [SECRETS.PARAM_TOKEN], hits);
    search("database contents", await dumpDatabase(db), [SECRETS.PARAM_TOKEN], hits);
    for (const file of filesUnder(dir)) search(`file ${file.slice(dir.length + 1)}`, readFileSync(file), [SECRETS.PARAM_TOKEN], hits);
    assert.deepEqual(hits, [], `secrets leaked: ${JSON.stringify(hits)}`);

    // The API recovers; the resumed run asks for page 3 with the secret put back from the config.
    pagesHealed = true;
    const resumed = await env.cli(["run", "pages.json", "--db", "pages.duckdb"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming after page 2/);
    const rows = await queryDb<{ id: number }>(db, "SELECT id::INT AS id FROM pages ORDER BY id");
    assert.deepEqual(rows, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  },
);
