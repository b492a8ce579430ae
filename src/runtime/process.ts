/**
 * The process edge: stdio, environment, signals and exit. Written against
 * `node:process`, which Bun, Deno and Node all provide.
 */
import process from "node:process";
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import type { Io } from "../cli/output.ts";

/**
 * One of the process's output streams, written so that nothing is lost and nothing crashes:
 * - Node and Bun write to a pipe asynchronously and `process.exit()` drops what is still queued
 *   (a slow reader got 737 of 20,001 lines, issue #13), so `flushed()` waits for every write's
 *   callback before the process may exit;
 * - `write` returns a promise while the stream is over its high-water mark, resolved on 'drain':
 *   a writer that awaits it holds at most one chunk in memory however slow the reader;
 * - a reader that goes away (`| head -n 1`: EPIPE) is the normal end of a pipe, not an error:
 *   `closed` aborts, later writes are dropped and nothing is printed;
 * - any other failure (a full disk: ENOSPC) is kept in `failure` so the exit can report it.
 */
interface OutStream {
  write(text: string): void | Promise<void>;
  flushed(): Promise<void>;
  closed: AbortSignal;
  failure?: Error & { code?: string };
}

function outStream(stream: NodeJS.WriteStream): OutStream {
  const closed = new AbortController();
  let pending = 0;
  let idle: (() => void)[] = [];
  const settle = () => {
    if (pending > 0 && !closed.signal.aborted) return;
    for (const resolve of idle) resolve();
    idle = [];
  };
  const out: OutStream = {
    closed: closed.signal,
    write(text) {
      if (closed.signal.aborted || text === "") return;
      pending++;
      let ok: boolean;
      try {
        ok = stream.write(text, () => {
          pending--;
          settle();
        });
      } catch (error) {
        // Some runtimes throw instead of emitting 'error' when the fd is already closed.
        pending--;
        fail(error as Error & { code?: string });
        return;
      }
      if (ok) return;
      return new Promise<void>((resolve) => {
        const done = () => {
          stream.off("drain", done);
          closed.signal.removeEventListener("abort", done);
          resolve();
        };
        stream.once("drain", done);
        closed.signal.addEventListener("abort", done);
      });
    },
    flushed() {
      if (pending === 0 || closed.signal.aborted) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
  const fail = (error: Error & { code?: string }) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") out.failure ??= error;
    closed.abort();
    settle();
  };
  // Without a listener an EPIPE is an uncaught exception: a stack trace and exit 1.
  stream.on("error", fail);
  return out;
}

let stdoutStream: OutStream | undefined;
let stderrStream: OutStream | undefined;

/** The real terminal as an Io. */
export function processIo(): Io {
  stdoutStream ??= outStream(process.stdout);
  stderrStream ??= outStream(process.stderr);
  const out = stdoutStream;
  const err = stderrStream;
  return {
    stdout: (text) => out.write(text),
    stderr: (text) => void err.write(text),
    stdoutClosed: out.closed,
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
    // Tables fit a terminal; into a pipe or a file nothing is cut.
    columns: process.stdout.isTTY ? process.stdout.columns || 120 : Number.POSITIVE_INFINITY,
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

/**
 * Exits with `code` once everything written to stdout and stderr has reached the OS. A reader
 * that closed stdout early does not change the code (`query … | head` is a success); stdout that
 * cannot be written for another reason (a full disk) is reported and exits 1: the output is incomplete.
 */
export async function exit(code: number): Promise<never> {
  await Promise.all([stdoutStream?.flushed(), stderrStream?.flushed()]);
  const failure = stdoutStream?.failure;
  if (failure) {
    stderrStream ??= outStream(process.stderr);
    stderrStream.write(`error: cannot write the output to stdout: ${failure.code ?? failure.message}\nhint: check the file or pipe stdout goes to (a full disk, a closed file)\n`);
    await stderrStream.flushed();
    process.exit(code === 0 ? 1 : code);
  }
  process.exit(code);
}

/**
 * Asks V8 to grow its heap in smaller steps, and to stop growing its young generation at
 * LOADING_SEMI_SPACE_MB. A run allocates fast (parsed pages, rows) but keeps little alive
 * (22–44 MB after a full GC); by default V8 lets the garbage grow the heap to 5–7× that, and more
 * the longer the run. With 10% steps a 1M-message run peaked ~100 MB lower at the same CPU
 * (scripts/bench_memory.ts). Only for the CLI on Node: Bun (the binary) and Deno have their own
 * heaps, and a library must not change its host's flags.
 */
export function tuneHeapForLoading(): void {
  const versions = process.versions as Record<string, string | undefined>;
  if (!versions.v8 || versions.bun || versions.deno) return;
  try {
    setFlagsFromString("--heap-growing-percent=10");
  } catch {
    // a runtime without the flag keeps its defaults
  }
  capYoungGeneration(LOADING_SEMI_SPACE_MB, { given: [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)] });
}

/**
 * Holds V8's young generation (new space: two semi-spaces) at `semiSpaceMb` per semi-space without
 * starting again. `--max-semi-space-size` is read only when the heap is created, but V8 reads
 * `--semi-space-growth-factor` each time it decides to grow new space after a scavenge: so after
 * each collection this sets the factor to 1 (no growth) once new space has reached the cap, and
 * back to V8's 2 should V8 have shrunk it below. GC notifications arrive after the collection that
 * grew it, so new space stops one growth step past the cap (12–14 MB for a cap of 2 × 4 MB,
 * test/runtime/heap_test.ts). A user's own semi-space or growth flag (command line or NODE_OPTIONS) stands.
 * Returns what it installed, to stop it (tests), or undefined when it did nothing.
 */
export function capYoungGeneration(semiSpaceMb: number, options: { given?: readonly string[] } = {}): { cap: number; stop: () => void } | undefined {
  const given = (options.given ?? []).map((f) => f.split("=")[0].replace(/_/g, "-"));
  if (given.some((f) => f === "--max-semi-space-size" || f === "--semi-space-growth-factor" || f === "--min-semi-space-size")) return undefined;
  const cap = 2 * semiSpaceMb * 1024 * 1024;
  let holding = false;
  const check = () => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size;
    if (size === undefined || size >= cap === holding) return;
    holding = size >= cap;
    setFlagsFromString(`--semi-space-growth-factor=${holding ? 1 : 2}`);
  };
  let observer: PerformanceObserver;
  try {
    observer = new PerformanceObserver(check);
    observer.observe({ entryTypes: ["gc"] });
  } catch {
    return undefined; // no GC entries on this runtime: V8 keeps its defaults
  }
  return {
    cap,
    stop() {
      observer.disconnect();
      if (holding) setFlagsFromString("--semi-space-growth-factor=2");
    },
  };
}

/**
 * glibc's malloc arenas for a loading run. By default glibc gives each thread that allocates
 * under contention an arena of its own, up to 8 per core (DuckDB's workers, libuv's pool, the
 * runtime's own threads), and every arena keeps what was freed in it. Two arenas share that
 * garbage. glibc reads the setting once, when the process starts (mallopt is not reachable
 * from JavaScript), hence the start-again below.
 */
export const LOADING_MALLOC_ARENAS = "2";

/**
 * V8's young generation for a loading run on Node, in MB per semi-space. Node 24 lets it grow to
 * 128 MB (`v8.getHeapSpaceStatistics()`: new_space) while a run keeps 22–44 MB alive: the
 * largest share of a run's peak. `--max-semi-space-size` is fixed when the heap is created
 * (setFlagsFromString later changes nothing), so the Node CLI holds it from inside instead
 * (capYoungGeneration), which needs no start-again. 32 MB (new space 64) took ~70 MB off a
 * 500k-message load at the same CPU; 16 MB took ~90 MB but cost 20–35% more CPU (more objects
 * promoted, more full collections with heap-growing-percent 10). BENCHMARKS.md, session 5.
 */
export const LOADING_SEMI_SPACE_MB = 32;

/**
 * The RAM JavaScriptCore (Bun, the binary) sizes its heap by, in bytes. JSC grows its heap in
 * proportion to the machine's memory, so on a 24 GB machine a run's heap holds several times
 * the little it keeps alive; told 1 GiB it collects sooner (a heuristic, not a cap: a run that
 * needs more still gets it). Read once at start, from BUN_JSC_forceRAMSize.
 */
export const LOADING_JSC_RAM_BYTES = String(1024 ** 3);

/** The commands that load data, and so run long enough for start-up settings to matter. */
const LOADING_COMMANDS = new Set(["run", "demo"]);

/** How the process replaces itself with a tuned copy (execve(2): same PID, same stdio, nothing left behind). */
export interface Reexec {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Whether a CLI process should start again with settings only a new process can take, and how.
 * Only loading commands (`--version`, `query`, … answer at once and are not worth a second
 * start-up), only on Linux (the arena setting is glibc's; DuckDB's Node bindings need glibc
 * there), only where the runtime can replace its own process (Node ≥ 23.11, Bun; not Deno), and
 * never when the user set MALLOC_ARENA_MAX: their value stands, and the copy, which has it, does
 * not start again. `script` is the entry file a runtime runs (none for the compiled binary,
 * whose entry is built in); `flags` are runtime flags and `settings` environment variables for
 * the copy, each dropped when the user already gave it (NODE_OPTIONS counts for flags).
 */
export function loadingReexec(from: {
  args: readonly string[];
  env: Record<string, string | undefined>;
  platform: string;
  execPath: string;
  execArgv: readonly string[];
  script?: string;
  flags?: readonly string[];
  /** Environment settings for the copy, each dropped when the user set that variable. */
  settings?: Record<string, string>;
  canExec: boolean;
}): Reexec | undefined {
  if (!from.canExec || from.platform !== "linux" || from.env.MALLOC_ARENA_MAX !== undefined) return undefined;
  const command = from.args.find((a) => !a.startsWith("-"));
  if (!command || !LOADING_COMMANDS.has(command)) return undefined;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from.env)) if (value !== undefined) env[name] = value;
  env.MALLOC_ARENA_MAX = LOADING_MALLOC_ARENAS;
  for (const [name, value] of Object.entries(from.settings ?? {})) env[name] ??= value;
  const given = [...from.execArgv, ...(from.env.NODE_OPTIONS ?? "").split(/\s+/)].map((f) => f.split("=")[0].replace(/_/g, "-"));
  const flags = (from.flags ?? []).filter((f) => !given.includes(f.split("=")[0]));
  const args = [from.execPath, ...from.execArgv, ...flags, ...(from.script === undefined ? [] : [from.script]), ...from.args];
  return { file: from.execPath, args, env };
}

/**
 * Replaces this process with a copy tuned for loading when loadingReexec says so; returns only
 * when it does not (or when the runtime refuses: then the run goes on untuned). Call it first
 * thing, before anything is written or a signal handler is set.
 */
export function reexecForLoading(options: { compiled?: boolean } = {}): void {
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve;
  const versions = process.versions as Record<string, string | undefined>;
  const node = !options.compiled && !versions.bun && !versions.deno;
  // On Node the start-again costs more than it saves: a second start-up with type stripping
  // (+0.3 s on an incremental rerun) and, from the young-generation cap, +20% CPU at 100k and a
  // 1M run 14% slower, for 130–155 MB less peak (BENCHMARKS.md, fourth round). The binary's
  // start-again costs ~0.1 s and no throughput, so there it stays. NODE_OPTIONS still works.
  if (node) return;
  const plan = loadingReexec({
    args: cliArgs(),
    env: process.env,
    platform: process.platform,
    execPath: process.execPath,
    execArgv: options.compiled ? [] : process.execArgv,
    script: options.compiled ? undefined : process.argv[1],
    settings: versions.deno ? {} : { BUN_JSC_forceRAMSize: LOADING_JSC_RAM_BYTES },
    canExec: typeof execve === "function",
  });
  if (!plan) return;
  try {
    execve!.call(process, plan.file, plan.args, plan.env);
  } catch {
    // execve refused (a seccomp filter, a deleted executable): run as we are
  }
}
