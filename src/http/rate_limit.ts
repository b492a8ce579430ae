/**
 * A proactive rate limit, so a run never triggers a 429 it could have
 * avoided: a request waits for a free slot before it is sent.
 *
 * Two sources of limits combine; a request goes when both allow it:
 * - the configured rate (`client.rate_limit`: N requests per second, or
 *   `{ requests, per_seconds }`), kept as a sliding window: a token bucket
 *   whose tokens come back `per_seconds` after the request's response (it
 *   reached the server at the latest then). A classic bucket of capacity N
 *   refilling at N/window can send 2N−1 requests in one of the server's fixed
 *   windows; this one never sends more than N in any window, so it is safe
 *   against both fixed and sliding server windows.
 * - the server's own budget from `X-RateLimit-Remaining` / `X-RateLimit-Reset`
 *   style headers (names configurable). Reset is epoch seconds or seconds from
 *   now; `auto` reads values above 1e9 as epoch seconds (and above 1e12 as
 *   epoch milliseconds). Requests still in flight when a response reports its
 *   budget are counted against that budget, which errs towards waiting; a
 *   response from a window that has already reset is ignored; and when a
 *   window resets, the next one starts with the announced `X-RateLimit-Limit`
 *   (if any), so a burst right after a reset cannot overrun it.
 *
 * Clock and sleep are injected, so tests need no timers.
 */
import { abortableSleep } from "./sleep.ts";

/** How a reset header is read. */
export type ResetFormat = "auto" | "epoch" | "delta";

export interface RateLimitOptions {
  /** At most this many requests… */
  requests?: number;
  /** …per this many seconds (default 1). */
  perSeconds?: number;
  /** Honour the server's rate-limit headers (default true). */
  headers?: boolean;
  /** Header with the requests left in the current window (default `x-ratelimit-remaining`). */
  remainingHeader?: string;
  /** Header with when the window resets (default `x-ratelimit-reset`). */
  resetHeader?: string;
  /** Header with the requests allowed per window (default `x-ratelimit-limit`); optional. */
  limitHeader?: string;
  /** How the reset header is read (default `auto`). */
  resetFormat?: ResetFormat;
  /** Longest single wait, in seconds, however far away the server's reset is (default 300). */
  maxWait?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Why a request had to wait. */
export type ThrottleReason = "rate_limit" | "server_budget";

/** Gates requests: `acquire` before sending, `release` with the response headers after. */
export interface RateLimiter {
  /**
   * Waits until a request may be sent; `onWait` hears of each wait before it
   * starts. Resolves with how long it waited in all (ms) and why.
   */
  acquire(signal?: AbortSignal, onWait?: (ms: number, reason: ThrottleReason) => void): Promise<{ waitedMs: number; reason?: ThrottleReason; slot?: number }>;
  /**
   * Reports that a request acquired earlier finished, with its response headers if there was a
   * response, and the `slot` its acquire returned.
   */
  release(headers?: Headers, slot?: number): void;
}

const DEFAULT_REMAINING = "x-ratelimit-remaining";
const DEFAULT_RESET = "x-ratelimit-reset";
const DEFAULT_LIMIT = "x-ratelimit-limit";
/** When the server says "none left" but not when it resets, probe again after this long. */
const UNKNOWN_RESET_MS = 1000;
/** Resets this close together (delta-format resets drift with the clock) name the same window. */
const SAME_WINDOW_MS = 1000;

/**
 * Turns `client.rate_limit`'s number form into a window: `2.5` (per second)
 * becomes 2 requests per 0.8 s; `0.5` becomes 1 request per 2 s.
 */
export function perSecondWindow(rate: number): { requests: number; perSeconds: number } {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`a rate limit must be a positive number of requests per second, got ${rate}`);
  const requests = Math.max(1, Math.floor(rate));
  return { requests, perSeconds: requests / rate };
}

/**
 * Reads a reset header as an absolute time in ms. Returns undefined for a
 * missing or unreadable value.
 */
export function parseReset(value: string | null | undefined, format: ResetFormat, now: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) {
    const date = Date.parse(text); // some APIs send an HTTP date
    return Number.isNaN(date) ? undefined : date;
  }
  const n = Number(text);
  if (format === "epoch") return n * 1000;
  if (format === "delta") return now + n * 1000;
  if (n > 1e12) return n; // epoch milliseconds
  if (n > 1e9) return n * 1000; // epoch seconds (any date after 2001)
  return now + n * 1000;
}

/** `client.rate_limit` as validated config (see RateLimitSchema in config/schema.ts). */
export interface RateLimitConfigLike {
  requests_per_second?: number;
  requests?: number;
  per_seconds: number;
  headers: boolean;
  remaining_header?: string;
  reset_header?: string;
  reset_format: ResetFormat;
}

/** Limiter options from `client.rate_limit`; with no config, only the server's standard headers are honoured. */
export function rateLimitOptions(config: RateLimitConfigLike | undefined): RateLimitOptions {
  if (!config) return { headers: true };
  const window = config.requests_per_second ? perSecondWindow(config.requests_per_second) : { requests: config.requests, perSeconds: config.per_seconds };
  return {
    ...window,
    headers: config.headers,
    remainingHeader: config.remaining_header,
    resetHeader: config.reset_header,
    resetFormat: config.reset_format,
  };
}

/** Creates a rate limiter; with neither a rate nor headers it never waits. */
export function createRateLimiter(options: RateLimitOptions = {}): RateLimiter {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const maxWaitMs = (options.maxWait ?? 300) * 1000;
  const useHeaders = options.headers ?? true;
  const remainingHeader = options.remainingHeader ?? DEFAULT_REMAINING;
  const resetHeader = options.resetHeader ?? DEFAULT_RESET;
  const limitHeader = options.limitHeader ?? DEFAULT_LIMIT;
  const resetFormat = options.resetFormat ?? "auto";

  // The sliding window: when each of the last N requests was sent (a ring).
  const windowMs = (options.perSeconds ?? 1) * 1000;
  const ring = options.requests ? new Float64Array(Math.max(1, Math.floor(options.requests))).fill(-Infinity) : undefined;
  let head = 0;

  // The server's budget: requests we may still send before `resetAt`.
  let budget: number | undefined;
  let resetAt = 0;
  /** The server's requests per window, from its limit header. */
  let limit: number | undefined;
  /** The budget was guessed at a reset, not read from a response. */
  let provisional = false;
  let inFlight = 0;

  return {
    async acquire(signal, onWait) {
      let waitedMs = 0;
      let reason: ThrottleReason | undefined;
      for (;;) {
        signal?.throwIfAborted();
        const t = now();
        if (budget !== undefined && t >= resetAt) {
          // The server's window has reset: a full window's worth, less what is still out, until a
          // response says more (if none does within a second, the budget is unknown again).
          const guess = !provisional && limit !== undefined;
          budget = guess ? limit! - inFlight : undefined;
          provisional = guess;
          resetAt = t + UNKNOWN_RESET_MS;
        }
        let until = t;
        let why: ThrottleReason = "rate_limit";
        if (budget !== undefined && budget <= 0 && resetAt > until) {
          until = resetAt;
          why = "server_budget";
        }
        if (ring && ring[head] + windowMs > until) {
          until = ring[head] + windowMs;
          why = "rate_limit";
        }
        if (until <= t) {
          // Reserve synchronously: concurrent callers each see the slot taken.
          let slot: number | undefined;
          if (ring) {
            slot = head;
            ring[head] = t;
            head = (head + 1) % ring.length;
          }
          if (budget !== undefined) budget--;
          inFlight++;
          return slot === undefined ? { waitedMs, reason } : { waitedMs, reason, slot };
        }
        let ms = until - t;
        if (ms > maxWaitMs) {
          // A reset this far away is more likely a misread header than a real window: wait the most we allow, then try.
          ms = maxWaitMs;
          if (why === "server_budget") budget = undefined;
        }
        reason ??= why;
        onWait?.(ms, why);
        await sleep(ms, signal);
        waitedMs += ms;
      }
    },

    release(headers, slot) {
      inFlight = Math.max(0, inFlight - 1);
      // The request reached the server somewhere between acquire and now: count its slot from now,
      // so a request that left late (a busy event loop) cannot share a server window with its
      // successor N requests on.
      if (ring && slot !== undefined && slot < ring.length) ring[slot] = Math.max(ring[slot], now());
      if (!useHeaders || !headers) return;
      const remainingText = headers.get(remainingHeader);
      if (remainingText == null) return;
      const remaining = Number(remainingText.trim());
      if (!Number.isFinite(remaining)) return;
      const t = now();
      const reset = parseReset(headers.get(resetHeader), resetFormat, t);
      const limitValue = Number(headers.get(limitHeader) ?? NaN);
      if (Number.isFinite(limitValue) && limitValue > 0) limit = Math.floor(limitValue);
      // Counted in a window that has since reset: it says nothing about the current one.
      if (reset !== undefined && reset <= t) return;
      // Requests still in flight may not be counted in `remaining` yet: count them.
      const fresh = Math.floor(remaining) - inFlight;
      // Responses of one window arrive out of order: an earlier-counted one reports more left than
      // there is, so within a window the budget only goes down.
      const sameWindow = budget !== undefined && !provisional && reset !== undefined && Math.abs(reset - resetAt) < SAME_WINDOW_MS;
      budget = sameWindow ? Math.min(budget!, fresh) : fresh;
      provisional = false;
      resetAt = reset ?? (budget <= 0 ? t + UNKNOWN_RESET_MS : t + windowMs);
    },
  };
}

