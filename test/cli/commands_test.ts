/**
 * The command set as a whole: help for every command, and the rule that
 * keeps `--version` and `--help` fast (no heavy module imported up front).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../helpers/index.ts";

const COMMANDS = ["run", "check", "query", "info", "schema", "export", "init", "validate", "demo"];

test("--help lists every command, and each command's --help shows its options and the exit codes", async () => {
  const res = await runCli(["--help"], { cwd: "/" });
  assert.equal(res.code, 0);
  for (const cmd of COMMANDS) assert.match(res.stdout, new RegExp(`restduck ${cmd}\\b`), cmd);
  // A binary user has no README.md beside them: the footer links the docs online.
  assert.match(res.stdout, /Docs: https:\/\/github\.com\/restduck\/restduck#readme/);
  assert.doesNotMatch(res.stdout, /Docs: README\.md/);
  for (const [cmd, option] of [["info", "--db"], ["schema", "--table"], ["export", "--partition-by"], ["init", "--openapi"], ["query", "--out"]]) {
    const sub = await runCli([cmd, "--help"], { cwd: "/" });
    assert.equal(sub.code, 0, cmd);
    assert.match(sub.stdout, new RegExp(option), `${cmd} ${option}`);
    assert.match(sub.stdout, /Exit codes/);
  }
  const none = await runCli([], { cwd: "/" });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Name a command: run, check, query, info, schema, export, init, validate, demo/);
  const missing = await runCli(["export", "--db", "x.duckdb"], { cwd: "/" });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Missing required argument: to/);
});

test("the CLI imports DuckDB, the config, the pipeline and the OpenAPI generator only inside command handlers", () => {
  const dir = join(import.meta.dirname, "..", "..", "src", "cli");
  const files = [join(dir, "main.ts"), join(dir, "output.ts"), join(dir, "context.ts"), ...readdirSync(join(dir, "commands")).map((f) => join(dir, "commands", f))];
  const heavy = /(@duckdb|\/load\/|\/config\/|\/pipeline\/|\/openapi\/|\/normalize\/|\/demo\/|^yaml$|\/inspect\.ts$)/;
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gm)) {
      if (m[1]) continue; // type-only imports vanish at runtime
      assert.doesNotMatch(m[2], heavy, `${file.slice(dir.length + 1)} imports ${m[2]} at the top; import it inside the handler`);
    }
  }
});
