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
import { tempDir } from "../helpers/index.ts";

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

test("privateDir creates a missing cache folder with mode 700", () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, "a", "b");
    privateDir(dir, { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(tmp.dir, "a")).mode & 0o777, 0o700);
  } finally {
    tmp.cleanup();
  }
});

test("privateDir refuses a folder the user named that group or others can write, naming the folder and the fix, and leaves its mode alone", () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, "shared");
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
  } finally {
    tmp.cleanup();
  }
});

test("privateDir closes up a folder restduck names itself when it is ours but group or others can write it", () => {
  const tmp = tempDir();
  try {
    // What an older restduck left under umask 002.
    const dir = join(tmp.dir, "restduck");
    mkdirSync(dir);
    chmodSync(dir, 0o775);
    privateDir(dir, { from: "your home folder", uid, follow: true, repair: true });
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    chmodSync(dir, 0o1777);
    privateDir(dir, { from: "your home folder", uid, follow: true, repair: true });
    assert.equal(statSync(dir).mode & 0o7777, 0o1755);
    // Never through a symlink: a link there is refused, and its target keeps its mode.
    const target = join(tmp.dir, "target");
    mkdirSync(target);
    chmodSync(target, 0o777);
    symlinkSync(target, join(tmp.dir, "link"));
    assert.throws(() => privateDir(join(tmp.dir, "link"), { from: "your home folder", uid, follow: true, repair: true }), /writable by group and others \(mode 777\)/);
    assert.equal(statSync(target).mode & 0o777, 0o777);
  } finally {
    tmp.cleanup();
  }
});

test("privateDir refuses a folder that belongs to another user", () => {
  const tmp = tempDir();
  try {
    // The folder is ours; asking on behalf of another uid is the same check as finding another user's folder.
    assert.throws(
      () => privateDir(tmp.dir, { from: "RESTDUCK_CACHE_DIR", uid: uid + 4242, follow: true, repair: true }),
      new RegExp(`refusing the cache folder .* it belongs to uid ${uid}, not to you \\(uid ${uid + 4242}\\)`),
    );
  } finally {
    tmp.cleanup();
  }
});

test("privateDir refuses a symlink where restduck's versioned folder should be, and a file where a folder should be", () => {
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, "elsewhere"), { mode: 0o700 });
    symlinkSync(join(tmp.dir, "elsewhere"), join(tmp.dir, "0.1.0-abc"));
    assert.throws(() => privateDir(join(tmp.dir, "0.1.0-abc"), { from: "RESTDUCK_CACHE_DIR", uid, follow: false, repair: false }), /it is not a folder/);
    writeFileSync(join(tmp.dir, "file"), "x");
    assert.throws(() => privateDir(join(tmp.dir, "file"), { from: "RESTDUCK_CACHE_DIR", uid, follow: true, repair: false }), LibCacheError);
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib unpacks a missing library once, then uses the cached copy without unpacking", async () => {
  const tmp = tempDir();
  try {
    const options = libOptions(tmp.dir);
    const first = await verified(options);
    assert.equal(first.unpacked, true);
    assert.deepEqual(first.fdContent, Buffer.from(LIB));
    const second = await verified(options);
    assert.equal(second.unpacked, false);
    assert.equal(options.unpacks(), 1);
    assert.deepEqual(readdirSync(tmp.dir), ["libduckdb.so"], "no temp file left behind");
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib replaces a cached library whose bytes do not match the build's SHA-256 instead of using it", async () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.dir, "libduckdb.so");
    writeFileSync(path, "planted: a constructor that runs as you", { mode: 0o755 });
    const lib = await verified(libOptions(tmp.dir));
    assert.equal(lib.unpacked, true);
    assert.deepEqual(lib.fdContent, Buffer.from(LIB));
    assert.deepEqual(readFileSync(path), Buffer.from(LIB));
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib replaces a correct library that others could rewrite", async () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.dir, "libduckdb.so");
    writeFileSync(path, LIB);
    chmodSync(path, 0o666);
    const lib = await verified(libOptions(tmp.dir));
    assert.equal(lib.unpacked, true);
    assert.equal(statSync(path).mode & 0o022, 0);
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib replaces a symlink at the library's name and never writes to its target", async () => {
  const tmp = tempDir();
  try {
    const victim = join(tmp.dir, "victim");
    writeFileSync(victim, "root's file");
    mkdirSync(join(tmp.dir, "cache"));
    // Even a link to a correct copy is replaced: what is loaded must be a file in the private folder.
    writeFileSync(join(tmp.dir, "good-copy"), LIB);
    symlinkSync(join(tmp.dir, "good-copy"), join(tmp.dir, "cache", "libduckdb.so"));
    assert.equal((await verified(libOptions(join(tmp.dir, "cache")))).unpacked, true);
    assert.ok(lstatSync(join(tmp.dir, "cache", "libduckdb.so")).isFile());

    symlinkSync(victim, join(tmp.dir, "cache", "other.so"));
    const lib = await verified(libOptions(join(tmp.dir, "cache"), { name: "other.so" }));
    assert.equal(lib.unpacked, true);
    assert.equal(readFileSync(victim, "utf8"), "root's file");
    assert.deepEqual(readFileSync(join(tmp.dir, "cache", "other.so")), Buffer.from(LIB));
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib never writes through a symlink planted at its temp file's name, and picks another name", async () => {
  const tmp = tempDir();
  try {
    const victim = join(tmp.dir, "victim");
    writeFileSync(victim, "root's file");
    const cache = join(tmp.dir, "cache");
    mkdirSync(cache);
    symlinkSync(victim, join(cache, "planted.tmp"));
    const names = ["planted.tmp", "fresh.tmp"];
    const lib = await verified(libOptions(cache, { tempName: () => names.shift()! }));
    assert.equal(lib.unpacked, true);
    assert.equal(readFileSync(victim, "utf8"), "root's file");
    assert.deepEqual(readFileSync(join(cache, "libduckdb.so")), Buffer.from(LIB));
    assert.ok(lstatSync(join(cache, "planted.tmp")).isSymbolicLink());
    assert.ok(!existsSync(join(cache, "fresh.tmp")), "the temp file became the library");
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib does not hang on a FIFO planted at the library's name", async () => {
  const tmp = tempDir();
  try {
    const mk = spawnSync("mkfifo", [join(tmp.dir, "libduckdb.so")]);
    assert.equal(mk.status, 0, String(mk.stderr));
    const lib = await verified(libOptions(tmp.dir));
    assert.equal(lib.unpacked, true);
    assert.ok(lstatSync(join(tmp.dir, "libduckdb.so")).isFile());
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib removes temp files an unpack killed mid-write left over an hour ago, and leaves a fresh one alone", async () => {
  const tmp = tempDir();
  try {
    const stale = join(tmp.dir, ".libduckdb.so.123.0123456789abcdef.tmp");
    const fresh = join(tmp.dir, ".libduckdb.so.456.fedcba9876543210.tmp");
    writeFileSync(stale, "half a library");
    writeFileSync(fresh, "another process is writing this");
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await verified(libOptions(tmp.dir));
    assert.deepEqual(readdirSync(tmp.dir).sort(), [".libduckdb.so.456.fedcba9876543210.tmp", "libduckdb.so"]);
  } finally {
    tmp.cleanup();
  }
});

test("verifiedLib refuses embedded bytes that do not match the build's SHA-256 and writes nothing", async () => {
  const tmp = tempDir();
  try {
    await assert.rejects(
      verifiedLib(libOptions(tmp.dir, { unpack: async () => new TextEncoder().encode("damaged") })),
      (error: LibCacheError) => {
        assert.match(error.message, /^the DuckDB library embedded in this binary is damaged: sha256 [0-9a-f]{64}, built with [0-9a-f]{64}$/);
        assert.equal(error.exitCode, 1);
        return true;
      },
    );
    assert.deepEqual(readdirSync(tmp.dir), []);
  } finally {
    tmp.cleanup();
  }
});
