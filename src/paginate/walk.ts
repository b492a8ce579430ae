/**
 * Walks an endpoint's pages as an async generator: fetch, select records,
 * ask the paginator for the next request. When the paginator can compute the
 * remaining requests up front (offset, page_number with a total), up to
 * `concurrency` of them are on the wire at once; pages are still yielded in
 * order, so checkpoints stay correct.
 *
 * A slot is a request on the wire (issue #15): the walk hands the HTTP client
 * its slots, the client holds one per attempt only while it is sent and read,
 * and a request sleeping through a backoff or a Retry-After is replaced by the
 * next planned one. What bounds memory is the read-ahead window, in pages and
 * in bytes, not the number of requests.
 */
import { ResponseError } from "../errors.ts";
import type { HttpClient, HttpResponse } from "../http/client.ts";
import { createSlotGate, type Slot, type Slots } from "../http/concurrency.ts";
import { selectRecords } from "../extract/find_records.ts";
import type { PageRequest, Paginator } from "./types.ts";
import { bodySnippet } from "../http/client.ts";

/** How many pages past the one being consumed are fetched ahead, as a multiple of the concurrency. */
const REORDER_FACTOR = 4;
/**
 * How far that window stretches while the page to be consumed next still waits for its answer:
 * a request waiting out a Retry-After (1–2 s) must not stop the others, so the window has to hold
 * what the consumer gets through in that time (~500 pages of 100 records). Answered pages wait as
 * bytes (their bodies are parsed when consumed), and the bytes bound the window's memory; once the
 * head is answered the window shrinks back, so a run without retries holds only a few pages ahead.
 */
const MAX_AHEAD_PAGES = 1024;
const MAX_AHEAD_BYTES = 24 * 1024 * 1024;

/** One fetched page. */
export interface Page {
  /** 0-based page number within this walk. */
  index: number;
  request: PageRequest;
  response: HttpResponse;
  records: unknown[];
  /** The request for the following page, or undefined if this was the last. Checkpoints store it. */
  next: PageRequest | undefined;
  /** How many pages the walk has in all, when the response gives a total (see Paginator.totalPages). */
  totalPages?: number;
}

/**
 * How many requests may be on the wire; shrinks on 429, grows back on success (AIMD). With
 * `acquire` it is also where the slots come from, shared with every other walk of the run.
 */
export interface ConcurrencyLimit {
  readonly current: number;
  acquire?: Slots["acquire"];
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
  /** Most requests on the wire when pages can be planned (default 1: sequential). */
  concurrency?: number | ConcurrencyLimit;
}

/** Yields every page of an endpoint, starting at `first` (or `resumeFrom`). */
export async function* walkPages(first: PageRequest, options: WalkOptions): AsyncGenerator<Page> {
  const { http, paginator, signal } = options;
  const limit = (): number => Math.max(1, typeof options.concurrency === "object" ? options.concurrency.current : (options.concurrency ?? 1));
  // The run's shared slots, or this walk's own.
  const shared = typeof options.concurrency === "object" ? options.concurrency : undefined;
  const gate: Slots = shared?.acquire ? { acquire: (s, rank) => shared.acquire!(s, rank) } : createSlotGate({ limit });
  let request: PageRequest | undefined = options.resumeFrom ?? paginator.init(first);
  let index = 0;
  const atMax = () => options.maxPages !== undefined && index + 1 >= options.maxPages;

  while (request) {
    signal?.throwIfAborted();
    const response = await http.request(request, { signal, slots: gate });
    const records = extractRecords(response, options.dataSelector);
    const next: PageRequest | undefined = atMax() ? undefined : paginator.next(request, response, records);
    const planned = next && paginator.plan && (limit() > 1 || typeof options.concurrency === "object") ? paginator.plan(request, response, records) : undefined;
    if (!next || !planned) {
      yield { index, request, response, records, next, totalPages: paginator.totalPages?.(response) };
      request = next;
      index++;
      continue;
    }

    // Fan out over the planned requests, in order.
    const queue = planned[Symbol.iterator]();
    let upcoming = queue.next();
    if (upcoming.done) {
      yield { index, request, response, records, next, totalPages: paginator.totalPages?.(response) };
      request = next;
      index++;
      continue;
    }
    yield { index: index++, request, response, records, next: upcoming.value, totalPages: paginator.totalPages?.(response) };
    const controller = new AbortController();
    const inner = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    // Requests launched but not yet yielded, in order. `unsettled` of them still wait for an answer,
    // `asleep` of those between attempts (a backoff, a Retry-After): the others, on the wire or in
    // line for a slot, are what the concurrency limit bounds, so a sleeping request is replaced by
    // the next planned one; the pages and bytes ahead bound the memory they hold.
    type Entry = { request: PageRequest; result: Promise<HttpResponse>; settled: boolean; asleep: boolean };
    const inFlight: Entry[] = [];
    let unsettled = 0;
    let asleep = 0;
    let aheadBytes = 0;
    let stopped = false;
    /** The gate's slots, telling this walk when a request of its leaves the wire and comes back. */
    const slotsOf = (entry: Entry): Slots => ({
      acquire: async (s, rank) => {
        if (entry.asleep) {
          entry.asleep = false;
          asleep--;
        }
        const held = await gate.acquire(s, rank);
        return {
          rank: held.rank,
          release: () => {
            held.release();
            if (entry.settled || entry.asleep) return;
            entry.asleep = true;
            asleep++;
            // Asleep or about to be answered: either way its place on the wire is free.
            launch();
          },
        } satisfies Slot;
      },
    });
    const settle = (entry: Entry) => {
      unsettled--;
      entry.settled = true;
      if (entry.asleep) {
        entry.asleep = false;
        asleep--;
      }
    };
    const launch = () => {
      while (
        !stopped &&
        !upcoming.done &&
        unsettled - asleep < limit() &&
        (inFlight.length < limit() * REORDER_FACTOR || (inFlight.length > 0 && !inFlight[0].settled)) &&
        inFlight.length < MAX_AHEAD_PAGES &&
        aheadBytes < MAX_AHEAD_BYTES &&
        (options.maxPages === undefined || index + inFlight.length < options.maxPages)
      ) {
        const req = upcoming.value;
        unsettled++;
        const entry = { request: req, settled: false, asleep: false } as Entry;
        inFlight.push(entry);
        upcoming = queue.next();
        entry.result = http.request(req, { signal: inner, lazy: true, slots: slotsOf(entry) });
        // Surfaced in order below; settling frees a slot for the next request right away.
        entry.result.then(
          (res) => {
            settle(entry);
            aheadBytes += res.bytes;
            launch();
          },
          () => settle(entry),
        );
      }
    };
    try {
      request = undefined;
      launch();
      while (inFlight.length) {
        // The head stays in the window while it is awaited: its being unanswered stretches the window.
        const head = inFlight[0];
        const res = await head.result;
        inFlight.shift();
        aheadBytes -= res.bytes;
        const recs = extractRecords(res, options.dataSelector);
        const after = atMax() ? undefined : paginator.next(head.request, res, recs);
        // The planned successor, or the paginator's own next after the last planned page.
        const successor = !after ? undefined : inFlight.length ? inFlight[0].request : !upcoming.done ? upcoming.value : after;
        yield { index: index++, request: head.request, response: res, records: recs, next: successor, totalPages: paginator.totalPages?.(res) };
        if (!after) break;
        if (!inFlight.length && upcoming.done) {
          request = after; // the total grew, or planning ended: go on one by one
          break;
        }
        launch();
      }
    } finally {
      stopped = true;
      controller.abort();
    }
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
