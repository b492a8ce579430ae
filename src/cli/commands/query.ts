import type { Argv } from "yargs";
import { RestduckError } from "../../errors.ts";
import type { CommandContext } from "../context.ts";
import { formatResult, reportError } from "../output.ts";

export const command = "query <sql>";
export const describe = "Run SQL against a DuckDB file and print the result";

export function builder(y: Argv) {
  return y
    .positional("sql", { type: "string", demandOption: true, describe: "SQL to run" })
    .option("db", { type: "string", describe: "DuckDB database file", default: "restduck.duckdb" })
    .option("format", { alias: "f", choices: ["table", "csv", "json", "ndjson"] as const, default: "table" as const, describe: "Output format" })
    .option("write", { type: "boolean", default: false, describe: "Open the database for writing (default: read-only, so other readers can share it)" })
    .example('$0 query --db chat.duckdb "select sender_id, count(*) from chat_messages group by 1"', "messages per sender");
}

export async function run(
  ctx: CommandContext,
  args: { sql: string; db: string; format: "table" | "csv" | "json" | "ndjson"; write: boolean; json: boolean; quiet: boolean; verbose: boolean },
): Promise<void> {
  const { openDatabase } = await import("../../load/db.ts");
  let db;
  try {
    db = await openDatabase(args.db, { readOnly: !args.write, mustExist: true, cwd: ctx.io.cwd });
    const result = await db.table(args.sql);
    ctx.io.stdout(formatResult(result, args.json ? "ndjson" : args.format, ctx.io.columns));
  } catch (error) {
    const err = error as Error;
    const wrapped =
      error instanceof RestduckError
        ? error
        : new RestduckError("QUERY_FAILED", `Query failed: ${err.message.split("\n")[0]}`, {
            hint: /read-only/i.test(err.message) ? "add --write to change the database" : 'check the SQL; `restduck query --db FILE "show all tables"` lists what is there',
          });
    ctx.exitCode = reportError(ctx.io, wrapped, ctx.redactor, args);
  } finally {
    db?.close();
  }
}
