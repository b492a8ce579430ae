/**
 * The retry policy as small pure functions: which outcomes are retried, and
 * how long to wait. Kept free of I/O so it is tested without timers.
 */

/** The seed's policy and dlt's default statuses: retry 429 and the transient 5xx. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = [429, 500, 502, 503, 504];

/** How far below its ceiling a computed wait may fall: 0.5 keeps every wait within [d/2, d]. */
export const DEFAULT_JITTER = 0.5;

/** How `backoffDelay` spreads its waits. */
export interface JitterOptions {
  /** A random source in [0, 1), e.g. `Math.random`; without one the wait is the ceiling itself. */
  random?: () => number;
  /** The fraction of the ceiling the wait may fall below it (default 0.5). */
  jitter?: number;
}

/**
 * Exponential backoff in milliseconds before retry number `retry` (1-based).
 * The ceiling is `factor × 2^(retry−1)` seconds, capped at `maxSeconds`: with
 * factor 2 it is 2 s, 4 s, 8 s, matching the seed's "backoff factor 2".
 *
 * With a random source the wait is `ceiling × (1 − jitter × random())`, deno
 * std's `async/retry.ts` formula. Its default jitter there is 1 ("full
 * jitter", any wait in [0, d]); here it is 0.5 ("equal jitter", [d/2, d]):
 * requests that failed together still spread over half the interval, so they
 * stop retrying in lockstep, but none comes back at once to an API that just
 * said it is overloaded, and the documented figure stays the wait's upper
 * bound. See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/.
 */
export function backoffDelay(retry: number, factor: number, maxSeconds: number, options: JitterOptions = {}): number {
  const ceiling = Math.min(factor * 2 ** Math.max(0, retry - 1), maxSeconds) * 1000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? DEFAULT_JITTER));
  const spread = options.random ? jitter * Math.min(1, Math.max(0, options.random())) : 0;
  return Math.round(ceiling * (1 - spread));
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an
 * HTTP-date. Returns milliseconds from `now`, never negative, or undefined
 * when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Whether an HTTP status is worth retrying under a policy. */
export function isRetryableStatus(status: number, statuses: readonly number[]): boolean {
  return statuses.includes(status);
}

/** Network-level failures (reset, refused, DNS, timeout) are retried like 5xx. */
export function isRetryableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "AbortError") return false; // the caller cancelled; do not retry
  return true;
}
