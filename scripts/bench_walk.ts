/**
 * The HTTP side alone (issue #15): the run's HTTP edge (seed config as written: OAuth2, the
 * default concurrency, retries) walking every page of the bench server, with the records
 * counted and thrown away: no normalizing, no DuckDB. It shows what the requests can carry
 * when the pipeline's CPU is not the bottleneck.
 *
 *   node scripts/bench_walk.ts --url http://127.0.0.1:PORT [--root DIR] [--concurrency N]
 *
 * `--root` takes src/ from another checkout (A/B). Prints one JSON line: `{ rows, pages, ms }`.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { BENCH_CLIENT_ID, BENCH_CLIENT_SECRET } from "./bench_server.ts";

const { values } = parseArgs({ options: { url: { type: "string" }, root: { type: "string" }, concurrency: { type: "string" } } });
const root = resolve(values.root ?? join(import.meta.dirname, ".."));
const load = (path: string) => import(pathToFileURL(join(root, path)).href);
const { prepareConfig } = await load("src/config/index.ts");
const { runHttp } = await load("src/pipeline/http_edge.ts");
const { walkPages, createPaginator } = await load("src/paginate/index.ts");
const { seedConfig } = await load("src/demo/chat_api.ts");
const { Redactor } = await load("src/redact.ts");

const config = seedConfig(values.url!) as { client: Record<string, unknown> };
if (values.concurrency) config.client.concurrency = Number(values.concurrency);
const loaded = prepareConfig(config, { env: { CLIENT_ID: BENCH_CLIENT_ID, CLIENT_SECRET: BENCH_CLIENT_SECRET }, cwd: process.cwd() });
const resource = loaded.plan.resources[0];
const edge = runHttp(loaded, [resource], { database: ":memory:" }, { pipelineName: "bench", redactor: new Redactor(), emit: () => {} });
const started = performance.now();
let rows = 0;
let pages = 0;
for await (const page of walkPages({ method: "GET", url: "/v1/messages", params: {} }, {
  http: edge.forResource(resource),
  paginator: createPaginator(resource.endpoint.paginator),
  dataSelector: "messages",
  concurrency: edge.adaptive,
})) {
  rows += page.records.length;
  pages++;
}
console.log(JSON.stringify({ rows, pages, ms: performance.now() - started }));
