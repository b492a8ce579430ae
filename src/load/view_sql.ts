/**
 * A config's `views` are SQL that restduck runs as `CREATE VIEW … AS <sql>`, and that every later
 * reader of the file (export, notebooks) runs again. Before anything else happens, each view must be
 * exactly one read-only SELECT (issue #11, item 5): a config that wrote files with `COPY … TO`,
 * attached databases or read `/etc/passwd` with `read_text` was called valid.
 *
 * The check uses DuckDB's own parser (`json_serialize_sql`, which refuses every statement that is
 * not a SELECT) and walks the statement's syntax tree:
 *
 * - table functions (`FROM f(…)`) are allowed from a short list that reads no file, URL, setting or
 *   catalog: `unnest`, `range`, `generate_series`, `json_each`, `json_tree`. Everything else —
 *   `read_csv`, `read_text`, `read_parquet`, `glob`, `query`, `query_table`, `duckdb_secrets`, … — is
 *   refused. An allow-list, because DuckDB adds table functions with every release and extension.
 * - other functions must be built into DuckDB (its `duckdb_functions()`, so every string, date,
 *   list, aggregate and window function works) and not on a short deny-list of those that read
 *   settings or the session, sleep or write logs. An unknown name is refused: DuckDB would try to
 *   install an extension from the network for it.
 * - a table named like a file or URL (`FROM 'data.csv'`, `FROM 'https://…'`) is refused: DuckDB
 *   reads such names as files ("replacement scans").
 * - `DESCRIBE` / `SUMMARIZE` are refused (they take a file name too).
 *
 * The check never runs the SQL: it parses it on a separate in-memory DuckDB with external access off.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { ConfigError } from "../errors.ts";
import { quoteString } from "./db.ts";

/** Table functions a view may use in FROM: none of them touches a file, URL, setting or the catalog. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(["unnest", "range", "generate_series", "json_each", "json_tree"]);

/** Built-in functions a view may not call, and why. */
const DENIED_FUNCTIONS: Readonly<Record<string, string>> = {
  current_setting: "it reads DuckDB settings, which can hold credentials",
  // Only the duckdb shell has it today; refused in case a build adds it.
  getenv: "it reads the environment, which can hold credentials",
  getvariable: "it reads the session's variables",
  current_query: "it reads the running query's text",
  write_log: "it writes to DuckDB's log",
  sleep_ms: "it stalls every query of the view",
  pg_sleep: "it stalls every query of the view",
};

/** Functions the parser shows by name that `duckdb_functions()` does not list. */
const SYNTAX_FUNCTIONS = new Set(["unnest", "unlist"]);

/** Something that answers SQL with rows (a Database, or the check's own connection). */
export interface SqlRunner {
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
}

/**
 * Why a view's SQL is refused, or undefined when it is one read-only SELECT.
 *
 * @param db Where to parse it (only `json_serialize_sql` and `duckdb_functions()` run there).
 * @param sql The view's query, as written in the config.
 * @param builtins DuckDB's built-in function names (see {@link builtinFunctions}); read from `db` when not given.
 */
export async function checkViewSql(db: SqlRunner, sql: string, builtins?: ReadonlySet<string>): Promise<string | undefined> {
  // DuckDB ends a string literal at a NUL, so the text it would check is not the text it would run.
  if (sql.includes("\u0000")) return "it contains a NUL character";
  // json_serialize_sql takes only a constant string, so the SQL goes in as a quoted literal.
  let ast: string;
  try {
    [{ ast }] = await db.all<{ ast: string }>(`SELECT json_serialize_sql(${quoteString(sql)}) AS ast`);
  } catch (error) {
    return `DuckDB cannot parse it: ${((error as Error).message ?? String(error)).split("\n")[0]}`;
  }
  const parsed = JSON.parse(ast) as { error: boolean; error_type?: string; error_message?: string; statements?: unknown[] };
  if (parsed.error) {
    if (parsed.error_type === "not implemented") return "not a SELECT: a view is one read-only SELECT (or WITH … SELECT) statement";
    return `DuckDB cannot parse it: ${parsed.error_message ?? parsed.error_type}`;
  }
  const statements = parsed.statements ?? [];
  if (statements.length !== 1) {
    return statements.length === 0 ? "no statement: a view is one SELECT statement" : `${statements.length} statements: a view is exactly one SELECT statement (no ';' between statements)`;
  }
  return _refused(statements[0], builtins ?? (await builtinFunctions(db)));
}

/** The set read last, by a clean in-memory DuckDB of this same build: reading it costs ~0.2 s. */
let _builtins: Set<string> | undefined;

/** The names of DuckDB's built-in scalar, aggregate, window and macro functions (once per process). */
export async function builtinFunctions(db: SqlRunner): Promise<Set<string>> {
  if (_builtins) return _builtins;
  const rows = await db.all<{ f: string }>(
    `SELECT DISTINCT function_name AS f FROM duckdb_functions() WHERE internal AND function_type IN ('scalar', 'aggregate', 'macro')`,
  );
  // Not cached here: a user's database may have extensions loaded. checkConfigViews caches its clean instance's list.
  return new Set(rows.map((r) => r.f));
}

/**
 * Checks a config's `views` before any request is sent or database opened: each must be one
 * read-only SELECT. Throws a ConfigError naming every refused view (`views.<name>: …`).
 */
export async function checkConfigViews(views: Record<string, string>, source = "config"): Promise<void> {
  const entries = Object.entries(views);
  if (entries.length === 0) return;
  const instance = await DuckDBInstance.create(":memory:", {
    // Nothing here needs a file, a URL or an extension download; should the parser ever touch one, refuse.
    enable_external_access: "false",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const connection = await instance.connect();
  const db: SqlRunner = { all: async <T>(sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as T[] };
  const problems: string[] = [];
  try {
    const builtins = await builtinFunctions(db);
    _builtins = builtins;
    for (const [name, sql] of entries) {
      const problem = await checkViewSql(db, sql, builtins);
      if (problem !== undefined) problems.push(`views.${name}: ${problem}`);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  if (problems.length) {
    throw new ConfigError(`Invalid ${source}:\n  ${problems.join("\n  ")}`, {
      problems,
      hint: "a view is one SELECT over the loaded tables and views; files, URLs, settings and other databases are out of reach (use `restduck query` or a DuckDB session for those)",
    });
  }
}

type Node = Record<string, unknown>;

/** The first thing in a parsed statement a view may not do, or undefined. */
function _refused(tree: unknown, builtins: ReadonlySet<string>): string | undefined {
  const stack: unknown[] = [tree];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    const n = node as Node;
    if (n.type === "TABLE_FUNCTION" && typeof n.function === "object" && n.function !== null) {
      const fn = n.function as Node;
      const name = String(fn.function_name).toLowerCase();
      if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
        return `table function ${name}() is not allowed: views may read only the loaded tables and views (allowed: ${[...ALLOWED_TABLE_FUNCTIONS].join(", ")})`;
      }
      // Its arguments are expressions like any other.
      stack.push(fn.children, fn.filter, fn.order_bys, n.subquery);
      continue;
    }
    if (n.type === "BASE_TABLE" && typeof n.table_name === "string") {
      const where = [n.catalog_name, n.schema_name, n.table_name].filter((p) => typeof p === "string" && p !== "").join(".");
      if (/[./\\:~]/.test(n.table_name)) return `"${n.table_name}" reads a file or URL: views may read only the loaded tables and views`;
      if ([n.catalog_name, n.schema_name].some((p) => typeof p === "string" && /[/\\:]/.test(p))) return `"${where}" is not a table name`;
    }
    if (n.type === "SHOW_REF") return "DESCRIBE / SUMMARIZE is not allowed in a view";
    if ((n.class === "FUNCTION" || n.class === "WINDOW") && typeof n.function_name === "string") {
      const name = n.function_name.toLowerCase();
      if (Object.hasOwn(DENIED_FUNCTIONS, name)) return `function ${name}() is not allowed: ${DENIED_FUNCTIONS[name]}`;
      if (!builtins.has(name) && !builtins.has(n.function_name) && !SYNTAX_FUNCTIONS.has(name)) {
        return `function ${name}() is not a DuckDB built-in: views may call only DuckDB's built-in functions`;
      }
    }
    for (const value of Object.values(n)) if (typeof value === "object" && value !== null) stack.push(value);
  }
  return undefined;
}
