import type { Argv } from "yargs";
import type { CommandContext } from "../context.ts";
import { reportError } from "../output.ts";

export const command = "validate <config>";
export const describe = "Check a config, its secrets and its views' SQL without touching the network or a database (a .ts/.js config still runs when loaded)";

export function builder(y: Argv) {
  return y
    .positional("config", { type: "string", demandOption: true, describe: "Config file: .json, .yaml/.yml, or .ts/.js (a module: loading it runs its code)" })
    .option("secrets", { type: "string", describe: "Extra secrets file (TOML or JSON)" });
}

export async function run(ctx: CommandContext, args: { config: string; secrets?: string; json: boolean; quiet: boolean; verbose: boolean }): Promise<void> {
  try {
    const { loadConfig } = await import("../../config/index.ts");
    const warn = (message: string) => ctx.io.stderr(`warning: ${message}\n`);
    const loaded = await loadConfig(args.config, { env: ctx.io.env, cwd: ctx.io.cwd, secretsFile: args.secrets, warn });
    ctx.redactor.add(loaded.secrets);
    const { plan } = loaded;
    // Views are SQL: DuckDB's parser checks each is one read-only SELECT (no file, URL or database touched).
    const { checkConfigViews } = await import("../../load/view_sql.ts");
    await checkConfigViews(plan.views, `config ${args.config}`);
    // Keys dlt accepts that do nothing here: valid, but the user should know (stderr, so --json stays one document).
    for (const warning of plan.warnings) ctx.io.stderr(`warning: ${ctx.redactor.redact(warning)}\n`);
    if (args.json) {
      ctx.io.stdout(
        ctx.redactor.redact(
          JSON.stringify({
            valid: true,
            resources: plan.resources.map((r) => ({ name: r.name, table: r.tableName, path: r.endpoint.path, paginator: r.endpoint.paginator.type, write_disposition: r.writeDisposition, primary_key: r.primaryKey })),
            views: Object.keys(plan.views),
            secrets: loaded.secretOrigins,
            warnings: plan.warnings,
          }),
        ) + "\n",
      );
      return;
    }
    if (args.quiet) return;
    ctx.io.stdout(`${args.config} is valid: ${plan.resources.length} resource${plan.resources.length === 1 ? "" : "s"}\n`);
    for (const r of plan.resources) {
      ctx.io.stdout(
        `  ${r.name} → table ${r.tableName}: ${r.endpoint.method} ${r.endpoint.path}, paginator ${r.endpoint.paginator.type}, ${r.writeDisposition}${r.primaryKey.length ? ` on ${r.primaryKey.join(", ")}` : ""}${r.selected ? "" : " (not selected)"}\n`,
      );
    }
    for (const name of Object.keys(plan.views)) ctx.io.stdout(`  view ${name}: one read-only SELECT\n`);
    for (const [name, origin] of Object.entries(loaded.secretOrigins)) ctx.io.stdout(`  secret ${name}: from ${origin}\n`);
  } catch (error) {
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  }
}
