import type { Argv } from "yargs";
import type { CommandContext } from "../context.ts";
import { formatResult, progressReporter, reportError } from "../output.ts";

export const command = "demo";
export const describe = "Start a built-in chat API on 127.0.0.1, load it with the seed config, and print an analysis";

export function builder(y: Argv) {
  return y
    .option("db", { type: "string", default: "demo.duckdb", describe: "DuckDB file to load into" })
    .option("messages", { type: "number", default: 500, describe: "How many messages the demo API holds" })
    .option("faults", { type: "boolean", default: true, describe: "Inject a few 429 and 503 answers so the retries show" });
}

/** The demo's faults: two 429s with Retry-After and one 503 (retried with the seed's backoff). */
const DEMO_FAULTS = [
  { nth: 2, status: 429, retryAfter: 1 },
  { nth: 4, status: 503 },
  { nth: 6, status: 429, retryAfter: 1 },
];

export async function run(ctx: CommandContext, args: { db: string; messages: number; faults: boolean; json: boolean; quiet: boolean; verbose: boolean }): Promise<void> {
  const { startChatApi, seedConfig } = await import("../../demo/chat_api.ts");
  const api = await startChatApi({ messages: args.messages, faults: args.faults ? DEMO_FAULTS : [] });
  const progress = progressReporter(ctx.io, ctx.redactor, args);
  try {
    const { prepareConfig } = await import("../../config/index.ts");
    const { runPipeline } = await import("../../pipeline/run.ts");
    const { openDatabase } = await import("../../load/db.ts");
    // The demo API's own credentials, as if they came from the environment.
    const loaded = prepareConfig(seedConfig(api.url), { env: { CLIENT_ID: "demo-client", CLIENT_SECRET: "demo-secret" }, source: "seed config" });
    ctx.redactor.add(loaded.secrets);
    if (!args.quiet && !args.json) ctx.io.stderr(`demo chat API listening on ${api.url} (${args.messages} messages)\n`);
    const summary = await runPipeline(loaded, {
      database: args.db,
      pipelineName: "demo",
      cwd: ctx.io.cwd,
      signal: ctx.signal,
      onEvent: progress,
    });
    progress.close();
    if (args.json) return;
    const db = await openDatabase(args.db, { readOnly: true, cwd: ctx.io.cwd });
    try {
      const width = ctx.io.columns;
      const show = async (title: string, sql: string) => {
        ctx.io.stdout(`\n${title}\n${formatResult(await db.table(sql), "table", width)}`);
      };
      const dataViews = summary.views.filter((v) => !v.startsWith("_"));
      await show("What was loaded (views in main)", dataViews.map((v) => `select '${v}' as view, count(*) as rows from "${v}"`).join(" union all ") + " order by 1");
      await show("Messages per sender", `select sender_id, count(*) as messages, count(distinct channel) as channels from chat_messages group by 1 order by 2 desc`);
      await show("Messages per day", `select timestamp::date as day, count(*) as messages from chat_messages group by 1 order by 1`);
      await show(
        "Most used reactions",
        `select emoji, count(*) as times from chat_messages__reactions group by 1 order by 2 desc`,
      );
      ctx.io.stdout(
        `\n${summary.resources[0]?.rows ?? 0} messages in ${args.db}; ${summary.retries} retries absorbed. Try:\n  restduck query --db ${args.db} "select * from chat_messages limit 5"\n`,
      );
    } finally {
      db.close();
    }
  } catch (error) {
    progress.close();
    ctx.exitCode = reportError(ctx.io, error, ctx.redactor, args);
  } finally {
    await api.close();
  }
}
