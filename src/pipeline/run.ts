/**
 * Orchestration: config plan → pages → records → rows → batches → views.
 * Library code never prints; it emits typed events the CLI renders.
 */
import type { LoadedConfig, ResourcePlan } from "../config/index.ts";
import { InterruptedError, RestduckError } from "../errors.ts";
import type { ParentValues } from "../extract/dependent.ts";
import { openDatabase } from "../load/db.ts";
import { Loader } from "../load/loader.ts";
import { refreshDataset } from "../load/refresh.ts";
import { refreshViews } from "../load/views.ts";
import { checkConfigViews } from "../load/view_sql.ts";
import type { Schema } from "../normalize/types.ts";
import { Redactor } from "../redact.ts";
import { VERSION } from "../version.ts";
import { insecureWarnings, runHttp } from "./http_edge.ts";
import { loadResource } from "./resource.ts";
import { schedule } from "./schedule.ts";
import type { PipelineEvent, ResourceSummary, RunOptions, RunSummary } from "./types.ts";
import { configFingerprint, resumableRun, type ResourceState } from "./resume.ts";

export type { PipelineEvent, ResourceSummary, RunOptions, RunSummary } from "./types.ts";

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
  const { resources, toFetch } = selectResources(plan, options.resources);
  // A view that is not one read-only SELECT fails the run before any request or database work (issue #11).
  await checkConfigViews(plan.views, loaded.path ? `config ${loaded.path}` : "config");
  const loading = new Set(resources.map((r) => r.name));
  for (const message of plan.warnings) emit({ type: "warning", message });
  insecureWarnings(plan, toFetch, emit);
  const edge = runHttp(loaded, toFetch, options, { pipelineName, redactor, emit });
  const db = options.db ?? (await openDatabase(options.database, { cwd: options.cwd }));

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
    emit({ type: "run_started", loadId, pipeline: pipelineName, dataset, database: options.database, resumed, resources: resources.map((r) => r.name), recording: edge.recording });

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
    const finished = new Map<string, ResourceSummary>();
    const byName = new Map(toFetch.map((r) => [r.name, r]));
    // What the file holds now: each batch stores it plus its own resource's tables (Loader.trackSchema).
    loader.trackSchema(schema);
    const [runLoader, runSchema] = [loader, schema];
    const runOne = async (resource: ResourcePlan, stop: AbortSignal) => {
      const http = edge.forResource(resource);
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
        loader: runLoader,
        schema: runSchema,
        loadId,
        checkpoint,
        options: {
          ...options,
          // Stops when the caller stops the run, or when another resource failed.
          signal: options.signal ? AbortSignal.any([options.signal, stop]) : stop,
          sleep: edge.sleep,
          batchPages: options.batchPages ?? plan.batchPages,
          batchSeconds: options.batchSeconds ?? plan.batchSeconds,
        },
        emit,
        concurrency: edge.adaptive,
        load,
        storedState: storedStates.get(resource.name) as ResourceState | undefined,
        parents: resource.parent ? parentRecords.get(resource.name) : undefined,
        children: children.map((c) => ({ child: c, values: parentRecords.get(c.name)! })),
        onState: (state) => {
          if (resource.incremental && state) finalStates[resource.name] = dltResourceState(resource.incremental.cursorPath, state);
        },
      }).catch((error: unknown) => {
        // A resource stopped because another failed is not the failure to report; the caller's stop is handled below.
        throw stop.aborted || options.signal?.aborted ? error : wrapError(error, resource.name, redactor);
      });
      finished.set(resource.name, summary);
      // A parent's records are only needed until its children ran.
      if (resource.parent) parentRecords.delete(resource.name);
    };
    // Resources run side by side under the one request budget (`concurrency` requests in flight for the
    // whole API), so no more than that many at once; a child starts once its parent finished. A run in
    // one transaction goes one resource at a time: a failed statement would break every other's work too.
    await schedule(toFetch, {
      limit: () => (atomic ? 1 : edge.adaptive.current),
      after: (r) => (r.parent ? byName.get(r.parent.resource) : undefined),
      alone: (r) => !r.parallelized,
      run: runOne,
    });
    for (const r of resources) {
      const summary = finished.get(r.name);
      if (summary) summaries.push(summary);
    }

    if (atomic) await loader.commitAtomic();
    // dlt keeps incremental cursors in _dlt_pipeline_state too: sources → <pipeline> → resources → <name> → incremental.
    const state = Object.keys(finalStates).length
      ? { sources: { [pipelineName]: { resources: finalStates } } }
      : undefined;
    await loader.finishRun(loadId, "completed", { schema, requests: edge.requests, retries: edge.retries, state });
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
      requests: edge.requests,
      retries: edge.retries,
      durationMs: now() - started,
      views: views.created,
      viewErrors: views.failed,
    };
    emit({ type: "run_finished", summary });
    return summary;
  } catch (error) {
    const interrupted = options.signal?.aborted === true;
    const failure = interrupted ? new InterruptedError(signalName(options.signal?.reason)) : wrapError(error, "", redactor);
    stopInterrupting(); // how the run ended is still recorded
    await loader?.rollbackAtomic();
    if (loader && loadId) {
      await loader
        .finishRun(loadId, interrupted ? "interrupted" : "failed", { error: redactor.redact(failure.message), requests: edge.requests, retries: edge.retries })
        .catch(() => {});
    }
    throw failure;
  } finally {
    edge.recorder?.close();
    stopInterrupting();
    if (!options.db) db.close();
  }
}

/**
 * The resources a run loads (those named, else the selected ones) and those it fetches: the same plus
 * their parents, whose records the children need (not loaded unless selected), in the plan's topological order.
 */
function selectResources(plan: LoadedConfig["plan"], names: string[] | undefined): { resources: ResourcePlan[]; toFetch: ResourcePlan[] } {
  const wanted = names?.length ? new Set(names) : undefined;
  if (wanted) {
    const unknown = [...wanted].filter((n) => !plan.resources.some((r) => r.name === n));
    if (unknown.length) {
      throw new RestduckError("RESOURCE_UNKNOWN", `Unknown resource${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")}; known: ${plan.resources.map((r) => r.name).join(", ")}`, {
        exitCode: 2,
        hint: "check --resource against the names under resources",
      });
    }
  }
  const resources = plan.resources.filter((r) => (wanted ? wanted.has(r.name) : r.selected));
  const byName = new Map(plan.resources.map((r) => [r.name, r]));
  const needed = new Set<string>();
  for (const r of resources) {
    for (let p: ResourcePlan | undefined = r; p && !needed.has(p.name); p = p.parent ? byName.get(p.parent.resource) : undefined) needed.add(p.name);
  }
  return { resources, toFetch: plan.resources.filter((r) => needed.has(r.name)) };
}

/** dlt's layout of a resource's state: resources → <name> → incremental → <cursor_path> → { initial_value, last_value, unique_hashes }. */
function dltResourceState(cursorPath: string, state: ResourceState): Record<string, unknown> {
  return state.parents
    ? { incremental: {}, parents: Object.fromEntries(Object.entries(state.parents).map(([k, v]) => [k, { [cursorPath]: v.incremental }])) }
    : { incremental: { [cursorPath]: state.incremental } };
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

const tableNameOf = (schema: Schema, r: ResourcePlan) =>
  Object.values(schema.tables).find((t) => !t.parent && t.resource === r.name)?.name ?? r.tableName;

const primaryKeyColumns = (schema: Schema, r: ResourcePlan) => {
  const table = Object.values(schema.tables).find((t) => !t.parent && t.resource === r.name);
  return table ? Object.values(table.columns).filter((c) => c.primary_key).map((c) => c.name) : [];
};
