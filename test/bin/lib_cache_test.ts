/**
 * The compiled binary's library cache (src/bin/lib_cache.ts), on real folders:
 * which folder it picks, which folders it refuses, and that a cached library
 * is used only when its SHA-256 matches, else unpacked again through an
 * exclusive temp file without following anything planted. The binary itself
 * is tested in test/e2e/cache_safety_test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, existsSync, fstatSync, lstatSync, mkdirSync, readdirSync, readFileSync, readSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cacheBase, LibCacheError, privateDir, verifiedLib, type LibOptions } from "../../src/bin/lib_cache.ts";
import { testEnv } from "../helpers/index.ts";

const uid = process.getuid!();
const LIB = new TextEncoder().encode("the real library's bytes\n".repeat(1000));
const SHA = createHash("sha256").update(LIB).digest("hex");
const home = () => "/home/someone";

function libOptions(dir: string, overrides: Partial<LibOptions> = {}): LibOptions & { unpacks: () => number } {
  let unpacks = 0;
  return {
    dir,
    name: "libduckdb.so",
    sha256: SHA,
    uid,
    newHash: () => createHash("sha256"),
    unpack: async () => {
      unpacks++;
      return LIB;
    },
    unpacks: () => unpacks,
    ...overrides,
  };
}

/** Runs verifiedLib, reads the file behind the descriptor it hands back (what would be loaded), closes it. */
async function verified(options: LibOptions): Promise<{ unpacked: boolean; fdContent: Buffer }> {
  const lib = await verifiedLib(options);
  try {
    const content = Buffer.alloc(fstatSync(lib.fd).size);
    for (let at = 0; at < content.length; ) at += readSync(lib.fd, content, at, content.length - at, at);
    return { unpacked: lib.unpacked, fdContent: content };
  } finally {
    closeSync(lib.fd);
  }
}

test("the cache base is RESTDUCK_CACHE_DIR, else $XDG_CACHE_HOME/restduck, else ~/.cache/restduck; empty or relative values count as unset", () => {
  const base = (env: Record<string, string | undefined>) => cacheBase({ env, platform: "linux", cwd: "/work/here", uid, homedir: home });
  assert.deepEqual(base({ RESTDUCK_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x" }), { dir: "/c", from: "RESTDUCK_CACHE_DIR" });
  assert.deepEqual(base({ RESTDUCK_CACHE_DIR: "cache" }), { dir: "/work/here/cache", from: "RESTDUCK_CACHE_DIR" });
  // `RESTDUCK_CACHE_DIR=` once unpacked 70 MB into the working folder.
  assert.deepEqual(base({ RESTDUCK_CACHE_DIR: "", XDG_CACHE_HOME: "/x" }), { dir: "/x/restduck", from: "XDG_CACHE_HOME" });
  assert.deepEqual(base({ RESTDUCK_CACHE_DIR: "", XDG_CACHE_HOME: "" }), { dir: "/home/someone/.cache/restduck", from: "your home folder" });
  assert.deepEqual(base({ XDG_CACHE_HOME: "relative/cache" }), { dir: "/home/someone/.cache/restduck", from: "your home folder" });
  assert.deepEqual(
    cacheBase({ env: { LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local" }, platform: "win32", cwd: "C:\\", uid: undefined, homedir: home }).from,
    "LOCALAPPDATA",
  );
});

test("without a home folder the cache base is an error that says why and how to fix it, never a shared temp folder", () => {
  const noEntry = () => {
    throw Object.assign(new Error("ENOENT: no such file or directory, uv_os_homedir"), { code: "ENOENT" });
  };
  assert.throws(
    () => cacheBase({ env: {}, platform: "linux", cwd: "/", uid: 4242, homedir: noEntry }),
    (error: LibCacheError) => {
      assert.ok(error instanceof LibCacheError);
      assert.equal(error.message, "cannot choose a cache folder for the embedded DuckDB library: HOME is not set and uid 4242 has no home folder in the user database");
      assert.match(error.hint, /^set HOME, or set RESTDUCK_CACHE_DIR to a folder only you can write/);
      assert.equal(error.exitCode, 2);
      return true;
    },
  );
  assert.throws(() => cacheBase({ env: { HOME: "rel" }, platform: "linux", cwd: "/", uid, homedir: () => "rel" }), /HOME is "rel", not an absolute path/);
});

test("privateDir creates a missing cache folder with mode 700", async () => {
  await using env = await testEnv();
  const dir = env.path("a", "b");
  privateDir(dir, { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(env.path("a")).mode & 0o777, 0o700);
});

test("privateDir refuses a folder the user named that group or others can write, naming the folder and the fix, and leaves its mode alone", async () => {
  await using env = await testEnv();
  const dir = env.path("shared");
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  assert.throws(
    () => privateDir(dir, { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false }),
    (error: LibCacheError) => {
      assert.equal(
        error.message,
        `refusing the cache folder ${dir} (from RESTDUCK_CACHE_DIR): it is writable by group and others (mode 777), so another user could replace the DuckDB library restduck loads from it`,
      );
      assert.equal(error.hint, `run \`chmod go-w ${dir}\`, or set RESTDUCK_CACHE_DIR to a folder only you can write (restduck creates a missing one with mode 700)`);
      assert.equal(error.exitCode, 2);
      return true;
    },
  );
  assert.equal(statSync(dir).mode & 0o777, 0o777);
  chmodSync(dir, 0o1777);
  assert.throws(() => privateDir(dir, { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false }), /writable by group and others \(mode 1777\)/);
  chmodSync(dir, 0o770);
  assert.throws(() => privateDir(dir, { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false }), /writable by group \(mode 770\)/);
  chmodSync(dir, 0o755);
  privateDir(dir, { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false });
});

test("privateDir closes up a folder restduck names itself when it is ours but group or others can write it", async () => {
  await using env = await testEnv();
  // What an older restduck left under umask 002.
  const dir = env.path("restduck");
  mkdirSync(dir);
  chmodSync(dir, 0o775);
  privateDir(dir, { from: "your home folder", uid, follow: true, repair: true });
  assert.equal(statSync(dir).mode & 0o777, 0o755);
  chmodSync(dir, 0o1777);
  privateDir(dir, { from: "your home folder", uid, follow: true, repair: true });
  assert.equal(statSync(dir).mode & 0o7777, 0o1755);
  // Never through a symlink: a link there is refused, and its target keeps its mode.
  const target = env.path("target");
  mkdirSync(target);
  chmodSync(target, 0o777);
  symlinkSync(target, env.path("link"));
  assert.throws(() => privateDir(env.path("link"), { from: "your home folder", uid, follow: true, repair: true }), /writable by group and others \(mode 777\)/);
  assert.equal(statSync(target).mode & 0o777, 0o777);
});

test("privateDir refuses a folder that belongs to another user", async () => {
  await using env = await testEnv();
  // The folder is ours; asking on behalf of another uid is the same check as finding another user's folder.
  assert.throws(
    () => privateDir(env.dir, { from: "RESTDUCK_CACHE_DIR", uid: uid + 4242, follow: true, repair: true }),
    new RegExp(`refusing the cache folder .* it belongs to uid ${uid}, not to you \\(uid ${uid + 4242}\\)`),
  );
});

test("privateDir refuses a symlink where restduck's versioned folder should be, and a file where a folder should be", async () => {
  await using env = await testEnv();
  mkdirSync(env.path("elsewhere"), { mode: 0o700 });
  symlinkSync(env.path("elsewhere"), env.path("0.1.0-abc"));
  assert.throws(() => privateDir(env.path("0.1.0-abc"), { from: "RESTDUCK_CACHE_DIR", uid, follow: false, repair: false }), /it is not a folder/);
  writeFileSync(env.path("file"), "x");
  assert.throws(() => privateDir(env.path("file"), { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false }), LibCacheError);
});

test("verifiedLib unpacks a missing library once, then uses the cached copy without unpacking", async () => {
  await using env = await testEnv();
  const options = libOptions(env.dir);
  const first = await verified(options);
  assert.equal(first.unpacked, true);
  assert.deepEqual(first.fdContent, Buffer.from(LIB));
  const second = await verified(options);
  assert.equal(second.unpacked, false);
  assert.equal(options.unpacks(), 1);
  assert.deepEqual(readdirSync(env.dir), ["libduckdb.so"], "no temp file left behind");
});

test("verifiedLib replaces a cached library whose bytes do not match the build's SHA-256 instead of using it", async () => {
  await using env = await testEnv();
  const path = env.path("libduckdb.so");
  writeFileSync(path, "planted: a constructor that runs as you", { mode: 0o755 });
  const lib = await verified(libOptions(env.dir));
  assert.equal(lib.unpacked, true);
  assert.deepEqual(lib.fdContent, Buffer.from(LIB));
  assert.deepEqual(readFileSync(path), Buffer.from(LIB));
});

test("verifiedLib replaces a correct library that others could rewrite", async () => {
  await using env = await testEnv();
  const path = env.path("libduckdb.so");
  writeFileSync(path, LIB);
  chmodSync(path, 0o666);
  const lib = await verified(libOptions(env.dir));
  assert.equal(lib.unpacked, true);
  assert.equal(statSync(path).mode & 0o022, 0);
});

test("verifiedLib replaces a symlink at the library's name and never writes to its target", async () => {
  await using env = await testEnv();
  const victim = env.path("victim");
  writeFileSync(victim, "root's file");
  mkdirSync(env.path("cache"));
  // Even a link to a correct copy is replaced: what is loaded must be a file in the private folder.
  writeFileSync(env.path("good-copy"), LIB);
  symlinkSync(env.path("good-copy"), env.path("cache", "libduckdb.so"));
  assert.equal((await verified(libOptions(env.path("cache")))).unpacked, true);
  assert.ok(lstatSync(env.path("cache", "libduckdb.so")).isFile());

  symlinkSync(victim, env.path("cache", "other.so"));
  const lib = await verified(libOptions(env.path("cache"), { name: "other.so" }));
  assert.equal(lib.unpacked, true);
  assert.equal(readFileSync(victim, "utf8"), "root's file");
  assert.deepEqual(readFileSync(env.path("cache", "other.so")), Buffer.from(LIB));
});

test("verifiedLib never writes through a symlink planted at its temp file's name, and picks another name", async () => {
  await using env = await testEnv();
  const victim = env.path("victim");
  writeFileSync(victim, "root's file");
  const cache = env.path("cache");
  mkdirSync(cache);
  symlinkSync(victim, join(cache, "planted.tmp"));
  const names = ["planted.tmp", "fresh.tmp"];
  const lib = await verified(libOptions(cache, { tempName: () => names.shift()! }));
  assert.equal(lib.unpacked, true);
  assert.equal(readFileSync(victim, "utf8"), "root's file");
  assert.deepEqual(readFileSync(join(cache, "libduckdb.so")), Buffer.from(LIB));
  assert.ok(lstatSync(join(cache, "planted.tmp")).isSymbolicLink());
  assert.ok(!existsSync(join(cache, "fresh.tmp")), "the temp file became the library");
});

test("verifiedLib does not hang on a FIFO planted at the library's name", async () => {
  await using env = await testEnv();
  const mk = spawnSync("mkfifo", [env.path("libduckdb.so")]);
  assert.equal(mk.status, 0, String(mk.stderr));
  const lib = await verified(libOptions(env.dir));
  assert.equal(lib.unpacked, true);
  assert.ok(lstatSync(env.path("libduckdb.so")).isFile());
});

test("verifiedLib removes temp files an unpack killed mid-write left over an hour ago, and leaves a fresh one alone", async () => {
  await using env = await testEnv();
  const stale = env.path(".libduckdb.so.123.0123456789abcdef.tmp");
  const fresh = env.path(".libduckdb.so.456.fedcba9876543210.tmp");
  writeFileSync(stale, "half a library");
  writeFileSync(fresh, "another process is writing this");
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  utimesSync(stale, twoHoursAgo, twoHoursAgo);
  await verified(libOptions(env.dir));
  assert.deepEqual(readdirSync(env.dir).sort(), [".libduckdb.so.456.fedcba9876543210.tmp", "libduckdb.so"]);
});

test("verifiedLib refuses embedded bytes that do not match the build's SHA-256 and writes nothing", async () => {
  await using env = await testEnv();
  await assert.rejects(
    verifiedLib(libOptions(env.dir, { unpack: async () => new TextEncoder().encode("damaged") })),
    (error: LibCacheError) => {
      assert.match(error.message, /^the DuckDB library embedded in this binary is damaged: sha256 [0-9a-f]{64}, built with [0-9a-f]{64}$/);
      assert.equal(error.exitCode, 1);
      return true;
    },
  );
  assert.deepEqual(readdirSync(env.dir), []);
});
