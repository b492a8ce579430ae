/**
 * Backfill windows (issue #16): an incremental range `[initial_value, end_value)` cut into
 * consecutive half-open windows — a day, or 10,000 ids. Pure values in, windows out, on the
 * ground floor: the config checks a window at load time and the pipeline fetches by it.
 *
 * The size is spelled like Airbyte's low-code `step` (ISO 8601 durations,
 * https://docs.airbyte.com/connector-development/config-based/understanding-the-yaml-file/incremental-syncs)
 * or like Sling's `chunk_size` (`6h`, `7d`, https://docs.slingdata.io/examples/database-to-database/chunking),
 * except that minutes are `min`: Sling's `1m` is a month, and a config that
 * means the other one would silently load 43,200 times too much or too little.
 */
/** A window's size: a calendar span (months, then milliseconds), or a number of cursor units. */
export type WindowSize = { kind: "duration"; months: number; ms: number; text: string } | { kind: "number"; size: number; text: string };

/** One window of a backfill: `[start, end)`, its 0-based index among all windows. */
export interface CursorWindow {
  index: number;
  start: string | number;
  end: string | number;
}

/** Most windows one backfill may have: more is almost surely a size typo (`1s` for `1d`). */
export const MAX_WINDOWS = 100_000;

const UNIT_MS: Record<string, number> = { s: 1000, sec: 1000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const UNIT_MONTHS: Record<string, number> = { mo: 1, y: 12 };
const SHORT = /^(\d+(?:\.\d+)?)\s*(s|sec|min|h|d|w|mo|y)$/;
const ISO_DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
const FORMS = 'a duration such as "6h", "1d", "7d", "1mo" or "P1D" (units s, min, h, d, w, mo, y), or a positive number for a numeric cursor';

/** Reads `incremental.window`. Returns the size, or what is wrong with it. */
export function parseWindowSize(spec: string | number): WindowSize | { error: string } {
  if (typeof spec === "number") {
    return Number.isFinite(spec) && spec > 0 ? { kind: "number", size: spec, text: String(spec) } : { error: `expected ${FORMS}, got ${spec}: a window must be larger than 0` };
  }
  const text = spec.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseWindowSize(Number(text));
  const short = SHORT.exec(text);
  if (short) {
    const n = Number(short[1]);
    const unit = short[2];
    if (!(n > 0)) return { error: `expected ${FORMS}, got "${spec}": a window must be longer than 0` };
    if (unit in UNIT_MONTHS) {
      if (!Number.isInteger(n)) return { error: `expected whole months or years, got "${spec}"` };
      return { kind: "duration", months: n * UNIT_MONTHS[unit], ms: 0, text };
    }
    return { kind: "duration", months: 0, ms: Math.round(n * UNIT_MS[unit]), text };
  }
  if (/^\d+(\.\d+)?\s*m$/.test(text)) return { error: `"${spec}" is ambiguous: write "${text.slice(0, -1).trim()}min" for minutes or "${text.slice(0, -1).trim()}mo" for months` };
  const iso = ISO_DURATION.exec(text.toUpperCase());
  if (iso && text.length > 1 && !text.toUpperCase().endsWith("T")) {
    const [, y, mo, w, d, h, mi, s] = iso.map((x) => (x === undefined ? 0 : Number(x)));
    const months = y * 12 + mo;
    const ms = Math.round(((w * 7 + d) * 86_400 + h * 3600 + mi * 60 + s) * 1000);
    if (months === 0 && ms === 0) return { error: `expected ${FORMS}, got "${spec}": a window must be longer than 0` };
    return { kind: "duration", months, ms, text };
  }
  return { error: `expected ${FORMS}, got "${spec}"` };
}

/** `t` (ms since the epoch) plus `months` calendar months, in UTC; the 31st becomes the month's last day. */
function addMonths(t: number, months: number): number {
  if (months === 0) return t;
  const d = new Date(t);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.getTime() + (t % 86_400_000 + 86_400_000) % 86_400_000;
}

/** Writes a window bound in the shape the range was given: a date stays a date, seconds stay without milliseconds. */
function formatLike(t: number, like: string): string {
  if (ISO_DATE.test(like)) return new Date(t).toISOString().slice(0, 10);
  const iso = new Date(t).toISOString();
  return !/\.\d/.test(like) && iso.endsWith(".000Z") ? iso.slice(0, -5) + "Z" : iso;
}

/**
 * Cuts `[start, end)` into windows of `size`. Each bound is computed from
 * `start` (k months and k spans on), so months do not drift; the last window
 * ends at `end`. Returns the windows, or what is wrong with the range.
 */
export function splitWindows(start: string | number, end: string | number, size: WindowSize, max = MAX_WINDOWS): CursorWindow[] | { error: string } {
  const windows: CursorWindow[] = [];
  if (size.kind === "number") {
    if (typeof start !== "number" || typeof end !== "number") {
      return { error: `a window of ${size.text} cursor units needs numeric initial_value and end_value, got ${JSON.stringify(start)} and ${JSON.stringify(end)}; for a date-time cursor give a duration such as "1d"` };
    }
    if (!(end > start)) return { error: `end_value ${end} must be greater than initial_value ${start}` };
    const count = Math.ceil((end - start) / size.size);
    if (count > max) return { error: `${size.text} splits [${start}, ${end}) into ${count.toLocaleString("en-US")} windows, more than ${max.toLocaleString("en-US")}` };
    for (let k = 0; k < count; k++) windows.push({ index: k, start: start + k * size.size, end: Math.min(start + (k + 1) * size.size, end) });
    return windows;
  }
  const isTime = (x: unknown): x is string => typeof x === "string" && (ISO_DATE.test(x) || ISO_DATETIME.test(x)) && !Number.isNaN(Date.parse(x));
  if (!isTime(start) || !isTime(end)) {
    return { error: `a window of ${size.text} needs ISO 8601 dates or date-times in initial_value and end_value, got ${JSON.stringify(start)} and ${JSON.stringify(end)}; for a numeric cursor give the window as a number` };
  }
  const dateOnly = ISO_DATE.test(start);
  if (dateOnly && size.ms % 86_400_000 !== 0) return { error: `initial_value ${start} is a date, so the window must be whole days (or months), got "${size.text}"` };
  const t0 = Date.parse(dateOnly ? `${start}T00:00:00Z` : start);
  const t1 = Date.parse(ISO_DATE.test(end) ? `${end}T00:00:00Z` : end);
  if (!(t1 > t0)) return { error: `end_value ${end} must be later than initial_value ${start}` };
  // An estimate first, so a typo like "1s" over ten years is refused before building millions of windows.
  const approx = (t1 - t0) / (size.months * 28 * 86_400_000 + size.ms);
  if (approx > max * 1.2) return { error: `"${size.text}" splits [${start}, ${end}) into about ${Math.ceil(approx).toLocaleString("en-US")} windows, more than ${max.toLocaleString("en-US")}` };
  let from = t0;
  for (let k = 1; from < t1; k++) {
    const to = Math.min(addMonths(t0, k * size.months) + k * size.ms, t1);
    windows.push({ index: k - 1, start: k === 1 ? start : formatLike(from, start), end: to === t1 ? end : formatLike(to, start) });
    if (windows.length > max) return { error: `"${size.text}" splits [${start}, ${end}) into more than ${max.toLocaleString("en-US")} windows` };
    from = to;
  }
  return windows;
}

