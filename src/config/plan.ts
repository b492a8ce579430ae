/**
 * Turns a validated config into a plan: one fully-merged description per
 * resource, with dlt's defaults applied. Inner code reads only plans.
 */
import type { AuthConfig, ColumnHintConfig, Config, EndpointConfig, PaginatorConfig, ResourceConfig, RetryConfig, SchemaContractConfig, WriteDisposition } from "./schema.ts";
import { ConfigError } from "../errors.ts";

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
  endpoint: {
    path: string;
    method: "GET" | "POST";
    params: Record<string, string | number | boolean>;
    json?: Record<string, unknown>;
    headers: Record<string, string>;
    dataSelector?: string;
    paginator: PaginatorConfig;
    auth?: AuthConfig;
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
  resources: ResourcePlan[];
  views: Record<string, string>;
  batchPages?: number;
  batchSeconds?: number;
}

const asEndpoint = (e: ResourceConfig["endpoint"]): EndpointConfig => e ?? {};

/** Merges `resource_defaults` into each resource (shallow; `endpoint.params` and `endpoint.json` one level deep). */
export function planConfig(config: Config): Plan {
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
    const columns = { ...defaults.columns, ...own.columns };
    const keysOf = (k: string | string[] | undefined) => (k === undefined ? [] : typeof k === "string" ? [k] : k);
    // Column hints may mark keys too (dlt's `columns: { id: { primary_key: true } }`).
    const hinted = (flag: "primary_key" | "merge_key") => Object.entries(columns).filter(([, h]) => h[flag]).map(([name]) => name);
    const primaryKey = merged.primary_key !== undefined ? keysOf(merged.primary_key) : hinted("primary_key");
    const mergeKey = merged.merge_key !== undefined ? keysOf(merged.merge_key) : hinted("merge_key");
    const writeDisposition = merged.write_disposition?.disposition ?? "append";
    const mergeStrategy = writeDisposition === "merge" ? (merged.write_disposition?.strategy ?? (primaryKey.length ? "upsert" : "delete-insert")) : undefined;
    if (writeDisposition === "merge" && primaryKey.length === 0 && mergeKey.length === 0) {
      throw new ConfigError(`resources[${index}]: write_disposition "merge" needs a primary_key`, {
        hint: 'add "primary_key": "id" to the resource or to resource_defaults',
      });
    }
    const params: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(endpoint.params ?? {})) if (value !== null) params[key] = value;
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
      endpoint: {
        path: endpoint.path ?? name,
        method: (endpoint.method?.toUpperCase() ?? "GET") as "GET" | "POST",
        params,
        json: endpoint.json,
        headers: { ...endpoint.headers },
        dataSelector: endpoint.data_selector ?? undefined,
        paginator: endpoint.paginator ?? config.client.paginator ?? { type: "auto" },
        auth: endpoint.auth,
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
    resources,
    views: { ...config.views },
    batchPages: config.batch_pages,
    batchSeconds: config.batch_seconds,
  };
}
