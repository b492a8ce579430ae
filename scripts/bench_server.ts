/**
 * The benchmark's chat API: the seed's shape (OAuth2 client credentials,
 * `/v1/messages` with offset/limit, records under `messages` with nested
 * attachments and reactions, a `total`), built to never be the bottleneck:
 * every 100-message page is pre-rendered JSON, and several processes
 * (node:cluster) share the port. Listens on 127.0.0.1 only.
 *
 *   node scripts/bench_server.ts --messages 100000 [--workers 2] [--fault-rate 0.05]
 *        [--fault-statuses 500,502,503,504] [--retry-after 0] [--latency-ms 20] [--token-ttl 3600] [--cache DIR]
 *        [--rate-requests 20 --rate-seconds 1 --workers 0]   # enforce and announce X-RateLimit-*
 *        [--rate-headers false]                            # enforce only: 429 + Retry-After, no X-RateLimit-*
 *
 * A fault answers one of the fault statuses at random, with `Retry-After` only when --retry-after
 * is above 0. `GET /bench/stats` (JSON) counts this process's answered pages and 429s and when the
 * first and last page went out; `POST /bench/stats` resets them (use with --workers 0).
 *
 * Prints one JSON line `{"url": …, "pids": […]}` when ready; SIGTERM stops
 * the workers and the primary. `since_id=N` serves only messages with id > N
 * (for incremental reruns). Pages are rendered once per (messages, seed) into
 * `--cache` and reused by later runs.
 */
import cluster from "node:cluster";
import { createHmac } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateMessages, rng } from "../src/demo/chat_api.ts";

export const PAGE = 100;
export const BENCH_CLIENT_ID = "bench-client";
export const BENCH_CLIENT_SECRET = "bench-secret-0123";

export interface PageStore {
  messages: number;
  /** JSON of each 100-message array, concatenated. */
  data: Buffer;
  /** Byte offsets: chunk i is data[index[i], index[i+1]). */
  index: Float64Array;
}

/**
 * Renders (or loads from the cache) the message arrays of every page, and
 * optionally the same messages as NDJSON for DuckDB's read_json.
 */
export function buildPages(messages: number, options: { seed?: number; cacheDir?: string; ndjson?: string } = {}): PageStore {
  const seed = options.seed ?? 1;
  const dir = options.cacheDir ?? join(tmpdir(), "restduck-bench-cache");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `chat-${seed}-${messages}`);
  const pages = Math.ceil(messages / PAGE);
  if (!existsSync(`${base}.idx`) || (options.ndjson && !existsSync(`${base}.ndjson`))) {
    const dataFd = openSync(`${base}.dat.tmp`, "w");
    const ndFd = openSync(`${base}.ndjson.tmp`, "w");
    const index = new Float64Array(pages + 1);
    let at = 0;
    for (let p = 0; p < pages; p++) {
      const batch = generateMessages(Math.min(PAGE, messages - p * PAGE), { seed, from: p * PAGE + 1 });
      const buf = Buffer.from(JSON.stringify(batch));
      writeSync(dataFd, buf);
      writeSync(ndFd, batch.map((m) => JSON.stringify(m)).join("\n") + "\n");
      index[p] = at;
      at += buf.length;
    }
    index[pages] = at;
    closeSync(dataFd);
    closeSync(ndFd);
    renameSync(`${base}.dat.tmp`, `${base}.dat`);
    renameSync(`${base}.ndjson.tmp`, `${base}.ndjson`);
    writeFileSync(`${base}.idx.tmp`, Buffer.from(index.buffer));
    renameSync(`${base}.idx.tmp`, `${base}.idx`);
  }
  if (options.ndjson && options.ndjson !== `${base}.ndjson`) writeFileSync(options.ndjson, readFileSync(`${base}.ndjson`));
  const idx = readFileSync(`${base}.idx`);
  return { messages, data: readFileSync(`${base}.dat`), index: new Float64Array(idx.buffer, idx.byteOffset, idx.byteLength / 8) };
}

/** Where the NDJSON copy of a page store lives. */
export function ndjsonPath(messages: number, options: { seed?: number; cacheDir?: string } = {}): string {
  return join(options.cacheDir ?? join(tmpdir(), "restduck-bench-cache"), `chat-${options.seed ?? 1}-${messages}.ndjson`);
}

interface ServeOptions {
  /** Fixed-window rate limit the server enforces (429 beyond it) and announces in X-RateLimit-* headers. */
  rateRequests: number;
  rateSeconds: number;
  /** Announce the window in X-RateLimit-* headers (else only 429 + Retry-After beyond it). */
  rateHeaders: boolean;
  faultRate: number;
  faultStatuses: number[];
  retryAfter: number;
  latencyMs: number;
  tokenTtl: number;
  seed: number;
}

const SECRET = "bench-token-key";
const sign = (expiry: number) => createHmac("sha256", SECRET).update(String(expiry)).digest("base64url").slice(0, 16);


function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** Serves a page store on `port` (0 = any; cluster workers share the primary's). */
function serve(store: PageStore, options: ServeOptions, port: number, worker: number): Promise<number> {
  const random = rng(options.seed * 7919 + worker);
  const n = store.messages;
  let windowId = -1;
  let windowCount = 0;
  const stats = { pages: 0, refused: 0, faults: 0, firstPageMs: 0, lastPageMs: 0 };
  const server = createServer(async (req, res) => {
    const q = req.url!.indexOf("?");
    const path = q < 0 ? req.url! : req.url!.slice(0, q);
    if (path === "/bench/stats") {
      if (req.method === "POST") Object.assign(stats, { pages: 0, refused: 0, faults: 0, firstPageMs: 0, lastPageMs: 0 });
      return json(res, 200, stats);
    }
    if (path === "/oauth/token" && req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      if (form.get("client_id") !== BENCH_CLIENT_ID || form.get("client_secret") !== BENCH_CLIENT_SECRET) {
        return json(res, 401, { error: "invalid_client" });
      }
      const expiry = Date.now() + options.tokenTtl * 1000;
      return json(res, 200, { access_token: `b.${expiry}.${sign(expiry)}`, token_type: "Bearer", expires_in: options.tokenTtl });
    }
    if (path !== "/v1/messages") return json(res, 404, { error: "not_found" });
    const token = /^Bearer b\.(\d+)\.(.+)$/.exec(req.headers.authorization ?? "");
    if (!token || Number(token[1]) < Date.now() || sign(Number(token[1])) !== token[2]) return json(res, 401, { error: "invalid_token" });
    let rateHeaders: Record<string, string> = {};
    if (options.rateRequests > 0) {
      // Per process: run with --workers 0 so the window is global.
      const windowMs = options.rateSeconds * 1000;
      const now = Date.now();
      const id = Math.floor(now / windowMs);
      if (id !== windowId) {
        windowId = id;
        windowCount = 0;
      }
      windowCount++;
      const resetEpoch = Math.ceil(((id + 1) * windowMs) / 1000);
      if (options.rateHeaders) {
        rateHeaders = { "x-ratelimit-limit": String(options.rateRequests), "x-ratelimit-remaining": String(Math.max(0, options.rateRequests - windowCount)), "x-ratelimit-reset": String(resetEpoch) };
      }
      if (windowCount > options.rateRequests) {
        stats.refused++;
        return json(res, 429, { error: "rate_limited" }, { ...rateHeaders, "retry-after": String(Math.max(1, resetEpoch - Math.floor(now / 1000))) });
      }
    }
    if (options.faultRate > 0 && random() < options.faultRate) {
      const status = options.faultStatuses[Math.floor(random() * options.faultStatuses.length)];
      stats.faults++;
      return json(res, status, { error: status === 429 ? "rate_limited" : "unavailable" }, options.retryAfter > 0 ? { "retry-after": String(options.retryAfter) } : {});
    }
    const params = new URLSearchParams(q < 0 ? "" : req.url!.slice(q + 1));
    const offset = Number(params.get("offset") ?? 0) || 0;
    const limit = Number(params.get("limit") ?? PAGE) || PAGE;
    const since = Number(params.get("since_id") ?? 0) || 0;
    const start = since + offset; // ids are 1..n, so "id > since" is a shift
    const total = Math.max(0, n - since);
    let array: Buffer | string;
    if (start >= n) array = "[]";
    else if (limit === PAGE && start % PAGE === 0) {
      const p = start / PAGE;
      array = store.data.subarray(store.index[p], store.index[p + 1]);
    } else return json(res, 400, { error: "bench server serves limit=100 pages at multiples of 100" });
    const head = `{"messages":`;
    const tail = `,"total":${total},"offset":${offset},"limit":${limit}}`;
    const length = head.length + (typeof array === "string" ? array.length : array.length) + tail.length;
    const send = () => {
      stats.pages++;
      stats.lastPageMs = Date.now();
      if (stats.pages === 1) stats.firstPageMs = stats.lastPageMs;
      res.writeHead(200, { "content-type": "application/json", "content-length": length, ...rateHeaders });
      res.cork();
      res.write(head);
      res.write(array);
      res.end(tail);
    };
    if (options.latencyMs > 0) setTimeout(send, options.latencyMs);
    else send();
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: "string", default: "100000" },
      workers: { type: "string", default: "2" },
      "fault-rate": { type: "string", default: "0" },
      "rate-requests": { type: "string", default: "0" },
      "rate-seconds": { type: "string", default: "1" },
      "rate-headers": { type: "string", default: "true" },
      "fault-statuses": { type: "string", default: "500,502,503,504" },
      "retry-after": { type: "string", default: "0" },
      "latency-ms": { type: "string", default: "0" },
      "token-ttl": { type: "string", default: "3600" },
      seed: { type: "string", default: "1" },
      cache: { type: "string" },
      ndjson: { type: "string" },
      port: { type: "string", default: "0" },
    },
  });
  const messages = Number(values.messages);
  const serveOptions: ServeOptions = {
    rateRequests: Number(values["rate-requests"]),
    rateSeconds: Number(values["rate-seconds"]),
    rateHeaders: values["rate-headers"] !== "false",
    faultRate: Number(values["fault-rate"]),
    faultStatuses: values["fault-statuses"]!.split(",").map(Number),
    retryAfter: Number(values["retry-after"]),
    latencyMs: Number(values["latency-ms"]),
    tokenTtl: Number(values["token-ttl"]),
    seed: Number(values.seed),
  };
  const workers = Math.max(0, Number(values.workers));
  if (cluster.isPrimary) {
    // Render once (cached) before forking, so workers only read the files.
    buildPages(messages, { seed: serveOptions.seed, cacheDir: values.cache });
    if (workers === 0) {
      const port = await serve(buildPages(messages, { seed: serveOptions.seed, cacheDir: values.cache }), serveOptions, Number(values.port), 0);
      console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, pids: [process.pid] }));
      process.on("SIGTERM", () => process.exit(0));
      return;
    }
    // Round-robin accept in the primary spreads the client's connections over the workers.
    cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.setupPrimary({ execArgv: process.execArgv, args: process.argv.slice(2) });
    const ports: number[] = [];
    const pids: number[] = [];
    let first = true;
    for (let i = 0; i < workers; i++) {
      const w = cluster.fork({ BENCH_WORKER: String(i), BENCH_PORT: first ? values.port : "" });
      pids.push(w.process.pid!);
      first = false;
      w.on("message", (m: { port?: number }) => {
        if (m.port === undefined) return;
        ports.push(m.port);
        if (ports.length === workers) console.log(JSON.stringify({ url: `http://127.0.0.1:${ports[0]}`, pids }));
      });
    }
    const stop = () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
      setTimeout(() => process.exit(0), 200).unref();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  } else {
    const store = buildPages(messages, { seed: serveOptions.seed, cacheDir: values.cache });
    // cluster shares one port among workers: listen(0) in every worker gets the same port.
    const port = await serve(store, serveOptions, Number(values.port), Number(process.env.BENCH_WORKER ?? 0));
    process.send!({ port });
    process.on("SIGTERM", () => process.exit(0));
  }
}

if (process.argv[1]?.endsWith("bench_server.ts")) await main();
