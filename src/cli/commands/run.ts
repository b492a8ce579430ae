import type { Argv } from "yargs";
import type { CommandContext } from "../context.ts";
import { progressReporter, reportError } from "../output.ts";
import { defaultPipelineName } from "../names.ts";

export interface RunArgs {
  config: string;
  db: string;
  resource?: string[];
  pipeline?: string;
  dataset?: string;
  secrets?: string;
  restart: boolean;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

export const command = "run <config>";
export const describe = "Load every resource of a config into a DuckDB file";

export function builder(y: Argv) {
  return y
    .positional("config", { type: "string", describe: "Config file: .json, .yaml/.yml, or .ts/.js (default export; a module: loading it runs its code)", demandOption: true })
    .option("db", { type: "string", describe: "DuckDB database file (anything DuckDB's ATTACH accepts)", default: "restduck.duckdb" })
    .option("resource", { type: "string", array: true, alias: "r", describe: "Only these resources (repeatable)" })
    .option("pipeline", { type: "string", describe: "Pipeline name (default: config's pipeline_name, else the config file's name)" })
    .option("dataset", { type: "string", describe: "Schema the tables go into (default: <pipeline>_dataset)" })
    .option("secrets", { type: "string", describe: "Extra secrets file (TOML or JSON), looked at after the environment and .dlt/secrets.toml" })
    .option("restart", { type: "boolean", default: false, describe: "Start over instead of resuming an unfinished run" })
    .example("$0 run chat.json --db chat.duckdb", "load the chat API into chat.duckdb")
    .example("CLIENT_ID=… CLIENT_SECRET=… $0 run chat.yaml", "secrets from the environment");
}

export async function run(ctx: CommandContext, args: RunArgs): Promise<void> {
  const progress = progressReporter(ctx.io, ctx.redactor, args);
  try {
    const { loadConfig } = await import("../../config/index.ts");
    const loaded = await loadConfig(args.config, { env: ctx.io.env, cwd: ctx.io.cwd, secretsFile: args.secrets, warn: (message) => progress({ type: "warning", message }) });
    ctx.redactor.add(loaded.secrets);
    const { runPipeline } = await import("../../pipeline/run.ts");
    await runPipeline(loaded, {
      database: args.db,
      pipelineName: args.pipeline ?? loaded.plan.pipelineName ?? defaultPipelineName(args.config),
      dataset: args.dataset,
      resources: args.resource,
      restart: args.restart,
      cwd: ctx.io.cwd,
      signal: ctx.signal,
      onEvent: progress,
    });
  } catch (error) {
    progress.close();
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  } finally {
    progress.close();
  }
}
