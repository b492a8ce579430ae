#!/usr/bin/env node
/** Portable entry: `node src/bin/restduck.ts`, `deno run -A …`, `bun …`; compiled to lib/bin/restduck.js, the npm package's `bin`. */
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { cacheCompiledModules } from "../runtime/compile_cache.ts";
import { reexecForLoading, tuneHeapForLoading } from "../runtime/process.ts";
import { cacheBase, privateDir } from "./lib_cache.ts";

// Before the CLI's module graph loads: a loading command may start again as a tuned copy.
reexecForLoading();
tuneHeapForLoading();
// In restduck's own cache folder, never a shared one such as /tmp: whoever can write the cache
// decides what code runs. A folder others can write is refused as for the binary's library.
cacheCompiledModules(() => {
  const uid = process.getuid?.();
  const base = cacheBase({ env: process.env, platform: process.platform, cwd: process.cwd(), uid, homedir });
  privateDir(base.dir, { from: base.from, uid, follow: true, repair: base.from !== "RESTDUCK_CACHE_DIR" });
  const dir = join(base.dir, "node-compile-cache");
  privateDir(dir, { from: base.from, uid, follow: false, repair: true });
  return dir;
});
const { main } = await import("../cli/main.ts");
const { cliArgs, exit, interruptSignal, processIo } = await import("../runtime/process.ts");
await exit(await main(cliArgs(), processIo(), interruptSignal()));
