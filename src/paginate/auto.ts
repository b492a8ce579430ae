/**
 * `auto`: pick a paginator from the first response, as dlt does, and say
 * which. Order: `Link` header, a next URL in the body (including OData's
 * `@odata.nextLink`, which dlt misses), a cursor in the body, a total
 * number of pages (page_number from 1, or from 0 when the body says page 0),
 * else one page.
 */
import type { HttpResponse } from "../http/client.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";
import { cursorPaginator, headerLinkPaginator, jsonLinkPaginator } from "./cursor.ts";
import { parseLinkHeader } from "./link_header.ts";
import { singlePage } from "./single_page.ts";
import { pageNumberPaginator } from "./range.ts";
import type { Paginator } from "./types.ts";

const NEXT_URL_PATHS = [
  "$['@odata.nextLink']", // Microsoft Graph, OData
  "next",
  "next_url",
  "nextUrl",
  "next_page_url",
  "next_page_uri", // Twilio
  "nextLink",
  "links.next",
  "_links.next.href",
  "paging.next",
  "pagination.next",
  "meta.next",
  "meta.next_page_url",
  "links.next.href",
];
/** Where APIs put a cursor, and the parameter they expect it back in. */
const CURSORS: [path: string, param: string][] = [
  ["response_metadata.next_cursor", "cursor"], // Slack
  ["next_cursor", "cursor"],
  ["nextCursor", "cursor"],
  ["cursors.next", "cursor"],
  ["cursor.next", "cursor"],
  ["meta.next_cursor", "cursor"],
  ["pagination.next_cursor", "cursor"],
  ["paging.cursors.after", "after"], // Meta Graph
  ["pages.next.starting_after", "starting_after"], // Intercom
  ["next_page_token", "page_token"],
  ["nextPageToken", "pageToken"], // Google
];

/** Where APIs say how many pages there are, and which page this is (page_number pagination). */
const TOTAL_PAGES = ["total_pages", "totalPages", "page_count", "pageCount", "last_page", "meta.total_pages", "meta.last_page", "meta.pagination.total_pages", "pagination.total_pages", "pagination.last_page"];
const CURRENT_PAGE = ["page", "current_page", "currentPage", "meta.page", "meta.current_page", "meta.pagination.current_page", "pagination.page", "pagination.current_page"];

const isUrl = (v: unknown): v is string => typeof v === "string" && (/^https?:\/\//i.test(v) || v.startsWith("/") || v.startsWith("?"));

/** Chooses a paginator for a response; the returned name says which one. */
export function detectPaginator(response: HttpResponse): Paginator {
  const link = response.headers.get("link");
  if (link && parseLinkHeader(link).next) return headerLinkPaginator({ type: "header_link", links_next_key: "next" });
  for (const path of NEXT_URL_PATHS) {
    if (isUrl(firstJsonPath(response.body, path))) return jsonLinkPaginator({ type: "json_link", next_url_path: path });
  }
  for (const [path, param] of CURSORS) {
    const value = firstJsonPath(response.body, path);
    if (typeof value === "string" && value !== "") {
      return cursorPaginator({ type: "cursor", cursor_path: path, cursor_param: param, stop_after_empty_page: false });
    }
  }
  for (const path of TOTAL_PAGES) {
    const total = firstJsonPath(response.body, path);
    if (typeof total !== "number" || !Number.isInteger(total) || total < 1) continue;
    // The body's current page tells whether pages count from 0 or 1; most APIs count from 1.
    const current = CURRENT_PAGE.map((p) => firstJsonPath(response.body, p)).find((v) => v === 0 || v === 1);
    return pageNumberPaginator({ type: "page_number", base_page: current === 0 ? 0 : 1, page_param: "page", total_path: path, stop_after_empty_page: true });
  }
  return singlePage();
}

/** A paginator that decides on the first response, then delegates. */
export function autoPaginator(onDetect?: (name: string) => void): Paginator {
  let chosen: Paginator | undefined;
  return {
    get name() {
      return chosen ? `auto → ${chosen.name}` : "auto";
    },
    init: (r) => r,
    next(request, response, records) {
      if (!chosen) {
        chosen = detectPaginator(response);
        onDetect?.(chosen.name);
      }
      return chosen.next(request, response, records);
    },
    totalPages: (response) => chosen?.totalPages?.(response),
  };
}
