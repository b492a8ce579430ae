/**
 * One resource's stages, composed: its chains of pages (one, one per parent
 * record, or one per backfill window, fanned out in order) → records
 * (chainRecords) → rows (the normalizer) → batches (the batcher) → the loader.
 * Where it resumes and what its checkpoints store is the ResourceResume's job.
 */
import { firstRequest, parentKey, type ParentValues } from "../extract/dependent.ts";
import { compileProcessingSteps } from "../extract/processing.ts";
import { splitWindows, type CursorWindow } from "../extract/windows.ts";
import type { ResourcePlan } from "../config/index.ts";
import { RestduckError } from "../errors.ts";
import type { HttpClient } from "../http/client.ts";
import type { AdaptiveConcurrency } from "../http/concurrency.ts";
import type { Loader } from "../load/loader.ts";
import { Normalizer } from "../normalize/normalizer.ts";
import type { Schema } from "../normalize/types.ts";
import { createPaginator, walkPages, type Page, type PageRequest, type WalkOptions } from "../paginate/index.ts";
import { prefetch } from "../paginate/prefetch.ts";
import { stopOnIgnored, withResponseActions } from "../paginate/response_actions.ts";
import { Batcher } from "./batcher.ts";
import { inOrderAhead } from "./fan_out.ts";
import { chainRecords } from "./records.ts";
import { ResourceResume, type Chain, type ResourceState, type StoredCheckpoint } from "./resume.ts";
import type { PipelineEvent, ResourceSummary, RunOptions } from "./types.ts";

export interface ResourceContext {
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

export async function loadResource(ctx: ResourceContext): Promise<ResourceSummary> {
  const { resource, loader, schema, loadId, checkpoint, options, emit, load } = ctx;
  const normalizer = resourceNormalizer(resource, schema, loadId);
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
    // 20 pages lowered peak RSS by 8–27 MB for +19–23% CPU at 1M rows (BENCHMARKS.md, helper "batch").
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
  const chains: { index: number; values?: ParentValues; window?: CursorWindow }[] = resource.parent
    ? (ctx.parents ?? []).map((values, index) => ({ index, values })).slice(book.firstChain)
    : windows
      ? windows.slice(book.firstChain).map((window) => ({ index: window.index, window }))
      : [{ index: 0 }];
  const manyChains = resource.parent !== undefined || windows !== undefined;
  const aborter = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, aborter.signal]) : aborter.signal;
  const startChain = ({ index, values, window }: (typeof chains)[number]) => {
    const chain: Chain = { index, key: values ? parentKey(values) : undefined, window };
    const cursor = book.cursorFor(chain);
    const placeholders = { ...values?.placeholders, ...cursor?.placeholders() };
    const first = firstRequest(resource, placeholders, cursor?.params());
    const pages = chainPages(resource, first, {
      http,
      signal,
      resumeFrom: book.resumeRequest(chain, first),
      concurrency: ctx.concurrency,
      maxPages: options.maxPages ?? resource.endpoint.maxPages,
      // A window ahead keeps walking its own pages (a window is usually a few pages, each waiting for the one
      // before), so `concurrency` windows progress at once; the cap bounds the parsed pages held per window.
      ahead: windows ? WINDOW_PAGES_AHEAD : resource.parent ? 1 : 0,
      emit,
    });
    const records = chainRecords(pages, {
      include: values?.include,
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
    stop: (started) => started.pages.close?.(),
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

/** Names the window a failure happened in, so the message says which part of the backfill failed. */
function inWindow(error: unknown, window: CursorWindow, total: number): unknown {
  if (!(error instanceof Error) || error.name === "AbortError") return error;
  const where = `window ${window.index + 1}/${total} [${window.start}, ${window.end})`;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error)), error, { message: `${where}: ${error.message}` }) as Error & { hint?: string };
  if (error instanceof RestduckError) copy.hint = `${error.hint ? `${error.hint}; ` : ""}a rerun resumes the backfill at this window`;
  return copy;
}

/** The normalizer of one resource's records: its table, keys, nesting, columns and schema contract. */
function resourceNormalizer(resource: ResourcePlan, schema: Schema, loadId: string): Normalizer {
  return new Normalizer(schema, {
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
}

/**
 * The pages of one chain, from its first request (or the stored one it resumes at): the resource's paginator
 * over walkPages, run `ahead` pages ahead of its consumer when it is one chain of many.
 */
function chainPages(
  resource: ResourcePlan,
  first: PageRequest,
  options: Pick<WalkOptions, "http" | "signal" | "resumeFrom" | "concurrency" | "maxPages"> & { ahead: number; emit: (e: PipelineEvent) => void },
): AsyncIterator<Page> & { close?: () => void } {
  const { ahead, emit, ...walk } = options;
  const paginator = stopOnIgnored(
    createPaginator(resource.endpoint.paginator, {
      onDetect: (name) => emit({ type: "paginator_detected", resource: resource.name, paginator: name }),
    }),
  );
  const pages = walkPages(first, { ...walk, paginator, dataSelector: resource.endpoint.dataSelector });
  return ahead > 0 ? prefetch(pages, ahead) : pages;
}
