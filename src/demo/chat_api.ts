/**
 * A chat API that behaves like the seed's: an OAuth2 client-credentials
 * token endpoint and `/v1/messages` with offset/limit pagination, records
 * under `messages` and a `total`. `restduck demo` runs against it, and it is
 * the test suite's and the benchmark's mock API. It listens on 127.0.0.1 only.
 *
 * Faults can be injected per request (429 with Retry-After, 5xx, HTML with
 * status 200, truncated JSON, a dropped connection, a slow answer) so that
 * retries and error paths are exercised against a real socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One chat message as the API returns it. */
export interface ChatMessage {
  id: number;
  timestamp: string;
  content: string;
  sender_id: string;
  channel: string;
  attachments: { id: string; url: string; size: number }[];
  reactions: { emoji: string; users: string[] }[];
  thread: { id: string; reply_count: number } | null;
}

/** A fault to answer instead of the normal response. */
export interface Fault {
  /** Which request it hits: the n-th request to /v1/messages (1-based), or a predicate. */
  nth?: number;
  match?: (req: { path: string; query: URLSearchParams; count: number }) => boolean;
  /** Apply to the token endpoint instead of the messages endpoint. */
  token?: boolean;
  status?: number;
  /** `Retry-After` header value (seconds as a number, or a string such as an HTTP date). */
  retryAfter?: number | string;
  kind?: "status" | "html200" | "truncated" | "reset" | "slow" | "not_json" | "wrong_selector";
  /** For `slow`: how long to wait before answering. */
  delayMs?: number;
}

export interface ChatApiOptions {
  /** How many messages exist (default 300). */
  messages?: number;
  clientId?: string;
  clientSecret?: string;
  /** Token lifetime announced and enforced, in seconds (default 3600). */
  tokenTtl?: number;
  /** Largest `limit` the API honours (default 1000). */
  maxLimit?: number;
  faults?: Fault[];
  /** Fraction (0..1) of message requests answered 429/503 at random (seeded). */
  faultRate?: number;
  /** Retry-After for random faults, seconds (default 1). */
  faultRetryAfter?: number;
  /** Delay added to every messages response, ms. */
  latencyMs?: number;
  /** Seed for generated content and random faults (default 1). */
  seed?: number;
  /** Start of the generated timestamps (default 2024-03-01T08:00:00Z). */
  start?: string;
  /** Port to listen on (default 0 = any free port). */
  port?: number;
}

/** One logged request. */
export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Authorization header as received (tests check no stale token is used). */
  authorization?: string;
}

export interface ChatApi {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every request served, in order. */
  requests: RequestLogEntry[];
  messages: ChatMessage[];
  /** Tokens issued so far. */
  tokensIssued: number;
  /** Most message requests that were being served at the same time. */
  maxInFlight: number;
  /** Called with the count (1-based) of every authorized message request, before faults apply: tests time kills with it. */
  onRequest?: (count: number) => void;
  /** Makes every issued token invalid (the next API call gets 401). */
  expireTokens(): void;
  /** Changes a message in place (a later run should update it). */
  updateMessage(id: number, patch: Partial<ChatMessage>): void;
  /** Appends n new messages (a later run should add them). */
  addMessages(n: number): void;
  /** Adds faults from now on. */
  addFaults(faults: Fault[]): void;
  close(): Promise<void>;
}

const SENDERS = ["u_ada", "u_grace", "u_linus", "u_margaret", "u_ken", "u_barbara", "u_dennis"];
const CHANNELS = ["general", "random", "eng", "support"];
const WORDS = ["deploy", "lunch", "review", "merge", "coffee", "incident", "release", "retro", "docs", "bug", "ship", "test", "duck", "query"];
const EMOJI = ["👍", "🎉", "🦆", "❤️", "👀"];

/** Small seeded PRNG (mulberry32): the same seed gives the same messages (and test kill points) everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates messages `from`..`from+count-1` deterministically. */
export function generateMessages(count: number, options: { seed?: number; from?: number; start?: string } = {}): ChatMessage[] {
  const from = options.from ?? 1;
  const startMs = Date.parse(options.start ?? "2024-03-01T08:00:00Z");
  const out: ChatMessage[] = [];
  for (let id = from; id < from + count; id++) {
    const r = rng((options.seed ?? 1) * 1_000_003 + id);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const words = Array.from({ length: 3 + Math.floor(r() * 8) }, () => pick(WORDS));
    const nAttach = r() < 0.3 ? 1 + Math.floor(r() * 2) : 0;
    const nReact = r() < 0.5 ? 1 + Math.floor(r() * 3) : 0;
    out.push({
      id,
      // About 40 messages a day, so the demo's per-day analysis has several days.
      timestamp: new Date(startMs + id * 36 * 60 * 1000 + Math.floor(r() * 60_000)).toISOString(),
      content: words.join(" "),
      sender_id: pick(SENDERS),
      channel: pick(CHANNELS),
      attachments: Array.from({ length: nAttach }, (_, i) => ({
        id: `a${id}_${i}`,
        url: `https://files.example.com/${id}/${i}.png`,
        size: 1000 + Math.floor(r() * 500_000),
      })),
      reactions: Array.from({ length: nReact }, (_, i) => ({
        emoji: EMOJI[(id + i) % EMOJI.length],
        users: Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(SENDERS)),
      })),
      thread: r() < 0.2 ? { id: `t${id}`, reply_count: Math.floor(r() * 10) } : null,
    });
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/html" : "application/json", ...headers });
  res.end(text);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the chat API on 127.0.0.1. */
export async function startChatApi(options: ChatApiOptions = {}): Promise<ChatApi> {
  const clientId = options.clientId ?? "demo-client";
  const clientSecret = options.clientSecret ?? "demo-secret";
  const ttl = options.tokenTtl ?? 3600;
  const maxLimit = options.maxLimit ?? 1000;
  const messages = generateMessages(options.messages ?? 300, { seed: options.seed, start: options.start });
  const faults: Fault[] = [...(options.faults ?? [])];
  const random = rng((options.seed ?? 1) ^ 0x5eed);
  const tokens = new Map<string, number>(); // token → expiry (ms)
  const requests: RequestLogEntry[] = [];
  let messageRequests = 0;
  let tokenRequests = 0;
  let tokensIssued = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const sockets = new Set<import("node:net").Socket>();

  const takeFault = (token: boolean, path: string, query: URLSearchParams, count: number): Fault | undefined => {
    const i = faults.findIndex((f) => Boolean(f.token) === token && (f.nth === count || (f.match?.({ path, query, count }) ?? false)));
    if (i < 0) return undefined;
    const [f] = faults.splice(i, 1);
    return f;
  };

  const applyFault = async (res: ServerResponse, f: Fault, log: RequestLogEntry): Promise<boolean> => {
    const kind = f.kind ?? "status";
    if (kind === "slow") {
      await sleep(f.delayMs ?? 5000);
      return false; // then answer normally (if the client is still there)
    }
    if (kind === "reset") {
      log.status = 0;
      res.socket?.destroy();
      return true;
    }
    if (kind === "html200") {
      log.status = 200;
      send(res, 200, "<!doctype html><html><body><h1>Gateway maintenance</h1></body></html>");
      return true;
    }
    if (kind === "truncated") {
      log.status = 200;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"messages": [{"id": 1, "content": "cut he');
      return true;
    }
    if (kind === "not_json") {
      log.status = 200;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("OK");
      return true;
    }
    if (kind === "wrong_selector") {
      log.status = 200;
      send(res, 200, { data: [], total: 0 });
      return true;
    }
    const status = f.status ?? 503;
    log.status = status;
    const headers: Record<string, string> = {};
    if (f.retryAfter !== undefined) headers["retry-after"] = String(f.retryAfter);
    send(res, status, { error: status === 429 ? "rate_limited" : "unavailable" }, headers);
    return true;
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const log: RequestLogEntry = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      authorization: req.headers.authorization,
    };
    requests.push(log);
    try {
      if (url.pathname === "/oauth/token") {
        tokenRequests++;
        const fault = takeFault(true, url.pathname, url.searchParams, tokenRequests);
        if (fault && (await applyFault(res, fault, log))) return;
        if (req.method !== "POST") return send(res, (log.status = 405), { error: "invalid_request", error_description: "use POST" });
        const form = new URLSearchParams(await readBody(req));
        let id = form.get("client_id");
        let secret = form.get("client_secret");
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
        if (basic) [id, secret] = Buffer.from(basic[1], "base64").toString("utf8").split(":").map(decodeURIComponent);
        if (form.get("grant_type") !== "client_credentials") {
          return send(res, (log.status = 400), { error: "unsupported_grant_type", error_description: "expected grant_type=client_credentials" });
        }
        if (id !== clientId || secret !== clientSecret) {
          return send(res, (log.status = 401), { error: "invalid_client", error_description: "client authentication failed" });
        }
        tokensIssued++;
        const token = `tok_${tokensIssued}_${Math.floor(random() * 1e9).toString(36)}`;
        tokens.set(token, Date.now() + ttl * 1000);
        return send(res, (log.status = 200), { access_token: token, token_type: "Bearer", expires_in: ttl });
      }

      if (url.pathname === "/v1/messages" && req.method === "GET") {
        messageRequests++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        res.once("close", () => inFlight--);
        const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        const expiry = auth ? tokens.get(auth) : undefined;
        if (!expiry || expiry < Date.now()) {
          return send(res, (log.status = 401), { error: "invalid_token", error_description: "the access token is missing, invalid or expired" });
        }
        api.onRequest?.(messageRequests);
        const fault = takeFault(false, url.pathname, url.searchParams, messageRequests);
        if (fault && (await applyFault(res, fault, log))) return;
        if (options.faultRate && random() < options.faultRate) {
          const status = random() < 0.5 ? 429 : 503;
          await applyFault(res, { status, retryAfter: options.faultRetryAfter ?? 1 }, log);
          return;
        }
        if (options.latencyMs) await sleep(options.latencyMs);
        const offset = Math.max(0, Number(url.searchParams.get("offset") ?? 0) || 0);
        const limit = Math.min(maxLimit, Math.max(1, Number(url.searchParams.get("limit") ?? 100) || 100));
        // `since` (inclusive) and `until` (exclusive) select by timestamp, as a backfill in windows asks.
        const since = Date.parse(url.searchParams.get("since") ?? "");
        const until = Date.parse(url.searchParams.get("until") ?? "");
        const selected = Number.isNaN(since) && Number.isNaN(until) ? messages : messages.filter((m) => (Number.isNaN(since) || Date.parse(m.timestamp) >= since) && (Number.isNaN(until) || Date.parse(m.timestamp) < until));
        const page = selected.slice(offset, offset + limit);
        return send(res, (log.status = 200), { messages: page, total: selected.length, offset, limit });
      }

      send(res, (log.status = 404), { error: "not_found", error_description: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      send(res, (log.status = 500), { error: "server_error", error_description: String(error) });
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const api: ChatApi = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    messages,
    get tokensIssued() {
      return tokensIssued;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    expireTokens() {
      for (const k of tokens.keys()) tokens.set(k, 0);
    },
    updateMessage(id, patch) {
      const m = messages.find((x) => x.id === id);
      if (!m) throw new Error(`no message ${id}`);
      Object.assign(m, patch);
    },
    addMessages(n) {
      const from = messages.length ? messages[messages.length - 1].id + 1 : 1;
      messages.push(...generateMessages(n, { seed: options.seed, from, start: options.start }));
    },
    addFaults(more) {
      faults.push(...more);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}

/** The seed's config (../shared/seed-chat-api.md) pointed at a chat API. */
export function seedConfig(baseUrl: string): Record<string, unknown> {
  return {
    client: {
      base_url: baseUrl,
      auth: {
        type: "oauth2",
        client_id: { $secret: "client_id" },
        client_secret: { $secret: "client_secret" },
        token_url: `${baseUrl}/oauth/token`,
      },
    },
    resource_defaults: { primary_key: "id", write_disposition: "merge" },
    resources: [
      {
        name: "chat_messages",
        endpoint: { path: "/v1/messages", data_selector: "messages", paginator: { type: "offset", limit: 100 } },
      },
    ],
  };
}
