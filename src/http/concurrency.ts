/**
 * Concurrency as slots on the wire (issue #15). A slot is a request on the
 * wire: an attempt takes one just before it is sent and gives it back once
 * its answer is read, so a request sleeping through its backoff or a
 * Retry-After holds none, and the pages after it keep the API busy. Waiting
 * attempts get their slots in the order their requests were first made
 * (`rank`), so a retry of an early page goes before later pages.
 *
 * How many slots there are adapts (AIMD, as TCP's congestion control): a 429
 * means the API wants less traffic, so the number halves, and while its
 * Retry-After lasts no new attempt is sent at all (RFC 6585 §4: how long to
 * wait "before making a new request"). Successes grow it by one per `current`
 * of them (about one round of requests) up to `max`, but not within
 * `holdMs` of a 429: at a few ms per request a round is far shorter than an
 * API's rate window, and growing again within the window that just refused
 * would only be refused again. Other failures (503, resets) do not shrink it:
 * they are not a request to slow down, and their waits hold no slot anyway.
 *
 * `walkPages` takes the limit as its `concurrency` (it reads `current` to
 * size its read-ahead and passes the slots to the HTTP client); the client
 * reports outcomes through `onSuccess`/`onThrottle`.
 */
import type { HttpEvent } from "./client.ts";
import { abortableSleep } from "./sleep.ts";

/**
 * The default for a config without `client.concurrency`: start at 4 requests on the wire, the
 * seed's figure, and grow while answers are healthy up to 16: at 20 ms a request that carries
 * ~760 pages/s, well past the pipeline's own pace (~290 pages/s of 100 records on a quiet
 * machine, BENCHMARKS.md), while staying a modest load for an API. An explicit
 * `client.concurrency` starts there and is a hard cap.
 */
export const DEFAULT_CONCURRENCY = { initial: 4, max: 16 } as const;

/** One request's hold on the wire, for one attempt. */
export interface Slot {
  /** The request's place in line: pass it back to `acquire` for its next attempt. */
  readonly rank: number;
  /** Gives the slot back (idempotent). */
  release(): void;
}

/** Where attempts take their slots: a request acquires one per attempt, only while on the wire. */
export interface Slots {
  /**
   * Waits for a free slot. Lower ranks go first; without a rank the request gets a new one,
   * after every request made before it. Rejects with the signal's reason when it aborts first.
   */
  acquire(signal?: AbortSignal, rank?: number): Promise<Slot>;
}

/** A semaphore of `limit()` slots, served by rank, that a 429's Retry-After can close for a while. */
export interface SlotGate extends Slots {
  /** Slots taken now. */
  readonly inUse: number;
  /** Attempts waiting for a slot. */
  readonly waiting: number;
  /** Grants waiting attempts the slots `limit()` allows now (after it grew). */
  pump(): void;
  /**
   * Lets no attempt through for `ms` (one already waiting, or one that asks meanwhile). The
   * refused request's own next attempt (`owner`, its rank) ends the pause: it has just waited
   * the same Retry-After, so the two end together on a real clock, and a test's or a replay's
   * sleep that returns at once does not leave the gate waiting on the wall clock.
   */
  pause(ms: number, owner?: number): void;
}

export interface SlotGateOptions {
  /** Slots there are now (read on every grant, so it may change). */
  limit: () => number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface Waiter {
  rank: number;
  grant(): void;
}

/** Creates a slot gate. */
export function createSlotGate(options: SlotGateOptions): SlotGate {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const waiters: Waiter[] = [];
  let inUse = 0;
  let nextRank = 0;
  let pausedUntil = -Infinity;
  let pauseOwner: number | undefined;
  /** Ends the timer that reopens the gate after a pause; armed only while someone waits. */
  let reopen: AbortController | undefined;

  const slot = (rank: number): Slot => {
    let held = true;
    return {
      rank,
      release() {
        if (!held) return;
        held = false;
        inUse--;
        gate.pump();
      },
    };
  };

  const arm = (ms: number) => {
    if (reopen) return;
    const controller = new AbortController();
    reopen = controller;
    const until = pausedUntil;
    sleep(ms, controller.signal).then(
      () => {
        if (reopen === controller) reopen = undefined;
        // The sleep is the clock here (a replay's sleep returns at once): the pause it waited out is over.
        if (pausedUntil === until) {
          pausedUntil = -Infinity;
          pauseOwner = undefined;
        }
        gate.pump();
      },
      () => {},
    );
  };

  const gate: SlotGate = {
    get inUse() {
      return inUse;
    },
    get waiting() {
      return waiters.length;
    },
    acquire(signal, rank) {
      signal?.throwIfAborted();
      const r = rank ?? nextRank++;
      if (pauseOwner !== undefined && r === pauseOwner) {
        pausedUntil = -Infinity;
        pauseOwner = undefined;
        reopen?.abort();
        reopen = undefined;
      }
      if (waiters.length === 0 && inUse < Math.max(1, options.limit()) && now() >= pausedUntil) {
        inUse++;
        return Promise.resolve(slot(r));
      }
      return new Promise<Slot>((resolve, reject) => {
        const onAbort = () => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          if (waiters.length === 0) {
            reopen?.abort();
            reopen = undefined;
          }
          reject(signal!.reason);
        };
        const waiter: Waiter = {
          rank: r,
          grant() {
            signal?.removeEventListener("abort", onAbort);
            inUse++;
            resolve(slot(r));
          },
        };
        // In rank order; a retry (an old rank) goes before requests made after it.
        let at = waiters.length;
        while (at > 0 && waiters[at - 1].rank > r) at--;
        waiters.splice(at, 0, waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
        gate.pump();
      });
    },
    pump() {
      const t = now();
      if (t < pausedUntil) {
        if (waiters.length) arm(pausedUntil - t);
        return;
      }
      while (waiters.length && inUse < Math.max(1, options.limit())) waiters.shift()!.grant();
    },
    pause(ms, owner) {
      if (!(ms > 0)) return;
      const until = now() + ms;
      if (until <= pausedUntil) return;
      pausedUntil = until;
      pauseOwner = owner;
      // A longer pause replaces the timer of a shorter one.
      reopen?.abort();
      reopen = undefined;
      gate.pump();
    },
  };
  return gate;
}

export interface AdaptiveConcurrencyOptions {
  /** Most requests on the wire (the configured `client.concurrency`, or the default's ceiling). */
  max: number;
  /** Fewest requests on the wire (default 1). */
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
  /** No growth until this many ms after the last 429 and the end of its Retry-After (default 3000). */
  holdMs?: number;
  now?: () => number;
  /** Waits out a 429's Retry-After before the gate reopens (default: a timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called whenever `current` changes. */
  onChange?: (current: number, reason: "throttle" | "recover") => void;
}

/** A concurrency limit that shrinks on 429 and grows back on success, and hands out its slots. */
export interface AdaptiveConcurrency extends Slots {
  /** Requests that may be on the wire now. */
  readonly current: number;
  readonly max: number;
  /** Requests on the wire now. */
  readonly inUse: number;
  /** A response succeeded. */
  onSuccess(): void;
  /**
   * The API answered 429 (too many requests), with its Retry-After in ms if it sent one, and the
   * refused request's slot rank (its next attempt ends the pause).
   */
  onThrottle(retryAfterMs?: number, rank?: number): void;
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
  const holdMs = options.holdMs ?? 3000;
  const now = options.now ?? Date.now;
  let current = Math.min(max, Math.max(min, Math.floor(options.initial ?? max)));
  let successes = 0;
  let lastDecrease = -Infinity;
  /** Growth waits until then. */
  let holdUntil = -Infinity;
  const gate = createSlotGate({ limit: () => current, now, sleep: options.sleep });

  const limiter: AdaptiveConcurrency = {
    get current() {
      return current;
    },
    max,
    get inUse() {
      return gate.inUse;
    },
    acquire: (signal, rank) => gate.acquire(signal, rank),
    onSuccess() {
      if (current >= max || now() < holdUntil) return;
      successes++;
      if (successes >= current) {
        successes = 0;
        current++;
        options.onChange?.(current, "recover");
        gate.pump();
      }
    },
    onThrottle(retryAfterMs, rank) {
      const t = now();
      holdUntil = Math.max(holdUntil, t + Math.max(0, retryAfterMs ?? 0) + holdMs);
      if (retryAfterMs !== undefined) gate.pause(retryAfterMs, rank);
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
