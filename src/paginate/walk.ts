/**
 * Walks an endpoint's pages as an async generator: fetch, select records,
 * ask the paginator for the next request. Memory holds one page at a time.
 */
import { ResponseError } from "../errors.ts";
import type { HttpClient, HttpResponse } from "../http/client.ts";
import { selectRecords } from "../extract/find_records.ts";
import type { PageRequest, Paginator } from "./types.ts";
import { bodySnippet } from "../http/client.ts";

/** One fetched page. */
export interface Page {
  /** 0-based page number within this walk. */
  index: number;
  request: PageRequest;
  response: HttpResponse;
  records: unknown[];
  /** The request for the following page, or undefined if this was the last. Checkpoints store it. */
  next: PageRequest | undefined;
}

export interface WalkOptions {
  http: HttpClient;
  paginator: Paginator;
  dataSelector?: string;
  signal?: AbortSignal;
  /** Resume from this request instead of the first one. */
  resumeFrom?: PageRequest;
  /** Stop after this many pages. */
  maxPages?: number;
}

/** Yields every page of an endpoint, starting at `first` (or `resumeFrom`). */
export async function* walkPages(first: PageRequest, options: WalkOptions): AsyncGenerator<Page> {
  let request: PageRequest | undefined = options.resumeFrom ?? options.paginator.init(first);
  let index = 0;
  while (request) {
    options.signal?.throwIfAborted();
    const response = await options.http.request(request, { signal: options.signal });
    const records = extractRecords(response, options.dataSelector);
    let next = options.paginator.next(request, response, records);
    if (options.maxPages !== undefined && index + 1 >= options.maxPages) next = undefined;
    yield { index, request, response, records, next };
    request = next;
    index++;
  }
}

/** The records of a response: what data_selector points at, or what dlt's detector finds. */
export function extractRecords(response: HttpResponse, dataSelector: string | undefined): unknown[] {
  const body = response.body;
  if (body === undefined) return [];
  const records = selectRecords(body, dataSelector);
  if (records === undefined) {
    const keys = typeof body === "object" && body !== null && !Array.isArray(body) ? Object.keys(body).slice(0, 10).join(", ") : typeof body;
    throw new ResponseError(
      dataSelector
        ? `data_selector "${dataSelector}" matches nothing in the response from ${response.url} (status ${response.status}; top-level keys: ${keys}): ${bodySnippet(JSON.stringify(body))}`
        : `No list of records found in the response from ${response.url} (status ${response.status}; top-level keys: ${keys})`,
      { hint: "set endpoint.data_selector to the JSONPath of the records list" },
    );
  }
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new ResponseError(
        `Record ${i} in the response from ${response.url} is ${r === null ? "null" : Array.isArray(r) ? "a list" : `a ${typeof r}`}, not an object: ${bodySnippet(JSON.stringify(r))}`,
        { hint: "point endpoint.data_selector at a list of objects" },
      );
    }
  }
  return records;
}
