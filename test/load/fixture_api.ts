/**
 * Load-test fixtures: nested payloads with their expected DuckDB layout, and the mock API's
 * `pages` preset, where each resource is one page `{ "items": [...] }` at `/<name>`.
 * Payloads can be swapped between runs to test evolution.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { prepareConfig, type LoadedConfig } from "../../src/config/index.ts";
import { startMockApi } from "../helpers/mock_api.ts";

/** Folder of the nested-payload fixtures. */
export const NESTED_FIXTURES = join(import.meta.dirname, "..", "fixtures", "nested");

/** One fixture: the records an API returns and the DuckDB layout expected from them. */
export interface NestedFixture {
  description: string;
  records: unknown[];
  /** Table → ordered `column TYPE` list, exactly as `information_schema.columns` shows them. */
  tables: Record<string, string[]>;
  /** SQL → expected rows (values as `getRowObjectsJson` returns them). */
  queries?: Record<string, Record<string, unknown>[]>;
}

/** Reads `test/fixtures/nested/<name>.json`. */
export function readFixture(name: string): NestedFixture {
  return JSON.parse(readFileSync(join(NESTED_FIXTURES, `${name}.json`), "utf8")) as NestedFixture;
}

export interface FixtureApi {
  url: string;
  /** Body served per path (`/things` → `{ items }`); replace entries between runs. Raw strings are served as they are. */
  pages: Map<string, unknown[] | string>;
  close(): Promise<void>;
}

/** Starts the mock API with only these pages (its `pages` preset); `close` must be called, or use `testEnv({ api: { pages } })`. */
export async function startFixtureApi(pages: Record<string, unknown[] | string> = {}): Promise<FixtureApi> {
  return startMockApi({ items: 0, pages });
}

/** A config with one single-page resource per entry, pointed at a fixture API. */
export function fixtureConfig(url: string, resources: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): LoadedConfig {
  return prepareConfig(
    {
      pipeline_name: "fx",
      client: { base_url: url },
      resources: Object.entries(resources).map(([name, r]) => ({
        name,
        endpoint: { path: `/${name}`, data_selector: "items", paginator: { type: "single_page" } },
        ...r,
      })),
      ...extra,
    },
    { env: {}, cwd: "/nonexistent" },
  );
}

/** `table → ["column TYPE", …]` of every base table in a dataset, bookkeeping tables left out. */
export const LAYOUT_SQL = (dataset: string) => `
  select table_name, list(column_name || ' ' || data_type order by ordinal_position) as columns
  from information_schema.columns c join information_schema.tables t using (table_catalog, table_schema, table_name)
  where table_schema = '${dataset}' and t.table_type = 'BASE TABLE' and table_name not like '\\_dlt\\_%' escape '\\' and table_name not like '\\_restduck\\_%' escape '\\'
  group by table_name order by table_name`;
