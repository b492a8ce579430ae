/**
 * Trying a config without loading it (`restduck check`, issue #13.6): the first page of every
 * resource, fetched as a run would fetch it (auth, retries, response actions, parents' first
 * records for dependent resources), normalized into the tables and columns a run would create —
 * and nothing written anywhere.
 */
import { createAuthenticator } from "../auth/index.ts";
import type { LoadedConfig, ResourcePlan } from "../config/index.ts";
import { firstRequest, parentValues, type ParentValues } from "../extract/dependent.ts";
import { findRecords } from "../extract/find_records.ts";
import { Incremental } from "../extract/incremental.ts";
import { compileProcessingSteps, processRecords } from "../extract/processing.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { DEFAULT_CONCURRENCY } from "../http/concurrency.ts";
import { rateLimitOptions } from "../http/rate_limit.ts";
import { Normalizer } from "../normalize/normalizer.ts";
import { duckdbType, type Schema } from "../normalize/types.ts";
import { createPaginator, walkPages } from "../paginate/index.ts";
import { stopOnIgnored, withResponseActions } from "../paginate/response_actions.ts";
import { Redactor } from "../redact.ts";
import { wrapError } from "./run.ts";
import { schedule } from "./schedule.ts";

/** What the first page of one resource shows. */
export interface ResourceCheck {
  name: string;
  /** The first request's URL, secrets masked. */
  url?: string;
  status?: number;
  /** Records on the first page (after include_from_parent, the incremental cursor and processing steps). */
  records: number;
  /** Where the records were: the configured `data_selector`, or the JSONPath the detector found. */
  recordsAt?: string;
  /** The paginator in use: configured, or what `auto` chose on this page. */
  paginator: string;
  /** Whether the paginator found a next page. */
  morePages: boolean;
  /** The tables and columns loading this page would create. */
  tables: { name: string; rows: number; columns: { name: string; dataType: string; duckdbType: string }[] }[];
  /** Why the resource could not be checked (the others still are). */
  error?: string;
  /** Why nothing was fetched for it (a child whose parent yielded no record). */
  skipped?: string;
}

export interface CheckOptions {
  /** Only these resources (and the parents they need). */
  resources?: string[];
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
}

/**
 * Fetches the first page of each resource and reports what a run would load from it.
 *
 * @param loaded A config with its secrets resolved.
 * @returns One entry per resource, in the config's (topological) order.
 */
export async function checkConfig(loaded: LoadedConfig, options: CheckOptions = {}): Promise<ResourceCheck[]> {
  const plan = loaded.plan;
  const redactor = new Redactor(loaded.secrets);
  const http = createHttpClient({
    baseUrl: plan.baseUrl,
    headers: plan.headers,
    retry: plan.retry,
    redactor,
    rateLimit: rateLimitOptions(plan.rateLimit),
    maxResponseBytes: plan.maxResponseBytes,
    fetch: options.fetch,
  });
  const wanted = options.resources?.length ? new Set(options.resources) : undefined;
  const byName = new Map(plan.resources.map((r) => [r.name, r]));
  const needed = new Set<string>();
  for (const r of plan.resources) {
    if (wanted && !wanted.has(r.name)) continue;
    for (let p: ResourcePlan | undefined = r; p && !needed.has(p.name); p = p.parent ? byName.get(p.parent.resource) : undefined) needed.add(p.name);
  }
  const firstRecord = new Map<string, Record<string, unknown>>();
  const checked = new Map<string, ResourceCheck>();
  const toCheck = plan.resources.filter((r) => needed.has(r.name));
  // Side by side, as a run loads them: one first page each, at most client.concurrency (unset: the default's start) at once, a child after its parent.
  await schedule(toCheck, {
    limit: () => plan.concurrency ?? DEFAULT_CONCURRENCY.initial,
    after: (r) => (r.parent ? byName.get(r.parent.resource) : undefined),
    alone: (r) => !r.parallelized,
    run: async (resource) => {
      const authConfig = resource.endpoint.auth ?? plan.auth;
      const auth = authConfig ? createAuthenticator(authConfig, { http, redactor }) : undefined;
      const authed: HttpClient = { request: (req, opts) => http.request(req, { ...opts, auth: opts?.auth === null ? null : auth }) };
      const result = await checkResource(resource, withResponseActions(authed, resource.endpoint.responseActions), firstRecord, options.signal).catch((error: unknown): ResourceCheck => {
        options.signal?.throwIfAborted();
        return { name: resource.name, records: 0, paginator: "", morePages: false, tables: [], error: redactor.redact(wrapError(error, "", redactor).message) };
      });
      if (result.url) result.url = redactor.redact(result.url);
      checked.set(resource.name, result);
    },
  });
  return toCheck.filter((r) => !wanted || wanted.has(r.name)).map((r) => checked.get(r.name)!);
}

async function checkResource(
  resource: ResourcePlan,
  http: HttpClient,
  firstRecord: Map<string, Record<string, unknown>>,
  signal: AbortSignal | undefined,
): Promise<ResourceCheck> {
  let values: ParentValues | undefined;
  if (resource.parent) {
    const parent = firstRecord.get(resource.parent.resource);
    if (!parent) {
      return { name: resource.name, records: 0, paginator: "", morePages: false, tables: [], skipped: `its parent ${resource.parent.resource} gave no record to fill the placeholders with` };
    }
    values = parentValues(parent, resource.parent, resource.name);
  }
  const cursor = resource.incremental ? new Incremental(resource.incremental, undefined, resource.name) : undefined;
  const first = firstRequest(resource, { ...values?.placeholders, ...cursor?.placeholders() }, cursor?.params());
  let detected: string | undefined;
  const paginator = stopOnIgnored(createPaginator(resource.endpoint.paginator, { onDetect: (name) => (detected = name) }));
  const pages = walkPages(first, {
    http,
    paginator,
    dataSelector: resource.endpoint.dataSelector,
    signal,
  });
  // One step: the walk asks the paginator for the next request (and `auto` decides) but fetches it only when asked.
  const step = await pages.next();
  await pages.return(undefined);
  const configured = createPaginator(resource.endpoint.paginator).name;
  if (step.done) return { name: resource.name, records: 0, paginator: detected ?? configured, morePages: false, tables: [] };
  const page = step.value;
  let records = page.records as Record<string, unknown>[];
  if (values && Object.keys(values.include).length) records = records.map((r) => ({ ...r, ...values.include }));
  if (cursor) records = cursor.filter(records).records;
  records = processRecords(records, compileProcessingSteps(resource.processingSteps, resource.name));
  if (records[0] !== undefined && typeof records[0] === "object") firstRecord.set(resource.name, records[0]);

  const schema: Schema = { name: "check", version: 1, tables: {} };
  const normalizer = new Normalizer(schema, {
    loadId: "0",
    table: resource.tableName,
    resource: resource.name,
    primaryKey: resource.primaryKey,
    mergeKey: resource.mergeKey,
    writeDisposition: resource.writeDisposition,
    mergeStrategy: resource.mergeStrategy === "upsert" ? "upsert" : resource.mergeStrategy === undefined ? undefined : "delete-insert",
    maxTableNesting: resource.maxTableNesting,
    columns: resource.columns,
    schemaContract: resource.schemaContract,
  });
  const rows = normalizer.normalize(records);
  const tables = Object.values(schema.tables).map((t) => ({
    name: t.name,
    rows: rows.get(t.name)?.length ?? 0,
    columns: Object.values(t.columns)
      .filter((c) => !c.name.startsWith("_dlt_"))
      .map((c) => ({ name: c.name, dataType: c.data_type, duckdbType: duckdbType(c) })),
  }));
  const at = resource.endpoint.dataSelector ?? findRecords(page.response.body)?.path ?? "$";
  return {
    name: resource.name,
    url: page.response.url,
    status: page.response.status,
    records: records.length,
    recordsAt: at,
    paginator: detected ?? configured,
    morePages: page.next !== undefined,
    tables,
  };
}
