import { extname, resolve } from "node:path";
import type { Argv } from "yargs";
import { RestduckError } from "../../errors.ts";
import { resolveDatabase } from "../names.ts";
import type { Database } from "../../load/db.ts";
import type { CommandContext } from "../context.ts";
import { reportError, resultRenderer, type ResultFormat } from "../output.ts";

export const command = "query <sql>";
export const describe = "Run SQL against a DuckDB file and print the result (or write it to a Parquet, CSV or JSON file)";

export function builder(y: Argv) {
  return y
    .positional("sql", { type: "string", demandOption: true, describe: "SQL to run" })
    .option("db", { type: "string", describe: "DuckDB database (default: --pipeline's <name>.duckdb, else the one .duckdb file in this folder)" })
    .option("pipeline", { type: "string", describe: "Open <pipeline>.duckdb (what `run` writes when --db is not given)" })
    .option("format", { alias: "f", choices: ["table", "csv", "json", "ndjson"] as const, default: "table" as const, describe: "Output format" })
    .option("out", { alias: "o", type: "string", describe: "Write the result to FILE instead: .parquet, .csv, .json (an array) or .ndjson/.jsonl, through DuckDB's COPY" })
    .option("write", { type: "boolean", default: false, describe: "Open the database for writing (default: read-only, so other readers can share it)" })
    .example('$0 query --db chat.duckdb "select sender_id, count(*) from chat_messages group by 1"', "messages per sender")
    .example('$0 query --db chat.duckdb "select * from chat_messages" --out messages.parquet', "write a Parquet file");
}

/** COPY options per output file extension. */
const COPY_FORMATS: Record<string, string> = {
  ".parquet": "FORMAT parquet, COMPRESSION zstd",
  ".csv": "FORMAT csv, HEADER true",
  ".json": "FORMAT json, ARRAY true",
  ".ndjson": "FORMAT json",
  ".jsonl": "FORMAT json",
};

export async function run(
  ctx: CommandContext,
  args: { sql: string; db: string; pipeline?: string; format: ResultFormat; out?: string; write: boolean; json: boolean; quiet: boolean; verbose: boolean },
): Promise<void> {
  let db;
  try {
    args.db = resolveDatabase(args, ctx.io.cwd);
    const copyOptions = args.out === undefined ? undefined : COPY_FORMATS[extname(args.out).toLowerCase()];
    if (args.out !== undefined && !copyOptions) {
      throw new RestduckError("USAGE", `Cannot tell the format of --out ${args.out} from its extension`, {
        exitCode: 2,
        hint: `name the file with one of ${Object.keys(COPY_FORMATS).join(", ")}`,
      });
    }
    const { openDatabase, quoteString } = await import("../../load/db.ts");
    db = await openDatabase(args.db, { readOnly: !args.write, mustExist: true, cwd: ctx.io.cwd });
    if (args.out !== undefined) {
      const target = resolve(ctx.io.cwd, args.out);
      // COPY takes a query, not a statement list: a trailing semicolon would end it early.
      const sql = args.sql.trim().replace(/;+\s*$/, "");
      const result = await db.all<{ Count: number | string }>(`COPY (${sql}) TO ${quoteString(target)} (${copyOptions})`);
      const rows = Number(result[0]?.Count ?? 0);
      if (args.json) ctx.io.stdout(JSON.stringify({ type: "written", file: target, rows }) + "\n");
      else if (!args.quiet) ctx.io.stderr(`wrote ${rows.toLocaleString("en-US")} row${rows === 1 ? "" : "s"} to ${args.out}\n`);
      return;
    }
    await streamRows(ctx, db.connection, args.sql, args.json ? "ndjson" : args.format);
  } catch (error) {
    const err = error as Error;
    const wrapped =
      error instanceof RestduckError
        ? error
        : new RestduckError("QUERY_FAILED", `Query failed: ${duckdbMessage(err.message)}`, {
            hint: /read-only/i.test(err.message)
              ? "add --write to change the database"
              : /No such file|directory|Cannot open file/i.test(err.message) && args.out
                ? `check that the folder of --out ${args.out} exists and is writable`
                : `check the SQL; \`restduck query --db ${args.db} "show all tables"\` lists what is there`,
          });
    ctx.exitCode = reportError(ctx.io, wrapped, ctx.redactor, args);
  } finally {
    db?.close();
  }
}

/**
 * Prints a query's rows chunk by chunk (DuckDB's streaming result, 2,048 rows a chunk), awaiting
 * stdout before the next chunk: 1M rows pass through in flat memory at the pace of the reader,
 * and a reader that closes early (`| head`) stops the query instead of filling a dead pipe.
 */
async function streamRows(ctx: CommandContext, connection: Database["connection"], sql: string, format: ResultFormat): Promise<void> {
  const result = await connection.stream(sql);
  const render = resultRenderer(result.columnNames(), result.columnTypes().map(String), format, ctx.io.columns);
  for await (const rows of result.yieldRowsJson()) {
    if (ctx.io.stdoutClosed?.aborted) return;
    await ctx.io.stdout(render.rows(rows));
  }
  await ctx.io.stdout(render.end());
}

/**
 * DuckDB's error as it wrote it, minus blank lines: its later lines are the useful part
 * (`Did you mean "chat_messages"?`, `Candidate bindings: …`, the SQL line with a caret under the
 * fault), indented under the first so the caret still points at the right character.
 */
function duckdbMessage(message: string): string {
  return message
    .replace(/^Failed to extract statements: /, "")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .join("\n  ");
}
