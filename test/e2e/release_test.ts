/**
 * Release builds (scripts/build.ts --target / --all): a binary for another
 * platform, with that platform's DuckDB library inside, and checksums that
 * verify. One non-native target keeps `npm test` affordable (about 15 s once
 * cached; all five take about a minute, and the first build fetches ~500 MB
 * of Bun runtimes and DuckDB bindings from the npm registry). Set
 * RESTDUCK_TEST_ALL_TARGETS=1 to build all five here; CI's binaries job and
 * the release workflow do.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/index.ts";

const root = resolve(import.meta.dirname, "../..");
const all = process.env.RESTDUCK_TEST_ALL_TARGETS === "1";

/** Each target: its binary's file name, the magic bytes its format starts with, and its DuckDB library. */
const TARGETS = {
  "linux-x64": { exe: "restduck", magic: "7f454c46", bindings: "node-bindings-linux-x64", lib: "libduckdb.so" },
  "linux-arm64": { exe: "restduck", magic: "7f454c46", bindings: "node-bindings-linux-arm64", lib: "libduckdb.so" },
  "darwin-x64": { exe: "restduck", magic: "cffaedfe", bindings: "node-bindings-darwin-x64", lib: "libduckdb.dylib" },
  "darwin-arm64": { exe: "restduck", magic: "cffaedfe", bindings: "node-bindings-darwin-arm64", lib: "libduckdb.dylib" },
  "windows-x64": { exe: "restduck.exe", magic: "4d5a", bindings: "node-bindings-win32-x64", lib: "duckdb.dll" },
} as const;
type TargetName = keyof typeof TARGETS;

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Where the target's DuckDB library is: installed by npm (this machine) or fetched by the build into the cache. */
function libraryOf(name: TargetName): string {
  const { bindings, lib } = TARGETS[name];
  const installed = join(root, "node_modules", "@duckdb", bindings, lib);
  if (existsSync(installed)) return installed;
  const cache = join(root, "node_modules", ".cache", "restduck-bindings");
  const dir = readdirSync(cache).find((d) => d.startsWith(`${bindings}-`) && existsSync(join(cache, d, "package", lib)));
  assert.ok(dir, `${bindings} is neither installed nor cached`);
  return join(cache, dir, "package", lib);
}

/** The gzipped library scripts/build.ts embedded for a target, cached under the library's hash. */
function packedLibraryOf(name: TargetName, lib: Buffer): string {
  const sha = createHash("sha256").update(lib).digest("hex").slice(0, 16);
  const path = join(root, "node_modules", ".cache", "restduck-lib", `${name}-${sha}`, `${TARGETS[name].lib}.gz`);
  assert.ok(existsSync(path), `the build left ${path}`);
  return path;
}

/** Whether `binary` holds `file` byte for byte (found by a probe from its middle, then compared whole). */
function embeds(binary: Buffer, file: Buffer): boolean {
  const probeAt = Math.floor(file.byteLength / 2);
  const probe = file.subarray(probeAt, probeAt + 65536);
  for (let at = binary.indexOf(probe); at !== -1; at = binary.indexOf(probe, at + 1)) {
    if (at >= probeAt && binary.subarray(at - probeAt, at - probeAt + file.byteLength).equals(file)) return true;
  }
  return false;
}

test(`a release build for ${all ? "all five targets" : "windows-x64"} embeds each target's DuckDB library and writes checksums that verify`, async () => {
  const names: TargetName[] = all ? (Object.keys(TARGETS) as TargetName[]) : ["windows-x64"];
  const out = tempDir("restduck-release-");
  try {
    const bun = join(root, "node_modules", ".bin", "bun");
    const args = ["scripts/build.ts", "--outdir", out.dir, ...(all ? ["--all"] : names.flatMap((n) => ["--target", n]))];
    const res = spawnSync(bun, args, { cwd: root, encoding: "utf8", timeout: 20 * 60_000 });
    assert.equal(res.status, 0, `build failed:\n${res.stdout}\n${res.stderr}`);

    const sums = readFileSync(join(out.dir, "SHA256SUMS"), "utf8").trim().split("\n");
    const assetSums = readFileSync(join(out.dir, "release", "SHA256SUMS"), "utf8").trim().split("\n");
    assert.equal(sums.length, names.length);
    for (const name of names) {
      const { exe, magic } = TARGETS[name];
      const binary = join(out.dir, name, exe);
      const bytes = readFileSync(binary);
      assert.equal(bytes.subarray(0, magic.length / 2).toString("hex"), magic, `${name} is an executable of its platform's format`);
      // The library travels gzipped: find the build's packed copy, prove it unpacks to exactly
      // this target's library, and that the binary holds it byte for byte.
      const lib = readFileSync(libraryOf(name));
      const packed = readFileSync(packedLibraryOf(name, lib));
      assert.ok(gunzipSync(packed).equals(lib), `${name}'s packed library unpacks to its ${TARGETS[name].lib}`);
      assert.ok(embeds(bytes, packed), `${name} embeds its ${TARGETS[name].lib} (${lib.byteLength} bytes, ${packed.byteLength} gzipped)`);
      const sum = sha256(binary);
      assert.ok(sums.includes(`${sum}  ${name}/${exe}`), `SHA256SUMS lists ${name}/${exe}`);
      const asset = `restduck-${name}${exe.endsWith(".exe") ? ".exe" : ""}`;
      assert.ok(assetSums.includes(`${sum}  ${asset}`), `release/SHA256SUMS lists ${asset}`);
      assert.equal(statSync(join(out.dir, "release", asset)).ino, statSync(binary).ino, "the release asset is the same file, hard-linked");
    }
    // What a user runs after downloading: sha256sum -c checks every listed asset.
    const check = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: join(out.dir, "release"), encoding: "utf8" });
    if (!check.error) assert.equal(check.status, 0, check.stdout + check.stderr);
  } finally {
    out.cleanup();
  }
});

test("the build refuses an unknown target and names the known ones", () => {
  const res = spawnSync(join(root, "node_modules", ".bin", "bun"), ["scripts/build.ts", "--target", "plan9-x64"], { cwd: root, encoding: "utf8" });
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /unknown target plan9-x64; known: linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64/);
});
