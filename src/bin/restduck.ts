#!/usr/bin/env node
/** Portable entry: `node src/bin/restduck.ts`, `deno run -A …`, `bun …`. */
import { main } from "../cli/main.ts";
import { cliArgs, exit, interruptSignal, processIo } from "../runtime/process.ts";

await exit(await main(cliArgs(), processIo(), interruptSignal()));
