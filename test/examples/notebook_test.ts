/**
 * The notebooks in examples/ cannot rot: the Deno notebook's code cells run
 * in order, as one module, with the repository's deno (type-checked, so an
 * API change breaks this test, not a reader's afternoon), and every SQL query
 * of the Python notebook runs on the DuckDB file the Deno notebook wrote. The
 * Python notebook itself is not executed: its packages (duckdb, pandas,
 * matplotlib) are not installable here.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { queryDb, tempDir } from "../helpers/index.ts";

const root = resolve(import.meta.dirname, "../..");
const examples = join(root, "examples");

interface Notebook {
  cells: { cell_type: string; source: string | string[] }[];
  metadata: { kernelspec?: { name?: string } };
  nbformat: number;
}

function readNotebook(name: string): Notebook {
  return JSON.parse(readFileSync(join(examples, name), "utf8")) as Notebook;
}

const codeCells = (nb: Notebook) =>
  nb.cells.filter((c) => c.cell_type === "code").map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source));

/**
 * `Deno.jupyter` exists only inside `deno jupyter` (and cannot be redefined),
 * so the module gets a stand-in that prints what the notebook would display.
 */
const JUPYTER_STUB = `
const __show = (mime: string, text: string) => {
  console.log(\`<<display \${mime}>>\${text}<<end>>\`);
  return { [Symbol.for("Jupyter.display")]: () => ({ [mime]: text }) };
};
const __template = (strings: TemplateStringsArray, ...values: unknown[]) => strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ""), "");
const __jupyter = {
  svg: (strings: TemplateStringsArray, ...values: unknown[]) => __show("image/svg+xml", __template(strings, ...values)),
  html: (strings: TemplateStringsArray, ...values: unknown[]) => __show("text/html", __template(strings, ...values)),
  md: (strings: TemplateStringsArray, ...values: unknown[]) => __show("text/markdown", __template(strings, ...values)),
  display: (value: Record<string, string>) => __show(Object.keys(value)[0], Object.values(value)[0]),
};
`;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

test("the Deno notebook's cells run in order against the built-in chat API, load, query and draw both charts", async () => {
  const nb = readNotebook("chat_pipeline.ipynb");
  assert.equal(nb.nbformat, 4);
  assert.equal(nb.metadata.kernelspec?.name, "deno");
  const cells = codeCells(nb);
  assert.ok(cells.length >= 5, "the notebook has its code cells");

  // The module sits beside the notebook, so `../src/index.ts` and package.json resolve as in the kernel;
  // it runs in a temp folder, so chat.duckdb lands there.
  const module = join(examples, `.notebook_test_${process.pid}.ts`);
  const work = tempDir("restduck-notebook-");
  try {
    const body = cells.map((source, i) => `// --- cell ${i + 1}\n${source.replaceAll("Deno.jupyter", "__jupyter")}\n`).join(";\n");
    writeFileSync(module, `${JUPYTER_STUB}\n${body}`);
    const res = await run(join(root, "node_modules", ".bin", "deno"), ["run", "--allow-all", "--check", module], work.dir);
    assert.equal(res.code, 0, `notebook failed:\n${res.stdout}\n${res.stderr}`);

    const charts = [...res.stdout.matchAll(/<<display image\/svg\+xml>>([\s\S]*?)<<end>>/g)].map((m) => m[1]);
    assert.equal(charts.length, 2, "two charts are displayed");
    assert.match(charts[0], /^<svg [^>]*>.*Messages per day/);
    assert.match(charts[1], /Messages per sender/);
    assert.ok((charts[1].match(/<rect /g) ?? []).length >= 5, "a bar per sender");
    assert.match(res.stdout, /retry 1 in \d+ ms/);

    const db = join(work.dir, "chat.duckdb");
    const [loaded] = await queryDb<{ n: number; first: string }>(db, "select count(*)::int as n, (select content from chat_messages where id = 1) as first from chat_messages");
    assert.deepEqual(loaded, { n: 1050, first: "edited from the notebook" });

    // The Python notebook's SQL, run on the same file (read-only, as the notebook opens it).
    const python = readNotebook("analysis.ipynb");
    assert.equal(python.metadata.kernelspec?.name, "python3");
    const queries = codeCells(python).flatMap((source) => [...source.matchAll(/con\.sql\("""([\s\S]*?)"""\)/g)].map((m) => m[1]));
    assert.ok(queries.length >= 5, "the Python notebook's queries were found");
    for (const sql of queries) {
      const rows = await queryDb(db, sql);
      assert.ok(rows.length > 0, `no rows from the Python notebook's query: ${sql}`);
    }
    assert.match(codeCells(python).join("\n"), /duckdb\.connect\("chat\.duckdb", read_only=True\)/);
  } finally {
    rmSync(module, { force: true });
    work.cleanup();
  }
});
