/**
 * The library API for notebooks and scripts, in dlt's vocabulary: a source
 * describes what to pull (`restApiSource`), a pipeline says where it lands
 * (`pipeline`), `run` loads and `query` reads back. The same file runs
 * unbundled on Node ≥ 22, Deno 2 and Bun.
 *
 * @example
 * ```ts
 * import { pipeline, restApiSource, secret } from "restduck";
 * const source = restApiSource({
 *   client: { base_url: "https://api.example.com", auth: { type: "bearer", token: secret("api_token") } },
 *   resources: ["messages"],
 * });
 * await using p = pipeline({ database: "chat.duckdb" });
 * const summary = await p.run(source);
 * console.table(await p.query("select count(*) as n from messages"));
 * ```
 */
import { existsSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { isSecretRef, loadConfig, parseConfig, prepareConfig, secretEnvName, withCredentialStandIns, type ConfigInput, type LoadedConfig, type SecretRef, type SecretSources } from "./config/index.ts";
import { planConfig } from "./config/plan.ts";
import { RestduckError } from "./errors.ts";
import { isLocalPath, openDatabase, type Database } from "./load/db.ts";
import { runPipeline, type PipelineEvent, type RunOptions, type RunSummary } from "./pipeline/run.ts";

/** A config value as written in code: any string may instead be a `secret("name")` reference. */
export type WithSecrets<T> = T extends string
  ? T | SecretRef
  : T extends readonly (infer U)[]
    ? WithSecrets<U>[]
    : T extends object
      ? { [K in keyof T]: WithSecrets<T[K]> }
      : T;

/** A `rest_api_source` config written in code, `secret()` references allowed. */
export type SourceConfig = WithSecrets<ConfigInput>;

/** A validated REST API source, ready for `pipeline(…).run(source)`. */
export interface RestApiSource {
  readonly kind: "rest_api_source";
  /** The config file's absolute path, or `undefined` for a config object. */
  readonly path?: string;
  /** The resource names, in order; empty for a file until it is run. */
  readonly resources: readonly string[];
}

export interface RestApiSourceOptions {
  /** Folder a relative config path is resolved against (default: the working directory). */
  cwd?: string;
}

type SourceLoader = (secrets: SecretSources) => Promise<LoadedConfig>;
const loaders = new WeakMap<RestApiSource, SourceLoader>();

/**
 * Makes a source from a config object (validated now) or a config file path
 * (JSON, YAML, or a TS/JS module; read and validated when the pipeline runs).
 * Secrets are resolved at run time from the pipeline's environment, secrets and
 * `.dlt/secrets.toml`, so a source never holds a secret value.
 *
 * Throws a {@link ConfigError} listing every problem with its config path.
 *
 * @example
 * ```ts
 * import { restApiSource, secret } from "restduck";
 * const source = restApiSource({
 *   client: {
 *     base_url: "https://api.example.com",
 *     auth: { type: "oauth2", client_id: secret("client_id"), client_secret: secret("client_secret"), token_url: "https://api.example.com/oauth/token" },
 *   },
 *   resource_defaults: { primary_key: "id", write_disposition: "merge" },
 *   resources: [{ name: "chat_messages", endpoint: { path: "/v1/messages", data_selector: "messages", paginator: { type: "offset", limit: 100 } } }],
 * });
 * const fromFile = restApiSource("chat.yaml");
 * ```
 */
export function restApiSource(config: SourceConfig | string, options?: RestApiSourceOptions): RestApiSource;
/** A config built at run time (parsed JSON, generated, `seedConfig(url)`): validated the same way, only not by the compiler. */
export function restApiSource(config: Record<string, unknown>, options?: RestApiSourceOptions): RestApiSource;
export function restApiSource(config: SourceConfig | Record<string, unknown> | string, options: RestApiSourceOptions = {}): RestApiSource {
  if (typeof config === "string") {
    const path = resolve(options.cwd ?? process.cwd(), config);
    const source: RestApiSource = Object.freeze({ kind: "rest_api_source" as const, path, resources: [] });
    loaders.set(source, (secrets) => loadConfig(path, secrets));
    return source;
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new RestduckError("CONFIG_INVALID", `restApiSource expects a config object or a file path, got ${Array.isArray(config) ? "an array" : typeof config}`, {
      exitCode: 2,
      hint: "pass { client: …, resources: […] } or a path such as \"chat.json\"",
    });
  }
  // Validate the shape now, with each secret reference (and each credential an auth shorthand leaves to the secrets) standing in as a string.
  const resources = planConfig(parseConfig(withCredentialStandIns(withPlaceholders(config)), "source config")).resources.map((r) => r.name);
  const raw = structuredClone(config);
  const source: RestApiSource = Object.freeze({ kind: "rest_api_source" as const, resources: Object.freeze(resources) });
  loaders.set(source, (secrets) => Promise.resolve(prepareConfig(raw, { ...secrets, source: "source config" })));
  return source;
}

function withPlaceholders(node: unknown): unknown {
  if (isSecretRef(node)) return `<secret ${node.$secret}>`;
  if (Array.isArray(node)) return node.map(withPlaceholders);
  if (typeof node === "object" && node !== null && Object.getPrototypeOf(node) === Object.prototype) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, withPlaceholders(v)]));
  }
  return node;
}

export interface PipelineOptions {
  /** DuckDB database file (relative to `cwd`), `:memory:`, or anything DuckDB's ATTACH accepts. */
  database: string;
  /** Schema the tables go into (default: the config's `dataset_name`, else `<pipelineName>_dataset`). */
  dataset?: string;
  /** Name the run bookkeeping is kept under (default: the config's `pipeline_name`, else the config file's name, else `restduck`). */
  pipelineName?: string;
  /** Folder for relative paths and `.dlt/secrets.toml` (default: the working directory). */
  cwd?: string;
  /** Secret values by name (`{ client_id: "…" }`), looked at first; or the path of a secrets file (TOML or JSON), looked at last. */
  secrets?: Record<string, string> | string;
  /** Environment the secrets are looked up in (default: `process.env`). */
  env?: Record<string, string | undefined>;
}

/** What one `pipeline.run` takes: the run options a notebook sets, and `onProgress` for every event. */
export type PipelineRunOptions = Pick<RunOptions, "signal" | "resources" | "restart" | "refresh" | "maxPages" | "record" | "replay"> & {
  /** Called with every progress event (pages, committed batches, retries, warnings). */
  onProgress?: (event: PipelineEvent) => void;
};

/** A JSON-safe row: column name → value. */
export type QueryRow = Record<string, unknown>;

/** Where sources load to; keeps the DuckDB file open between calls (read-only between loads) until `close()`. */
export interface Pipeline extends AsyncDisposable {
  readonly database: string;
  /** Loads a source and returns what was loaded. Throws (after recording the failure) if the run fails. */
  run(source: RestApiSource, options?: PipelineRunOptions): Promise<RunSummary>;
  /** Runs SQL on the database and returns rows as plain, JSON-safe objects. A statement that writes opens the file for writing for that call. */
  query<T extends QueryRow = QueryRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Releases the DuckDB file (so another process can write it); the next call opens it again. */
  close(): void;
}

/**
 * Makes a pipeline that loads sources into one DuckDB database. A local file
 * is opened on first use and kept open between calls, read-only while the
 * pipeline only queries, so `restduck query`, a Python notebook with
 * `read_only=True` and other readers share it. DuckDB lets a process write a
 * file only while no other process has it open, so `run` (and a `query` that
 * writes) opens it for writing for that call only, then lets go. `close()`
 * it, or declare it with `await using`, to let a writer in.
 *
 * @example
 * ```ts
 * import { pipeline, restApiSource, seedConfig, startChatApi } from "restduck";
 * const api = await startChatApi({ clientId: "id", clientSecret: "secret" });
 * const p = pipeline({ database: "chat.duckdb", secrets: { client_id: "id", client_secret: "secret" } });
 * try {
 *   const summary = await p.run(restApiSource(seedConfig(api.url)), { onProgress: (e) => e.type === "page" && console.log(e.rows) });
 *   console.log(summary.resources, await p.query("select sender_id, count(*) as n from chat_messages group by 1"));
 * } finally {
 *   p.close();
 *   await api.close();
 * }
 * ```
 */
export function pipeline(options: PipelineOptions): Pipeline {
  if (typeof options?.database !== "string" || options.database === "") {
    throw new RestduckError("USAGE", "pipeline() needs a database", { exitCode: 2, hint: 'pass { database: "chat.duckdb" }' });
  }
  const cwd = options.cwd ?? process.cwd();
  // Only a local file is shared with other processes. `:memory:` lives in this connection (closing
  // it would lose the data), and md:/ducklake: paths keep DuckDB's own rules: both stay open for writing.
  const shared = isLocalPath(options.database);
  let db: Database | undefined;
  let writable = false;
  let busy = 0;
  let closeRequested = false;
  // One operation at a time: a DuckDB connection runs one transaction.
  let queue: Promise<unknown> = Promise.resolve();

  const release = () => {
    closeRequested = false;
    const open = db;
    db = undefined;
    open?.close();
  };
  /** The connection for `mode`: a reader while only reading (a file not there yet is created, so for writing). */
  const connect = async (mode: "read" | "write"): Promise<Database> => {
    const readOnly = shared && mode === "read" && existsSync(resolve(cwd, options.database));
    if (db && (writable || readOnly)) return db;
    release();
    db = await openDatabase(options.database, { cwd, readOnly });
    writable = !readOnly;
    return db;
  };
  const exclusive = <T>(mode: "read" | "write", work: (db: Database) => Promise<T>): Promise<T> => {
    const next = queue.then(async () => {
      busy++;
      try {
        return await work(await connect(mode));
      } finally {
        busy--;
        // The write lock shuts every other process out, readers included: hold it only for the call.
        if ((closeRequested || (shared && writable)) && busy === 0) release();
      }
    });
    queue = next.catch(() => {});
    return next;
  };

  const secretSources = (): SecretSources => {
    const { secrets } = options;
    const env = options.env ?? process.env;
    if (typeof secrets === "string") return { env, cwd, secretsFile: secrets };
    if (!secrets) return { env, cwd };
    const given = Object.fromEntries(Object.entries(secrets).map(([name, value]) => [secretEnvName(name), value]));
    return { env: { ...env, ...given }, cwd };
  };

  return {
    database: options.database,
    run(source, runOptions = {}) {
      const load = loaders.get(source);
      if (!load) {
        return Promise.reject(
          new RestduckError("USAGE", "pipeline.run() expects a source made by restApiSource()", { exitCode: 2, hint: "wrap the config: p.run(restApiSource(config))" }),
        );
      }
      return exclusive("write", async (db) => {
        const sources = secretSources();
        const loaded = await load(runOptions.replay !== undefined ? { ...sources, placeholder: (name) => `replay-placeholder-${name}` } : sources);
        return runPipeline(loaded, {
          database: options.database,
          db,
          cwd,
          pipelineName: options.pipelineName ?? loaded.plan.pipelineName ?? (source.path ? stemName(source.path) : undefined),
          dataset: options.dataset,
          resources: runOptions.resources,
          restart: runOptions.restart,
          refresh: runOptions.refresh,
          maxPages: runOptions.maxPages,
          record: runOptions.record,
          replay: runOptions.replay,
          signal: runOptions.signal,
          onEvent: runOptions.onProgress,
        });
      });
    },
    query<T extends QueryRow = QueryRow>(sql: string, params?: unknown[]) {
      const read = async (db: Database) => {
        const reader = await db.connection.runAndReadAll(sql, params as never);
        const exact = reader.getRowObjectsJson() as unknown[];
        const native = reader.getRowObjectsJS() as unknown[];
        return exact.map((row, i) => plainValue(row, native[i])) as T[];
      };
      return exclusive("read", async (db) => {
        try {
          return await read(db);
        } catch (error) {
          // DuckDB refuses a write on a read-only file before running it (CREATE VIEW, INSERT, …):
          // run that statement on a connection opened for writing, which is let go again after it.
          if (!/attached in read-only mode/.test(String((error as Error)?.message))) throw error;
          return await read(await connect("write"));
        }
      });
    },
    close() {
      if (busy > 0) closeRequested = true;
      else release();
    },
    async [Symbol.asyncDispose]() {
      await queue;
      release();
    },
  };
}

/**
 * DuckDB's JSON form keeps every value exact but spells BIGINT and DECIMAL as
 * strings; notebooks want numbers. Walk the JSON form beside the JS form and
 * use a number wherever it is exact.
 */
function plainValue(json: unknown, js: unknown): unknown {
  if (typeof json === "string") {
    if (typeof js === "bigint" && json === js.toString()) return Number.isSafeInteger(Number(js)) ? Number(js) : json;
    if (typeof js === "number" && /^-?\d+(\.\d+)?$/.test(json) && json.replace(/[-.]/g, "").replace(/^0+/, "").length <= 15) return js;
    return json;
  }
  if (Array.isArray(json)) return json.map((item, i) => plainValue(item, Array.isArray(js) ? js[i] : undefined));
  if (typeof json === "object" && json !== null) {
    const nativeObj = typeof js === "object" && js !== null && !Array.isArray(js) ? (js as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, plainValue(v, nativeObj[k])]));
  }
  return json;
}

/** `configs/Chat API.yaml` → `chat_api` (the CLI's rule for a pipeline name). */
function stemName(path: string): string {
  const stem = basename(path, extname(path)).toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return stem === "" ? "restduck" : /^\d/.test(stem) ? `_${stem}` : stem;
}
