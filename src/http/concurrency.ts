/**
 * Adaptive concurrency (AIMD, as TCP's congestion control): a 429 means the
 * API wants less traffic, so the number of requests in flight halves; every
 * `current` successful responses (about one round of requests) it grows by
 * one again, up to the configured `client.concurrency`. Other failures
 * (503, resets) do not shrink it: they are not a request to slow down, and
 * only many requests in flight hide their Retry-After waits.
 *
 * `walkPages` reads `current` each time it launches requests, so the limiter
 * object is passed to it as its `concurrency`; the HTTP client reports
 * outcomes through `onSuccess`/`onThrottle` (or `onHttpEvent`).
 */
import type { HttpEvent } from "./client.ts";

export interface AdaptiveConcurrencyOptions {
  /** Most requests in flight (the configured `client.concurrency`). */
  max: number;
  /** Fewest requests in flight (default 1). */
  min?: number;
  /** Where to start (default `max`). */
  initial?: number;
  /** Factor applied on a 429 (default 0.5). */
  decrease?: number;
  /**
   * After a decrease, further 429s within this many ms are ignored (default
   * 1000): they answer requests sent before the decrease, and counting each
   * would collapse the limit to `min` after one burst.
   */
  cooldownMs?: number;
  now?: () => number;
  /** Called whenever `current` changes. */
  onChange?: (current: number, reason: "throttle" | "recover") => void;
}

/** A concurrency limit that shrinks on 429 and grows back on success. */
export interface AdaptiveConcurrency {
  /** Requests that may be in flight now. */
  readonly current: number;
  readonly max: number;
  /** A response succeeded. */
  onSuccess(): void;
  /** The API answered 429 (too many requests). */
  onThrottle(): void;
  /** Feeds the HTTP client's events: a retry after a 429 counts as a throttle. */
  onHttpEvent(event: HttpEvent): void;
}

/** Creates an AIMD concurrency limit. */
export function createAdaptiveConcurrency(options: AdaptiveConcurrencyOptions): AdaptiveConcurrency {
  const max = Math.max(1, Math.floor(options.max));
  const min = Math.min(max, Math.max(1, Math.floor(options.min ?? 1)));
  const decrease = options.decrease ?? 0.5;
  if (!(decrease > 0 && decrease < 1)) throw new RangeError(`decrease must be between 0 and 1, got ${decrease}`);
  const cooldownMs = options.cooldownMs ?? 1000;
  const now = options.now ?? Date.now;
  let current = Math.min(max, Math.max(min, Math.floor(options.initial ?? max)));
  let successes = 0;
  let lastDecrease = -Infinity;

  const limiter: AdaptiveConcurrency = {
    get current() {
      return current;
    },
    max,
    onSuccess() {
      if (current >= max) return;
      successes++;
      if (successes >= current) {
        successes = 0;
        current++;
        options.onChange?.(current, "recover");
      }
    },
    onThrottle() {
      const t = now();
      if (t - lastDecrease < cooldownMs) return;
      lastDecrease = t;
      successes = 0;
      const next = Math.max(min, Math.floor(current * decrease));
      if (next !== current) {
        current = next;
        options.onChange?.(current, "throttle");
      }
    },
    onHttpEvent(event) {
      if (event.type === "retry" && event.status === 429) limiter.onThrottle();
    },
  };
  return limiter;
}
