/**
 * Runs the Deno notebook (examples/chat_pipeline.ipynb) top to bottom the way its kernel would, against
 * the packed npm package, and collects each code cell's outputs in Jupyter's format: what it printed
 * (stdout, stderr) and the value of its last expression (text/plain from Deno.inspect, or the MIME
 * bundle of a `Deno.jupyter.svg`/`html`/`md` display).
 *
 * Why not `deno jupyter` itself: it is a kernel, and driving it needs a Jupyter client (jupyter_client,
 * nbconvert, papermill) that is not installable here. So the cells run as one Deno module (they share
 * top-level bindings as in the kernel), with markers between cells. `Deno.jupyter` exists only inside
 * the kernel and cannot be redefined, so a stand-in with the same tagged templates returns the same
 * display bundles.
 *
 *   node test/examples/run_notebook.ts --write    # runs it and saves the outputs into the .ipynb
 *
 * test/examples/notebook_test.ts runs it on every `npm test`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { installInto, packPackage, root, shAsync } from "../helpers/pack.ts";

export const NOTEBOOK = join(root, "examples", "chat_pipeline.ipynb");

export type Output =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string[] }
  | { output_type: "execute_result"; execution_count: number; data: Record<string, string[]>; metadata: Record<string, never> }
  | { output_type: "display_data"; data: Record<string, string[]>; metadata: Record<string, never> };

export interface Cell {
  cell_type: "code" | "markdown";
  source: string[];
  metadata: Record<string, unknown>;
  execution_count?: number | null;
  outputs?: Output[];
}

export interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string } } & Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export const readNotebook = (path: string): Notebook => JSON.parse(readFileSync(path, "utf8")) as Notebook;
export const sourceOf = (cell: Cell): string => (Array.isArray(cell.source) ? cell.source.join("") : cell.source);

const CELL = "\u001e<<cell ";
const RESULT = "\u001e<<result>>";
const END = "<<end>>\u001e";

/** What the kernel provides: Deno.jupyter's display helpers, and how a cell's last value is shown. */
const PRELUDE = `
const __bundle = Symbol.for("Jupyter.display");
const __display = (mime: string) => (strings: TemplateStringsArray, ...values: unknown[]) => {
  const text = strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ""), "");
  return { [__bundle]: () => ({ [mime]: text }) };
};
const __jupyter = { svg: __display("image/svg+xml"), html: __display("text/html"), md: __display("text/markdown") };
const __cell = (n: number) => {
  console.log(${JSON.stringify(CELL)} + n + ">>");
  console.error(${JSON.stringify(CELL)} + n + ">>");
};
const __result = (value: unknown) => {
  if (value === undefined) return;
  const show = (value as { [__bundle]?: () => Record<string, string> } | null)?.[__bundle];
  const data = typeof show === "function" ? show() : { "text/plain": Deno.inspect(value, { colors: false }) };
  console.log(${JSON.stringify(RESULT)} + JSON.stringify(data) + ${JSON.stringify(END)});
};
`;

/** A cell's source with its last expression (what the kernel shows) passed to __result. */
function withResult(source: string): string {
  const stub = (text: string) => text.replaceAll("Deno.jupyter", "__jupyter");
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.ES2023, true, ts.ScriptKind.TS);
  const last = file.statements.at(-1);
  if (!last || !ts.isExpressionStatement(last)) return stub(source);
  // console.log(…), p.close() and other calls made for their effect return undefined: the kernel shows nothing for them either.
  const start = last.expression.getStart(file);
  return stub(source.slice(0, start)) + `__result(${stub(source.slice(start, last.expression.end))});` + stub(source.slice(last.end));
}

/** The notebook's code cells as one module, each preceded by its marker. */
export function notebookModule(nb: Notebook): string {
  const code = nb.cells.filter((c) => c.cell_type === "code");
  return PRELUDE + code.map((c, i) => `\n// --- cell ${i + 1}\n__cell(${i + 1});\n${withResult(sourceOf(c))}\n`).join("");
}

/** Splits a stream at the cell markers: text per cell number. */
function perCell(stream: string): Map<number, string> {
  const parts = new Map<number, string>();
  for (const chunk of stream.split(CELL).slice(1)) {
    const close = chunk.indexOf(">>\n");
    parts.set(Number(chunk.slice(0, close)), chunk.slice(close + 3));
  }
  return parts;
}

const lines = (text: string): string[] => text.split(/(?<=\n)/).filter((l) => l !== "");

/** Each code cell's outputs, in Jupyter's shape, from the module's stdout and stderr. */
export function cellOutputs(stdout: string, stderr: string, cells: number): Output[][] {
  const out = perCell(stdout);
  const err = perCell(stderr);
  return Array.from({ length: cells }, (_, i) => {
    const n = i + 1;
    const outputs: Output[] = [];
    let printed = "";
    const flush = () => {
      if (printed !== "") outputs.push({ output_type: "stream", name: "stdout", text: lines(printed) });
      printed = "";
    };
    let rest = out.get(n) ?? "";
    for (let at = rest.indexOf(RESULT); at !== -1; at = rest.indexOf(RESULT)) {
      printed += rest.slice(0, at);
      const close = rest.indexOf(END, at);
      const data = JSON.parse(rest.slice(at + RESULT.length, close)) as Record<string, string>;
      flush();
      const bundle = Object.fromEntries(Object.entries(data).map(([mime, text]) => [mime, lines(text)]));
      // Jupyter notebooks store a cell's value as execute_result, whatever its MIME type.
      outputs.push({ output_type: "execute_result", execution_count: n, data: bundle, metadata: {} });
      rest = rest.slice(close + END.length).replace(/^\n/, "");
    }
    printed += rest;
    flush();
    const warned = err.get(n) ?? "";
    if (warned !== "") outputs.splice(0, 0, { output_type: "stream", name: "stderr", text: lines(warned) });
    return outputs;
  });
}

export interface NotebookRun {
  outputs: Output[][];
  stdout: string;
  stderr: string;
}

/**
 * Runs the notebook in `work` (a fresh folder): the packed package is installed there, so `npm:restduck`
 * resolves to it from node_modules (Deno uses a folder's node_modules when it has a package.json),
 * with an empty DENO_DIR and --cached-only so nothing can come from a registry. Type-checked, as the kernel does.
 */
export async function runNotebook(work: string, nb: Notebook = readNotebook(NOTEBOOK)): Promise<NotebookRun> {
  installInto(work, packPackage().tarball);
  const module = join(work, "notebook.ts");
  writeFileSync(module, notebookModule(nb));
  mkdirSync(join(work, ".deno"), { recursive: true });
  const deno = join(root, "node_modules", ".bin", "deno");
  const { stdout, stderr } = await shAsync(deno, ["run", "--cached-only", "--check", "--allow-all", module], work, { DENO_DIR: join(work, ".deno") });
  const cells = nb.cells.filter((c) => c.cell_type === "code").length;
  return { outputs: cellOutputs(stdout, stderr, cells), stdout, stderr };
}

/** The notebook with `outputs` saved into its code cells, numbered 1…n as one run of the kernel numbers them. */
export function withOutputs(nb: Notebook, outputs: Output[][]): Notebook {
  let n = 0;
  return {
    ...nb,
    cells: nb.cells.map((cell) => (cell.cell_type === "code" ? { ...cell, execution_count: ++n, outputs: outputs[n - 1] } : cell)),
  };
}

/** How Jupyter writes a notebook: one-space indent, a newline at the end. */
export const formatNotebook = (nb: Notebook): string => `${JSON.stringify(nb, null, 1)}\n`;

if (import.meta.main && process.argv.includes("--write")) {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const work = mkdtempSync(join(tmpdir(), "restduck-notebook-"));
  try {
    const nb = readNotebook(NOTEBOOK);
    const { outputs } = await runNotebook(work, nb);
    writeFileSync(NOTEBOOK, formatNotebook(withOutputs(nb, outputs)));
    console.log(`${resolve(NOTEBOOK)}: outputs of ${outputs.length} code cells saved`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
