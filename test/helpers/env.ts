/**
 * One fixture per test: `await using env = await testEnv(options)` owns a temp
 * folder, optionally a started API (the configurable mock API and/or the
 * demo's chat API), a DuckDB path in the folder, and everything opened
 * through it. Leaving the block — normally or by a throw — closes it all in
 * reverse order and removes the folder.
 *
 * `await using` is plain JavaScript (explicit resource management): V8 runs
 * it from Node 24, Deno 2 and Bun run it too, and type stripping leaves it
 * alone, so the same file runs unbundled on all three.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareConfig, type LoadedConfig } from "../../src/config/index.ts";
import { startChatApi, type ChatApi, type ChatApiOptions } from "../../src/demo/chat_api.ts";
import { openDatabase, type Database } from "../../src/load/db.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import type { RunOptions, RunSummary } from "../../src/pipeline/types.ts";
import { runCli, SEED_ENV, type CliResult } from "./index.ts";
import { startMockApi, type MockApi, type MockApiOptions } from "./mock_api.ts";

export interface TestEnvOptions {
  /** Start the configurable mock API (test/helpers/mock_api.ts) as `env.api`. */
  api?: boolean | MockApiOptions;
  /** Start the demo's chat API as `env.chat`, with the test credentials of `SEED_ENV`. */
  chat?: boolean | ChatApiOptions;
  /** Environment for secrets in `run` and `cli` (default: `SEED_ENV` when the chat API runs, else none). */
  env?: Record<string, string | undefined>;
  /** Temp folder name prefix. */
  prefix?: string;
}

/** What `testEnv` hands a test; `await using` disposes of it. */
export interface TestEnv extends AsyncDisposable {
  /** The temp folder, removed at the end. */
  dir: string;
  /** A DuckDB file path in the folder (not created until something writes it). */
  db: string;
  /** The mock API; throws unless `api` was asked for. */
  readonly api: MockApi;
  /** The chat API; throws unless `chat` was asked for. */
  readonly chat: ChatApi;
  /** The secrets environment `run` and `cli` use. */
  env: Record<string, string | undefined>;
  /** A path inside the folder. */
  path(...parts: string[]): string;
  /** Writes a config object as JSON (or a string as it is) into the folder and returns its path. */
  config(config: unknown, name?: string): string;
  /** Runs the pipeline in-process against `env.db`; a raw config object is prepared with `env.env` first. */
  run(config: LoadedConfig | Record<string, unknown>, options?: Partial<RunOptions>): Promise<RunSummary>;
  /** Runs a query on `env.db` (or another file), read-only, and returns rows as objects. */
  query<T = Record<string, unknown>>(sql: string, database?: string): Promise<T[]>;
  /** Runs the CLI in-process in the folder, with `env.env`, and captures its output. */
  cli(args: string[], options?: Partial<Parameters<typeof runCli>[1]>): Promise<CliResult>;
  /** Opens a database (default `env.db`) that is closed at the end. */
  open(options?: { path?: string; readOnly?: boolean }): Promise<Database>;
  /** Runs `cleanup` at the end, before what was set up earlier. */
  defer(cleanup: () => unknown): void;
}

/** Sets up a test's folder, APIs and database; use with `await using`. */
export async function testEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  const cleanups: (() => unknown)[] = [];
  const dispose = async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "testEnv: several cleanups failed");
  };

  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? "restduck-test-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  let api: MockApi | undefined;
  let chat: ChatApi | undefined;
  try {
    if (options.api) {
      const started = await startMockApi(options.api === true ? {} : options.api);
      cleanups.push(() => started.close());
      api = started;
    }
    if (options.chat) {
      const started = await startChatApi({ clientId: SEED_ENV.CLIENT_ID, clientSecret: SEED_ENV.CLIENT_SECRET, ...(options.chat === true ? {} : options.chat) });
      cleanups.push(() => started.close());
      chat = started;
    }
  } catch (error) {
    await dispose(); // a half-built env must not leak what did start
    throw error;
  }

  const db = join(dir, "test.duckdb");
  const env: TestEnv = {
    dir,
    db,
    env: options.env ?? (options.chat ? { ...SEED_ENV } : {}),
    get api(): MockApi {
      if (!api) throw new Error("testEnv: no mock API here; pass { api: true } or { api: { … } }");
      return api;
    },
    get chat(): ChatApi {
      if (!chat) throw new Error("testEnv: no chat API here; pass { chat: true } or { chat: { … } }");
      return chat;
    },
    path: (...parts) => join(dir, ...parts),
    config(config, name = "chat.json") {
      const path = join(dir, name);
      writeFileSync(path, typeof config === "string" ? config : JSON.stringify(config, null, 2));
      return path;
    },
    run(config, runOptions = {}) {
      const loaded = "plan" in config ? (config as LoadedConfig) : prepareConfig(config, { env: env.env, cwd: dir });
      return runPipeline(loaded, { database: db, ...runOptions });
    },
    async query<T>(sql: string, database = db) {
      const handle = await openDatabase(database, { readOnly: true });
      try {
        return await handle.all<T>(sql);
      } finally {
        handle.close();
      }
    },
    cli: (args, cliOptions = {}) => runCli(args, { env: env.env, cwd: dir, ...cliOptions }),
    async open(openOptions = {}) {
      const handle = await openDatabase(openOptions.path ?? db, { readOnly: openOptions.readOnly });
      cleanups.push(() => handle.close());
      return handle;
    },
    defer: (cleanup) => void cleanups.push(cleanup),
    [Symbol.asyncDispose]: dispose,
  };
  return env;
}
