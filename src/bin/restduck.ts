#!/usr/bin/env node
/** Portable entry: `node src/bin/restduck.ts`, `deno run -A …`, `bun …`; compiled to lib/bin/restduck.js, the npm package's `bin`. */
import { reexecForLoading, tuneHeapForLoading } from "../runtime/process.ts";

// Before the CLI's module graph loads: a loading command may start again as a tuned copy.
reexecForLoading();
tuneHeapForLoading();
const { main } = await import("../cli/main.ts");
const { cliArgs, exit, interruptSignal, processIo } = await import("../runtime/process.ts");
await exit(await main(cliArgs(), processIo(), interruptSignal()));
