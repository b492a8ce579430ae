/**
 * Opening a DuckDB database: the only place that turns DuckDB's open errors
 * (a lock held by another process, a file that is not a database) into
 * messages that say what to do.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { DatabaseError } from "../errors.ts";

/** An open database and one connection to it. */
export interface Database {
  path: string;
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  /** Runs SQL (several statements allowed) and discards results. */
  run(sql: string, params?: unknown[]): Promise<void>;
  /** Runs a query and returns its rows as JSON-safe objects. */
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a query and returns column names and rows of JSON-safe values. */
  table(sql: string): Promise<{ columns: string[]; types: string[]; rows: unknown[][] }>;
  /**
   * Drops the table blocks DuckDB's buffer pool keeps cached: it evicts what it can by lowering
   * memory_limit for a moment, then restores the limit. A load calls it between batches (nothing
   * pinned), so a run's memory does not grow with the rows it wrote (see releaseMemory below).
   * Once the load has added VACUUM_UNTIL_BYTES to the file, it also stops the checkpoints'
   * row-group merging for this connection (`max_vacuum_tasks` 0).
   */
  releaseMemory(): Promise<void>;
  /**
   * Ties this connection's work to `signal` until the returned function is called: aborting it
   * interrupts the statement in flight (duckdb_interrupt: DuckDB stops it and aborts the
   * transaction) and refuses every later statement but ROLLBACK, so a run stops within moments
   * instead of after a statement that may take minutes (issue #11).
   */
  interruptOn(signal: AbortSignal | undefined): () => void;
  close(): void;
}

/** Quotes an identifier for DuckDB SQL: `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for DuckDB SQL. */
export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Whether `--db` names a local file (not `:memory:`, `md:…`, `ducklake:…`, …). */
export function isLocalPath(path: string): boolean {
  // A scheme has two or more letters, so Windows drive letters (`C:\data`) stay local paths.
  return path !== ":memory:" && !/^[a-z][a-z0-9_]+:/i.test(path);
}

/**
 * DuckDB's memory limit for a database file opened for writing. DuckDB's default is 80% of RAM,
 * and its buffer pool keeps every block a load writes until that limit is reached: a 1M-message
 * run held ~185 MB of table blocks at the end (duckdb_memory(): BASE_TABLE), ~16 MB more per 100k
 * messages, so without a cap a run's memory grows with the rows it loads. 512 MB bounds that
 * growth; lower caps bite sooner (64 MB: 1M peak RSS 706 → 572 MB at the same speed) but fail
 * wide tables: the Appender's buffers for 10,000 columns need more than 256 MB
 * (test/robustness/hostile_data_test.ts). Between batches, releaseMemory() drops the cached
 * blocks whatever the cap (scripts/bench_memory.ts has the numbers).
 */
export const WRITE_MEMORY_LIMIT = "512MB";

/** What releaseMemory lowers memory_limit to for a moment (DuckDB evicts unpinned blocks down to it). */
const RELEASE_TO = "16MB";

/**
 * How much a connection writing a file may add to it before its checkpoints stop merging row
 * groups (DuckDB's `max_vacuum_tasks` set to 0). Since DuckDB 1.4 a commit after a checkpoint
 * starts a new row group, and each checkpoint's vacuum merges the small ones at the end of a
 * table: it reads up to three row groups back and rewrites them, 75–100 MB of native memory for
 * the seed's tables, ~100 MB above a 1M-message run's memory between checkpoints, and more CPU (a
 * 1M-message load: peak 437 → 363 MB, CPU −13% without it; BENCHMARKS.md, session 5). 16 MB is
 * about one checkpoint's worth (DuckDB's 16 MB WAL threshold), so the first, small merges of a
 * large load still happen, as they do in a run of 100k messages (which adds ~20 MB). A large load
 * writes row groups of what one checkpoint holds (~50k messages at the 16 MB WAL threshold), which
 * need no merging; a small run (an incremental rerun, the first 16 MB of any run) keeps DuckDB's
 * vacuum, so many small runs still end in full row groups. Counted in blocks the file uses.
 */
export const VACUUM_UNTIL_BYTES = 16 * 1024 * 1024;

/**
 * Opens (creating if needed) a DuckDB database. `memoryLimit` sets DuckDB's `memory_limit`
 * (`null`: DuckDB's default); by default a local file opened for writing gets WRITE_MEMORY_LIMIT,
 * while read-only opens and `:memory:` (whose tables live in that memory) keep DuckDB's default.
 */
export async function openDatabase(
  path: string,
  options: { readOnly?: boolean; mustExist?: boolean; cwd?: string; memoryLimit?: string | null; vacuumUntilBytes?: number } = {},
): Promise<Database> {
  const local = isLocalPath(path);
  const abs = local ? resolve(options.cwd ?? process.cwd(), path) : path;
  if (local && !existsSync(abs)) {
    if (options.mustExist || options.readOnly) {
      throw new DatabaseError(`Database ${path} does not exist`, {
        code: "DATABASE_MISSING",
        hint: "check --db, or run `restduck run <config> --db " + path + "` first",
      });
    }
    mkdirSync(dirname(abs), { recursive: true });
  }
  let instance: DuckDBInstance;
  const memoryLimit = options.memoryLimit !== undefined ? options.memoryLimit : local && !options.readOnly ? WRITE_MEMORY_LIMIT : null;
  try {
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = "READ_ONLY";
    if (memoryLimit) config.memory_limit = memoryLimit;
    instance = await DuckDBInstance.create(abs, config);
  } catch (cause) {
    throw openError(path, cause, Boolean(options.readOnly));
  }
  const connection = await instance.connect();
  // Holding the file for writing, nobody else uses its spill folder: what is in it was left by a
  // process that was killed, and may be gigabytes.
  const spill = local && !options.readOnly ? await spillFolder(connection, abs) : undefined;
  if (spill) {
    removeSpillFiles(spill);
    openSpillFolders.add(spill);
    if (openSpillFolders.size === 1 && !process.listeners("exit").includes(removeOpenSpillFiles)) process.on("exit", removeOpenSpillFiles);
  }
  const currentLimit = async () =>
    ((await connection.runAndReadAll("SELECT current_setting('memory_limit') AS limit")).getRowObjectsJson() as { limit: string }[])[0].limit;
  let restoreTo: { limit: string; shown: string } | undefined = memoryLimit ? { limit: memoryLimit, shown: await currentLimit() } : undefined;
  // Bytes of the file in use (blocks written by checkpoints): what a load has added so far.
  const usedBytes = async () =>
    Number(
      ((await connection.runAndReadAll("SELECT (used_blocks * block_size)::DOUBLE AS used FROM pragma_database_size() WHERE database_name = current_database()")).getRowObjectsJson() as { used: number }[])[0]
        ?.used ?? 0,
    );
  const vacuumUntil = local && !options.readOnly ? (options.vacuumUntilBytes ?? VACUUM_UNTIL_BYTES) : undefined;
  let vacuumWhileBelow = vacuumUntil === undefined ? undefined : (await usedBytes()) + vacuumUntil;
  let stopWith: AbortSignal | undefined;
  const refuseIfStopped = (sql: string) => {
    // ROLLBACK still runs: it is how the work a stop cut short is undone.
    if (stopWith?.aborted && !/^\s*ROLLBACK\b/i.test(sql)) {
      throw new DatabaseError(`Interrupted (${String(stopWith.reason)}): the statement was not run`, { code: "INTERRUPTED" });
    }
  };
  const db: Database = {
    path,
    instance,
    connection,
    async run(sql, params) {
      refuseIfStopped(sql);
      await connection.run(sql, params as never);
    },
    async all<T>(sql: string, params?: unknown[]) {
      refuseIfStopped(sql);
      const reader = await connection.runAndReadAll(sql, params as never);
      return reader.getRowObjectsJson() as T[];
    },
    async table(sql) {
      refuseIfStopped(sql);
      const reader = await connection.runAndReadAll(sql);
      return {
        columns: reader.columnNames(),
        types: reader.columnTypes().map((t) => t.toString()),
        rows: reader.getRowsJson() as unknown[][],
      };
    },
    async releaseMemory() {
      const shown = await currentLimit();
      // DuckDB shows the limit rounded ("488.2 MiB"); setting that back lands 0.1 MiB lower each
      // time, so the limit this connection had is kept as it was first read.
      const limit = restoreTo && shown === restoreTo.shown ? restoreTo.limit : shown;
      if (limit === restoreTo?.limit) {
        // The limit is the one set last time, so DuckDB will show it as it does now: lowering and
        // restoring it go in one round trip (a load calls this after every batch, and each trip waits
        // for a turn on the event loop). A failed lowering stops the pair, so the limit is restored alone.
        await connection.run(`SET memory_limit = '${RELEASE_TO}'; SET memory_limit = ${quoteString(limit)}`).catch(() => connection.run(`SET memory_limit = ${quoteString(limit)}`));
      } else {
        try {
          await connection.run(`SET memory_limit = '${RELEASE_TO}'`);
        } catch {
          // Pinned blocks can keep it above that: then it evicted what it could.
        } finally {
          await connection.run(`SET memory_limit = ${quoteString(limit)}`);
          restoreTo = { limit, shown: await currentLimit() };
        }
      }
      // After each batch, so the checkpoints of a load that has grown large stop merging row groups (VACUUM_UNTIL_BYTES).
      if (vacuumWhileBelow !== undefined && (await usedBytes()) >= vacuumWhileBelow) {
        await connection.run("SET max_vacuum_tasks = 0");
        vacuumWhileBelow = undefined;
      }
    },
    interruptOn(signal) {
      if (!signal) return () => {};
      const interrupt = () => connection.interrupt();
      stopWith = signal;
      signal.addEventListener("abort", interrupt, { once: true });
      if (signal.aborted) interrupt();
      return () => {
        signal.removeEventListener("abort", interrupt);
        if (stopWith === signal) stopWith = undefined;
      };
    },
    close() {
      try {
        connection.closeSync();
      } finally {
        instance.closeSync();
        // DuckDB removes the spill files on close, and its folder if it made it; not one a killed process left.
        if (spill) {
          openSpillFolders.delete(spill);
          removeSpillFiles(spill);
        }
      }
    },
  };
  return db;
}

/** Spill folders of the databases this process has open for writing. */
const openSpillFolders = new Set<string>();

/**
 * The folder DuckDB spills to for this database (`temp_directory`; by default `<db>.tmp`
 * beside the file), if it is one of its own: a folder set by hand may be shared, so it is left alone.
 */
async function spillFolder(connection: DuckDBConnection, abs: string): Promise<string | undefined> {
  const rows = (await connection.runAndReadAll("SELECT current_setting('temp_directory') AS dir")).getRowObjectsJson() as { dir: string }[];
  const dir = rows[0]?.dir;
  return dir && resolve(dir) === `${abs}.tmp` ? dir : undefined;
}

/** DuckDB's spill files: `duckdb_temp_storage_<size>-<n>.tmp` and `duckdb_temp_block-<id>.block`. */
const SPILL_FILE = /^duckdb_temp_(storage.*\.tmp|block-\d+\.block)$/;

/** Removes DuckDB's spill files from `dir`, then `dir` itself if nothing else is in it. Never throws. */
function removeSpillFiles(dir: string): void {
  try {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) if (SPILL_FILE.test(name)) rmSync(join(dir, name), { force: true });
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Spill files that cannot be removed now are removed at the next open for writing.
  }
}

/**
 * On a process exit that skipped close() (a second Ctrl-C calls process.exit while DuckDB may be
 * spilling), removes the spill files of the databases still open: DuckDB only removes them on close.
 */
function removeOpenSpillFiles(): void {
  for (const dir of openSpillFolders) removeSpillFiles(dir);
}

function openError(path: string, cause: unknown, readOnly: boolean): DatabaseError {
  const message = (cause as Error)?.message ?? String(cause);
  if (/lock/i.test(message)) {
    const pid = /PID (\d+)/.exec(message)?.[1];
    const holder = `another process${pid ? ` (PID ${pid})` : ""}`;
    // DuckDB adds "you would be able to open this database in read-only mode" when the holder only
    // reads. Readers share a file, but a writer needs it to itself: then only closing the reader helps.
    if (!readOnly && /read-only mode/i.test(message)) {
      return new DatabaseError(`Database ${path} is open read-only in ${holder}: DuckDB lets a process write a file only while no other process has it open`, {
        code: "DATABASE_LOCKED",
        hint: "close the reading session (a notebook's read-only connection or restduck pipeline, `restduck query`, duckdb -readonly), then run again",
        cause,
      });
    }
    return new DatabaseError(`Database ${path} is in use by ${holder}: DuckDB allows one writer at a time`, {
      code: "DATABASE_LOCKED",
      hint: readOnly
        ? "close the other session (a notebook or duckdb shell) or open it read-only there too (duckdb -readonly, read_only=True; readers share a file), then run again"
        : "close the other session (a notebook or duckdb shell) or let its load finish, then run again",
      cause,
    });
  }
  if (/not a valid DuckDB database|database file .* not a valid|unable to open|Catalog|magic/i.test(message)) {
    return new DatabaseError(`Cannot open ${path} as a DuckDB database: ${message.split("\n")[0]}`, {
      hint: "point --db at a .duckdb file written by DuckDB (or a new path)",
      cause,
    });
  }
  if (/extension/i.test(message) && !isLocalPath(path)) {
    return new DatabaseError(`Cannot open ${path}: ${message.split("\n")[0]}`, {
      hint: `DuckDB downloads the extension for "${path.split(":")[0]}:" paths on first use; without network, run INSTALL for it in a DuckDB session that has network, or use a local .duckdb file`,
      cause,
    });
  }
  return new DatabaseError(`Cannot open database ${path}: ${message.split("\n")[0]}`, { hint: "check the path and its permissions", cause });
}
