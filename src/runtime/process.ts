/**
 * The process edge: stdio, environment, signals and exit. Written against
 * `node:process`, which Bun, Deno and Node all provide.
 */
import process from "node:process";
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
 * reason. The run then stops cleanly: the batch under way commits or rolls
 * back, the run is recorded as interrupted. A second signal exits at once;
 * that is safe too, since every batch is one DuckDB transaction (issue 5).
 */
export function interruptSignal(options: { stderr?: (text: string) => void } = {}): AbortSignal {
  const controller = new AbortController();
  const say = options.stderr ?? ((text: string) => void process.stderr.write(text));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) process.exit(sig === "SIGTERM" ? 143 : 130);
      if (sig === "SIGINT") say("\nstopping after the current batch; press Ctrl-C again to quit at once (committed batches are kept either way)\n");
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
