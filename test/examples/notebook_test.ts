/**
 * The notebooks in examples/ cannot rot: the Deno notebook runs top to bottom against the packed npm
 * package (`npm:restduck`, as a reader's kernel imports it; type-checked, so an API change breaks
 * this test, not a reader's afternoon), its committed outputs must be those of a run, and every SQL
 * query of the Python notebook runs on the DuckDB file the Deno notebook wrote. The Python notebook
 * itself is not executed: its packages (duckdb, pandas, matplotlib) are not installable here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { queryDb, tempDir } from "../helpers/index.ts";
import { root } from "../helpers/pack.ts";
import { NOTEBOOK, readNotebook, runNotebook, sourceOf, type Output } from "./run_notebook.ts";

/** What a cell showed, without the values that change from run to run (ports, timings). */
const shape = (outputs: Output[] = []) =>
  outputs.map((o) => (o.output_type === "stream" ? `stream:${o.name}` : `${o.output_type}:${Object.keys(o.data).join(",")}`));

test("the Deno notebook runs top to bottom on the packed package (npm:restduck): it loads, queries, draws both charts and merges", async () => {
  const nb = readNotebook(NOTEBOOK);
  assert.equal(nb.nbformat, 4);
  assert.equal(nb.metadata.kernelspec?.name, "deno");
  const code = nb.cells.filter((c) => c.cell_type === "code");
  assert.ok(code.length >= 5, "the notebook has its code cells");
  assert.match(sourceOf(code[0]), /from "npm:restduck"/, "it imports the package the way a Deno user does");
  assert.doesNotMatch(code.map(sourceOf).join("\n"), /\.\.\/src\//, "nothing from the repository's sources");

  const work = tempDir("restduck-notebook-");
  try {
    const { outputs, stdout, stderr } = await runNotebook(work.dir, nb);
    const text = (o: Output[]) => o.map((x) => (x.output_type === "stream" ? x.text : Object.values(x.data).flat()).join("")).join("");

    assert.match(text(outputs[0]), /^"http:\/\/127\.0\.0\.1:\d+"$/, "the first cell shows the API's URL");
    assert.match(text(outputs[1]), /retry 1 in \d+ ms: 429/);
    assert.match(text(outputs[1]), /status: "completed",\s+rows: 1000,/);
    assert.match(text(outputs[2]), /│ "u_ada"\s+│\s+\d+ │/, "console.table of the senders");
    const charts = outputs.flat().filter((o) => o.output_type === "execute_result" && "image/svg+xml" in o.data);
    assert.equal(charts.length, 2, `two charts are displayed:\n${stdout}\n${stderr}`);
    const [perDay, perSender] = charts.map((o) => (o.output_type === "stream" ? "" : o.data["image/svg+xml"].join("")));
    assert.match(perDay, /^<svg [^>]*>.*Messages per day/);
    assert.match(perSender, /Messages per sender/);
    assert.ok((perSender.match(/<rect /g) ?? []).length >= 5, "a bar per sender");
    assert.match(text(outputs[5]), /messages: 1050,\s+ids: 1050,\s+last_id: 1050,\s+first_message: "edited from the notebook"/);

    const db = join(work.dir, "chat.duckdb");
    const [loaded] = await queryDb<{ n: number; first: string }>(db, "select count(*)::int as n, (select content from chat_messages where id = 1) as first from chat_messages");
    assert.deepEqual(loaded, { n: 1050, first: "edited from the notebook" });

    // The committed notebook carries the outputs of such a run (regenerate: node test/examples/run_notebook.ts --write).
    assert.deepEqual(
      code.map((c) => shape(c.outputs)),
      outputs.map(shape),
      "examples/chat_pipeline.ipynb's saved outputs are stale: run `node test/examples/run_notebook.ts --write`",
    );
    assert.deepEqual(
      code.map((c) => c.execution_count),
      code.map((_, i) => i + 1),
      "saved as one run, cells numbered in order",
    );

    // The Python notebook's SQL, run on the same file (read-only, as the notebook opens it).
    const python = readNotebook(join(root, "examples", "analysis.ipynb"));
    assert.equal(python.metadata.kernelspec?.name, "python3");
    const pySources = python.cells.filter((c) => c.cell_type === "code").map(sourceOf);
    const queries = pySources.flatMap((source) => [...source.matchAll(/con\.sql\("""([\s\S]*?)"""\)/g)].map((m) => m[1]));
    assert.ok(queries.length >= 5, "the Python notebook's queries were found");
    for (const sql of queries) {
      const rows = await queryDb(db, sql);
      assert.ok(rows.length > 0, `no rows from the Python notebook's query: ${sql}`);
    }
    assert.match(pySources.join("\n"), /duckdb\.connect\("chat\.duckdb", read_only=True\)/);
  } finally {
    work.cleanup();
  }
});
