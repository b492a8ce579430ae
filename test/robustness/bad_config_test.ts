/**
 * The bad-config corpus (issue 5): every case in
 * test/fixtures/bad_configs/cases.json is a config mistake a user can make,
 * with the message it must give. Each must exit 2 from `run` (and from
 * `validate`), name the config path and what is expected, print a hint and
 * no stack trace, leak no secret, and neither create a DuckDB file nor change
 * an existing one.
 *
 * A case is the seed config changed by `set` (dotted path → value) and
 * `unset`, or a whole `config`, or raw `text` written to `file`; `env`
 * replaces the secrets' environment, `files` adds files, `args` adds flags,
 * `argv` replaces the command line.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openDatabase } from "../../src/load/db.ts";
import { runCli, SEED_ENV, seedConfig, testEnv, type TestEnv } from "../helpers/index.ts";

interface BadConfigCase {
  name: string;
  expect: string;
  set?: Record<string, unknown>;
  unset?: string[];
  config?: unknown;
  text?: string;
  file?: string;
  args_config?: string;
  env?: Record<string, string>;
  files?: Record<string, string>;
  args?: string[];
  argv?: string[];
  /** A value that must not appear in any output. */
  secret?: string;
}

const CASES = JSON.parse(readFileSync(new URL("../fixtures/bad_configs/cases.json", import.meta.url), "utf8")) as BadConfigCase[];

/** The seed config against a closed port, with no retries: a case that wrongly passes fails fast. */
function baseConfig(): Record<string, unknown> {
  const config = seedConfig("http://127.0.0.1:9") as { client: Record<string, unknown> };
  config.client.retry = { max_retries: 0, timeout: 2 };
  return config;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown, remove = false): void {
  const parts = path.split(".");
  let node = root as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = /^\d+$/.test(part) ? [] : {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("the bad-config corpus", () => {
  let shared: TestEnv;
  let existing = "";
  let existingHash = "";

  before(async () => {
    shared = await testEnv({ prefix: "restduck-badcfg-" });
    existing = shared.path("existing.duckdb");
    const db = await openDatabase(existing);
    await db.run("CREATE TABLE keep AS SELECT 42 AS answer");
    db.close();
    existingHash = sha256(existing);
  });
  after(() => shared?.[Symbol.asyncDispose]());

  test(`holds at least 100 cases with unique names (${CASES.length})`, () => {
    assert.ok(CASES.length >= 100);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  for (const c of CASES) {
    test(`${c.name}: exit 2 with the path and the fix, no database touched`, async () => {
      const dir = join(shared.dir, c.name.replace(/[^A-Za-z0-9]+/g, "_"));
      mkdirSync(dir, { recursive: true });
      const file = c.args_config ?? c.file ?? "bad.json";
      if (!c.args_config) {
        let text = c.text;
        if (text === undefined) {
          let config: unknown = "config" in c ? c.config : baseConfig();
          if (!("config" in c)) {
            for (const [path, value] of Object.entries(c.set ?? {})) setPath(config as Record<string, unknown>, path, value);
            for (const path of c.unset ?? []) setPath(config as Record<string, unknown>, path, undefined, true);
          }
          text = JSON.stringify(config, null, 2);
        }
        writeFileSync(join(dir, file), text);
      }
      for (const [name, content] of Object.entries(c.files ?? {})) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), content);
      }
      const env = c.env ?? SEED_ENV;
      const runs: [string, string[]][] = [
        ["run into a new file", c.argv ?? ["run", file, "--db", "fresh.duckdb", ...(c.args ?? [])]],
        ["run into an existing file", c.argv ?? ["run", file, "--db", existing, ...(c.args ?? [])]],
      ];
      if (!c.argv && !c.args?.some((a) => a.startsWith("--resource") || a === "--dbb")) runs.push(["validate", ["validate", file, ...(c.args ?? [])]]);
      for (const [what, argv] of runs) {
        const result = await runCli(argv, { cwd: dir, env });
        const out = result.stdout + result.stderr;
        assert.equal(result.code, 2, `${what}: exit 2\n${out}`);
        assert.match(result.stderr, new RegExp(c.expect), `${what}: the message names the path and the fix`);
        assert.match(result.stderr, /(^|\n)(hint: |Usage:|restduck)/, `${what}: says what to do next`);
        assert.doesNotMatch(out, /\n\s+at .+:\d+:\d+\)?\n/, `${what}: no stack trace`);
        for (const secret of [SEED_ENV.CLIENT_SECRET, ...(c.secret ? [c.secret] : [])]) {
          assert.ok(!out.includes(secret), `${what}: never shows a secret`);
        }
      }
      assert.ok(!existsSync(join(dir, "fresh.duckdb")), "no DuckDB file created");
      assert.ok(!existsSync(join(dir, "fresh.duckdb.wal")), "no WAL file created");
      assert.equal(sha256(existing), existingHash, "the existing DuckDB file is unchanged");
      assert.ok(!existsSync(`${existing}.wal`), "the existing DuckDB file was not opened for writing");
    });
  }
});
