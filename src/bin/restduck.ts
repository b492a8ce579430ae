#!/usr/bin/env node
/** Portable entry: `node src/bin/restduck.ts`, `deno run -A …`, `bun …`; compiled to lib/bin/restduck.js, the npm package's `bin`. */
import { main } from "../cli/main.ts";
import { cliArgs, exit, interruptSignal, processIo, tuneHeapForLoading } from "../runtime/process.ts";

tuneHeapForLoading();
await exit(await main(cliArgs(), processIo(), interruptSignal()));
