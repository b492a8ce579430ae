/**
 * Turns a validated config into a plan: one fully-merged description per
 * resource, with dlt's defaults applied. Inner code reads only plans.
 */
import type {
  AuthConfig,
  ColumnHintConfig,
  Config,
  EndpointConfig,
  IncrementalConfig,
  PaginatorConfig,
  ProcessingStepConfig,
  ResourceConfig,
  ResponseActionConfig,
  RetryConfig,
  SchemaContractConfig,
  WriteDisposition,
  RateLimitConfig,
} from "./schema.ts";
import { RESPONSE_ACTIONS } from "./schema.ts";
import { ConfigError } from "../errors.ts";
import { bindingsOf, findPlaceholders, isSingleEntityPath, orderResources, type ParentBinding } from "./graph.ts";
import { nameProblems } from "./names.ts";
import { parseWindowSize, splitWindows, type WindowSize } from "../shared/windows.ts";

/** `endpoint.incremental` (or a legacy `type: incremental` param) with dlt's defaults applied. */
export interface IncrementalPlan {
  cursorPath: string;
  initialValue?: string | number;
  endValue?: string | number;
  lastValueFunc: "max" | "min";
  lag?: number;
  rangeStart: "closed" | "open";
  rangeEnd: "closed" | "open";
  onCursorValueMissing: "raise" | "include" | "exclude";
  rowOrder?: "asc" | "desc";
  /** Keys that de-duplicate rows at the start boundary (default: the resource's primary key). */
  primaryKey: string[];
  convert?: IncrementalConfig["convert"];
  /** Request parameter that carries the start value (legacy `start_param`, or the `type: incremental` param). */
  startParam?: string;
  endParam?: string;
  /** `window`: the backfill is fetched as windows of this size (issue #16). */
  window?: WindowSize;
}

/** How a child resource gets its requests from its parent's records. */
export interface ParentPlan {
  resource: string;
  bindings: ParentBinding[];
  /** Parent fields copied into each child row as `_<parent>_<field>`. */
  includeFromParent: string[];
}

/** One resource, ready to extract and load. */
export interface ResourcePlan {
  name: string;
  tableName: string;
  primaryKey: string[];
  mergeKey: string[];
  writeDisposition: WriteDisposition;
  /** Merge strategy (dlt's): `upsert` is the default when a primary key exists. */
  mergeStrategy?: "upsert" | "delete-insert" | "scd2";
  selected: boolean;
  /**
   * dlt's `parallelized`: false when the config says so, and the resource then runs with no other
   * resource beside it. Unset or true, it runs alongside the others under the one request budget.
   */
  parallelized: boolean;
  columns: Record<string, ColumnHintConfig>;
  maxTableNesting?: number;
  schemaContract?: SchemaContractConfig;
  /** Config path of the resource, e.g. `resources[2]`, for messages. */
  at: string;
  /** Set for a dependent (child) resource. */
  parent?: ParentPlan;
  incremental?: IncrementalPlan;
  processingSteps: ProcessingStepConfig[];
  endpoint: {
    path: string;
    method: "GET" | "POST";
    params: Record<string, string | number | boolean>;
    json?: Record<string, unknown>;
    /**
     * `endpoint.data`: a form (pairs in order, repeated keys kept, placeholders
     * not yet filled) or a raw body. Absent for an empty form, as dlt sends none.
     */
    data?: FormTemplate | { raw: string };
    headers: Record<string, string>;
    dataSelector?: string;
    paginator: PaginatorConfig;
    auth?: AuthConfig;
    responseActions: ResponseActionConfig[];
    maxPages?: number;
  };
}

/** A form body before its placeholders are filled. */
export interface FormTemplate {
  form: [string, string | number | boolean][];
}

/** Everything a pipeline needs to run a config. */
export interface Plan {
  pipelineName?: string;
  datasetName?: string;
  baseUrl?: string;
  headers: Record<string, string>;
  auth?: AuthConfig;
  retry: RetryConfig;
  /**
   * Most requests on the wire for the whole API, all resources together (client.concurrency), a hard cap;
   * unset, the adaptive default applies. Also bounds how many resources run at once.
   */
  concurrency?: number;
  /** Largest response body accepted (client.max_response_bytes). */
  maxResponseBytes: number;
  /** Proactive rate limit (client.rate_limit). */
  rateLimit?: RateLimitConfig;
  resources: ResourcePlan[];
  views: Record<string, string>;
  batchPages?: number;
  batchSeconds?: number;
  /** Keys accepted for dlt compatibility that do nothing here, each with its config path (validate and run print them). */
  warnings: string[];
}

const asEndpoint = (e: ResourceConfig["endpoint"]): EndpointConfig => e ?? {};

/** A URL fetch can send on its own, without a base_url. */
const isAbsoluteUrl = (path: string) => /^https?:\/\//i.test(path);

/**
 * Merges `resource_defaults` into each resource (shallow; `endpoint.params` and `endpoint.json` one level deep).
 * `source` names the config in messages (`config chat.json`).
 */
export function planConfig(config: Config, source = "config"): Plan {
  const badNames = nameProblems(config);
  if (badNames.length) {
    throw new ConfigError(`Invalid ${source}:\n  ${badNames.join("\n  ")}`, {
      problems: badNames,
      hint: "name resources, tables and views with letters, digits and _ (they become DuckDB views and export's file names)",
    });
  }
  const defaults = config.resource_defaults ?? {};
  const defaultEndpoint = asEndpoint(defaults.endpoint);
  const seen = new Set<string>();
  const warnings = new Set<string>();
  if (defaults.table_format) warnings.add(tableFormatWarning("resource_defaults", defaults.table_format));
  for (const w of columnNameWarnings("resource_defaults", defaults.columns)) warnings.add(w);
  const defaultActions = knownActions(defaultEndpoint.response_actions, "resource_defaults.endpoint", warnings);

  const resources = config.resources.map((entry, index): ResourcePlan => {
    const own: ResourceConfig = entry;
    const ownEndpoint = asEndpoint(own.endpoint);
    const name = own.name;
    if (!name) {
      throw new ConfigError(`resources[${index}].name: a resource needs a name`, {
        hint: 'add "name": "…" (it also names the table and the view)',
      });
    }
    if (seen.has(name)) {
      throw new ConfigError(`resources[${index}].name: duplicate resource name "${name}"`, {
        hint: "give every resource its own name",
      });
    }
    seen.add(name);
    const merged = { ...defaults, ...own };
    const endpoint: EndpointConfig = {
      ...defaultEndpoint,
      ...ownEndpoint,
      params: { ...defaultEndpoint.params, ...ownEndpoint.params },
      json: defaultEndpoint.json || ownEndpoint.json ? { ...defaultEndpoint.json, ...ownEndpoint.json } : undefined,
      headers: { ...defaultEndpoint.headers, ...ownEndpoint.headers },
    };
    const at = `resources[${index}]`;
    if (own.table_format) warnings.add(tableFormatWarning(at, own.table_format));
    for (const w of columnNameWarnings(at, own.columns)) warnings.add(w);
    // Column hints merge per column, as dlt merges them (a resource adds to a default column's hints);
    // the mapping's key names the column, as in dlt's ensure_table_schema_columns.
    const columns: Record<string, ColumnHintConfig> = {};
    for (const source of [defaults.columns, own.columns]) {
      for (const [column, { name: _name, ...hint }] of Object.entries(source ?? {})) columns[column] = { ...columns[column], ...hint };
    }
    const keysOf = (k: string | string[] | null | undefined) => (k == null ? [] : typeof k === "string" ? [k] : k);
    // Column hints may mark keys too (dlt's `columns: { id: { primary_key: true } }`).
    const hinted = (flag: "primary_key" | "merge_key") => Object.entries(columns).filter(([, h]) => h[flag]).map(([name]) => name);
    const primaryKey = merged.primary_key != null ? keysOf(merged.primary_key) : hinted("primary_key");
    const mergeKey = merged.merge_key != null ? keysOf(merged.merge_key) : hinted("merge_key");
    const writeDisposition = merged.write_disposition?.disposition ?? "append";
    const mergeStrategy = writeDisposition === "merge" ? (merged.write_disposition?.strategy ?? (primaryKey.length ? "upsert" : "delete-insert")) : undefined;
    if (merged.write_disposition?.strategy && writeDisposition !== "merge") {
      throw new ConfigError(`resources[${index}].write_disposition.strategy: a strategy needs disposition "merge", got "${writeDisposition}"`, { hint: 'write { "disposition": "merge", "strategy": … }, or drop the strategy' });
    }
    if (mergeStrategy === "upsert" && primaryKey.length === 0) {
      throw new ConfigError(`resources[${index}].write_disposition: merge strategy "upsert" needs a primary_key`, {
        hint: 'add "primary_key": "id" to the resource or to resource_defaults',
      });
    }
    // scd2 tells versions apart by a hash of the whole row, so it needs no key.
    if (writeDisposition === "merge" && mergeStrategy !== "scd2" && primaryKey.length === 0 && mergeKey.length === 0) {
      throw new ConfigError(`resources[${index}]: write_disposition "merge" needs a primary_key`, {
        hint: 'add "primary_key": "id" to the resource or to resource_defaults',
      });
    }
    const params: Record<string, string | number | boolean> = {};
    const legacyResolve: { param: string; resource: string; field: string }[] = [];
    let incrementalConfig: (IncrementalConfig & { start_param?: string }) | undefined = endpoint.incremental ?? undefined;
    for (const [key, value] of Object.entries(endpoint.params ?? {})) {
      if (value === null) continue;
      if (typeof value !== "object") params[key] = value;
      else if (value.type === "resolve") legacyResolve.push({ param: key, resource: value.resource, field: value.field });
      else {
        if (incrementalConfig) {
          throw new ConfigError(`${at}.endpoint.params.${key}: only one incremental per endpoint; endpoint.incremental${endpoint.incremental ? "" : " or another param"} already sets one`, {
            hint: "keep one: endpoint.incremental (with start_param / end_param), or a single { type: incremental } param",
          });
        }
        const { type: _type, end_value: _end, end_param: _endParam, ...rest } = value;
        incrementalConfig = { ...rest, start_param: key };
      }
    }
    let path = endpoint.path ?? name;
    if (!config.client.base_url && !isAbsoluteUrl(path) && !path.trimStart().startsWith("{")) {
      throw new ConfigError(`${at}.endpoint.path: "${path}" is relative and client.base_url is not set, so there is no URL to send it to`, {
        hint: `set client.base_url (e.g. "https://api.example.com") or write the full URL in ${at}.endpoint.path`,
      });
    }
    const method = (endpoint.method?.toUpperCase() ?? "GET") as "GET" | "POST";
    const data = planData(endpoint, method, `${at}.endpoint`);
    // Legacy: `{id}` in the path names a param; a plain param is written into the path, a resolve param stays a placeholder.
    path = bindPathParams(path, params, legacyResolve, `${at}.endpoint.path`);
    for (const l of legacyResolve) {
      if (!path.includes(`{${l.param}}`)) {
        throw new ConfigError(`${at}.endpoint.params.${l.param}: a "resolve" param must appear in the path as {${l.param}}; to send a parent field as a query parameter write "{resources.${l.resource}.${l.field}}"`, {
          hint: `put {${l.param}} in the path, or write "${l.param}": "{resources.${l.resource}.${l.field}}"`,
        });
      }
    }
    const staticParamsForTemplates = { ...params };
    const { parent, bindings } = bindingsOf(
      name,
      at,
      [
        { path: `${at}.endpoint.path`, value: path },
        { path: `${at}.endpoint.params`, value: staticParamsForTemplates },
        { path: `${at}.endpoint.json`, value: endpoint.json },
        { path: `${at}.endpoint.data`, value: endpoint.data },
        { path: `${at}.endpoint.headers`, value: endpoint.headers },
      ],
      legacyResolve,
      incrementalConfig !== undefined,
    );
    if (incrementalConfig && incrementalConfig.lag === undefined) {
      const where = (["path", "params", "json", "data", "headers"] as const).find((k) => findPlaceholders(k === "path" ? path : endpoint[k]).includes("incremental.lag"));
      if (where) {
        throw new ConfigError(`${at}.endpoint.${where}: placeholder {incremental.lag} needs a lag in the incremental`, { hint: "add lag (seconds for date-times, days for dates) to the incremental, or remove the placeholder" });
      }
    }
    const includeFromParent = merged.include_from_parent ?? [];
    if (includeFromParent.length && !parent) {
      throw new ConfigError(`${at}.include_from_parent: resource "${name}" has no parent; include_from_parent needs a {resources.<parent>.<field>} placeholder in its endpoint`, {
        hint: "remove include_from_parent, or make the resource a child with a {resources.<parent>.<field>} placeholder",
      });
    }
    // A path ending in a placeholder returns one entity: the body is the record, there is one page (dlt's guess).
    const singleEntity = isSingleEntityPath(path);
    // null (dlt's None) clears the endpoint's and resource_defaults' paginator: the client's applies, else auto.
    const paginator = endpoint.paginator ?? (singleEntity ? { type: "single_page" as const } : (config.client.paginator ?? { type: "auto" as const }));
    if (data) checkBodyPaths(paginator, `${at}.endpoint`);
    const dataSelector = endpoint.data_selector ?? (singleEntity && !endpoint.paginator ? "$" : undefined);
    return {
      name,
      tableName: merged.table_name ?? name,
      primaryKey,
      mergeKey,
      writeDisposition,
      mergeStrategy,
      selected: merged.selected ?? true,
      parallelized: merged.parallelized ?? true,
      columns,
      maxTableNesting: merged.max_table_nesting ?? config.max_table_nesting,
      schemaContract: merged.schema_contract ?? config.schema_contract,
      at,
      parent: parent ? { resource: parent, bindings, includeFromParent } : undefined,
      incremental: incrementalConfig ? planIncremental(incrementalConfig, primaryKey, parent, `${at}.endpoint.incremental`) : undefined,
      processingSteps: merged.processing_steps ?? [],
      endpoint: {
        path,
        method,
        params,
        json: endpoint.json ?? undefined,
        data,
        headers: { ...endpoint.headers },
        dataSelector,
        paginator,
        auth: endpoint.auth ?? undefined,
        responseActions:
          ownEndpoint.response_actions !== undefined ? knownActions(ownEndpoint.response_actions, `${at}.endpoint`, warnings) : defaultActions,
        maxPages: endpoint.max_pages,
      },
    };
  });

  return {
    pipelineName: config.pipeline_name,
    datasetName: config.dataset_name,
    baseUrl: config.client.base_url,
    headers: { ...config.client.headers },
    auth: config.client.auth,
    retry: config.client.retry,
    concurrency: config.client.concurrency,
    rateLimit: config.client.rate_limit,
    maxResponseBytes: config.client.max_response_bytes,
    resources: orderResources(resources, (r) => r.parent?.resource),
    views: { ...config.views },
    batchPages: config.batch_pages,
    batchSeconds: config.batch_seconds,
    warnings: [...warnings],
  };
}

/**
 * The response actions restduck knows; dlt ignores an action it does not
 * know, so restduck drops it too, and says so with the path.
 */
function knownActions(actions: readonly ResponseActionConfig[] | null | undefined, at: string, warnings: Set<string>): ResponseActionConfig[] {
  const out: ResponseActionConfig[] = [];
  for (const [i, rule] of (actions ?? []).entries()) {
    if (typeof rule === "object" && typeof rule.action === "string" && !(RESPONSE_ACTIONS as readonly string[]).includes(rule.action)) {
      warnings.add(`${at}.response_actions[${i}].action: unknown action "${rule.action}" is ignored (as dlt ignores it); known: ${RESPONSE_ACTIONS.join(", ")}`);
      continue;
    }
    out.push(rule);
  }
  return out;
}

const tableFormatWarning = (at: string, format: string) =>
  `${at}.table_format: "${format}" has no effect on DuckDB; restduck writes DuckDB tables (dlt ignores table_format on destinations without table formats too)`;

function columnNameWarnings(at: string, columns: Record<string, ColumnHintConfig> | null | undefined): string[] {
  return Object.entries(columns ?? {})
    .filter(([key, hint]) => hint.name !== undefined && hint.name !== key)
    .map(([key, hint]) => `${at}.columns.${key}.name: "${hint.name}" differs from its key; the key names the column, as in dlt`);
}

/**
 * `endpoint.data` as dlt sends it through requests: an object or a list of
 * pairs is a form (nulls dropped, list values repeated), an empty one sends
 * no body, a string is the raw body. One body per request: dlt refuses
 * `json` with `data` when it sends; restduck says so before any request.
 */
function planData(endpoint: EndpointConfig, method: "GET" | "POST", at: string): FormTemplate | { raw: string } | undefined {
  const data = endpoint.data;
  if (data == null) return undefined;
  if (endpoint.json != null) {
    throw new ConfigError(`${at}: "json" and "data" are both set, but a request has one body (dlt refuses this too)`, {
      hint: `keep ${at}.json for a JSON body, or ${at}.data for a form or raw body (resource_defaults.endpoint may supply one of them)`,
    });
  }
  let body: FormTemplate | { raw: string } | undefined;
  if (typeof data === "string") body = { raw: data };
  else {
    const pairs = Array.isArray(data) ? data : Object.entries(data).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as const) : [[k, v] as const]));
    const form = pairs.filter((p): p is readonly [string, string | number | boolean] => p[1] !== null).map(([k, v]): [string, string | number | boolean] => [k, v]);
    body = form.length ? { form } : undefined;
  }
  if (body && method === "GET") {
    throw new ConfigError(`${at}.data: a request body needs method POST, and this endpoint sends GET`, {
      hint: `add "method": "POST" to ${at}`,
    });
  }
  return body;
}

/** Body-path paginators write into a JSON body, so they cannot page a form or raw `data` body (in dlt they silently do nothing). */
function checkBodyPaths(paginator: PaginatorConfig, at: string): void {
  for (const key of ["offset_body_path", "limit_body_path", "page_body_path", "cursor_body_path"]) {
    if ((paginator as Record<string, unknown>)[key] !== undefined) {
      throw new ConfigError(`${at}.paginator.${key}: a body path sets a field of a JSON body, and this endpoint sends endpoint.data (a form or raw body)`, {
        hint: `send the page in the query string (${key.replace("_body_path", "_param")}) or send the body as endpoint.json`,
      });
    }
  }
}

function planIncremental(c: IncrementalConfig & { start_param?: string; end_param?: string }, primaryKey: string[], parent: string | undefined, at: string): IncrementalPlan {
  const keys = c.primary_key === undefined ? primaryKey : typeof c.primary_key === "string" ? [c.primary_key] : c.primary_key;
  return {
    ...(c.window === undefined ? {} : { window: planWindow(c, parent, at) }),
    cursorPath: c.cursor_path,
    initialValue: c.initial_value ?? undefined,
    endValue: c.end_value ?? undefined,
    lastValueFunc: c.last_value_func,
    lag: c.lag,
    rangeStart: c.range_start,
    rangeEnd: c.range_end,
    onCursorValueMissing: c.on_cursor_value_missing,
    rowOrder: c.row_order ?? undefined,
    primaryKey: keys,
    convert: c.convert,
    startParam: c.start_param,
    endParam: c.end_param,
  };
}

/** Checks `incremental.window` against its range now, so a backfill that cannot be split fails before any request. */
function planWindow(c: IncrementalConfig, parent: string | undefined, at: string): WindowSize {
  const where = `${at}.window`;
  const fix = (hint: string, message: string) => new ConfigError(`${where}: ${message}`, { hint });
  if (parent) throw fix("backfill the parent in windows instead, or remove window", `a child resource (of "${parent}") has one chain per parent record and cannot also be split into windows`);
  if (c.initial_value === undefined || c.initial_value === null || c.end_value === undefined || c.end_value === null) {
    throw fix(`add ${c.initial_value == null ? "initial_value" : "end_value"} to ${at}, or remove window`, "a window splits the range [initial_value, end_value), so it needs both");
  }
  if (c.last_value_func !== "max") throw fix('remove last_value_func, or remove window', `windows run forward from initial_value to end_value; last_value_func "${c.last_value_func}" runs backward`);
  const size = parseWindowSize(c.window!);
  if ("error" in size) throw fix('write e.g. "1d", "6h", "P1D", or 10000 for a numeric cursor', size.error);
  const windows = splitWindows(c.initial_value, c.end_value, size);
  if ("error" in windows) throw fix("choose a larger window, or a range that fits the window's kind", windows.error);
  return size;
}

/**
 * dlt's legacy path binding: `{name}` in a path with a plain `params.name`
 * takes its value (and drops the param); `{name}` for a resolve param stays
 * a placeholder; contexts (`resources.`, `incremental.`) stay as they are.
 */
function bindPathParams(
  path: string,
  params: Record<string, string | number | boolean>,
  resolve: { param: string }[],
  at: string,
): string {
  return path.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, field: string | undefined) => {
    if (field === undefined) return match;
    const name = field.trim();
    if (name.includes(".") || resolve.some((r) => r.param === name)) return match;
    if (name in params) {
      const value = params[name];
      delete params[name];
      return encodeURIComponent(String(value));
    }
    throw new ConfigError(`${at}: placeholder {${name}} is neither a param in endpoint.params nor {resources.<parent>.<field>}`, {
      hint: `write {resources.<parent>.${name}} to take it from a parent resource's records`,
    });
  });
}
