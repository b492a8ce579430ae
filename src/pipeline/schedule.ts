/**
 * Which resources run when: side by side, a child once its parent finished,
 * at most `limit()` at a time, and one that must run alone (dlt's
 * `parallelized: false`) with nothing beside it. Like deno std's `pooledMap`,
 * but over a dependency order, with the limit read again at each start (the
 * adaptive request limit shrinks on 429s), and a failure stops the rest.
 */

export interface ScheduleOptions<T> {
  /** Most items running at once (at least one is always allowed). */
  limit: () => number;
  /** The item that must finish before this one starts, if any. */
  after: (item: T) => T | undefined;
  /** True for an item that runs with nothing beside it. */
  alone: (item: T) => boolean;
  /** Runs one item; `signal` aborts when another item failed. */
  run: (item: T, signal: AbortSignal) => Promise<void>;
}

/**
 * Runs `items` (in dependency order: a parent before its children) as the options allow, starting
 * them in that order. Resolves when all finished; on the first failure it aborts the running ones,
 * waits for them to settle (their commits in flight finish or roll back), and rejects with that failure.
 */
export function schedule<T>(items: readonly T[], options: ScheduleOptions<T>): Promise<void> {
  const waiting = [...items];
  const finished = new Set<T>();
  const running = new Set<T>();
  const stop = new AbortController();
  let aloneRunning = false;
  let failure: { error: unknown } | undefined;
  return new Promise((resolve, reject) => {
    const pump = () => {
      if (failure) {
        if (running.size === 0) reject(failure.error);
        return;
      }
      for (let i = 0; i < waiting.length; ) {
        const item = waiting[i];
        const parent = options.after(item);
        // A child waits for its parent; the items after it may start meanwhile.
        if (parent !== undefined && !finished.has(parent)) {
          i++;
          continue;
        }
        // One that runs alone is a barrier: it waits for those running, and those after it wait for it,
        // so the order the config gives stays the order things happen in.
        if (aloneRunning) break;
        if (options.alone(item)) {
          if (running.size === 0) start(i, true);
          break;
        }
        if (running.size >= Math.max(1, options.limit())) break;
        start(i, false);
      }
      if (waiting.length === 0 && running.size === 0) resolve();
    };
    const start = (index: number, alone: boolean) => {
      const [item] = waiting.splice(index, 1);
      running.add(item);
      aloneRunning = alone;
      options.run(item, stop.signal).then(
        () => {
          running.delete(item);
          if (alone) aloneRunning = false;
          finished.add(item);
          pump();
        },
        (error: unknown) => {
          running.delete(item);
          if (alone) aloneRunning = false;
          // The first failure is the run's; the others were (mostly) told to stop by it.
          if (!failure) {
            failure = { error };
            stop.abort(error);
          }
          pump();
        },
      );
    };
    pump();
  });
}
