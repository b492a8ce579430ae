/**
 * The Node CLI keeps Node's module compile cache (src/runtime/compile_cache.ts) in restduck's own
 * cache folder, closed to others, so a later start neither type-strips nor compiles its modules
 * again. The cache decides what code runs, so a folder others can write is never used, and the
 * user's NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE stand. Always the Node CLI, whatever
 * runtime runs this file (Bun and Deno have caches of their own).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { VERSION } from "../../src/version.ts";
import { tempDir } from "../helpers/index.ts";

const root = resolve(import.meta.dirname, "../..");
const node = join(root, "node_modules", ".bin", "node");

/** `restduck --version` on Node with only `env` (and PATH) set. */
function version(env: Record<string, string>): void {
  const res = spawnSync(node, [join(root, "src/bin/restduck.ts"), "--version"], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), VERSION);
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

test("the Node CLI keeps its compiled modules in restduck's cache folder, closed to group and others", () => {
  const tmp = tempDir("restduck compile cache ");
  try {
    const cache = join(tmp.dir, "cache");
    version({ HOME: tmp.dir, RESTDUCK_CACHE_DIR: cache });
    const folder = join(cache, "node-compile-cache");
    assert.equal(statSync(folder).mode & 0o077, 0, "only its owner can read or change it");
    const files = filesUnder(folder);
    assert.ok(files.length > 10, `one entry per module, got ${files.join(", ")}`);
    // A start with the cache in place answers the same.
    version({ HOME: tmp.dir, RESTDUCK_CACHE_DIR: cache });
    // Without RESTDUCK_CACHE_DIR: the XDG cache folder, else ~/.cache/restduck.
    version({ HOME: tmp.dir });
    assert.ok(filesUnder(join(tmp.dir, ".cache", "restduck", "node-compile-cache")).length > 10);
  } finally {
    tmp.cleanup();
  }
});

test("a cache folder others can write is not used, and the CLI still answers", { skip: process.platform === "win32" && "POSIX modes" }, () => {
  const tmp = tempDir("restduck compile cache ");
  try {
    const cache = join(tmp.dir, "shared");
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    version({ HOME: tmp.dir, RESTDUCK_CACHE_DIR: cache });
    assert.deepEqual(readdirSync(cache), []);
    assert.equal(statSync(cache).mode & 0o777, 0o777, "a folder the user chose is never changed");
  } finally {
    tmp.cleanup();
  }
});

test("the user's NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE stand", () => {
  const tmp = tempDir("restduck compile cache ");
  try {
    const cache = join(tmp.dir, "cache");
    version({ HOME: tmp.dir, RESTDUCK_CACHE_DIR: cache, NODE_DISABLE_COMPILE_CACHE: "1" });
    assert.equal(existsSync(cache), false);
    const theirs = join(tmp.dir, "theirs");
    version({ HOME: tmp.dir, RESTDUCK_CACHE_DIR: cache, NODE_COMPILE_CACHE: theirs });
    assert.equal(existsSync(cache), false);
    assert.ok(filesUnder(theirs).length > 10);
  } finally {
    tmp.cleanup();
  }
});
