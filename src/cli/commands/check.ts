import type { Argv } from "yargs";
import type { CommandContext } from "../context.ts";
import { paint, reportError } from "../output.ts";

export interface CheckArgs {
  config: string;
  resource?: string[];
  secrets?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

export const command = "check <config>";
export const describe = "Fetch the first page of each resource and show what a run would load from it (writes nothing)";

export function builder(y: Argv) {
  return y
    .positional("config", { type: "string", describe: "Config file: .json, .yaml/.yml, or .ts/.js (default export)", demandOption: true })
    .option("resource", { type: "string", array: true, alias: "r", describe: "Only these resources (repeatable)" })
    .option("secrets", { type: "string", describe: "Extra secrets file (TOML or JSON), looked at after the environment and .dlt/secrets.toml" })
    .example("$0 check chat.yaml", "records, paginator, tables and columns per resource, from one request each")
    .example("$0 check chat.yaml --json | jq '.resources[].tables'", "the same as JSON");
}

export async function run(ctx: CommandContext, args: CheckArgs): Promise<void> {
  try {
    const { loadConfig } = await import("../../config/index.ts");
    const loaded = await loadConfig(args.config, { env: ctx.io.env, cwd: ctx.io.cwd, secretsFile: args.secrets });
    ctx.redactor.add(loaded.secrets);
    const { checkConfig } = await import("../../pipeline/check.ts");
    const results = await checkConfig(loaded, { resources: args.resource, signal: ctx.signal });
    // A resource that could not be fetched makes the check fail; the others are still reported.
    if (results.some((r) => r.error)) ctx.exitCode = 1;
    if (args.json) {
      ctx.io.stdout(ctx.redactor.redact(JSON.stringify({ config: args.config, resources: results })) + "\n");
      return;
    }
    const c = paint(ctx.io);
    const out: string[] = [];
    for (const r of results) {
      if (r.error) {
        out.push(`${c.red("✗")} ${c.bold(r.name)}: ${r.error}`);
        continue;
      }
      if (r.skipped) {
        out.push(`${c.yellow("-")} ${c.bold(r.name)}: not fetched: ${r.skipped}`);
        continue;
      }
      out.push(`${c.green("✓")} ${c.bold(r.name)}: ${r.records} record${r.records === 1 ? "" : "s"} at ${r.recordsAt} from ${r.url} (${r.status})`);
      out.push(`  paginator ${r.paginator}: ${r.morePages ? "there are more pages" : "this is the only page"}`);
      for (const t of r.tables) {
        out.push(`  table ${t.name} (${t.rows} row${t.rows === 1 ? "" : "s"}): ${t.columns.map((col) => `${col.name} ${c.dim(col.duckdbType)}`).join(", ") || "no columns"}`);
      }
    }
    ctx.io.stdout(ctx.redactor.redact(out.join("\n")) + "\n");
  } catch (error) {
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  }
}
