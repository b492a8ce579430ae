import type { Argv } from "yargs";
import type { CommandContext } from "../context.ts";
import { RestduckError } from "../../errors.ts";
import { formatResult, progressReporter, reportError } from "../output.ts";

export const command = "demo";
export const describe = "Start a built-in chat API on 127.0.0.1, load it with the seed config, and print an analysis";

export function builder(y: Argv) {
  return y
    .option("db", { type: "string", default: "demo.duckdb", describe: "DuckDB file to load into" })
    .option("messages", { type: "number", default: 500, describe: "How many messages the demo API holds" })
    .option("faults", { type: "boolean", default: true, describe: "Inject a few 429 and 503 answers so the retries show" })
    .option("serve", { type: "boolean", default: false, describe: "Only start the chat API and keep it running (until Ctrl-C), to point your own config at" })
    .option("port", { type: "number", default: 0, describe: "Port for --serve (default: any free port)" })
    .example("$0 demo", "load the built-in chat API and print an analysis")
    .example("$0 demo --serve --port 8080", "serve the chat API on 127.0.0.1:8080 for your own config");
}

/** The demo's faults: two 429s with Retry-After and one 503 (retried with the seed's backoff). */
const DEMO_FAULTS = [
  { nth: 2, status: 429, retryAfter: 1 },
  { nth: 4, status: 503 },
  { nth: 6, status: 429, retryAfter: 1 },
];

/** The demo API's own credentials: not secrets, they exist only inside this process. */
const DEMO_CLIENT = { id: "demo-client", secret: "demo-secret" };

interface DemoArgs {
  db: string;
  messages: number;
  faults: boolean;
  serve: boolean;
  port: number;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

export async function run(ctx: CommandContext, args: DemoArgs): Promise<void> {
  const { startChatApi, seedConfig } = await import("../../demo/chat_api.ts");
  if (args.serve) return serve(ctx, args, startChatApi);
  const api = await startChatApi({ messages: args.messages, faults: args.faults ? DEMO_FAULTS : [], clientId: DEMO_CLIENT.id, clientSecret: DEMO_CLIENT.secret });
  const progress = progressReporter(ctx.io, ctx.redactor, args);
  try {
    const { prepareConfig } = await import("../../config/index.ts");
    const { runPipeline } = await import("../../pipeline/run.ts");
    const { openDatabase } = await import("../../load/db.ts");
    // The demo API's own credentials, as if they came from the environment.
    const loaded = prepareConfig(seedConfig(api.url), { env: { CLIENT_ID: DEMO_CLIENT.id, CLIENT_SECRET: DEMO_CLIENT.secret }, source: "seed config" });
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

/**
 * `demo --serve`: the chat API alone, until Ctrl-C. Its URL and credentials go to stdout (they are the
 * demo's own, not secrets), with the seed config pointed at it, so a user can try their own config.
 */
async function serve(ctx: CommandContext, args: DemoArgs, start: typeof import("../../demo/chat_api.ts").startChatApi): Promise<void> {
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    ctx.exitCode = reportError(ctx.io, new RestduckError("USAGE", `--port expects a port number (0–65535), got ${args.port}`, { exitCode: 2, hint: "e.g. --port 8080, or leave it out for any free port" }), ctx.redactor, args);
    return;
  }
  let api;
  try {
    api = await start({ messages: args.messages, faults: args.faults ? DEMO_FAULTS : [], clientId: DEMO_CLIENT.id, clientSecret: DEMO_CLIENT.secret, port: args.port });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const wrapped = new RestduckError("DEMO_PORT", `Cannot serve the demo chat API on 127.0.0.1:${args.port}: ${e.code === "EADDRINUSE" ? "the port is in use" : e.message}`, {
      exitCode: 1,
      hint: "pick another --port, or leave it out for any free port",
    });
    ctx.exitCode = reportError(ctx.io, wrapped, ctx.redactor, args);
    return;
  }
  try {
    const info = { url: api.url, token_url: `${api.url}/oauth/token`, messages_path: "/v1/messages", client_id: DEMO_CLIENT.id, client_secret: DEMO_CLIENT.secret, messages: args.messages };
    if (args.json) ctx.io.stdout(JSON.stringify({ type: "serving", ...info }) + "\n");
    else {
      ctx.io.stdout(
        [
          `demo chat API listening on ${api.url} (${args.messages} messages${args.faults ? ", a few 429/503 answers early on" : ""})`,
          `  OAuth2 client credentials: token_url ${info.token_url}, client_id ${info.client_id}, client_secret ${info.client_secret}`,
          `  messages: GET ${api.url}/v1/messages?offset=0&limit=100 → { "messages": [...], "total": N }`,
          `try it: restduck init chat.yaml, set client.base_url to ${api.url} and token_url to ${info.token_url}, then`,
          `  CLIENT_ID=${info.client_id} CLIENT_SECRET=${info.client_secret} restduck run chat.yaml`,
          "press Ctrl-C to stop",
          "",
        ].join("\n"),
      );
    }
    if (!ctx.signal) return;
    const signal = ctx.signal;
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    if (!args.quiet && !args.json) ctx.io.stderr(`demo chat API stopped after ${api.requests.length} requests\n`);
  } finally {
    await api.close();
  }
}
