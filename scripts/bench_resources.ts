/**
 * Many small resources, side by side against one after another (issue #14 item 5): `--resources`
 * resources of `--pages` pages each (next links, so each resource makes one request at a time),
 * a server that answers every request after `--latency` ms, the same `client.concurrency` for
 * both. "one after another" is the same config with `resource_defaults: { parallelized: false }`.
 * Runs are interleaved; the median of `--reps` is reported with the most requests in flight.
 *
 *   node scripts/bench_resources.ts [--resources 20] [--pages 2] [--latency 20] [--concurrency 4] [--reps 3]
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { prepareConfig } from "../src/config/index.ts";
import { runPipeline } from "../src/pipeline/run.ts";
import { tempDir } from "../test/helpers/index.ts";

const { values: opts } = parseArgs({
  options: {
    resources: { type: "string", default: "20" },
    pages: { type: "string", default: "2" },
    latency: { type: "string", default: "20" },
    concurrency: { type: "string", default: "4" },
    reps: { type: "string", default: "3" },
  },
});
const pages = Number(opts.pages);
const latency = Number(opts.latency);

let inFlight = 0;
let maxInFlight = 0;
let requests = 0;
const server = createServer((req, res) => {
  requests++;
  maxInFlight = Math.max(maxInFlight, ++inFlight);
  const url = new URL(req.url!, "http://x");
  const page = Number(url.searchParams.get("page") ?? 1);
  const body = {
    data: Array.from({ length: 50 }, (_, i) => ({ id: (page - 1) * 50 + i + 1, name: `row ${i}`, at: "2024-01-01T00:00:00Z" })),
    next: page < pages ? `${url.pathname}?page=${page + 1}` : null,
  };
  setTimeout(() => {
    inFlight--;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }, latency);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const tmp = tempDir("restduck-bench-resources-");

function config(sideBySide: boolean): Record<string, unknown> {
  return {
    pipeline_name: "bench",
    client: { base_url: base, concurrency: Number(opts.concurrency), paginator: { type: "json_link", next_url_path: "next" } },
    resource_defaults: { endpoint: { data_selector: "data" }, ...(sideBySide ? {} : { parallelized: false }) },
    resources: Array.from({ length: Number(opts.resources) }, (_, i) => ({ name: `r${i + 1}`, endpoint: { path: `/r${i + 1}` } })),
  };
}

const scenarios = [
  { name: "one after another", sideBySide: false },
  { name: "side by side", sideBySide: true },
];
const times = new Map<string, number[]>();
const facts = new Map<string, string>();
let n = 0;
try {
  for (let rep = 0; rep < Number(opts.reps); rep++) {
    for (const s of scenarios) {
      const db = join(tmp.dir, `b${n++}.duckdb`);
      maxInFlight = 0;
      requests = 0;
      const started = performance.now();
      const summary = await runPipeline(prepareConfig(config(s.sideBySide), { env: {}, cwd: tmp.dir }), { database: db });
      const ms = performance.now() - started;
      times.set(s.name, [...(times.get(s.name) ?? []), ms]);
      facts.set(s.name, `${summary.resources.reduce((r, x) => r + x.rows, 0)} rows, ${requests} requests, at most ${maxInFlight} in flight`);
    }
  }
} finally {
  server.close();
  tmp.cleanup();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${opts.resources} resources × ${pages} pages, latency ${latency} ms, concurrency ${opts.concurrency}, reps ${opts.reps}`);
for (const s of scenarios) {
  const t = times.get(s.name)!;
  console.log(`${s.name.padEnd(20)} median ${(median(t) / 1000).toFixed(2)} s  (runs ${t.map((x) => (x / 1000).toFixed(2)).join(", ")} s; ${facts.get(s.name)})`);
}
const [seq, par] = scenarios.map((s) => median(times.get(s.name)!));
console.log(`side by side takes ${(par / seq).toFixed(2)} of the time (${(seq / par).toFixed(1)}× faster)`);
