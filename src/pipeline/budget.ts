/**
 * The one request budget of a run: at most `limit()` requests in flight for
 * the whole API, whichever resource makes them. Each page walk keeps its own
 * requests within the limit, but with resources side by side several walks
 * run at once; this gate is what keeps their sum there. Waiting requests go
 * first come first served, so no resource starves another.
 */

/** Runs requests within the budget; `signal` gives up a request still waiting for its turn. */
export type RequestBudget = <T>(work: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** A budget of `limit()` requests in flight (read again at each start: the adaptive limit shrinks on 429s). */
export function requestBudget(limit: () => number): RequestBudget {
  let active = 0;
  const waiting: (() => void)[] = [];
  const room = () => active < Math.max(1, limit());
  const next = () => {
    while (waiting.length && room()) {
      active++;
      waiting.shift()!();
    }
  };
  return async (work, signal) => {
    if (waiting.length === 0 && room()) active++;
    else {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", giveUp);
          resolve();
        };
        const giveUp = () => {
          waiting.splice(waiting.indexOf(go), 1);
          reject(signal!.reason);
        };
        signal?.addEventListener("abort", giveUp, { once: true });
        waiting.push(go);
      });
    }
    try {
      return await work();
    } finally {
      active--;
      next();
    }
  };
}
