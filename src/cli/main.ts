/**
 * The CLI: a thin yargs layer over the library. `main` returns the exit
 * code instead of exiting, so tests run it in-process. Commands load their
 * heavy modules (DuckDB) lazily: `--version` and `--help` never touch them.
 */
import yargs, { type Argv } from "yargs";
import { HOMEPAGE, VERSION } from "../version.ts";
import { globalOptions, newContext, type CommandContext } from "./context.ts";
import { reportError, type Io } from "./output.ts";
import * as check from "./commands/check.ts";
import * as demo from "./commands/demo.ts";
import * as exportCmd from "./commands/export.ts";
import * as info from "./commands/info.ts";
import * as init from "./commands/init.ts";
import * as query from "./commands/query.ts";
import * as runCmd from "./commands/run.ts";
import * as schema from "./commands/schema.ts";
import * as validate from "./commands/validate.ts";

const EPILOG = `Exit codes: 0 ok · 1 run failed · 2 bad usage, config or missing secret · 130/143 interrupted (Ctrl-C / SIGTERM)
Secrets: {"$secret": "client_id"} in a config reads CLIENT_ID, then .dlt/secrets.toml, then --secrets FILE.
Docs: ${HOMEPAGE}`;

interface CommandModule {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<any>;
  run: (ctx: CommandContext, args: any) => Promise<void>;
}

const COMMANDS: CommandModule[] = [runCmd, check, query, info, schema, exportCmd, init, validate, demo];

/** Runs the CLI with `argv` (without the executable) and returns the exit code. */
export async function main(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const ctx = newContext(io, signal);
  let parser = yargs(argv)
    .scriptName("restduck")
    .usage("restduck — load REST APIs into DuckDB from dlt rest_api configs\n\nUsage: $0 <command> [options]")
    .version(VERSION)
    .alias("version", "V")
    .help()
    .alias("help", "h")
    .options(globalOptions)
    .strict()
    .demandCommand(1, `Name a command: ${COMMANDS.map((c) => c.command.split(" ")[0]).join(", ")} (see --help)`)
    .recommendCommands()
    .wrap(Math.min(io.columns, 110))
    .epilog(EPILOG)
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      throw Object.assign(new Error(message), { usage: true });
    });
  for (const cmd of COMMANDS) {
    parser = parser.command(cmd.command, cmd.describe, (y) => cmd.builder(y).epilog(EPILOG), async (args) => {
      await cmd.run(ctx, args);
    });
  }
  let out = "";
  let err = "";
  try {
    await parser.parseAsync(argv, {}, (error, _argv, output) => {
      if (output) (error ? (err += output) : (out += output));
    });
  } catch (error) {
    const e = error as Error & { usage?: boolean };
    if (e.usage) {
      io.stderr(`${err ? err + "\n" : ""}error: ${e.message}\nhint: run \`restduck --help\` for commands and options\n`);
      return 2;
    }
    return reportError(io, error, ctx.redactor, {});
  }
  if (out) io.stdout(out.endsWith("\n") ? out : out + "\n");
  return ctx.exitCode;
}
