import type { HttpResponse, RequestData } from "../http/client.ts";

/** One page request. Serializable: it is also the checkpoint a run resumes from. */
export interface PageRequest {
  method: "GET" | "POST";
  url: string;
  params: Record<string, string | number | boolean>;
  json?: Record<string, unknown>;
  /** `endpoint.data` with its placeholders filled; paginators leave it as it is. */
  data?: RequestData;
  headers?: Record<string, string>;
}

/** A paginator turns the page just fetched into the request for the next one. */
export interface Paginator {
  /** Name shown in logs, e.g. `offset (limit 100)`. */
  readonly name: string;
  /** Prepares the first request (sets offset/limit, page, …). */
  init(request: PageRequest): PageRequest;
  /** The next request, or undefined when the last page was fetched. */
  next(request: PageRequest, response: HttpResponse, records: readonly unknown[]): PageRequest | undefined;
  /**
   * The requests for every remaining page, when they can be computed from this
   * response (offset and page_number once a total is known). Lets the walk
   * fetch several pages at once; `next` still decides where the walk stops.
   */
  plan?(request: PageRequest, response: HttpResponse, records: readonly unknown[]): Iterable<PageRequest> | undefined;
  /** How many pages the whole walk has, when the response says (a total): progress shows it with an ETA. */
  totalPages?(response: HttpResponse): number | undefined;
}

/** Sets a dotted path (`page.offset`) inside a JSON body, copying the objects on the way. */
export function setBodyPath(json: Record<string, unknown> | undefined, path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = { ...json };
  const parts = path.split(".");
  let node = root;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    node[part] = typeof child === "object" && child !== null && !Array.isArray(child) ? { ...(child as object) } : {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
  return root;
}

/** Reads a dotted path inside a JSON body. */
export function getBodyPath(json: Record<string, unknown> | undefined, path: string): unknown {
  let node: unknown = json;
  for (const part of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Interprets a has_more-style value: false, "false", 0 and null mean "no more pages". */
export function isFalsy(value: unknown): boolean {
  return value === false || value === 0 || value === null || value === "false" || value === "False" || value === "0";
}
