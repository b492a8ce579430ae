/**
 * Opening a DuckDB database: the only place that turns DuckDB's open errors
 * (a lock held by another process, a file that is not a database) into
 * messages that say what to do.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
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

/** Opens (creating if needed) a DuckDB database. */
export async function openDatabase(path: string, options: { readOnly?: boolean; mustExist?: boolean; cwd?: string } = {}): Promise<Database> {
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
  try {
    instance = await DuckDBInstance.create(abs, options.readOnly ? { access_mode: "READ_ONLY" } : {});
  } catch (cause) {
    throw openError(path, cause);
  }
  const connection = await instance.connect();
  const db: Database = {
    path,
    instance,
    connection,
    async run(sql, params) {
      await connection.run(sql, params as never);
    },
    async all<T>(sql: string, params?: unknown[]) {
      const reader = await connection.runAndReadAll(sql, params as never);
      return reader.getRowObjectsJson() as T[];
    },
    async table(sql) {
      const reader = await connection.runAndReadAll(sql);
      return {
        columns: reader.columnNames(),
        types: reader.columnTypes().map((t) => t.toString()),
        rows: reader.getRowsJson() as unknown[][],
      };
    },
    close() {
      try {
        connection.closeSync();
      } finally {
        instance.closeSync();
      }
    },
  };
  return db;
}

function openError(path: string, cause: unknown): DatabaseError {
  const message = (cause as Error)?.message ?? String(cause);
  if (/lock/i.test(message)) {
    const pid = /PID (\d+)/.exec(message)?.[1];
    return new DatabaseError(
      `Database ${path} is in use by another process${pid ? ` (PID ${pid})` : ""}: DuckDB allows one writer at a time`,
      {
        code: "DATABASE_LOCKED",
        hint: "close the other session (a notebook or duckdb shell) or open it read-only (duckdb -readonly, read_only=True), then run again",
        cause,
      },
    );
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
