/**
 * restduck as a library (notebooks, scripts): named exports only.
 *
 * @example
 * ```ts
 * import { loadConfig, runPipeline } from "restduck";
 * const loaded = await loadConfig("chat.json");
 * const summary = await runPipeline(loaded, { database: "chat.duckdb" });
 * ```
 */
export { loadConfig, prepareConfig, parseConfig, secret, type LoadedConfig, type Config, type ConfigInput, type Plan, type ResourcePlan } from "./config/index.ts";
export { runPipeline, newLoadId, type RunOptions, type RunSummary, type PipelineEvent } from "./pipeline/run.ts";
export { openDatabase, type Database } from "./load/db.ts";
export { startChatApi, seedConfig, generateMessages, type ChatApi, type ChatApiOptions } from "./demo/chat_api.ts";
export { RestduckError, ConfigError, SecretError, HttpError, AuthError, ResponseError, DatabaseError, InterruptedError } from "./errors.ts";
export { VERSION } from "./version.ts";
