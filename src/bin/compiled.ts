/**
 * Entry of the compiled binary (Bun only). `bun build --compile` cannot load
 * DuckDB's native addon on its own: the addon links against libduckdb, which
 * is embedded here as a file asset, written once to a cache folder and
 * preloaded with dlopen so the addon's loader finds it. Only then is the
 * runtime-neutral CLI imported. `--version` and `--help` skip DuckDB.
 */
// Resolved by scripts/build.ts to the target platform's libduckdb, gzipped.
import embeddedLib from "restduck:libduckdb" with { type: "file" };

/** Hash of the embedded library (set by scripts/build.ts): names its cache folder, so versions never mix. */
declare const RESTDUCK_LIB_SHA: string;
import { dlopen } from "bun:ffi";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../version.ts";

const LIB_NAME = process.platform === "win32" ? "duckdb.dll" : process.platform === "darwin" ? "libduckdb.dylib" : "libduckdb.so";

function cacheDir(): string {
  const base =
    process.env.RESTDUCK_CACHE_DIR ??
    (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, "restduck") : undefined) ??
    (process.platform === "win32" && process.env.LOCALAPPDATA ? join(process.env.LOCALAPPDATA, "restduck") : undefined) ??
    join(homedir() || tmpdir(), ".cache", "restduck");
  return join(base, `${VERSION}-${RESTDUCK_LIB_SHA}`);
}

/**
 * Unpacks the embedded library into the cache once. The file appears under its
 * final name only complete (temp file, then rename), so a crash or a second
 * process never sees half a library.
 */
async function extractLib(): Promise<string> {
  const dir = cacheDir();
  const target = join(dir, LIB_NAME);
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  const bytes = Bun.gunzipSync(new Uint8Array(await Bun.file(embeddedLib).arrayBuffer()));
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o755);
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  return target;
}

const args = process.argv.slice(2);
// `--version` alone needs nothing else: answer before loading the CLI's module graph.
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${VERSION}\n`);
  process.exit(0);
}
const metaOnly = args.length === 0 || args.every((a) => ["--version", "-V", "--help", "-h"].includes(a)) || (args.length === 1 && args[0] === "help");

// Kept referenced for the life of the process so the library stays loaded.
let preloaded: unknown;
if (!metaOnly) {
  try {
    preloaded = dlopen(await extractLib(), { duckdb_library_version: { args: [], returns: "cstring" } });
  } catch (error) {
    process.stderr.write(
      `error: cannot prepare the embedded DuckDB library in ${cacheDir()}: ${(error as Error).message}\nhint: set RESTDUCK_CACHE_DIR to a writable folder\n`,
    );
    process.exit(1);
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
