/**
 * A tiny JSON API for load tests: each resource is one page `{ "items": [...] }` at `/<name>`,
 * served from 127.0.0.1 on port 0. Payloads can be swapped between runs to test evolution.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { prepareConfig, type LoadedConfig } from "../../src/config/index.ts";

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

/** Starts the API; `close` must be called. */
export async function startFixtureApi(pages: Record<string, unknown[] | string> = {}): Promise<FixtureApi> {
  const map = new Map(Object.entries(pages).map(([k, v]) => [k.startsWith("/") ? k : `/${k}`, v]));
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const body = map.get(path);
    if (body === undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify({ items: body }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    pages: map,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
