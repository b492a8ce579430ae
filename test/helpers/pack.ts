/**
 * The npm package as a user gets it: `npm pack` on a clean copy of the sources (so `prepack` must
 * build lib/ from nothing), then `npm install <tarball>` into a fresh project. Used by
 * test/e2e/package_test.ts and test/examples/notebook_test.ts.
 *
 * The tarball is cached under node_modules/.cache/restduck-pack/<hash of what goes into it>, so the
 * two tests pack once per change, and tests running side by side never build into the same lib/.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./index.ts";

export const root = resolve(import.meta.dirname, "../..");
/** Node 24 and the repository's bun, deno and tsc come first on PATH, so npm, npx and the bin's `#!/usr/bin/env node` use them. */
export const toolPath = `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`;

/** What `npm pack` reads: the package's sources and build inputs (lib/ and tests are not among them). */
const PACK_INPUTS = ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE", "scripts/build_lib.ts", "src"];

export interface Packed {
  tarball: string;
  /** Paths inside the tarball, as `npm pack --json` lists them. */
  files: string[];
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
}

/** Runs a command with the repository's tools first on PATH; throws with its output if it fails. */
export function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const res = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, PATH: toolPath, NO_COLOR: "1", ...env }, timeout: 10 * 60_000 });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${res.status ?? res.signal}) in ${cwd}:\n${res.stdout}\n${res.stderr}`);
  return res;
}

/**
 * The same without blocking this process (a test's mock API must keep answering): resolves with
 * stdout and stderr, rejects with them if the command fails.
 */
export function shAsync(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, PATH: toolPath, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 5 * 60_000);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) done({ stdout, stderr });
      else fail(new Error(`${cmd} ${args.join(" ")} failed (${code ?? signal}) in ${cwd}:\n${stdout}\n${stderr}`));
    });
  });
}

function hashInputs(): string {
  const hash = createHash("sha256");
  for (const rel of PACK_INPUTS) {
    const abs = join(root, rel);
    if (!existsSync(abs)) continue;
    const files = statSync(abs).isDirectory()
      ? readdirSync(abs, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
      : [abs];
    for (const file of files.sort()) hash.update(file.slice(root.length)).update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Packs the package (or reuses the tarball packed from the same sources). */
export function packPackage(): Packed {
  const cache = join(root, "node_modules", ".cache", "restduck-pack", hashInputs());
  const manifest = join(cache, "pack.json");
  if (!existsSync(manifest)) {
    const stage = tempDir("restduck-pack-");
    try {
      const clean = join(stage.dir, "src-copy");
      for (const rel of PACK_INPUTS) if (existsSync(join(root, rel))) cpSync(join(root, rel), join(clean, rel), { recursive: true });
      symlinkSync(join(root, "node_modules"), join(clean, "node_modules"), "dir");
      const out = join(stage.dir, "out");
      mkdirSync(out);
      // prepack's own output comes first on stdout; the JSON starts at a line holding only "[".
      const res = sh("npm", ["pack", "--json", "--pack-destination", out], clean);
      const [info] = JSON.parse(res.stdout.slice(res.stdout.search(/^\[$/m))) as { filename: string; files: { path: string }[]; size: number; unpackedSize: number }[];
      writeFileSync(join(out, "pack.json"), JSON.stringify({ tarball: info.filename, files: info.files.map((f) => f.path), size: info.size, unpackedSize: info.unpackedSize }));
      mkdirSync(join(cache, ".."), { recursive: true });
      try {
        renameSync(out, cache);
      } catch {
        // another test packed the same sources meanwhile: its tarball is the same
      }
    } finally {
      stage.cleanup();
    }
  }
  const packed = JSON.parse(readFileSync(manifest, "utf8")) as Omit<Packed, "tarball"> & { tarball: string };
  return { ...packed, tarball: join(cache, packed.tarball) };
}

/** A fresh project in `dir` with the tarball installed the way a user installs a package. */
export function installInto(dir: string, tarball: string): void {
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  sh("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], dir);
}
