/**
 * The process edge: stdio, environment, signals and exit. Written against
 * `node:process`, which Bun, Deno and Node all provide.
 */
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import type { Io } from "../cli/output.ts";

/** The real terminal as an Io. */
export function processIo(): Io {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
    columns: process.stdout.columns || 120,
  };
}

/**
 * An AbortSignal that aborts on SIGINT/SIGTERM with the signal's name as the
 * reason. The run then stops within moments: the DuckDB statement in flight is
 * interrupted and the batch under way rolls back (issue #11), the run is
 * recorded as interrupted, the file is closed. A second signal exits at once;
 * that is safe too, since every batch is one DuckDB transaction (issue 5), and
 * DuckDB's spill files are removed on the way out (load/db.ts).
 */
export function interruptSignal(options: { stderr?: (text: string) => void } = {}): AbortSignal {
  const controller = new AbortController();
  const say = options.stderr ?? ((text: string) => void process.stderr.write(text));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) process.exit(sig === "SIGTERM" ? 143 : 130);
      if (sig === "SIGINT") say("\nstopping: the batch under way is rolled back; press Ctrl-C again to quit at once (committed batches are kept either way)\n");
      controller.abort(sig);
    });
  }
  return controller.signal;
}

/** Command-line arguments after the executable and script. */
export function cliArgs(): string[] {
  return process.argv.slice(2);
}

/** Flushes stdio, then exits with `code`. */
export async function exit(code: number): Promise<never> {
  await new Promise<void>((resolve) => (process.stdout.writableNeedDrain ? process.stdout.once("drain", () => resolve()) : resolve()));
  process.exit(code);
}

/**
 * Asks V8 to grow its heap in smaller steps. A run allocates fast (parsed pages, rows) but keeps
 * little alive (22–44 MB after a full GC); by default V8 lets the garbage grow the heap to 5–7×
 * that, and more the longer the run. With 10% steps a 1M-message run peaked ~100 MB lower at the
 * same CPU (scripts/bench_memory.ts). Only for the CLI on Node: Bun (the binary) and Deno have
 * their own heaps, and a library must not change its host's flags.
 */
export function tuneHeapForLoading(): void {
  const versions = process.versions as Record<string, string | undefined>;
  if (!versions.v8 || versions.bun || versions.deno) return;
  try {
    setFlagsFromString("--heap-growing-percent=10");
  } catch {
    // a runtime without the flag keeps its defaults
  }
}
