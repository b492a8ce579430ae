/**
 * Backfill windows (issue #16): an incremental range `[initial_value,
 * end_value)` cut into consecutive half-open windows — a day, or 10,000 ids —
 * that the pipeline fetches concurrently, each as its own chain of pages with
 * its own bounds in `{incremental.start_value}` / `{incremental.end_value}`.
 *
 * The size is spelled like Airbyte's low-code `step` (ISO 8601 durations,
 * https://docs.airbyte.com/connector-development/config-based/understanding-the-yaml-file/incremental-syncs)
 * or like Sling's `chunk_size` (`6h`, `7d`, https://docs.slingdata.io/examples/database-to-database/chunking),
 * except that minutes are `min`: Sling's `1m` is a month, and a config that
 * means the other one would silently load 43,200 times too much or too little.
 *
 * Splitting a range lives in shared/windows.ts; here, a window's cursor plan and the progress over windows.
 */
import type { IncrementalPlan } from "../config/plan.ts";
import { compareCursor, rowKeyHash, type IncrementalState } from "./incremental.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";
import type { CursorWindow } from "../shared/windows.ts";

export { MAX_WINDOWS, parseWindowSize, splitWindows, type CursorWindow, type WindowSize } from "../shared/windows.ts";

/** The plan of one window's cursor: bounded to the window, the range's own bounds only at its ends. */
export function windowPlan(plan: IncrementalPlan, window: CursorWindow, count: number): IncrementalPlan {
  return {
    ...plan,
    initialValue: window.start,
    endValue: window.end,
    // Inside the range windows meet half-open, so a row on a boundary belongs to exactly one of them.
    rangeStart: window.index === 0 ? plan.rangeStart : "closed",
    rangeEnd: window.index === count - 1 ? plan.rangeEnd : "open",
    window: undefined,
  };
}

/**
 * The highest cursor a windowed backfill loaded, with the keys of the rows at
 * it: what the next ordinary run starts from (as dlt's `last_value` and
 * `unique_hashes`). Starts from the state stored before, so a backfill of an
 * older range never moves the cursor back.
 */
export class WindowsProgress {
  readonly #plan: IncrementalPlan;
  #state: IncrementalState | undefined;

  constructor(plan: IncrementalPlan, state: IncrementalState | null | undefined) {
    this.#plan = plan;
    this.#state = state && state.last_value !== undefined && state.last_value !== null ? state : undefined;
  }

  /** Takes in the records a window's cursor kept. */
  observe(records: readonly Record<string, unknown>[]): void {
    for (const record of records) {
      const value = firstJsonPath(record, this.#plan.cursorPath);
      if (value === undefined || value === null) continue;
      const last = this.#state?.last_value;
      const d = last === undefined ? 1 : compareCursor(value, last);
      if (d > 0) this.#state = { initial_value: this.#plan.initialValue ?? null, last_value: value, unique_hashes: [rowKeyHash(record, this.#plan.primaryKey)] };
      else if (d === 0) {
        const hash = rowKeyHash(record, this.#plan.primaryKey);
        if (!this.#state!.unique_hashes.includes(hash)) this.#state = { ...this.#state!, unique_hashes: [...this.#state!.unique_hashes, hash] };
      }
    }
  }

  /** The state to store: the maximum so far (or the earlier state, if the backfill loaded nothing beyond it). */
  get state(): IncrementalState | undefined {
    return this.#state;
  }
}
