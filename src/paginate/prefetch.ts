/**
 * Runs an async iterator ahead of its consumer: up to `ahead` items are
 * requested before they are asked for. Child resources use it to fetch the
 * next parent records' pages while the current one is processed; items are
 * still consumed in order, so checkpoints stay correct.
 */
export interface Prefetching<T> extends AsyncIterator<T> {
  /** Stops asking for more; errors of items already requested are swallowed. */
  close(): void;
}

export function prefetch<T>(source: AsyncIterator<T>, ahead = 1): Prefetching<T> {
  const buffer: Promise<IteratorResult<T>>[] = [];
  let ended = false;
  const fill = () => {
    while (!ended && buffer.length < ahead) {
      const p = source.next();
      p.then(
        (r) => {
          if (r.done) ended = true;
        },
        () => {
          ended = true;
        },
      );
      buffer.push(p);
    }
  };
  fill();
  return {
    async next() {
      const p = buffer.shift() ?? (ended ? Promise.resolve({ done: true, value: undefined } as IteratorResult<T>) : source.next());
      const r = await p;
      if (r.done) ended = true;
      else fill();
      return r;
    },
    close() {
      ended = true;
      for (const p of buffer.splice(0)) p.catch(() => {});
      // Ends the generator once its current step is done (abort signals stop requests sooner).
      void source.return?.(undefined).catch(() => {});
    },
  };
}
