/**
 * restduck as a library (notebooks, scripts): named exports only.
 *
 * @example
 * ```ts
 * import { pipeline, restApiSource } from "restduck";
 * await using p = pipeline({ database: "chat.duckdb" });
 * const summary = await p.run(restApiSource("chat.json"));
 * console.table(await p.query("select count(*) as messages from chat_messages"));
 * ```
 */
export {
  restApiSource,
  pipeline,
  type RestApiSource,
  type RestApiSourceOptions,
  type SourceConfig,
  type WithSecrets,
  type Pipeline,
  type PipelineOptions,
  type PipelineRunOptions,
  type QueryRow,
} from "./library.ts";
export { loadConfig, prepareConfig, parseConfig, secret, type LoadedConfig, type Config, type ConfigInput, type Plan, type ResourcePlan } from "./config/index.ts";
export { runPipeline, newLoadId, type RunOptions, type RunSummary, type ResourceSummary, type PipelineEvent } from "./pipeline/run.ts";
export { openDatabase, type Database } from "./load/db.ts";
export type { RefreshMode } from "./load/refresh.ts";
export { startChatApi, seedConfig, generateMessages, type ChatApi, type ChatApiOptions } from "./demo/chat_api.ts";
export { RestduckError, ConfigError, SecretError, HttpError, AuthError, ResponseError, DatabaseError, InterruptedError } from "./errors.ts";
export { VERSION } from "./version.ts";
