import type { Argv } from "yargs";
import type { CommandContext } from "../context.ts";
import { progressReporter, reportError } from "../output.ts";
import { RestduckError } from "../../errors.ts";
import { defaultDatabase, defaultPipelineName } from "../names.ts";

/** dlt's refresh modes (load/refresh.ts); a bare `--refresh` is `drop_sources`, as in dlt's docs. */
const REFRESH_MODES = ["drop_sources", "drop_resources", "drop_data"] as const;

export interface RunArgs {
  config: string;
  db?: string;
  resource?: string[];
  pipeline?: string;
  dataset?: string;
  secrets?: string;
  restart: boolean;
  refresh?: string;
  maxPages?: number;
  record?: string;
  replay?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

export const command = "run <config>";
export const describe = "Load every resource of a config into a DuckDB file";

export function builder(y: Argv) {
  return y
    .positional("config", { type: "string", describe: "Config file: .json, .yaml/.yml, or .ts/.js (default export; a module: loading it runs its code)", demandOption: true })
    .option("db", { type: "string", describe: "DuckDB database file, or anything DuckDB's ATTACH accepts (default: <pipeline>.duckdb)" })
    .option("resource", { type: "string", array: true, alias: "r", describe: "Only these resources (repeatable)" })
    .option("pipeline", { type: "string", describe: "Pipeline name (default: config's pipeline_name, else the config file's name)" })
    .option("dataset", { type: "string", describe: "Schema the tables go into (default: <pipeline>_dataset)" })
    .option("secrets", { type: "string", describe: "Extra secrets file (TOML or JSON), looked at after the environment and .dlt/secrets.toml" })
    .option("restart", { type: "boolean", default: false, describe: "Start over instead of resuming an unfinished run" })
    .option("refresh", {
      type: "string",
      describe: "Start over from nothing: drop_sources (bare --refresh: every table and all state of the pipeline), drop_resources (only the loaded resources'), drop_data (empty their tables, keep the columns)",
    })
    .option("max-pages", { type: "number", describe: "Stop each resource after N pages: a quick, real, small load" })
    .option("record", { type: "string", describe: "Write every HTTP exchange (secrets masked) to DIR/<pipeline>.har (HAR 1.2) as it happens" })
    .option("replay", { type: "string", describe: "Serve the run from DIR/<pipeline>.har: no network, no secrets needed, no waiting" })
    .conflicts("record", "replay")
    .example("$0 run chat.json --db chat.duckdb", "load the chat API into chat.duckdb")
    .example("$0 run chat.json --refresh", "drop the tables and incremental state, then load everything again")
    .example("$0 run chat.json --max-pages 1", "load one page per resource to try a config")
    .example("$0 run chat.json --record rec/", "keep the run's HTTP exchanges, e.g. for a bug report")
    .example("$0 run chat.json --replay rec/ --db replayed.duckdb", "the same run again, offline and without secrets")
    .example("CLIENT_ID=… CLIENT_SECRET=… $0 run chat.yaml", "secrets from the environment");
}

export async function run(ctx: CommandContext, args: RunArgs): Promise<void> {
  const progress = progressReporter(ctx.io, ctx.redactor, args);
  try {
    const refresh = refreshMode(args.refresh);
    if (args.maxPages !== undefined && !(Number.isInteger(args.maxPages) && args.maxPages > 0)) {
      throw new RestduckError("USAGE", `--max-pages expects a positive whole number, got ${args.maxPages}`, { exitCode: 2, hint: "e.g. --max-pages 1" });
    }
    const { loadConfig } = await import("../../config/index.ts");
    const loaded = await loadConfig(args.config, {
      env: ctx.io.env,
      cwd: ctx.io.cwd,
      secretsFile: args.secrets,
      warn: (message) => progress({ type: "warning", message }),
      // A replay needs no secrets (the recording masked them): stand-ins fill the ones not set.
      placeholder: args.replay !== undefined ? (name) => `replay-placeholder-${name}` : undefined,
    });
    ctx.redactor.add(loaded.secrets);
    const { runPipeline } = await import("../../pipeline/run.ts");
    const pipelineName = args.pipeline ?? loaded.plan.pipelineName ?? defaultPipelineName(args.config);
    await runPipeline(loaded, {
      database: args.db ?? defaultDatabase(pipelineName),
      pipelineName,
      refresh,
      maxPages: args.maxPages,
      record: args.record,
      replay: args.replay,
      dataset: args.dataset,
      resources: args.resource,
      restart: args.restart,
      cwd: ctx.io.cwd,
      signal: ctx.signal,
      onEvent: progress,
    });
  } catch (error) {
    progress.close();
    // The live line counted fetched rows; the file keeps only committed batches: say which.
    const kept = error instanceof RestduckError && error.code === "INTERRUPTED" && !args.json ? progress.keptLine() : undefined;
    if (kept && !args.quiet) ctx.io.stderr(`${kept}\n`);
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  } finally {
    progress.close();
  }
}

/** `--refresh` alone means `drop_sources`; anything else must be one of dlt's modes. */
function refreshMode(value: string | undefined): (typeof REFRESH_MODES)[number] | undefined {
  if (value === undefined) return undefined;
  if (value === "") return "drop_sources";
  const mode = REFRESH_MODES.find((m) => m === value);
  if (mode) return mode;
  throw new RestduckError("USAGE", `--refresh ${value} is not a refresh mode; known: ${REFRESH_MODES.join(", ")}`, {
    exitCode: 2,
    hint: "--refresh alone drops everything (drop_sources)",
  });
}
