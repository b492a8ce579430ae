/**
 * A backfill in windows against the same range in one window (issue #16 part 2), at the same
 * concurrency limit, against the chat API with a fixed latency per request. Two paginators:
 * `sequential` (offset without a total: each page waits for the one before, the common case
 * for cursor APIs) and `total` (offset with a total, which restduck already fans out inside
 * one window). Runs are interleaved; the median of `--reps` is reported with requests made.
 *
 *   node scripts/bench_windows.ts [--days 30] [--window 1d] [--latency 20] [--concurrency 4] [--limit 20] [--reps 3]
 *
 * Run it under `nice` on a shared machine; the numbers belong in README's Incremental loading section.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { prepareConfig } from "../src/config/index.ts";
import { runPipeline } from "../src/pipeline/run.ts";
import { chatApi, SEED_ENV, seedConfig, tempDir } from "../test/helpers/index.ts";

const { values: opts } = parseArgs({
  options: {
    days: { type: "string", default: "30" },
    window: { type: "string", default: "1d" },
    latency: { type: "string", default: "20" },
    concurrency: { type: "string", default: "4" },
    limit: { type: "string", default: "20" },
    reps: { type: "string", default: "3" },
  },
});
const days = Number(opts.days);
const from = "2024-03-01T00:00:00Z";
const to = new Date(Date.parse(from) + days * 86_400_000).toISOString().replace(".000Z", "Z");

// About 40 messages a day (chat API), from 2024-03-01T08:00Z on.
const api = await chatApi({ messages: Math.ceil(days * 40) + 80, latencyMs: Number(opts.latency) });
const tmp = tempDir("restduck-bench-windows-");

function config(paginator: "sequential" | "total", windowed: boolean): Record<string, unknown> {
  const c = seedConfig(api.url) as { client: Record<string, unknown>; resources: Record<string, unknown>[] };
  c.client.concurrency = Number(opts.concurrency);
  c.resources[0].endpoint = {
    path: "/v1/messages",
    data_selector: "messages",
    paginator: paginator === "total" ? { type: "offset", limit: Number(opts.limit) } : { type: "offset", limit: Number(opts.limit), total_path: null, stop_after_empty_page: true },
    params: { since: "{incremental.start_value}", until: "{incremental.end_value}" },
    incremental: { cursor_path: "timestamp", initial_value: from, end_value: to, ...(windowed ? { window: opts.window } : {}) },
  };
  return { pipeline_name: "bench", ...c, resource_defaults: { primary_key: "id", write_disposition: "append" } };
}

const scenarios = [
  { name: "sequential pages, one window", paginator: "sequential", windowed: false },
  { name: `sequential pages, ${opts.window} windows`, paginator: "sequential", windowed: true },
  { name: "pages with a total, one window", paginator: "total", windowed: false },
  { name: `pages with a total, ${opts.window} windows`, paginator: "total", windowed: true },
] as const;

const times = new Map<string, number[]>();
const facts = new Map<string, string>();
let n = 0;
try {
  for (let rep = 0; rep < Number(opts.reps); rep++) {
    for (const s of scenarios) {
      const db = join(tmp.dir, `b${n++}.duckdb`);
      const before = api.requests.length;
      const started = performance.now();
      const summary = await runPipeline(prepareConfig(config(s.paginator, s.windowed), { env: SEED_ENV, cwd: tmp.dir }), { database: db });
      const ms = performance.now() - started;
      times.set(s.name, [...(times.get(s.name) ?? []), ms]);
      facts.set(s.name, `${summary.resources[0].rows} rows, ${api.requests.length - before} requests`);
    }
  }
} finally {
  await api.close();
  tmp.cleanup();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`range ${from} .. ${to} (${days} days), window ${opts.window}, latency ${opts.latency} ms, concurrency ${opts.concurrency}, limit ${opts.limit}, reps ${opts.reps}`);
for (const s of scenarios) {
  const t = times.get(s.name)!;
  console.log(`${s.name.padEnd(36)} median ${(median(t) / 1000).toFixed(2)} s  (runs ${t.map((x) => (x / 1000).toFixed(2)).join(", ")} s; ${facts.get(s.name)})`);
}
