/**
 * What every command gets: the Io to write to, the exit code to set, and a
 * redactor that grows as secrets become known.
 */
import { Redactor } from "../redact.ts";
import type { Io, OutputOptions } from "./output.ts";

export interface CommandContext {
  io: Io;
  redactor: Redactor;
  /** Set by a handler; the CLI returns it. */
  exitCode: number;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** Flags every command accepts. */
export interface GlobalFlags extends OutputOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export const globalOptions = {
  json: { type: "boolean", describe: "Machine-readable output on stdout: NDJSON events (run, demo, export), rows (query), one JSON document (info, schema, check, init, validate)", default: false },
  quiet: { type: "boolean", alias: "q", describe: "Only warnings and errors", default: false },
  verbose: { type: "boolean", alias: "v", describe: "More detail, and stack traces on errors", default: false },
} as const;

export function newContext(io: Io, signal?: AbortSignal): CommandContext {
  return { io, redactor: new Redactor(), exitCode: 0, signal };
}
