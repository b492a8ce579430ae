/**
 * Orchestration: config plan → pages → records → rows → batches → views.
 * Library code never prints; it emits typed events the CLI renders.
 */
import { resolve as resolvePath } from "node:path";
import { createAuthenticator } from "../auth/index.ts";
import type { LoadedConfig, ResourcePlan } from "../config/index.ts";
import { InterruptedError, RestduckError } from "../errors.ts";
import { firstRequest, parentKey, type ParentValues } from "../extract/dependent.ts";
import { compileProcessingSteps } from "../extract/processing.ts";
import { splitWindows, type CursorWindow } from "../extract/windows.ts";
import { createHttpClient, originOf, type HttpClient, type HttpEvent } from "../http/client.ts";
import { createAdaptiveConcurrency, type AdaptiveConcurrency } from "../http/concurrency.ts";
import { rateLimitOptions } from "../http/rate_limit.ts";
import { createRecorder, readRecording, replayFetch, type Recorder } from "../http/record.ts";
import { openDatabase, type Database } from "../load/db.ts";
import { Loader } from "../load/loader.ts";
import { refreshDataset, type RefreshMode } from "../load/refresh.ts";
import { refreshViews } from "../load/views.ts";
import { checkConfigViews } from "../load/view_sql.ts";
import { Normalizer } from "../normalize/normalizer.ts";
import type { Schema } from "../normalize/types.ts";
import { createPaginator, walkPages } from "../paginate/index.ts";
import { prefetch } from "../paginate/prefetch.ts";
import { stopOnIgnored, withResponseActions } from "../paginate/response_actions.ts";
import { Redactor } from "../redact.ts";
import { VERSION } from "../version.ts";
import { Batcher } from "./batcher.ts";
import { inOrderAhead } from "./fan_out.ts";
import { chainRecords } from "./records.ts";
import { configFingerprint, ResourceResume, resumableRun, type Chain, type ResourceState, type StoredCheckpoint } from "./resume.ts";

/** What a run reports while it works. */
export type PipelineEvent =
  | {
      type: "run_started";
      loadId: string;
      pipeline: string;
      dataset: string;
      database: string;
      resumed: boolean;
      resources: string[];
      /** The HAR file this run writes (`record`) or is served from (`replay`). */
      recording?: { mode: "record" | "replay"; path: string };
    }
  | {
      type: "resource_started";
      resource: string;
      paginator: string;
      resumedAtPage?: number;
      /** A backfill in windows: how many there are, and how many a resumed run had finished before. */
      windows?: { done: number; total: number };
    }
  | {
      type: "window_finished";
      resource: string;
      /** Windows finished so far (they finish in order), of all of them. */
      done: number;
      total: number;
      /** The window's bounds, `[start, end)`, and the rows it loaded. */
      start: string | number;
      end: string | number;
      rows: number;
    }
  | { type: "paginator_detected"; resource: string; paginator: string }
  | {
      type: "page";
      resource: string;
      /** Pages and rows of the resource so far, counting those a resumed run had committed before. */
      page: number;
      records: number;
      rows: number;
      /** Rows fetched by this run alone (a resumed run's rate counts only these). */
      runRows: number;
      /** This run's time on the resource. */
      elapsedMs: number;
      /** The resource's pages in all, when the API gives a total. */
      totalPages?: number;
    }
  | { type: "batch_committed"; resource: string; pages: number; rows: number; batchRows: number }
  | { type: "retry"; resource: string; url: string; attempt: number; delayMs: number; status?: number; reason: string }
  | { type: "auth_refresh"; resource: string; url: string }
  | { type: "throttle"; resource: string; url: string; delayMs: number; reason: string }
  | { type: "resource_finished"; resource: string; pages: number; rows: number; skipped?: boolean }
  | { type: "warning"; message: string }
  | { type: "refreshed"; mode: RefreshMode; tables: string[]; resources: string[] }
  | { type: "run_finished"; summary: RunSummary };

export interface ResourceSummary {
  name: string;
  table: string;
  pages: number;
  rows: number;
}

/** The outcome of a run. */
export interface RunSummary {
  loadId: string;
  pipeline: string;
  dataset: string;
  database: string;
  status: "completed" | "failed" | "interrupted";
  resumed: boolean;
  resources: ResourceSummary[];
  requests: number;
  retries: number;
  durationMs: number;
  views: string[];
  viewErrors: { name: string; error: string }[];
  error?: string;
}

export interface RunOptions {
  /** DuckDB database path (or anything DuckDB's ATTACH accepts). */
  database: string;
  pipelineName?: string;
  dataset?: string;
  /** Only these resources (by name). */
  resources?: string[];
  /** Start over instead of resuming an unfinished run. */
  restart?: boolean;
  /**
   * dlt's refresh modes, applied before loading (and never resuming): `drop_sources` drops every table
   * and all state of the pipeline, `drop_resources` those of the resources being loaded, `drop_data`
   * empties their tables and forgets their state but keeps the tables.
   */
  refresh?: RefreshMode;
  /** Stop every resource after this many pages (overrides `endpoint.max_pages`): a quick, real, small load. */
  maxPages?: number;
  /** Write every HTTP exchange of the run, secrets masked, to `<record>/<pipeline>.har` (HAR 1.2) as it happens. */
  record?: string;
  /** Serve the run from `<replay>/<pipeline>.har` (or the folder's only .har file), with no network and no waiting. */
  replay?: string;
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /** Commit a batch every N pages (default: config's batch_pages, else 50). */
  batchPages?: number;
  /** …or once this many records are pending (default 50,000). */
  batchRows?: number;
  /** …or when the oldest pending page is this many seconds old (default: config's batch_seconds, else 5). */
  batchSeconds?: number;
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** The retry backoff's jitter source, in [0, 1) (default `Math.random`); `() => 0` waits the documented backoff exactly. */
  random?: () => number;
  /** Most requests in flight per resource (default: the config's client.concurrency, 4). */
  concurrency?: number;
  /** Folder relative paths are resolved against (default: the working directory). */
  cwd?: string;
  /** An open database to use instead of opening `database` (the library keeps one per pipeline). */
  db?: Database;
}

/** dlt-style load id: seconds since the epoch with microseconds. */
export function newLoadId(now = Date.now()): string {
  return (now / 1000).toFixed(6);
}

/** Runs a loaded config into a DuckDB database. Throws on failure after recording it. */
export async function runPipeline(loaded: LoadedConfig, options: RunOptions): Promise<RunSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const plan = loaded.plan;
  const emit = options.onEvent ?? (() => {});
  const redactor = new Redactor(loaded.secrets);
  const pipelineName = options.pipelineName ?? plan.pipelineName ?? "restduck";
  const dataset = options.dataset ?? plan.datasetName ?? `${pipelineName}_dataset`;
  const wanted = options.resources?.length ? new Set(options.resources) : undefined;
  if (wanted) {
    const unknown = [...wanted].filter((n) => !plan.resources.some((r) => r.name === n));
    if (unknown.length) {
      throw new RestduckError("RESOURCE_UNKNOWN", `Unknown resource${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")}; known: ${plan.resources.map((r) => r.name).join(", ")}`, {
        exitCode: 2,
        hint: "check --resource against the names under resources",
      });
    }
  }
  // A view that is not one read-only SELECT fails the run before any request or database work (issue #11).
  await checkConfigViews(plan.views, loaded.path ? `config ${loaded.path}` : "config");
  const resources = plan.resources.filter((r) => (wanted ? wanted.has(r.name) : r.selected));
  // Parents of the resources to load are fetched too (not loaded unless selected); the plan is already in topological order.
  const byName = new Map(plan.resources.map((r) => [r.name, r]));
  const needed = new Set<string>();
  for (const r of resources) {
    for (let p: ResourcePlan | undefined = r; p && !needed.has(p.name); p = p.parent ? byName.get(p.parent.resource) : undefined) needed.add(p.name);
  }
  const toFetch = plan.resources.filter((r) => needed.has(r.name));
  const loading = new Set(resources.map((r) => r.name));
  for (const message of plan.warnings) emit({ type: "warning", message });
  warnInsecure(plan.baseUrl, "client.base_url", emit);
  // OAuth2 token URLs carry the client secret: plain http to them is worse than to the API (access_token_url / token_url).
  const tokenUrls = new Map<string, string>();
  if (plan.auth?.type === "oauth2_client_credentials") tokenUrls.set(plan.auth.access_token_url, "client.auth.access_token_url");
  for (const r of toFetch) if (r.endpoint.auth?.type === "oauth2_client_credentials") tokenUrls.set(r.endpoint.auth.access_token_url, `${r.at}.endpoint.auth.access_token_url`);
  for (const [url, at] of tokenUrls) warnInsecure(url, at, emit);

  // Record and replay sit at the fetch edge: every request (token requests and retries too) passes there.
  let fetchImpl = options.fetch;
  let sleepImpl = options.sleep;
  let recorder: Recorder | undefined;
  let recording: { mode: "record" | "replay"; path: string } | undefined;
  if (options.replay !== undefined) {
    const found = readRecording(resolvePath(options.cwd ?? process.cwd(), options.replay), pipelineName);
    fetchImpl = replayFetch(found, redactor);
    // Recorded Retry-After and backoff waits protected the API, which a replay does not reach.
    sleepImpl = async (_ms, signal) => signal?.throwIfAborted();
    recording = { mode: "replay", path: found.path };
  } else if (options.record !== undefined) {
    recorder = createRecorder(resolvePath(options.cwd ?? process.cwd(), options.record), pipelineName, { fetch: options.fetch, redactor });
    fetchImpl = recorder.fetch;
    recording = { mode: "record", path: recorder.path };
  }

  const db = options.db ?? (await openDatabase(options.database, { cwd: options.cwd }));
  let requests = 0;
  let retries = 0;
  let currentResource = "";
  const onHttp = (e: HttpEvent) => {
    if (e.type === "retry") {
      retries++;
      emit({ type: "retry", resource: currentResource, url: e.url, attempt: e.attempt, delayMs: e.delayMs, status: e.status, reason: e.reason });
    } else if (e.type === "throttle") emit({ type: "throttle", resource: currentResource, url: e.url, delayMs: e.delayMs, reason: e.reason });
    else if (e.type === "credentials_withheld") emit({ type: "warning", message: withheldMessage(e, currentResource) });
    else emit({ type: "auth_refresh", resource: currentResource, url: e.url });
  };
  // One adaptive limit for the whole API: a 429 on any request halves what is in flight (issue #6).
  const adaptive = createAdaptiveConcurrency({ max: options.concurrency ?? plan.concurrency });
  const baseHttp = createHttpClient({
    baseUrl: plan.baseUrl,
    trustedOrigins: trustedOrigins(loaded, toFetch),
    headers: plan.headers,
    retry: plan.retry,
    redactor,
    onEvent: onHttp,
    // A replay has no server to pace for.
    rateLimit: options.replay !== undefined ? undefined : rateLimitOptions(plan.rateLimit),
    maxResponseBytes: plan.maxResponseBytes,
    adaptive,
    fetch: fetchImpl,
    sleep: sleepImpl,
    now: options.now,
    random: options.random,
  });
  const counting: HttpClient = {
    request(req, opts) {
      requests++;
      return baseHttp.request(req, opts);
    },
  };
  const authFor = (r: ResourcePlan) => {
    const config = r.endpoint.auth ?? plan.auth;
    return config ? createAuthenticator(config, { http: counting, redactor, now: options.now }) : undefined;
  };
  const clientAuth = plan.auth ? createAuthenticator(plan.auth, { http: counting, redactor, now: options.now }) : undefined;

  let loader: Loader | undefined;
  let loadId = "";
  let schema: Schema | undefined;
  const summaries: ResourceSummary[] = [];
  // A stop (Ctrl-C, SIGTERM, the caller's signal) interrupts the DuckDB statement in flight, so the
  // batch under way rolls back now rather than after a statement that may run for minutes.
  const stopInterrupting = db.interruptOn(options.signal);
  try {
    // No secret value reaches the file: stored positions, states and errors hold placeholders instead (issue #11).
    loader = await Loader.open(db, { dataset, pipelineName, seal: (text) => redactor.seal(text) });
    schema = (await loader.storedSchema()) ?? { name: pipelineName, version: 1, tables: {} };
    const configHash = configFingerprint(plan, resources, redactor);
    if (options.refresh) {
      const stale = await loader.unfinishedRun();
      if (stale) await loader.abandonRun(stale.loadId, `refresh ${options.refresh} started over`);
      const dropped = await refreshDataset(db, { dataset, schema, resources: resources.map((r) => r.name), mode: options.refresh });
      schema = dropped.schema;
      emit({ type: "refreshed", mode: options.refresh, tables: dropped.tables, resources: dropped.resources });
    }
    const unfinished =
      options.restart || options.refresh ? undefined : await resumableRun(loader, { configHash, redactor, warn: (message) => emit({ type: "warning", message }) });
    loadId = unfinished?.loadId ?? newLoadId(now());
    const resumed = unfinished !== undefined;
    await loader.startRun(loadId, { version: VERSION, resumed, configHash });
    emit({ type: "run_started", loadId, pipeline: pipelineName, dataset, database: options.database, resumed, resources: resources.map((r) => r.name), recording });

    // A frozen schema contract promises that a violation leaves nothing of the run: load it as one transaction.
    const atomic = resources.some((r) => freezes(r.schemaContract));
    if (atomic) {
      emit({ type: "warning", message: "schema_contract freezes the schema: this run loads in one transaction, so it commits all or nothing and cannot resume" });
      await loader.beginAtomic();
    }
    const storedStates = new Map([...(await loader.latestStates())].map(([k, v]) => [k, redactor.unsealValue(v).value]));
    /** Each child's parent records (what it needs of them), filled while the parent runs. */
    const parentRecords = new Map<string, ParentValues[]>();
    const finalStates: Record<string, unknown> = {};
    for (const resource of toFetch) {
      currentResource = resource.name;
      const auth = resource.endpoint.auth ? authFor(resource) : clientAuth;
      // endpoint.auth written beside an absolute path is meant for that path's origin: it is trusted for this resource.
      const own = resource.endpoint.auth ? originOf(resource.endpoint.path) : undefined;
      const trustedHere = own ? [own] : undefined;
      const http: HttpClient = { request: (req, opts) => counting.request(req, { ...opts, auth: opts?.auth === null ? null : auth, trustedOrigins: trustedHere }) };
      let checkpoint = unfinished?.checkpoints.get(resource.name);
      const children = toFetch.filter((c) => c.parent?.resource === resource.name);
      for (const c of children) parentRecords.set(c.name, []);
      let load = loading.has(resource.name);
      // A finished parent is fetched again (not loaded) when a child still needs its records.
      if (checkpoint?.done && children.some((c) => !unfinished?.checkpoints.get(c.name)?.done)) {
        load = false;
      }
      if (!load) checkpoint = checkpoint?.done ? checkpoint : undefined;
      const summary = await loadResource({
        resource,
        http,
        loader,
        schema,
        loadId,
        checkpoint,
        options: { ...options, sleep: sleepImpl, batchPages: options.batchPages ?? plan.batchPages, batchSeconds: options.batchSeconds ?? plan.batchSeconds },
        emit,
        concurrency: adaptive,
        load,
        storedState: storedStates.get(resource.name) as ResourceState | undefined,
        parents: resource.parent ? parentRecords.get(resource.name) : undefined,
        children: children.map((c) => ({ child: c, values: parentRecords.get(c.name)! })),
        onState: (state) => {
          if (resource.incremental && state) {
            // dlt's layout: resources → <name> → incremental → <cursor_path> → { initial_value, last_value, unique_hashes }.
            finalStates[resource.name] = state.parents
              ? { incremental: {}, parents: Object.fromEntries(Object.entries(state.parents).map(([k, v]) => [k, { [resource.incremental!.cursorPath]: v.incremental }])) }
              : { incremental: { [resource.incremental.cursorPath]: state.incremental } };
          }
        },
      });
      if (loading.has(resource.name)) summaries.push(summary);
      // A parent's records are only needed until its children ran.
      if (resource.parent) parentRecords.delete(resource.name);
    }

    if (atomic) await loader.commitAtomic();
    // dlt keeps incremental cursors in _dlt_pipeline_state too: sources → <pipeline> → resources → <name> → incremental.
    const state = Object.keys(finalStates).length
      ? { sources: { [pipelineName]: { resources: finalStates } } }
      : undefined;
    await loader.finishRun(loadId, "completed", { schema, requests, retries, state });
    // The run is complete and recorded: a stop now leaves the views to be made, which is quick.
    stopInterrupting();
    const views = await refreshViews(db, {
      dataset,
      schema,
      resources: plan.resources.map((r) => ({ name: r.name, table: tableNameOf(schema!, r), primaryKey: primaryKeyColumns(schema!, r) })),
      views: plan.views,
    });
    for (const f of views.failed) emit({ type: "warning", message: `view ${f.name} was not created: ${f.error}` });
    const summary: RunSummary = {
      loadId,
      pipeline: pipelineName,
      dataset,
      database: options.database,
      status: "completed",
      resumed,
      resources: summaries,
      requests,
      retries,
      durationMs: now() - started,
      views: views.created,
      viewErrors: views.failed,
    };
    emit({ type: "run_finished", summary });
    return summary;
  } catch (error) {
    const interrupted = options.signal?.aborted === true;
    const failure = interrupted ? new InterruptedError(signalName(options.signal?.reason)) : wrapError(error, currentResource, redactor);
    stopInterrupting(); // how the run ended is still recorded
    await loader?.rollbackAtomic();
    if (loader && loadId) {
      await loader
        .finishRun(loadId, interrupted ? "interrupted" : "failed", { error: redactor.redact(failure.message), requests, retries })
        .catch(() => {});
    }
    throw failure;
  } finally {
    recorder?.close();
    stopInterrupting();
    if (!options.db) db.close();
  }
}

/** Whether a schema contract freezes tables, columns or data types anywhere. */
function freezes(contract: ResourcePlan["schemaContract"]): boolean {
  if (contract === undefined) return false;
  if (typeof contract === "string") return contract === "freeze";
  return Object.values(contract).includes("freeze");
}

function signalName(reason: unknown): "SIGINT" | "SIGTERM" {
  return reason === "SIGTERM" || (reason as { signal?: string })?.signal === "SIGTERM" ? "SIGTERM" : "SIGINT";
}

/** Names the window a failure happened in, so the message says which part of the backfill failed. */
function inWindow(error: unknown, window: CursorWindow, total: number): unknown {
  if (!(error instanceof Error) || error.name === "AbortError") return error;
  const where = `window ${window.index + 1}/${total} [${window.start}, ${window.end})`;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error)), error, { message: `${where}: ${error.message}` }) as Error & { hint?: string };
  if (error instanceof RestduckError) copy.hint = `${error.hint ? `${error.hint}; ` : ""}a rerun resumes the backfill at this window`;
  return copy;
}

/** Adds the resource to an error's message and masks secrets in it. */
export function wrapError(error: unknown, resource: string, redactor: Redactor): Error {
  if (error instanceof RestduckError) {
    const message = redactor.redact(resource && !error.message.includes(`resource ${resource}`) ? `resource ${resource}: ${error.message}` : error.message);
    if (message === error.message) return error;
    const copy = Object.assign(Object.create(Object.getPrototypeOf(error)), error, { message });
    return copy as Error;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  return new RestduckError("UNEXPECTED", redactor.redact(`${resource ? `resource ${resource}: ` : ""}${err.message}`), { cause: err });
}

/**
 * Origins that receive credentials besides base_url's: client.trusted_origins, and, in a config
 * without a base_url, the origins its endpoints' absolute paths name (there is no other to trust).
 */
function trustedOrigins(loaded: LoadedConfig, resources: ResourcePlan[]): string[] {
  const listed = loaded.config.client.trusted_origins ?? [];
  if (loaded.plan.baseUrl) return listed;
  const named = resources.map((r) => originOf(r.endpoint.path)).filter((o) => o !== undefined);
  return [...listed, ...named];
}

/** The warning for a request sent without credentials: where, why, and the key that allows it. */
function withheldMessage(e: Extract<HttpEvent, { type: "credentials_withheld" }>, resource: string): string {
  const where = `${resource ? `resource ${resource}: ` : ""}${e.url} is on ${e.origin}`;
  return e.downgrade
    ? `${where}, reached over plain http from https: sent without credentials; point the config at an https URL`
    : `${where}, not the origin of client.base_url: sent without credentials; if it should get them, add "${e.origin}" to client.trusted_origins`;
}

function warnInsecure(baseUrl: string | undefined, at: string, emit: (e: PipelineEvent) => void): void {
  if (!baseUrl) return;
  try {
    const u = new URL(baseUrl);
    if (u.protocol === "http:" && !["127.0.0.1", "localhost", "[::1]", "::1"].includes(u.hostname)) {
      emit({ type: "warning", message: `${at} uses plain http to ${u.hostname}: credentials and data travel unencrypted; use https` });
    }
  } catch {
    // An unparsable base_url fails on the first request with a clearer message.
  }
}

const tableNameOf = (schema: Schema, r: ResourcePlan) =>
  Object.values(schema.tables).find((t) => !t.parent && t.resource === r.name)?.name ?? r.tableName;

const primaryKeyColumns = (schema: Schema, r: ResourcePlan) => {
  const table = Object.values(schema.tables).find((t) => !t.parent && t.resource === r.name);
  return table ? Object.values(table.columns).filter((c) => c.primary_key).map((c) => c.name) : [];
};

interface ResourceContext {
  resource: ResourcePlan;
  http: HttpClient;
  loader: Loader;
  schema: Schema;
  loadId: string;
  checkpoint: StoredCheckpoint | undefined;
  options: RunOptions;
  emit: (e: PipelineEvent) => void;
  concurrency: AdaptiveConcurrency;
  /** False for a parent that is fetched for its children but not loaded. */
  load: boolean;
  /** The newest state stored for this resource by any earlier run. */
  storedState: ResourceState | undefined;
  /** For a child: what each parent record gives it, in order. */
  parents: ParentValues[] | undefined;
  /** Children to collect parent values for. */
  children: { child: ResourcePlan; values: ParentValues[] }[];
  onState: (state: ResourceState | undefined) => void;
}

/** Pages a backfill's window fetches ahead of its consumer: with `concurrency` windows, their memory bound. */
const WINDOW_PAGES_AHEAD = 16;

async function loadResource(ctx: ResourceContext): Promise<ResourceSummary> {
  const { resource, loader, schema, loadId, checkpoint, options, emit, load } = ctx;
  const normalizer = new Normalizer(schema, {
    loadId,
    table: resource.tableName,
    resource: resource.name,
    primaryKey: resource.primaryKey,
    mergeKey: resource.mergeKey,
    writeDisposition: resource.writeDisposition,
    mergeStrategy: resource.mergeStrategy,
    maxTableNesting: resource.maxTableNesting,
    columns: resource.columns,
    schemaContract: resource.schemaContract,
  });
  const base = {
    loadId,
    resource: resource.name,
    rootTable: normalizer.rootTable,
    primaryKey: normalizer.primaryKeyColumns,
    disposition: resource.writeDisposition,
    mergeStrategy: resource.mergeStrategy,
    schema,
  };
  if (load && checkpoint?.done) {
    ctx.onState(checkpoint.state as ResourceState | undefined);
    emit({ type: "resource_finished", resource: resource.name, pages: checkpoint.pages, rows: checkpoint.rows, skipped: true });
    return { name: resource.name, table: normalizer.rootTable, pages: checkpoint.pages, rows: checkpoint.rows };
  }
  // A backfill with a window is one chain per window, each with its own bounds (issue #16).
  const inc = resource.incremental;
  const windows = inc?.window ? (splitWindows(inc.initialValue!, inc.endValue!, inc.window) as CursorWindow[]) : undefined;
  const book = new ResourceResume(resource, { checkpoint, load, prior: ctx.storedState, windows });
  if (load && !book.resuming) await loader.resetResource(schema, resource.name);

  // The client's classification hook: its retries are told through onHttp like every other.
  const http = withResponseActions(ctx.http, resource.endpoint.responseActions);
  const steps = compileProcessingSteps(resource.processingSteps, resource.name);

  const paginatorName = createPaginator(resource.endpoint.paginator).name;
  emit({
    type: "resource_started",
    resource: resource.name,
    paginator: paginatorName,
    resumedAtPage: book.resuming ? book.pages : undefined,
    windows: windows && { done: book.firstChain, total: windows.length },
  });

  // The injected clock, so batch_seconds and page timings can be tested without waiting.
  const now = options.now ?? Date.now;
  const started = now();
  const batcher = new Batcher({
    loader,
    base,
    // Each batch costs ~20 statements and a COMMIT whatever its size (BENCHMARKS.md): 50 pages keep that small.
    limits: { pages: options.batchPages ?? 50, rows: options.batchRows ?? 50_000, ms: (options.batchSeconds ?? 5) * 1000 },
    load,
    pages: book.pages,
    rows: book.rows,
    position: () => book.checkpoint(),
    onCommitted: (c) => emit({ type: "batch_committed", resource: resource.name, ...c }),
    now,
  });
  const rowsBefore = batcher.rows;

  // A resource without a parent is one chain; a child has one chain per parent record; a windowed backfill one per window.
  const chains: (Chain & { values?: ParentValues })[] = resource.parent
    ? (ctx.parents ?? []).map((values, index) => ({ index, key: parentKey(values), values })).slice(book.firstChain)
    : windows
      ? windows.slice(book.firstChain).map((window) => ({ index: window.index, window }))
      : [{ index: 0 }];
  const manyChains = resource.parent !== undefined || windows !== undefined;
  const aborter = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, aborter.signal]) : aborter.signal;
  const startChain = (chain: Chain & { values?: ParentValues }) => {
    const cursor = book.cursorFor(chain);
    const placeholders = { ...chain.values?.placeholders, ...cursor?.placeholders() };
    const first = firstRequest(resource, placeholders, cursor?.params());
    const paginator = stopOnIgnored(
      createPaginator(resource.endpoint.paginator, {
        onDetect: (name) => emit({ type: "paginator_detected", resource: resource.name, paginator: name }),
      }),
    );
    const walk = walkPages(first, {
      http,
      paginator,
      dataSelector: resource.endpoint.dataSelector,
      signal,
      resumeFrom: book.resumeRequest(chain, first),
      concurrency: ctx.concurrency,
      maxPages: options.maxPages ?? resource.endpoint.maxPages,
    });
    // A window ahead keeps walking its own pages (a window is usually a few pages, each waiting for the one
    // before), so `concurrency` windows progress at once; the cap bounds the parsed pages held per window.
    const pages = windows ? prefetch(walk, WINDOW_PAGES_AHEAD) : resource.parent ? prefetch(walk, 1) : walk;
    const records = chainRecords(pages, {
      include: chain.values?.include,
      cursor,
      progress: book.progress,
      steps,
      scd2: resource.mergeStrategy === "scd2",
      children: ctx.children,
      failure: chain.window && ((error) => inWindow(error, chain.window!, windows!.length)),
    });
    return { chain, cursor, first, pages, records };
  };
  // Up to `concurrency` chains fetch ahead (their first pages) while the current one is consumed, in order.
  // The adaptive limit shrinks on 429s, and so does the number of chains fetching ahead.
  const ahead = inOrderAhead(chains, startChain, {
    limit: () => (manyChains ? Math.max(1, ctx.concurrency.current) : 1),
    stop: (started) => {
      if ("close" in started.pages) started.pages.close();
    },
  });
  try {
    for (const { chain, cursor, first, records: chainPages } of ahead) {
      const rowsAtChain = batcher.total;
      for await (const { page, records, stop } of chainPages) {
        book.advance(chain, cursor, first, stop ? undefined : page.next);
        batcher.add(records.length, load ? normalizer.normalize(records) : undefined);
        emit({
          type: "page",
          resource: resource.name,
          page: batcher.pages,
          records: records.length,
          rows: batcher.total,
          runRows: batcher.total - rowsBefore,
          elapsedMs: now() - started,
          // A child's chains (and windows) each have their own total: only a resource's single chain gives the whole.
          totalPages: manyChains ? undefined : page.totalPages,
        });
        await batcher.maybeFlush();
        options.signal?.throwIfAborted();
      }
      if (chain.window) {
        const w = chain.window;
        emit({ type: "window_finished", resource: resource.name, done: w.index + 1, total: windows!.length, start: w.start, end: w.end, rows: batcher.total - rowsAtChain });
      }
    }
  } catch (error) {
    // Stop the chains fetching ahead, and let the batch in flight finish (or roll back) before the run records its end.
    aborter.abort();
    ahead.close();
    // A failed window keeps the windows (and pages) finished before it: a rerun resumes at the failed one.
    if (windows && load && !options.signal?.aborted) await batcher.flush().catch(() => {});
    await batcher.settle().catch(() => {});
    throw error;
  }
  const finalState = book.state();
  ctx.onState(finalState);
  const { pages } = batcher;
  if (!load) {
    emit({ type: "resource_finished", resource: resource.name, pages, rows: 0 });
    return { name: resource.name, table: normalizer.rootTable, pages, rows: 0 };
  }
  await batcher.flush();
  await batcher.settle();
  const { rows } = batcher;
  await loader.finishResource({ ...base, checkpoint: { next: null, pages, rows, state: finalState } });
  emit({ type: "resource_finished", resource: resource.name, pages, rows });
  return { name: resource.name, table: normalizer.rootTable, pages, rows };
}
