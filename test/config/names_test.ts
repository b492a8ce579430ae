/**
 * src/config/names.ts: names that would leave the dataset (path separators, `..`) or write into
 * dlt's and restduck's bookkeeping are refused at config time (issue #11, item 6).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { nameProblem } from "../../src/config/names.ts";
import { ConfigError } from "../../src/errors.ts";

test("ordinary resource, table and view names have no problem", () => {
  for (const name of ["chat_messages", "Issues", "users-2024", "données", "_private"]) assert.equal(nameProblem(name), undefined, name);
});

test("a name with a path separator, .. or a control character is refused, saying why", () => {
  assert.match(nameProblem("../../victim")!, /has a path separator; names become view and file names/);
  assert.match(nameProblem("a\\b")!, /has a path separator/);
  assert.match(nameProblem("a..b")!, /has "\.\."/);
  assert.equal(nameProblem("a\nb"), '"a\\nb" has a control character');
});

test("bookkeeping names are refused as written and as dlt normalises them", () => {
  assert.match(nameProblem("_dlt_loads")!, /is a bookkeeping name \(_dlt_…\)/);
  assert.match(nameProblem("_DLT-Loads")!, /is a bookkeeping name \(_dlt_…\)/);
  assert.match(nameProblem("_restduck_runs")!, /is a bookkeeping name \(_restduck_…\)/);
});

test("nameProblems reports each bad name with its config path", () => {
  const config = {
    client: { base_url: "https://api.example.com" },
    resource_defaults: { table_name: "_dlt_x" },
    resources: [{ name: "ok", table_name: "a/b", endpoint: "/ok" }, { name: "../up", endpoint: "/up" }],
    views: { "_restduck_v": "select 1" },
  };
  assert.throws(
    () => prepareConfig(config, { env: {}, cwd: "/nonexistent" }),
    (error: ConfigError) => {
      const problems = error.problems.join("\n");
      assert.match(problems, /resource_defaults\.table_name: "_dlt_x" is a bookkeeping name/);
      assert.match(problems, /resources\[0\]\.table_name: "a\/b" has a path separator/);
      assert.match(problems, /resources\[1\]\.name: "\.\.\/up" has a path separator/);
      assert.match(problems, /views\._restduck_v: "_restduck_v" is a bookkeeping name/);
      return true;
    },
  );
});
