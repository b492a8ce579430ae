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
      // The parser holds the options of the command being parsed (yargs resets it per command).
      const known = Object.keys((parser as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
      throw Object.assign(new Error(usageMessage(message, argv, known)), { usage: true });
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

const COMMAND_NAMES = COMMANDS.map((c) => c.command.split(" ")[0]);

/**
 * Makes yargs' usage errors say what they know: strict mode reports `Unknown argument: dbb` with
 * no suggestion, and `recommendCommands` only `Did you mean query?` without naming the typo.
 */
function usageMessage(message: string, argv: string[], known: string[]): string {
  const typo = /^Did you mean (\S+)\?$/.exec(message);
  if (typo) {
    const given = argv.find((a) => !a.startsWith("-")) ?? "";
    return `Unknown command ${given}; did you mean ${typo[1]}?`;
  }
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (!unknown) return message;
  const options = known.filter((k) => k.length > 1 && k !== "$0" && !/[A-Z]/.test(k));
  const lines = unknown[1].split(", ").map((name) => {
    const flag = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}`);
    if (!flag) {
      const near = closest(name, COMMAND_NAMES);
      return argv[0] === name ? `Unknown command ${name}${near ? `; did you mean ${near}?` : `; commands: ${COMMAND_NAMES.join(", ")}`}` : `Unknown argument: ${name}`;
    }
    const near = closest(name, options);
    // yargs' wording is kept (scripts and the bad-config corpus match it), with the suggestion after it.
    return `Unknown argument: ${name}${near ? `; did you mean --${near}?` : ""}`;
  });
  return lines.join("\n");
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be a typo. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
