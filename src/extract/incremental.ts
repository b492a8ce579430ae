/**
 * Incremental loading as dlt does it (`dlt.sources.incremental`): a cursor
 * field in each record, a start value (the last value seen by the previous
 * run, or `initial_value`), an optional `end_value`, and client-side
 * filtering of rows outside `[start, end)`. Rows sitting exactly on the start
 * boundary that the previous run already loaded are dropped by their primary
 * key (or, without one, by a hash of the whole row).
 *
 * Pure: the state goes in and comes out as JSON; the pipeline stores it in
 * the same transaction as the rows it covers.
 *
 * Reference: https://dlthub.com/docs/general-usage/incremental/cursor,
 * https://dlthub.com/docs/general-usage/incremental/lag
 */
import { createHash } from "node:crypto";
import type { IncrementalPlan } from "../config/plan.ts";
import { ResponseError } from "../errors.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";

/** What is stored between runs (dlt's incremental state keys). */
export interface IncrementalState {
  initial_value?: unknown;
  last_value?: unknown;
  /** Keys (hashed) of the rows whose cursor equals `last_value`: the boundary rows already loaded. */
  unique_hashes: string[];
}

/** The outcome of filtering one page. */
export interface FilterResult {
  records: Record<string, unknown>[];
  /** True when `row_order` says no later page can hold rows in range. */
  stop: boolean;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/** Orders cursor values: numbers numerically, ISO dates and date-times by time, other strings by code points. */
export function compareCursor(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") {
    if ((ISO_DATE.test(a) || ISO_DATETIME.test(a)) && (ISO_DATE.test(b) || ISO_DATETIME.test(b))) {
      const ta = Date.parse(a);
      const tb = Date.parse(b);
      if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  // Mixed: a numeric string against a number compares as numbers.
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Moves a cursor value back (max) or forward (min) by `lag`: seconds for date-times, days for dates, units for numbers. */
export function applyLag(value: unknown, lag: number, direction: "max" | "min"): unknown {
  const sign = direction === "max" ? -1 : 1;
  if (typeof value === "number") return value + sign * lag;
  if (typeof value === "string") {
    if (ISO_DATE.test(value)) {
      const t = Date.parse(`${value}T00:00:00Z`) + sign * lag * 86_400_000;
      return new Date(t).toISOString().slice(0, 10);
    }
    if (ISO_DATETIME.test(value)) {
      const t = Date.parse(value);
      if (!Number.isNaN(t)) return new Date(t + sign * lag * 1000).toISOString();
    }
    const n = Number(value);
    if (value.trim() !== "" && Number.isFinite(n)) return String(n + sign * lag);
  }
  return value;
}

/** The named `convert`s a JSON/YAML config can use; a TS config may pass any function. */
export function convertValue(value: unknown, convert: IncrementalPlan["convert"]): unknown {
  if (value === undefined || value === null || convert === undefined) return value;
  if (typeof convert === "function") return convert(value);
  const ms = typeof value === "number" ? value * (convert === "unix_ms" ? 1 : 1000) : Date.parse(String(value));
  switch (convert) {
    case "unix_seconds":
      return typeof value === "number" ? value : Math.floor(ms / 1000);
    case "unix_ms":
      return typeof value === "number" ? value : ms;
    case "iso":
      return Number.isNaN(ms) ? value : new Date(ms).toISOString();
    case "date":
      return Number.isNaN(ms) ? value : new Date(ms).toISOString().slice(0, 10);
  }
}

/** A stable hash of a row's key (or of the whole row): the de-duplication identity at the boundary. */
export function rowKeyHash(record: Record<string, unknown>, primaryKey: readonly string[]): string {
  const identity = primaryKey.length ? primaryKey.map((k) => firstJsonPath(record, k) ?? null) : stableJson(record);
  return createHash("sha256").update(JSON.stringify(identity)).digest("base64").slice(0, 22);
}

function stableJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stableJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, stableJson((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** One resource's (or one parent record's) cursor during a run. */
export class Incremental {
  readonly plan: IncrementalPlan;
  readonly resource: string;
  /** The start of the range: the stored last value (minus lag), or `initial_value`. */
  readonly startValue: unknown;
  readonly endValue: unknown;
  readonly #previous: IncrementalState | undefined;
  #lastValue: unknown;
  #hashes: Set<string>;
  readonly #seenAtStart: Set<string>;

  constructor(plan: IncrementalPlan, state: IncrementalState | undefined, resource = "") {
    this.plan = plan;
    this.resource = resource;
    this.#previous = state;
    const stored = state?.last_value;
    const hasStored = stored !== undefined && stored !== null;
    this.startValue = hasStored ? (plan.lag ? applyLag(stored, plan.lag, plan.lastValueFunc) : stored) : plan.initialValue;
    this.endValue = plan.endValue;
    this.#lastValue = hasStored ? stored : plan.initialValue;
    // Boundary rows are only known to be loaded when the range starts exactly at the stored last value.
    this.#seenAtStart = hasStored && !plan.lag ? new Set(state?.unique_hashes ?? []) : new Set();
    this.#hashes = new Set(this.#seenAtStart);
  }

  /** `+1` when `a` is further along than `b` in this cursor's direction. */
  #ahead(a: unknown, b: unknown): number {
    const c = compareCursor(a, b);
    return this.plan.lastValueFunc === "max" ? c : -c;
  }

  /** Values for `{incremental.*}` placeholders, converted with `convert` if set. */
  placeholders(): Record<string, unknown> {
    const c = (x: unknown) => convertValue(x, this.plan.convert);
    return {
      "incremental.start_value": c(this.startValue) ?? null,
      "incremental.initial_value": c(this.plan.initialValue) ?? null,
      "incremental.end_value": c(this.endValue) ?? null,
      "incremental.last_value": c(this.#previous?.last_value ?? this.plan.initialValue) ?? null,
      // dlt formats `{incremental.<attr>}` from the Incremental object: its settings come through unconverted.
      "incremental.lag": this.plan.lag ?? null,
      "incremental.cursor_path": this.plan.cursorPath,
    };
  }

  /** Request params from the legacy `start_param` / `end_param`. */
  params(): Record<string, string | number | boolean> {
    const out: Record<string, string | number | boolean> = {};
    const c = (x: unknown) => convertValue(x, this.plan.convert);
    const start = c(this.startValue);
    const end = c(this.endValue);
    if (this.plan.startParam && start !== undefined && start !== null) out[this.plan.startParam] = start as string | number | boolean;
    if (this.plan.endParam && end !== undefined && end !== null) out[this.plan.endParam] = end as string | number | boolean;
    return out;
  }

  /** Keeps the records inside the range, dropping boundary rows already loaded, and advances the last value. */
  filter(records: readonly Record<string, unknown>[]): FilterResult {
    const { plan } = this;
    const kept: Record<string, unknown>[] = [];
    let stop = false;
    for (const record of records) {
      const value = firstJsonPath(record, plan.cursorPath);
      if (value === undefined || value === null) {
        if (plan.onCursorValueMissing === "include") kept.push(record);
        else if (plan.onCursorValueMissing === "raise") {
          throw new ResponseError(
            `${this.resource ? `resource ${this.resource}: ` : ""}incremental cursor "${plan.cursorPath}" is ${value === null ? "null" : "missing"} in a record (keys: ${Object.keys(record).slice(0, 12).join(", ")})`,
            { hint: 'fix incremental.cursor_path, or set on_cursor_value_missing: "include" or "exclude"' },
          );
        }
        continue;
      }
      if (this.startValue !== undefined && this.startValue !== null) {
        const d = this.#ahead(value, this.startValue);
        if (d < 0 || (d === 0 && plan.rangeStart === "open")) {
          if (plan.rowOrder === "desc") stop = true;
          continue;
        }
        if (d === 0 && this.#seenAtStart.size && this.#seenAtStart.has(rowKeyHash(record, plan.primaryKey))) continue;
      }
      if (this.endValue !== undefined && this.endValue !== null) {
        const d = this.#ahead(value, this.endValue);
        if (d > 0 || (d === 0 && plan.rangeEnd === "open")) {
          if (plan.rowOrder === "asc") stop = true;
          continue;
        }
      }
      kept.push(record);
      const last = this.#lastValue;
      if (last === undefined || last === null || this.#ahead(value, last) > 0) {
        this.#lastValue = value;
        this.#hashes = new Set([rowKeyHash(record, plan.primaryKey)]);
      } else if (this.#ahead(value, last) === 0) {
        this.#hashes.add(rowKeyHash(record, plan.primaryKey));
      }
    }
    return { records: kept, stop };
  }

  /** Continues a run that was interrupted: the progress its committed batches had made. */
  restore(progress: IncrementalState | undefined): void {
    if (!progress || progress.last_value === undefined || progress.last_value === null) return;
    this.#lastValue = progress.last_value;
    this.#hashes = new Set(progress.unique_hashes ?? []);
  }

  /** The state this run started from (kept in checkpoints so a resumed run filters as the first attempt did). */
  get startState(): IncrementalState | undefined {
    return this.#previous;
  }

  /** The last value seen so far (what the next run starts from). */
  get lastValue(): unknown {
    return this.#lastValue;
  }

  /**
   * The state to store. With an `end_value` the run loads a fixed range
   * (a backfill), so the stored state is left as it was, as in dlt.
   */
  state(): IncrementalState | undefined {
    if (this.endValue !== undefined && this.endValue !== null) return this.#previous;
    if (this.#lastValue === undefined || this.#lastValue === null) return this.#previous;
    return { initial_value: this.plan.initialValue ?? null, last_value: this.#lastValue, unique_hashes: [...this.#hashes] };
  }
}
