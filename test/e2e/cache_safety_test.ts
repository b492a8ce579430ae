/**
 * The compiled binary's library cache, attacked (issue #11): a cache folder
 * others can write or that belongs to another user is refused, a planted
 * library is unpacked over and never loaded, a planted symlink's target is
 * never written, and a missing home folder is one clear error. Runs the real
 * dist/restduck, built here as test/e2e/binary_test.ts builds it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { tempDir } from "../helpers/index.ts";
import { VERSION } from "../../src/version.ts";

const root = resolve(import.meta.dirname, "../..");
const built = join(root, "dist", "restduck");
/** The library the build embeds (this machine's binding package), and the folder name the binary gives it. */
const realLib = readFileSync(join(root, "node_modules", "@duckdb", "node-bindings-linux-x64", "libduckdb.so"));
const realSha = createHash("sha256").update(realLib).digest("hex");
const versioned = `${VERSION}-${realSha.slice(0, 16)}`;
const QUERY = ["query", "--db", ":memory:", "--write", "-f", "csv", "select 42 as answer"];
const isRoot = process.getuid?.() === 0;

let dir: { dir: string; cleanup: () => void };
let exe: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with exactly `env` (no HOME unless given, nothing on PATH), in `cwd`. */
function spawnRun(command: string, args: string[], env: Record<string, string>, cwd = dir.dir): Promise<Result> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, env: { PATH: "/nonexistent", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

const run = (args: string[], env: Record<string, string>, cwd?: string) => spawnRun(exe, args, env, cwd);

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * A shared library whose constructor creates `marker` the moment anything
 * dlopens it: proof of a load. Without a C compiler, plain wrong bytes (the
 * old binary failed to dlopen those; the new one must replace them).
 */
function plantedLibrary(path: string, marker: string): void {
  const cc = spawnSync("sh", ["-c", "command -v cc"], { encoding: "utf8" }).stdout.trim();
  if (!cc) {
    writeFileSync(path, "not DuckDB: planted by another user\n", { mode: 0o755 });
    return;
  }
  const source = `${path}.c`;
  writeFileSync(
    source,
    `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void planted(void) { int fd = open(${JSON.stringify(marker)}, O_CREAT | O_WRONLY, 0644); if (fd >= 0) close(fd); }\n`,
  );
  const res = spawnSync(cc, ["-shared", "-fPIC", "-o", path, source], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
}

/** A uid with no entry in /etc/passwd. */
function unknownUid(): number {
  const known = new Set(readFileSync("/etc/passwd", "utf8").split("\n").map((l) => Number(l.split(":")[2])));
  let uid = 4242;
  while (known.has(uid)) uid++;
  return uid;
}

before(() => {
  // Build once per suite run so the test covers the current source.
  const bun = join(root, "node_modules", ".bin", "bun");
  const res = spawnSync(bun, ["scripts/build.ts"], { cwd: root, encoding: "utf8" });
  assert.equal(res.status, 0, `build failed:\n${res.stdout}\n${res.stderr}`);
  assert.ok(existsSync(built));
  dir = tempDir("restduck-cache-e2e-");
  // Reachable by the unknown uid of the no-home test; every cache folder below is made per test.
  chmodSync(dir.dir, 0o755);
  exe = join(dir.dir, "restduck");
  copyFileSync(built, exe);
  chmodSync(exe, 0o755);
});

after(() => {
  dir?.cleanup();
});

test("the binary unpacks its library into a cache folder only its user can open, and loads it", async () => {
  const cache = join(dir.dir, "fresh");
  const res = await run(QUERY, { RESTDUCK_CACHE_DIR: cache });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "answer\n42\n");
  assert.equal(statSync(cache).mode & 0o777, 0o700);
  assert.equal(statSync(join(cache, versioned)).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(join(cache, versioned)), ["libduckdb.so"]);
  assert.equal(sha256(join(cache, versioned, "libduckdb.so")), realSha);
});

test("--version and --help never touch the cache folder", async () => {
  const cache = join(dir.dir, "untouched");
  for (const args of [["--version"], ["--help"]]) {
    const res = await run(args, { RESTDUCK_CACHE_DIR: cache });
    assert.equal(res.code, 0, res.stderr);
  }
  assert.equal(existsSync(cache), false);
});

test("the binary refuses a cache folder others can write, names it and the fix, and loads nothing from it", async () => {
  const cache = join(dir.dir, "world-writable");
  mkdirSync(join(cache, versioned), { recursive: true });
  chmodSync(cache, 0o777);
  const marker = join(dir.dir, "loaded-from-world-writable");
  plantedLibrary(join(cache, versioned, "libduckdb.so"), marker);
  const res = await run(QUERY, { RESTDUCK_CACHE_DIR: cache });
  assert.equal(res.code, 2);
  assert.equal(res.stdout, "");
  assert.equal(
    res.stderr,
    `error: refusing the cache folder ${cache} (from RESTDUCK_CACHE_DIR): it is writable by group and others (mode 777), so another user could replace the DuckDB library restduck loads from it\n` +
      `hint: run \`chmod go-w ${cache}\`, or set RESTDUCK_CACHE_DIR to a folder only you can write (restduck creates a missing one with mode 700)\n`,
  );
  assert.equal(existsSync(marker), false, "the planted library was loaded");
  assert.equal(statSync(cache).mode & 0o777, 0o777, "a refused folder is left as it was");
});

test("the binary closes up its own cache folder that an older restduck left group-writable (umask 002), and uses it", async () => {
  const xdg = join(dir.dir, "xdg-umask-002");
  const cache = join(xdg, "restduck");
  mkdirSync(join(cache, versioned), { recursive: true });
  chmodSync(cache, 0o775);
  chmodSync(join(cache, versioned), 0o775);
  const res = await run(QUERY, { XDG_CACHE_HOME: xdg });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "answer\n42\n");
  assert.equal(statSync(cache).mode & 0o777, 0o755);
  assert.equal(statSync(join(cache, versioned)).mode & 0o777, 0o755);
});

test("the binary refuses a cache folder that belongs to another user, through XDG_CACHE_HOME too", async () => {
  const xdg = join(dir.dir, "xdg-other");
  const cache = join(xdg, "restduck");
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  // Root can hand the folder to another uid; anyone else meets a folder of root's (their /).
  const other = isRoot ? unknownUid() : 0;
  if (isRoot) chownSync(cache, other, other);
  const res = await run(QUERY, isRoot ? { XDG_CACHE_HOME: xdg } : { RESTDUCK_CACHE_DIR: "/" });
  assert.equal(res.code, 2);
  const refused = isRoot ? `${cache} (from XDG_CACHE_HOME)` : "/ (from RESTDUCK_CACHE_DIR)";
  assert.equal(
    res.stderr,
    `error: refusing the cache folder ${refused}: it belongs to uid ${other}, not to you (uid ${process.getuid!()}), so another user could replace the DuckDB library restduck loads from it\n` +
      `hint: set RESTDUCK_CACHE_DIR to a folder only you can write (restduck creates a missing one with mode 700)\n`,
  );
  assert.deepEqual(readdirSync(cache), [], "nothing unpacked into another user's folder");
});

test("the binary never loads a planted library in its own folder: it unpacks the real one over it", async () => {
  const cache = join(dir.dir, "planted");
  mkdirSync(join(cache, versioned), { recursive: true, mode: 0o700 });
  const lib = join(cache, versioned, "libduckdb.so");
  const marker = join(dir.dir, "loaded-planted");
  plantedLibrary(lib, marker);
  const res = await run(QUERY, { RESTDUCK_CACHE_DIR: cache });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "answer\n42\n");
  assert.equal(existsSync(marker), false, "the planted library was loaded");
  assert.equal(sha256(lib), realSha);
  // A truncated copy (a crash, a full disk) is caught by the same check.
  writeFileSync(lib, realLib.subarray(0, 1 << 20));
  const again = await run(QUERY, { RESTDUCK_CACHE_DIR: cache });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(sha256(lib), realSha);
});

test("the binary replaces a symlink at the library's name and never writes to or loads its target", async () => {
  const cache = join(dir.dir, "symlinked");
  mkdirSync(join(cache, versioned), { recursive: true, mode: 0o700 });
  const victim = join(dir.dir, "victim.conf");
  writeFileSync(victim, "root's own file\n");
  const lib = join(cache, versioned, "libduckdb.so");
  symlinkSync(victim, lib);
  const res = await run(QUERY, { RESTDUCK_CACHE_DIR: cache });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "answer\n42\n");
  assert.equal(readFileSync(victim, "utf8"), "root's own file\n");
  assert.ok(lstatSync(lib).isFile());
  assert.equal(sha256(lib), realSha);
});

test("RESTDUCK_CACHE_DIR set but empty counts as unset: nothing is unpacked into the working folder", async () => {
  const cwd = join(dir.dir, "workdir");
  mkdirSync(cwd);
  const xdg = join(dir.dir, "xdg-empty-override");
  const res = await run(QUERY, { RESTDUCK_CACHE_DIR: "", XDG_CACHE_HOME: xdg }, cwd);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(readdirSync(cwd), []);
  assert.equal(sha256(join(xdg, "restduck", versioned, "libduckdb.so")), realSha);
});

test("without a usable home folder the binary stops with one error and one hint, not a stack trace", async (t) => {
  const relative = await run(QUERY, { HOME: "relative-home" });
  assert.equal(relative.code, 2);
  assert.equal(
    relative.stderr,
    'error: cannot choose a cache folder for the embedded DuckDB library: HOME is "relative-home", not an absolute path\n' +
      "hint: set HOME, or set RESTDUCK_CACHE_DIR to a folder only you can write (restduck creates a missing one with mode 700)\n",
  );
  assert.equal(existsSync(join(dir.dir, "relative-home")), false);

  // `env -i` under a uid with no passwd entry (a container's `--user 4242`): os.homedir() has nothing to return.
  const setpriv = spawnSync("sh", ["-c", "command -v setpriv"], { encoding: "utf8" }).stdout.trim();
  if (!isRoot || !setpriv) {
    t.skip("running the binary as a uid without a passwd entry needs root and setpriv (util-linux); the HOME part above ran");
    return;
  }
  const uid = unknownUid();
  const res = await spawnRun(setpriv, [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", exe, ...QUERY], {});
  assert.equal(res.code, 2, res.stderr);
  assert.equal(
    res.stderr,
    `error: cannot choose a cache folder for the embedded DuckDB library: HOME is not set and uid ${uid} has no home folder in the user database\n` +
      "hint: set HOME, or set RESTDUCK_CACHE_DIR to a folder only you can write (restduck creates a missing one with mode 700)\n",
  );
});
