import type { HttpResponse } from "../http/client.ts";
import type { PageRequest } from "../http/page_request.ts";

export type { PageRequest };

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

/** Interprets a has_more-style value: false, "false", 0 and null mean "no more pages". */
export function isFalsy(value: unknown): boolean {
  return value === false || value === 0 || value === null || value === "false" || value === "False" || value === "0";
}
