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
import { ConfigError } from "../errors.ts";
import { bindingsOf, isSingleEntityPath, orderResources, type ParentBinding } from "./graph.ts";
import { nameProblems } from "./names.ts";

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
    headers: Record<string, string>;
    dataSelector?: string;
    paginator: PaginatorConfig;
    auth?: AuthConfig;
    responseActions: ResponseActionConfig[];
    maxPages?: number;
  };
}

/** Everything a pipeline needs to run a config. */
export interface Plan {
  pipelineName?: string;
  datasetName?: string;
  baseUrl?: string;
  headers: Record<string, string>;
  auth?: AuthConfig;
  retry: RetryConfig;
  /** Most requests in flight per resource (client.concurrency). */
  concurrency: number;
  /** Largest response body accepted (client.max_response_bytes). */
  maxResponseBytes: number;
  /** Proactive rate limit (client.rate_limit). */
  rateLimit?: RateLimitConfig;
  resources: ResourcePlan[];
  views: Record<string, string>;
  batchPages?: number;
  batchSeconds?: number;
}

const asEndpoint = (e: ResourceConfig["endpoint"]): EndpointConfig => e ?? {};

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
    // Column hints merge per column, as dlt merges them (a resource adds to a default column's hints).
    const columns: Record<string, ColumnHintConfig> = { ...defaults.columns };
    for (const [column, hint] of Object.entries(own.columns ?? {})) columns[column] = { ...columns[column], ...hint };
    const keysOf = (k: string | string[] | undefined) => (k === undefined ? [] : typeof k === "string" ? [k] : k);
    // Column hints may mark keys too (dlt's `columns: { id: { primary_key: true } }`).
    const hinted = (flag: "primary_key" | "merge_key") => Object.entries(columns).filter(([, h]) => h[flag]).map(([name]) => name);
    const primaryKey = merged.primary_key !== undefined ? keysOf(merged.primary_key) : hinted("primary_key");
    const mergeKey = merged.merge_key !== undefined ? keysOf(merged.merge_key) : hinted("merge_key");
    const writeDisposition = merged.write_disposition?.disposition ?? "append";
    const mergeStrategy = writeDisposition === "merge" ? (merged.write_disposition?.strategy ?? (primaryKey.length ? "upsert" : "delete-insert")) : undefined;
    if (merged.write_disposition?.strategy && writeDisposition !== "merge") {
      throw new ConfigError(`resources[${index}].write_disposition.strategy: a strategy needs disposition "merge", got "${writeDisposition}"`);
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
    const at = `resources[${index}]`;
    const params: Record<string, string | number | boolean> = {};
    const legacyResolve: { param: string; resource: string; field: string }[] = [];
    let incrementalConfig: (IncrementalConfig & { start_param?: string }) | undefined = endpoint.incremental;
    for (const [key, value] of Object.entries(endpoint.params ?? {})) {
      if (value === null) continue;
      if (typeof value !== "object") params[key] = value;
      else if (value.type === "resolve") legacyResolve.push({ param: key, resource: value.resource, field: value.field });
      else {
        if (incrementalConfig) {
          throw new ConfigError(`${at}.endpoint.params.${key}: only one incremental per endpoint; endpoint.incremental${endpoint.incremental ? "" : " or another param"} already sets one`);
        }
        const { type: _type, ...rest } = value;
        incrementalConfig = { ...rest, start_param: key };
      }
    }
    let path = endpoint.path ?? name;
    // Legacy: `{id}` in the path names a param; a plain param is written into the path, a resolve param stays a placeholder.
    path = bindPathParams(path, params, legacyResolve, `${at}.endpoint.path`);
    for (const l of legacyResolve) {
      if (!path.includes(`{${l.param}}`)) {
        throw new ConfigError(`${at}.endpoint.params.${l.param}: a "resolve" param must appear in the path as {${l.param}}; to send a parent field as a query parameter write "{resources.${l.resource}.${l.field}}"`);
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
        { path: `${at}.endpoint.headers`, value: endpoint.headers },
      ],
      legacyResolve,
      incrementalConfig !== undefined,
    );
    const includeFromParent = merged.include_from_parent ?? [];
    if (includeFromParent.length && !parent) {
      throw new ConfigError(`${at}.include_from_parent: resource "${name}" has no parent; include_from_parent needs a {resources.<parent>.<field>} placeholder in its endpoint`);
    }
    // A path ending in a placeholder returns one entity: the body is the record, there is one page (dlt's guess).
    const singleEntity = isSingleEntityPath(path);
    const paginator = endpoint.paginator ?? (singleEntity ? { type: "single_page" as const } : (config.client.paginator ?? { type: "auto" as const }));
    const dataSelector = endpoint.data_selector ?? (singleEntity && !endpoint.paginator ? "$" : undefined);
    return {
      name,
      tableName: merged.table_name ?? name,
      primaryKey,
      mergeKey,
      writeDisposition,
      mergeStrategy,
      selected: merged.selected ?? true,
      columns,
      maxTableNesting: merged.max_table_nesting ?? config.max_table_nesting,
      schemaContract: merged.schema_contract ?? config.schema_contract,
      at,
      parent: parent ? { resource: parent, bindings, includeFromParent } : undefined,
      incremental: incrementalConfig ? planIncremental(incrementalConfig, primaryKey) : undefined,
      processingSteps: merged.processing_steps ?? [],
      endpoint: {
        path,
        method: (endpoint.method?.toUpperCase() ?? "GET") as "GET" | "POST",
        params,
        json: endpoint.json,
        headers: { ...endpoint.headers },
        dataSelector,
        paginator,
        auth: endpoint.auth,
        responseActions: endpoint.response_actions ?? [],
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
  };
}

function planIncremental(c: IncrementalConfig & { start_param?: string; end_param?: string }, primaryKey: string[]): IncrementalPlan {
  const keys = c.primary_key === undefined ? primaryKey : typeof c.primary_key === "string" ? [c.primary_key] : c.primary_key;
  return {
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
