/**
 * dlt's config corpus (issue #12): every config shape dlt's own tests treat as
 * valid passes `restduck validate`, and every shape they reject exits 2 with
 * a message naming the config path. The shapes are ours, written as JSON in
 * test/fixtures/dlt_configs/ (see its README for where each came from).
 *
 * A case is `config` written to a file in an empty folder; `env` is the whole
 * environment, `files` are written next to it (e.g. `.dlt/secrets.toml`).
 * Valid cases may name the paginator each resource ends up with (dlt's
 * semantics, e.g. of `paginator: null`) and warnings that must be printed.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { runCli, testEnv } from "../helpers/index.ts";

interface Case {
  name: string;
  from: string;
  config: unknown;
  env?: Record<string, string>;
  files?: Record<string, string>;
  /** Valid cases: resource name → paginator type the plan must hold. */
  paginators?: Record<string, string>;
  /** Valid cases: regexes every one of which must match a printed warning. */
  warnings?: string[];
  /** Invalid cases: a regex the error must match. */
  expect?: string;
  /** A value that must appear in no output. */
  secret?: string;
}

const load = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/dlt_configs/${name}`, import.meta.url), "utf8")) as Case[];
const VALID = load("valid.json");
const INVALID = load("invalid.json");

async function validate(c: Case, json: boolean) {
  await using env = await testEnv({ prefix: "restduck-dlt-corpus-" });
  const { dir } = env;
  for (const [path, text] of Object.entries(c.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, "source.json"), JSON.stringify(c.config));
  const result = await runCli(["validate", "source.json", ...(json ? ["--json"] : [])], { cwd: dir, env: c.env ?? {} });
  // validate touches neither network nor database: the folder holds only what the case wrote.
  assert.deepEqual(readdirSync(dir).sort(), ["source.json", ...Object.keys(c.files ?? {}).map((p) => p.split("/")[0])].sort());
  return result;
}

describe("configs dlt accepts pass validate", () => {
  for (const c of VALID) {
    test(`valid: ${c.name}`, async () => {
      const result = await validate(c, true);
      assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
      const report = JSON.parse(result.stdout) as { valid: boolean; resources: { name: string; paginator: string }[]; warnings: string[] };
      assert.equal(report.valid, true);
      for (const [name, type] of Object.entries(c.paginators ?? {})) {
        assert.equal(report.resources.find((r) => r.name === name)?.paginator, type, `paginator of ${name}`);
      }
      for (const w of c.warnings ?? []) {
        assert.ok(report.warnings.some((x) => new RegExp(w).test(x)), `no warning matches /${w}/ in ${JSON.stringify(report.warnings)}`);
        assert.match(result.stderr, new RegExp(`warning: ${w}`));
      }
      if (!c.warnings) assert.deepEqual(report.warnings, []);
    });
  }
});

describe("configs dlt rejects exit 2 with the path and the problem", () => {
  for (const c of INVALID) {
    test(`invalid: ${c.name}`, async () => {
      const result = await validate(c, false);
      assert.equal(result.code, 2, `exit ${result.code}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, new RegExp(c.expect!));
      assert.match(result.stderr, /^hint: /m);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
      if (c.secret) assert.ok(!(result.stdout + result.stderr).includes(c.secret), "the secret is not echoed");
    });
  }
});

test("the corpus covers every shape issue #12 names", () => {
  const text = JSON.stringify(VALID.map((c) => c.config));
  for (const shape of ['"paginator":null', '"data_selector":null', '"columns":[{"name"', '"name":"a_text","data_type"', '"data":{"key1"', '"data":[["key1"', '"data":"raw string data"', "{incremental.lag}", '"auth":"bearer"', '"auth":"api_key"', '"auth":"http_basic"', '"auth":"oauth2_client_credentials"', '"table_format":"iceberg"', '"action":"foobar"']) {
    assert.ok(text.includes(shape), `no valid case has ${shape}`);
  }
  assert.ok(INVALID.some((c) => /end_value/.test(c.expect!)), "an incremental param with end_value is rejected");
});

test("credentials resolve as dlt's providers do: the environment before secrets.toml, the most specific section first in each; validate names the origin, never the value", async () => {
  const config = { pipeline_name: "shop", client: { base_url: "https://api.example.com", auth: "http_basic" }, resources: ["orders"] };
  const result = await validate(
    {
      name: "order",
      from: "",
      config,
      env: { CREDENTIALS__PASSWORD: "pw-from-env-general" },
      files: { ".dlt/secrets.toml": '[sources.rest_api.shop.credentials]\npassword = "pw-from-toml-specific"\nusername = "ada"\n\n[sources.rest_api.credentials]\nusername = "not-this-one"\n' },
    },
    true,
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { secrets: Record<string, string> };
  assert.deepEqual(report.secrets, {
    "client.auth.username": ".dlt/secrets.toml [sources.rest_api.shop.credentials]",
    "client.auth.password": "env CREDENTIALS__PASSWORD",
  });
  assert.ok(!result.stdout.includes("pw-from"), "no credential value in the output");
});

test("null drops what resource_defaults gives, and inside a paginator, auth or incremental means the default, as dlt's None", () => {
  const { plan } = prepareConfig(
    {
      client: { base_url: "https://api.example.com", auth: { type: "bearer", token: "client-token" }, paginator: "header_link", headers: null },
      resource_defaults: {
        primary_key: "id",
        write_disposition: "merge",
        columns: { id: { primary_key: true } },
        endpoint: { paginator: "json_link", data_selector: "data", auth: { type: "api_key", api_key: "defaults-key" }, response_actions: [{ status_code: 404, action: "ignore" }] },
      },
      resources: [
        {
          name: "cleared",
          primary_key: null,
          write_disposition: null,
          table_name: null,
          endpoint: {
            paginator: null,
            data_selector: null,
            auth: null,
            response_actions: null,
            incremental: { cursor_path: "updated_at", initial_value: null, lag: null, range_start: null, start_param: null },
          },
        },
        { name: "inherits", endpoint: { paginator: { type: "offset", limit: 10, offset: null, offset_param: null, total_path: null } } },
        { name: "bearer_without_type", endpoint: { auth: { type: null, token: "t0ken" } } },
      ],
    },
    { env: {}, cwd: "/nonexistent" },
  );
  const [cleared, inherits, bearer] = plan.resources;
  assert.equal(cleared.tableName, "cleared");
  assert.equal(cleared.writeDisposition, "append");
  assert.deepEqual(cleared.primaryKey, ["id"], "the column hint's key stays, as in dlt");
  assert.equal(cleared.endpoint.paginator.type, "header_link", "the client's paginator");
  assert.equal(cleared.endpoint.dataSelector, undefined, "dlt's detector");
  assert.equal(cleared.endpoint.auth, undefined, "the client's auth");
  assert.deepEqual(cleared.endpoint.responseActions, []);
  assert.equal(cleared.incremental?.rangeStart, "closed");
  assert.equal(cleared.incremental?.initialValue, undefined);
  assert.equal(cleared.incremental?.lag, undefined);
  assert.deepEqual(inherits.endpoint.paginator, { type: "offset", limit: 10, offset: 0, offset_param: "offset", limit_param: "limit", total_path: null, stop_after_empty_page: true });
  assert.equal(inherits.endpoint.auth?.type, "api_key");
  assert.deepEqual(bearer.endpoint.auth, { type: "bearer", token: "t0ken" });
  assert.deepEqual(plan.headers, {});
});
