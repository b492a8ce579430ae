/**
 * A mock REST API with one route per pagination and auth style, each with
 * its edge cases, plus response shapes ported from real APIs (Slack,
 * Discord, Microsoft Graph, Intercom, Zendesk, Twilio, Mattermost, Zulip,
 * GitHub): their record keys, cursor locations and rate-limit signals.
 * Listens on 127.0.0.1, port 0. Every request is logged.
 *
 * It is the test suite's one configurable mock API: `pages` serves fixed
 * payloads at paths of your choosing (the load tests' single-page fixtures),
 * `routes` adds or replaces handlers, `auth` guards every route with a
 * header, `latencyMs` slows every answer and `faults` (or `queue` later)
 * answers chosen responses first. The demo's chat API (src/demo/chat_api.ts)
 * is product code and stays separate; tests reach both through `testEnv`.
 *
 * Items are `{ id, name, updated_at, group }` with ids 1..n, updated_at one
 * hour apart from 2024-01-01T00:00:00Z.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Item {
  id: number;
  name: string;
  updated_at: string;
  group: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  /** The request's Content-Type header, if it sent one. */
  contentType?: string;
  body: unknown;
}

export interface MockApi {
  url: string;
  items: Item[];
  requests: LoggedRequest[];
  /** Requests to one path (exact match on the path without query). */
  hits(path: string): LoggedRequest[];
  /** Changes items (e.g. to test merges and incremental runs). */
  setItems(items: Item[]): void;
  /** Body served per path by the `pages` option (`/things` → `{ items }`); replace entries between runs. Raw strings are served as they are. */
  pages: Map<string, unknown[] | string>;
  /** Responses to answer before the normal one on a path: each used once, in order. */
  queue(path: string, ...responses: QueuedResponse[]): void;
  close(): Promise<void>;
}

export const CREDENTIALS = {
  token: "tok-abc-123",
  apiKey: "key-xyz-789",
  username: "ada",
  password: "pa:ss wörd",
  clientId: "client-1",
  clientSecret: "secret-1",
};

export function makeItems(n: number, from = 1): Item[] {
  return Array.from({ length: n }, (_, i) => {
    const id = from + i;
    return { id, name: `item ${id}`, updated_at: new Date(Date.UTC(2024, 0, 1) + (id - 1) * 3_600_000).toISOString(), group: id % 2 ? "odd" : "even" };
  });
}

/** A response answered once, instead of the route's normal one (a fault, a rate limit, a bad body). */
export interface QueuedResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface MockApiOptions {
  /** How many items the built-in routes serve (default 25). */
  items?: number;
  /** Fixed payloads by path, each served as one page `{ "items": [...] }` (raw strings as they are); they win over routes. */
  pages?: Record<string, unknown[] | string>;
  /** Extra routes (or replacements for built-in ones); `:name` segments match any one path segment. */
  routes?: Record<string, MockHandler>;
  /** A header every request must carry, else 401 (e.g. `{ header: "authorization", value: "Bearer t" }`). */
  auth?: { header: string; value: string };
  /** Delay before every answer, ms. */
  latencyMs?: number;
  /** Responses to answer first, by path: each used once, in order (the same as calling `queue`). */
  faults?: Record<string, QueuedResponse[]>;
  /**
   * A scripted conversation instead of the routes: the n-th request (1-based) is answered by
   * `script[n-1]`, the last one repeating. Handlers get the raw response, so they can also drop the
   * connection or answer late (the retry and timeout tests), and the request body as text (the request
   * stream is already read).
   */
  script?: ((res: ServerResponse, req: IncomingMessage, body: string) => void)[];
}

export type MockHandler = (ctx: { req: IncomingMessage; url: URL; q: URLSearchParams; body: any; base: string; items: Item[] }) => {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: string;
};
type Handler = MockHandler;

const slash = (path: string) => (path.startsWith("/") ? path : `/${path}`);
const int = (v: string | null, d: number) => (v === null || v === "" ? d : Number(v));

/** Starts the mock API on 127.0.0.1; `close` must be called (`testEnv` does it). */
export async function startMockApi(options: MockApiOptions = {}): Promise<MockApi> {
  let items = makeItems(options.items ?? 25);
  const requests: LoggedRequest[] = [];
  const queued = new Map<string, QueuedResponse[]>(Object.entries(options.faults ?? {}).map(([k, v]) => [slash(k), [...v]]));
  const pages = new Map(Object.entries(options.pages ?? {}).map(([k, v]) => [slash(k), v]));
  let tokensIssued = 0;

  const routes: Record<string, Handler> = {
    // ---------------------------------------------------------- paginators
    "/single": ({ items }) => ({ body: { data: items.slice(0, 5) } }),
    // offset/limit with a total; `?no_total=1` omits it, `?has_more=1` sends has_more instead.
    "/offset": ({ q, items }) => {
      const offset = int(q.get("offset"), 0);
      const limit = int(q.get("limit"), 10);
      const page = items.slice(offset, offset + limit);
      const body: Record<string, unknown> = { items: page };
      if (q.get("no_total") !== "1") body.total = items.length;
      if (q.get("has_more") === "1") body.has_more = offset + limit < items.length;
      return { body };
    },
    // the offset and limit in a POST body
    "/offset-body": ({ body, items }) => {
      const offset = Number(body?.page?.offset ?? 0);
      const limit = Number(body?.page?.limit ?? 10);
      return { body: { items: items.slice(offset, offset + limit), total: items.length } };
    },
    // page numbers (1-based) with total_pages; `?no_total=1` omits it, so only the empty last page stops.
    "/pages": ({ q, items }) => {
      const page = int(q.get("page"), 1);
      const size = int(q.get("per_page"), 10);
      const body: Record<string, unknown> = { results: items.slice((page - 1) * size, page * size) };
      if (q.get("no_total") !== "1") body.total_pages = Math.ceil(items.length / size);
      return { body };
    },
    // cursor in the body; `?repeat=1` keeps sending the same cursor, `?has_more=1` sends has_more false with a cursor on the last page.
    "/cursor": ({ q, items }) => {
      const start = q.get("cursor") ? Number(Buffer.from(q.get("cursor")!, "base64url").toString()) : 0;
      const page = items.slice(start, start + 10);
      const end = start + page.length;
      const more = end < items.length;
      const next = q.get("repeat") === "1" ? Buffer.from("10").toString("base64url") : more || q.get("has_more") === "1" ? Buffer.from(String(end)).toString("base64url") : null;
      return { body: { data: page, meta: { next_cursor: next, has_more: more } } };
    },
    // cursor sent back in the POST body
    "/cursor-post": ({ body, items }) => {
      const start = Number(body?.cursor ?? 0);
      const page = items.slice(start, start + 10);
      const end = start + page.length;
      return { body: { data: page, next: end < items.length ? end : null } };
    },
    // next URL in the body, absolute; `?relative=1` makes it relative
    "/json-link": ({ q, items, base }) => {
      const page = int(q.get("p"), 1);
      const rel = q.get("relative") === "1";
      const more = page * 10 < items.length;
      const next = more ? (rel ? `json-link?p=${page + 1}&relative=1` : `${base}/json-link?p=${page + 1}`) : null;
      return { body: { records: items.slice((page - 1) * 10, page * 10), links: { next } } };
    },
    // OData (Microsoft Graph): `value` and `@odata.nextLink`
    "/odata": ({ q, items, base }) => {
      const skip = int(q.get("$skip"), 0);
      const more = skip + 10 < items.length;
      return { body: { "@odata.context": `${base}/$metadata#items`, value: items.slice(skip, skip + 10), ...(more ? { "@odata.nextLink": `${base}/odata?$skip=${skip + 10}` } : {}) } };
    },
    // RFC 8288 Link header (GitHub): root array
    "/link": ({ q, items, base }) => {
      const page = int(q.get("page"), 1);
      const last = Math.ceil(items.length / 10);
      const links = [`<${base}/link?page=${last}>; rel="last"`];
      if (page < last) links.unshift(`<${base}/link?page=${page + 1}>; rel="next"`);
      return { body: items.slice((page - 1) * 10, page * 10), headers: { link: links.join(", ") } };
    },
    // a cursor in a response header
    "/header-cursor": ({ q, items }) => {
      const start = int(q.get("cursor"), 0);
      const end = start + 10;
      return { body: items.slice(start, end), headers: end < items.length ? { "x-next-cursor": String(end) } : ({} as Record<string, string>) };
    },

    // ---------------------------------------------------------- dependent resources
    "/groups": () => ({ body: [{ name: "odd", label: "Odd" }, { name: "even", label: "Even" }, { name: "gone", label: "Deleted" }] }),
    // children per group; a deleted parent answers 404
    "/groups/:group/items": ({ url, items, q }) => {
      const group = decodeURIComponent(url.pathname.split("/")[2]);
      if (group === "gone") return { status: 404, body: { error: "group not found" } };
      const offset = int(q.get("offset"), 0);
      const all = items.filter((i) => i.group === group);
      return { body: { items: all.slice(offset, offset + 5), total: all.length } };
    },
    "/items/:id": ({ url, items }) => {
      const id = Number(url.pathname.split("/")[2]);
      const item = items.find((i) => i.id === id);
      return item ? { body: { ...item, detail: `detail of ${id}` } } : { status: 404, body: { error: "not found" } };
    },
    // search by POST with a parent value in the JSON body
    "/search": ({ body, items }) => ({ body: { hits: items.filter((i) => i.group === body?.group).slice(0, body?.size ?? 100) } }),

    // ---------------------------------------------------------- incremental
    // `since` / `until` filter on updated_at (server side, inclusive since, exclusive until); no pagination beyond 100
    "/events": ({ q, items }) => {
      const since = q.get("since");
      const until = q.get("until");
      const sel = items.filter((i) => (!since || i.updated_at >= since) && (!until || i.updated_at < until));
      return { body: { events: sel } };
    },

    // ---------------------------------------------------------- auth
    "/auth/bearer": ({ req, items }) => (req.headers.authorization === `Bearer ${CREDENTIALS.token}` ? { body: items.slice(0, 3) } : { status: 401, body: { error: "unauthorized" } }),
    "/auth/api-key-header": ({ req, items }) => (req.headers["x-api-key"] === CREDENTIALS.apiKey ? { body: items.slice(0, 3) } : { status: 401, body: { error: "unauthorized" } }),
    "/auth/api-key-query": ({ q, items }) => (q.get("api_key") === CREDENTIALS.apiKey ? { body: items.slice(0, 3) } : { status: 401, body: { error: "unauthorized" } }),
    "/auth/cookie": ({ req, items }) => (String(req.headers.cookie ?? "").split(/;\s*/).includes(`session=${CREDENTIALS.apiKey}`) ? { body: items.slice(0, 3) } : { status: 401, body: { error: "unauthorized" } }),
    "/auth/basic": ({ req, items }) => {
      const expected = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`, "utf8").toString("base64")}`;
      return req.headers.authorization === expected ? { body: items.slice(0, 3) } : { status: 401, body: { error: "unauthorized" }, headers: { "www-authenticate": 'Basic realm="mock"' } };
    },
    // OAuth2 client credentials: form body or HTTP Basic client auth (RFC 6749 §2.3.1)
    "/oauth/token": ({ req, body }) => {
      const form = new URLSearchParams(typeof body === "string" ? body : "");
      let id = form.get("client_id");
      let secret = form.get("client_secret");
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
      if (basic) {
        const [u, p] = Buffer.from(basic[1], "base64").toString().split(":");
        id = decodeURIComponent(u);
        secret = decodeURIComponent(p);
      }
      if (form.get("grant_type") !== "client_credentials") return { status: 400, body: { error: "unsupported_grant_type" } };
      if (id !== CREDENTIALS.clientId || secret !== CREDENTIALS.clientSecret) return { status: 401, body: { error: "invalid_client", error_description: "Client authentication failed" } };
      tokensIssued++;
      return { body: { access_token: `oauth-${tokensIssued}`, token_type: "Bearer", expires_in: 3600, scope: form.get("scope") ?? "" } };
    },
    "/auth/oauth": ({ req, items }) => (/^Bearer oauth-\d+$/.test(req.headers.authorization ?? "") ? { body: { data: items.slice(0, 3) } } : { status: 401, body: { error: "unauthorized" } }),

    // ---------------------------------------------------------- real API shapes
    // Slack conversations.history: ok flag, messages, response_metadata.next_cursor, has_more; errors in a 200 body
    "/slack/conversations.history": ({ q, items }) => {
      const start = q.get("cursor") ? Number(Buffer.from(q.get("cursor")!, "base64").toString().replace("next_ts:", "")) : 0;
      const limit = int(q.get("limit"), 10);
      const page = items.slice(start, start + limit).map((i) => ({ type: "message", user: `U${i.id}`, text: i.name, ts: `${1704067200 + i.id}.000100` }));
      const more = start + limit < items.length;
      return { body: { ok: true, messages: page, has_more: more, pin_count: 0, response_metadata: { next_cursor: more ? Buffer.from(`next_ts:${start + limit}`).toString("base64") : "" } } };
    },
    // Discord channel messages: root array, newest first, `before` = last id; 429 carries retry_after in the body
    "/discord/channels/1/messages": ({ q, items }) => {
      const limit = int(q.get("limit"), 50);
      const before = q.get("before") ? Number(q.get("before")) : Infinity;
      const page = [...items].reverse().filter((i) => i.id < before).slice(0, limit).map((i) => ({ id: String(i.id), content: i.name, timestamp: i.updated_at, author: { id: "42", username: "ada" } }));
      return { body: page };
    },
    // Intercom: data, pages.next.starting_after
    "/intercom/contacts": ({ q, items }) => {
      const after = int(q.get("starting_after"), 0);
      const per = int(q.get("per_page"), 10);
      const page = items.filter((i) => i.id > after).slice(0, per);
      const last = page.at(-1)?.id;
      const more = last !== undefined && last < items.length;
      return { body: { type: "list", data: page.map((i) => ({ type: "contact", id: String(i.id), name: i.name })), total_count: items.length, pages: { type: "pages", page: 1, per_page: per, ...(more ? { next: { starting_after: String(last) } } : {}) } } };
    },
    // Zendesk cursor pagination: tickets, meta.has_more, meta.after_cursor, links.next
    "/zendesk/api/v2/tickets": ({ q, items, base }) => {
      const after = int(q.get("page[after]"), 0);
      const size = int(q.get("page[size]"), 10);
      const page = items.slice(after, after + size);
      const more = after + size < items.length;
      return { body: { tickets: page.map((i) => ({ id: i.id, subject: i.name, updated_at: i.updated_at })), meta: { has_more: more, after_cursor: more ? String(after + size) : null, before_cursor: String(after) }, links: { next: more ? `${base}/zendesk/api/v2/tickets?page[size]=${size}&page[after]=${after + size}` : null } } };
    },
    // Twilio: messages, next_page_uri relative to the API root
    "/twilio/2010-04-01/Accounts/AC1/Messages.json": ({ q, items }) => {
      const page = int(q.get("Page"), 0);
      const size = int(q.get("PageSize"), 10);
      const more = (page + 1) * size < items.length;
      return { body: { messages: items.slice(page * size, (page + 1) * size).map((i) => ({ sid: `SM${i.id}`, body: i.name, date_created: i.updated_at })), page, page_size: size, next_page_uri: more ? `/twilio/2010-04-01/Accounts/AC1/Messages.json?Page=${page + 1}&PageSize=${size}` : null } };
    },
    // Mattermost: root array, page (0-based) / per_page, an empty page at the end
    "/mattermost/api/v4/users": ({ q, items }) => {
      const page = int(q.get("page"), 0);
      const per = int(q.get("per_page"), 60);
      return { body: items.slice(page * per, (page + 1) * per).map((i) => ({ id: `u${i.id}`, username: `user${i.id}`, update_at: Date.parse(i.updated_at) })) };
    },
    // Zulip: result/msg envelope, messages, anchor-based paging with found_newest
    "/zulip/api/v1/messages": ({ q, items }) => {
      const anchor = q.get("anchor") === "oldest" ? 0 : int(q.get("anchor"), 0);
      const n = int(q.get("num_after"), 10);
      const page = items.filter((i) => i.id > anchor).slice(0, n);
      const newest = page.length === 0 || page.at(-1)!.id >= items.length;
      return { body: { result: "success", msg: "", anchor, found_newest: newest, found_oldest: anchor === 0, messages: page.map((i) => ({ id: i.id, content: i.name, timestamp: Date.parse(i.updated_at) / 1000 })) } };
    },
    ...options.routes,
  };

  const match = (path: string): Handler | undefined => {
    if (routes[path]) return routes[path];
    for (const [pattern, h] of Object.entries(routes)) {
      if (!pattern.includes(":")) continue;
      const re = new RegExp(`^${pattern.replace(/:[a-z]+/g, "[^/]+")}$`);
      if (re.test(path)) return h;
    }
    return undefined;
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      // The client went away mid-request (a run stopped or failed while it was in flight): there is no
      // one to answer. Deno's node:http rejects the body's iterator with "aborted" where Node ends it quietly.
      return;
    }
    const text = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let body: unknown = text;
    if ((req.headers["content-type"] ?? "").includes("json") && text) body = JSON.parse(text);
    requests.push({
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { authorization: req.headers.authorization, cookie: req.headers.cookie, "x-api-key": req.headers["x-api-key"] as string | undefined, "x-group": req.headers["x-group"] as string | undefined },
      contentType: req.headers["content-type"],
      body,
    });
    const nth = requests.length;
    const pending = queued.get(url.pathname);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    if (options.script?.length) return options.script[Math.min(nth, options.script.length) - 1](res, req, text);
    if (options.auth && req.headers[options.auth.header.toLowerCase()] !== options.auth.value) return send(401, { error: "unauthorized" });
    if (pending?.length) {
      const r = pending.shift()!;
      return send(r.status, r.body, r.headers);
    }
    const page = pages.get(url.pathname);
    if (page !== undefined) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(typeof page === "string" ? page : JSON.stringify({ items: page }));
    }
    const handler = match(url.pathname);
    if (!handler) return send(404, { error: `no route ${url.pathname}` });
    const out = handler({ req, url, q: url.searchParams, body, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, items });
    if (out.raw !== undefined) {
      res.writeHead(out.status ?? 200, { "content-type": "application/json", ...out.headers });
      return res.end(out.raw);
    }
    send(out.status ?? 200, out.body, out.headers);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get items() {
      return items;
    },
    requests,
    pages,
    hits: (path) => requests.filter((r) => r.path === path),
    setItems(next) {
      items = next;
    },
    queue(path, ...responses) {
      queued.set(path, [...(queued.get(path) ?? []), ...responses]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
