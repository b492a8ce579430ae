/**
 * Entry of the compiled binary (Bun only). `bun build --compile` cannot load
 * DuckDB's native addon on its own: the addon links against libduckdb, which
 * is embedded here as a file asset, written once to a private cache folder,
 * checked against its build-time SHA-256 before every load (src/bin/lib_cache.ts)
 * and preloaded with dlopen so the addon's loader finds it. Only then is the
 * runtime-neutral CLI imported. `--version` and `--help` skip DuckDB.
 */
// Resolved by scripts/build.ts to the target platform's libduckdb, gzipped.
import embeddedLib from "restduck:libduckdb" with { type: "file" };

/** First 16 hex digits of the embedded library's SHA-256 (set by scripts/build.ts): names its cache folder, so versions never mix. */
declare const RESTDUCK_LIB_SHA: string;
/** The embedded library's full SHA-256 (set by scripts/build.ts): a cached copy loads only if it matches. */
declare const RESTDUCK_LIB_SHA256: string;
import { dlopen } from "bun:ffi";
import { closeSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../version.ts";
import { cacheBase, LibCacheError, privateDir, verifiedLib } from "./lib_cache.ts";

const LIB_NAME = process.platform === "win32" ? "duckdb.dll" : process.platform === "darwin" ? "libduckdb.dylib" : "libduckdb.so";

/** Finds or unpacks the library, then loads it; every failure is a LibCacheError or dlopen's own. */
async function preloadLib(): Promise<unknown> {
  const uid = process.getuid?.();
  const base = cacheBase({ env: process.env, platform: process.platform, cwd: process.cwd(), uid, homedir });
  // A folder the user named is never changed; one restduck named itself may be closed up (see privateDir).
  privateDir(base.dir, { from: base.from, uid, follow: true, repair: base.from !== "RESTDUCK_CACHE_DIR" });
  const dir = join(base.dir, `${VERSION}-${RESTDUCK_LIB_SHA}`);
  privateDir(dir, { from: base.from, uid, follow: false, repair: true });
  const lib = await verifiedLib({
    dir,
    name: LIB_NAME,
    sha256: RESTDUCK_LIB_SHA256,
    uid,
    newHash: () => new Bun.CryptoHasher("sha256"),
    unpack: async () => Bun.gunzipSync(new Uint8Array(await Bun.file(embeddedLib).arrayBuffer())),
  });
  try {
    // On Linux, load through the descriptor: the file dlopen maps is the very one whose hash was
    // just checked, whatever happens to its path meanwhile. The addon still finds it by its soname.
    // (glibc also remembers it under this name; nothing else here dlopens a /proc/self/fd path.)
    const fdPath = `/proc/self/fd/${lib.fd}`;
    const path = process.platform === "linux" && existsSync(fdPath) ? fdPath : lib.path;
    try {
      return dlopen(path, { duckdb_library_version: { args: [], returns: "cstring" } });
    } catch (error) {
      throw new LibCacheError(`cannot load the embedded DuckDB library ${lib.path}: ${(error as Error).message}`, "set RESTDUCK_CACHE_DIR to a folder only you can write, on a file system that allows executables (not noexec)", 1);
    }
  } finally {
    closeSync(lib.fd);
  }
}

const args = process.argv.slice(2);
// `--version` alone needs nothing else: answer before loading the CLI's module graph.
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}
const metaOnly = args.length === 0 || args.every((a) => ["--version", "-V", "--help", "-h"].includes(a)) || (args.length === 1 && args[0] === "help");

// A loading command starts again as a tuned copy before the library is unpacked (runtime/process.ts).
if (!metaOnly) (await import("../runtime/process.ts")).reexecForLoading({ compiled: true });

// Kept referenced for the life of the process so the library stays loaded.
let preloaded: unknown;
if (!metaOnly) {
  try {
    preloaded = await preloadLib();
  } catch (error) {
    // One error and one hint, never a stack: nothing here can throw again.
    const known = error instanceof LibCacheError;
    process.stderr.write(
      known
        ? `error: ${error.message}\nhint: ${error.hint}\n`
        : `error: cannot prepare the embedded DuckDB library: ${(error as Error)?.message ?? String(error)}\nhint: set RESTDUCK_CACHE_DIR to a folder only you can write\n`,
    );
    process.exit(known ? error.exitCode : 1);
  }
}
(globalThis as { __restduckLib?: unknown }).__restduckLib = preloaded;

// A TS config may `import { secret } from "restduck"`: serve it from inside the binary.
Bun.plugin({
  name: "restduck-self",
  setup(build) {
    build.module("restduck", async () => ({ exports: { ...(await import("../index.ts")) }, loader: "object" }));
  },
});

const { main } = await import("../cli/main.ts");
const { cliArgs, exit, interruptSignal, processIo } = await import("../runtime/process.ts");
await exit(await main(cliArgs(), processIo(), interruptSignal()));
