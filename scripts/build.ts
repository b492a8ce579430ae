/**
 * Builds the single-file `restduck` executable with `bun build --compile`.
 *
 *   bun scripts/build.ts                 # dist/restduck for this machine (linux-x64 here)
 *   bun scripts/build.ts --target linux-arm64
 *
 * DuckDB's native addon needs care: the other platforms' binding packages are
 * stubbed out (their `require`s would fail to resolve), and the target's
 * libduckdb is embedded as a file asset that src/bin/compiled.ts extracts and
 * preloads before the addon loads.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

interface Target {
  bun: string;
  bindings: string;
  lib: string;
  exe: string;
}

/** Bun target ↔ DuckDB binding package ↔ the library file inside it. */
export const TARGETS: Record<string, Target> = {
  "linux-x64": { bun: "bun-linux-x64", bindings: "@duckdb/node-bindings-linux-x64", lib: "libduckdb.so", exe: "restduck" },
  "linux-arm64": { bun: "bun-linux-arm64", bindings: "@duckdb/node-bindings-linux-arm64", lib: "libduckdb.so", exe: "restduck" },
  "darwin-x64": { bun: "bun-darwin-x64", bindings: "@duckdb/node-bindings-darwin-x64", lib: "libduckdb.dylib", exe: "restduck" },
  "darwin-arm64": { bun: "bun-darwin-arm64", bindings: "@duckdb/node-bindings-darwin-arm64", lib: "libduckdb.dylib", exe: "restduck" },
  "windows-x64": { bun: "bun-windows-x64", bindings: "@duckdb/node-bindings-win32-x64", lib: "duckdb.dll", exe: "restduck.exe" },
};

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string", default: `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}` },
    outdir: { type: "string", default: "dist" },
    minify: { type: "boolean", default: true },
  },
});

async function build(name: string): Promise<string> {
  const target = TARGETS[name];
  if (!target) throw new Error(`unknown target "${name}"; known: ${Object.keys(TARGETS).join(", ")}`);
  const bindingsDir = join(root, "node_modules", target.bindings);
  const lib = join(bindingsDir, target.lib);
  if (!existsSync(lib)) {
    throw new Error(`${target.bindings} is not installed (${lib} missing); npm installs only this machine's platform package`);
  }
  const outdir = resolve(root, values.outdir!);
  const single = name === `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
  const outfile = single ? join(outdir, target.exe) : join(outdir, name, target.exe);
  mkdirSync(dirname(outfile), { recursive: true });

  const result = await Bun.build({
    entrypoints: [join(root, "src/bin/compiled.ts")],
    compile: { target: target.bun as never, outfile },
    minify: values.minify,
    sourcemap: "none",
    plugins: [
      {
        name: "duckdb-bindings-for-target",
        setup(b) {
          b.onResolve({ filter: /^restduck:libduckdb$/ }, () => ({ path: lib }));
          // Only the target's binding package is real; the other platforms' requires become stubs.
          b.onResolve({ filter: /^@duckdb\/node-bindings-[a-z0-9-]+\/duckdb\.node$/ }, (args) =>
            args.path.startsWith(`${target.bindings}/`) ? { path: join(bindingsDir, "duckdb.node") } : { path: args.path, namespace: "stub" },
          );
          b.onLoad({ filter: /.*/, namespace: "stub" }, (args) => ({
            contents: `throw new Error(${JSON.stringify(`restduck was built for ${name}; ${args.path} is not in this binary`)});`,
            loader: "js",
          }));
        },
      },
    ],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`build for ${name} failed`);
  }
  const sum = createHash("sha256").update(readFileSync(outfile)).digest("hex");
  writeFileSync(`${outfile}.sha256`, `${sum}  ${target.exe}\n`);
  console.log(`built ${outfile} (${(readFileSync(outfile).byteLength / 1e6).toFixed(1)} MB) sha256 ${sum}`);
  return outfile;
}

await build(values.target!);
