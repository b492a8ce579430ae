/**
 * The retry policy as small pure functions: which outcomes are retried, and
 * how long to wait. Kept free of I/O so it is tested without timers.
 */

/** The seed's policy and dlt's default statuses: retry 429 and the transient 5xx. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = [429, 500, 502, 503, 504];

/**
 * Exponential backoff in milliseconds before retry number `retry` (1-based):
 * `factor × 2^(retry−1)` seconds, capped at `maxSeconds`. With factor 2 the
 * waits are 2 s, 4 s, 8 s, matching the seed's "backoff factor 2".
 */
export function backoffDelay(retry: number, factor: number, maxSeconds: number): number {
  const seconds = factor * 2 ** Math.max(0, retry - 1);
  return Math.round(Math.min(seconds, maxSeconds) * 1000);
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
