/**
 * Cursor and link paginators: the next request comes from the response (a
 * cursor in the body or a header, a next URL in the body or `Link` header).
 * A cursor or URL that repeats would loop forever, so it is an error.
 */
import type { PaginatorConfig } from "../config/schema.ts";
import { ResponseError } from "../errors.ts";
import { setPath } from "../shared/dotted_path.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";
import { isFalsy, type PageRequest, type Paginator } from "./types.ts";
import { parseLinkHeader } from "./link_header.ts";

type CursorConfig = Extract<PaginatorConfig, { type: "cursor" }>;
type JsonLinkConfig = Extract<PaginatorConfig, { type: "json_link" }>;
type HeaderLinkConfig = Extract<PaginatorConfig, { type: "header_link" }>;
type HeaderCursorConfig = Extract<PaginatorConfig, { type: "header_cursor" }>;

function repeatGuard(name: string) {
  const seen = new Set<string>();
  return (value: string, url: string) => {
    if (seen.has(value)) {
      throw new ResponseError(`${name}: the API returned the same next page again (${JSON.stringify(value.slice(0, 120))}) at ${url}; stopping instead of looping forever`, {
        hint: "check cursor_path / next_url_path point at the *next* page's cursor, or set max_pages",
      });
    }
    seen.add(value);
  };
}

const isEmptyCursor = (v: unknown) => v === undefined || v === null || v === "" || v === false;

/** dlt's `cursor` paginator (JSONResponseCursorPaginator): a cursor from the body, sent as a param or in the JSON body. */
export function cursorPaginator(c: CursorConfig): Paginator {
  const param = c.cursor_param ?? (c.cursor_body_path ? undefined : "cursor");
  const guard = repeatGuard("cursor paginator");
  return {
    name: `cursor (${c.cursor_path})`,
    init: (r) => r,
    next(request, response, records) {
      if (c.stop_after_empty_page && records.length === 0) return undefined;
      if (c.has_more_path && isFalsy(firstJsonPath(response.body, c.has_more_path))) return undefined;
      const cursor = firstJsonPath(response.body, c.cursor_path);
      if (isEmptyCursor(cursor)) return undefined;
      const value = typeof cursor === "string" ? cursor : JSON.stringify(cursor);
      guard(value, response.url);
      if (c.cursor_body_path) return { ...request, json: setPath(request.json, c.cursor_body_path, cursor) };
      return { ...request, params: { ...request.params, [param!]: value } };
    },
  };
}

/** A next URL, absolute or relative to the current one; its own query replaces the request's params. */
function followUrl(request: PageRequest, next: string, currentUrl: string): PageRequest {
  const absolute = new URL(next, currentUrl).toString();
  return { ...request, url: absolute, params: {} };
}

/** dlt's `json_link` paginator: the next page's URL is in the body. */
export function jsonLinkPaginator(c: JsonLinkConfig): Paginator {
  const guard = repeatGuard("json_link paginator");
  return {
    name: `json_link (${c.next_url_path})`,
    init: (r) => r,
    next(request, response) {
      const next = firstJsonPath(response.body, c.next_url_path);
      if (isEmptyCursor(next)) return undefined;
      if (typeof next !== "string") {
        throw new ResponseError(`json_link paginator: value at "${c.next_url_path}" is not a URL: ${JSON.stringify(next).slice(0, 80)} (${response.url})`, {
          hint: "point next_url_path at the next page's URL",
        });
      }
      const nextRequest = followUrl(request, next, response.url);
      guard(nextRequest.url, response.url);
      return nextRequest;
    },
  };
}

/** dlt's `header_link` paginator: RFC 8288 `Link: <url>; rel="next"`. */
export function headerLinkPaginator(c: HeaderLinkConfig): Paginator {
  const guard = repeatGuard("header_link paginator");
  return {
    name: "header_link",
    init: (r) => r,
    next(request, response) {
      const header = response.headers.get("link");
      const next = header ? parseLinkHeader(header)[c.links_next_key] : undefined;
      if (!next) return undefined;
      const nextRequest = followUrl(request, next, response.url);
      guard(nextRequest.url, response.url);
      return nextRequest;
    },
  };
}

/** dlt's `header_cursor` paginator: a cursor in a response header, sent as a param. */
export function headerCursorPaginator(c: HeaderCursorConfig): Paginator {
  const guard = repeatGuard("header_cursor paginator");
  return {
    name: `header_cursor (${c.cursor_key})`,
    init: (r) => r,
    next(request, response) {
      const cursor = response.headers.get(c.cursor_key);
      if (!cursor) return undefined;
      guard(cursor, response.url);
      return { ...request, params: { ...request.params, [c.cursor_param]: cursor } };
    },
  };
}
