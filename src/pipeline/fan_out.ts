/**
 * Bounded, ordered fan-out: the current item plus up to `limit() - 1` after it
 * are started, and handed out in order. Child resources use it to fetch the
 * next parent records' pages (and a backfill its next windows) while the
 * current one is consumed. Like deno std's `pooledMap`, but the limit is read
 * again at each step (it shrinks on 429s) and results keep their order, so
 * checkpoints stay correct.
 */

/** Started items, in order; `close()` stops those started ahead that were never handed out. */
export interface InOrderAhead<R> extends Iterable<R> {
  close(): void;
}

/**
 * Starts `items` ahead of their consumer, at most `limit()` at a time
 * (at least one). `stop` ends a started item that is no longer wanted.
 */
export function inOrderAhead<T, R>(items: readonly T[], start: (item: T) => R, options: { limit: () => number; stop: (started: R) => void }): InOrderAhead<R> {
  const running: R[] = [];
  let next = 0;
  return {
    *[Symbol.iterator]() {
      while (running.length || next < items.length) {
        while ((running.length === 0 || running.length < options.limit()) && next < items.length) running.push(start(items[next++]));
        yield running.shift()!;
      }
    },
    close() {
      for (const r of running.splice(0)) options.stop(r);
    },
  };
}
