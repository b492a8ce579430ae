/**
 * Builds the single-file `restduck` executable with `bun build --compile`.
 *
 *   bun scripts/build.ts                          # dist/restduck for this machine (linux-x64 here)
 *   bun scripts/build.ts --all                    # the five release targets, see below
 *   bun scripts/build.ts --target linux-arm64     # one (repeatable) release target
 *
 * Release builds write `dist/<target>/restduck[.exe]`, `dist/SHA256SUMS`, and
 * `dist/release/` with the same files hard-linked under unique asset names
 * (`restduck-linux-arm64`, `restduck-windows-x64.exe`) beside a SHA256SUMS
 * for them, which is what .github/workflows/release.yml uploads.
 *
 * DuckDB's native addon needs care: the other platforms' binding packages are
 * stubbed out (their `require`s would fail to resolve), and the target's
 * libduckdb is embedded as a file asset that src/bin/compiled.ts extracts and
 * preloads before the addon loads. npm installs only this machine's binding
 * package, so the others are fetched with `npm pack` at the exact version
 * @duckdb/node-bindings depends on, checked against package-lock.json's
 * integrity, and kept in node_modules/.cache/restduck-bindings. Bun fetches
 * the target's runtime for `--compile` itself (from the npm registry's
 * `@oven/bun-*` packages) and caches it in ~/.bun/install/cache.
 */
import { createHash } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
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
const native = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
const cacheRoot = join(root, "node_modules", ".cache", "restduck-bindings");

/** The asset name a target's binary is released under. */
const assetName = (name: string) => `restduck-${name}${TARGETS[name].exe.endsWith(".exe") ? ".exe" : ""}`;

/** The @duckdb/node-bindings-* version our @duckdb/node-bindings requires (they are released in lockstep). */
function bindingsVersion(pkg: string): string {
  const meta = JSON.parse(readFileSync(join(root, "node_modules", "@duckdb", "node-bindings", "package.json"), "utf8"));
  const version = meta.optionalDependencies?.[pkg];
  if (!version) throw new Error(`@duckdb/node-bindings does not list ${pkg}; is node_modules installed (npm ci)?`);
  return version;
}

/** package-lock.json's integrity for a binding package, when the lockfile records it. */
function lockedIntegrity(pkg: string, version: string): string | undefined {
  try {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
    const entry = lock.packages?.[`node_modules/${pkg}`];
    return entry?.version === version ? entry.integrity : undefined;
  } catch {
    return undefined;
  }
}

/** The folder holding a target's duckdb.node and libduckdb: installed, cached, or fetched now with `npm pack`. */
async function bindingsFor(target: Target): Promise<string> {
  const installed = join(root, "node_modules", target.bindings);
  if (existsSync(join(installed, target.lib))) return installed;
  const version = bindingsVersion(target.bindings);
  const dir = join(cacheRoot, `${target.bindings.replace("@duckdb/", "")}-${version}`);
  const unpacked = join(dir, "package");
  if (existsSync(join(unpacked, target.lib)) && existsSync(join(unpacked, "duckdb.node"))) return unpacked;

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`fetching ${target.bindings}@${version} from the npm registry`);
  const pack = Bun.spawnSync(["npm", "pack", `${target.bindings}@${version}`, "--pack-destination", dir, "--json", "--silent"], { cwd: dir, stderr: "pipe" });
  if (pack.exitCode !== 0) throw new Error(`npm pack ${target.bindings}@${version} failed:\n${pack.stderr.toString()}`);
  const [packed] = JSON.parse(pack.stdout.toString()) as { filename: string; integrity: string }[];
  const tarball = join(dir, packed.filename);
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  const locked = lockedIntegrity(target.bindings, version);
  if (locked && locked !== integrity) throw new Error(`${tarball}: integrity ${integrity} does not match package-lock.json's ${locked}`);
  // Extract into a temp folder, then rename, so an interrupted build never leaves half a package in the cache.
  const tmp = join(dir, "extracting");
  mkdirSync(tmp);
  const tar = Bun.spawnSync(["tar", "-xzf", tarball, "-C", tmp], { stderr: "pipe" });
  if (tar.exitCode !== 0) throw new Error(`cannot extract ${tarball}: ${tar.stderr.toString()}`);
  renameSync(join(tmp, "package"), unpacked);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(tarball);
  if (!existsSync(join(unpacked, target.lib))) throw new Error(`${target.bindings}@${version} has no ${target.lib}`);
  return unpacked;
}

/**
 * Proves a binary carries a file byte for byte: finds a 64 KiB probe from the
 * file's middle in the binary, then compares the whole span around it.
 */
function embeds(binary: Uint8Array, file: Uint8Array): boolean {
  const bin = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const probeAt = Math.floor(file.byteLength / 2);
  const probe = file.subarray(probeAt, Math.min(file.byteLength, probeAt + 65536));
  for (let at = bin.indexOf(probe); at !== -1; at = bin.indexOf(probe, at + 1)) {
    const start = at - probeAt;
    if (start >= 0 && bin.subarray(start, start + file.byteLength).equals(file)) return true;
  }
  return false;
}

/**
 * The target's libduckdb, gzipped (70 MB → 23 MB for linux-x64, keeping the
 * binary under 150 MB), cached by the library's hash. The binary unpacks it
 * once into a folder named after the same hash, and loads a cached copy only
 * when its SHA-256 matches the full hash returned here.
 */
function compressedLib(name: string, lib: string): { path: string; sha: string; sha256: string } {
  const bytes = readFileSync(lib);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const sha = sha256.slice(0, 16);
  const dir = join(root, "node_modules", ".cache", "restduck-lib", `${name}-${sha}`);
  const path = join(dir, `${basename(lib)}.gz`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, gzipSync(bytes, { level: 6 }));
    renameSync(tmp, path);
  }
  return { path, sha, sha256 };
}

async function build(name: string, outfile: string): Promise<string> {
  const target = TARGETS[name];
  const bindingsDir = await bindingsFor(target);
  const lib = join(bindingsDir, target.lib);
  const packed = compressedLib(name, lib);
  mkdirSync(dirname(outfile), { recursive: true });

  const result = await Bun.build({
    entrypoints: [join(root, "src/bin/compiled.ts")],
    compile: { target: target.bun as never, outfile },
    minify: values.minify,
    sourcemap: "none",
    // JavaScriptCore bytecode compiled now, so no start-up parses the bundle: a loading run starts
    // twice (src/runtime/process.ts), and each start spent ~70 ms parsing before its first line ran
    // (`--version` 100 → 25 ms, BENCHMARKS.md, issue #15). ESM, since compiled.ts awaits at top level.
    bytecode: true,
    format: "esm",
    // The full hash is what the binary checks a cached library against before every load.
    define: { RESTDUCK_LIB_SHA: JSON.stringify(packed.sha), RESTDUCK_LIB_SHA256: JSON.stringify(packed.sha256) },
    plugins: [
      {
        name: "duckdb-bindings-for-target",
        setup(b) {
          b.onResolve({ filter: /^restduck:libduckdb$/ }, () => ({ path: packed.path }));
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
  const binary = readFileSync(outfile);
  for (const file of [packed.path, join(bindingsDir, "duckdb.node")]) {
    if (!embeds(binary, readFileSync(file))) throw new Error(`${outfile} does not contain ${relative(root, file)} byte for byte`);
  }
  const sum = createHash("sha256").update(binary).digest("hex");
  writeFileSync(`${outfile}.sha256`, `${sum}  ${target.exe}\n`);
  console.log(`built ${relative(process.cwd(), outfile)} for ${name} (${(binary.byteLength / 1e6).toFixed(1)} MB, embeds ${target.lib} ${(statSync(lib).size / 1e6).toFixed(1)} MB as ${(statSync(packed.path).size / 1e6).toFixed(1)} MB gzip) sha256 ${sum}`);
  return sum;
}

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string", multiple: true },
    all: { type: "boolean", default: false },
    outdir: { type: "string", default: "dist" },
    minify: { type: "boolean", default: true },
  },
});
const outdir = resolve(process.cwd(), values.outdir!);

async function main(): Promise<void> {
  if (!values.all && !values.target?.length) {
    // The developer build: this machine's binary at dist/restduck.
    if (!TARGETS[native]) throw new Error(`no target for this machine (${native}); known: ${Object.keys(TARGETS).join(", ")}`);
    await build(native, join(outdir, TARGETS[native].exe));
  } else {
    const names = values.all ? Object.keys(TARGETS) : [...new Set(values.target)];
    const unknown = names.filter((n) => !TARGETS[n]);
    if (unknown.length) throw new Error(`unknown target ${unknown.join(", ")}; known: ${Object.keys(TARGETS).join(", ")}`);
    const release = join(outdir, "release");
    mkdirSync(release, { recursive: true });
    const sums: string[] = [];
    const assetSums: string[] = [];
    for (const name of names) {
      const outfile = join(outdir, name, TARGETS[name].exe);
      const sum = await build(name, outfile);
      sums.push(`${sum}  ${name}/${TARGETS[name].exe}`);
      assetSums.push(`${sum}  ${assetName(name)}`);
      const asset = join(release, assetName(name));
      rmSync(asset, { force: true });
      linkSync(outfile, asset);
    }
    writeFileSync(join(outdir, "SHA256SUMS"), sums.join("\n") + "\n");
    writeFileSync(join(release, "SHA256SUMS"), assetSums.join("\n") + "\n");
    console.log(`wrote ${relative(process.cwd(), join(outdir, "SHA256SUMS"))} and ${relative(process.cwd(), release)}/ (${names.length} targets)`);
  }
}

try {
  await main();
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
