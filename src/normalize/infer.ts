/**
 * Data types of JSON values and whether a value fits an existing column, following dlt's rules
 * (dlt/common/data_types/type_helpers.py `py_type_to_sc_type` / `coerce_value`,
 * dlt/common/schema/detections.py, https://dlthub.com/docs/general-usage/schema#data-types).
 *
 * Inference (a value for a column that does not exist yet):
 * - string → `text`; with the `iso_timestamp` detection (dlt's default) an ISO 8601 date-time →
 *   `timestamp`, naive ones included: dlt's `is_iso_timestamp` accepts any string pendulum parses to
 *   a datetime, and stores naive values as UTC. We accept the extended form
 *   `YYYY-MM-DD(T| )HH:MM[:SS[.fraction]][Z|±HH[:MM]|±HHMM]`; week, ordinal and basic (`20240101T…`)
 *   forms stay text. With `iso_date` a `YYYY-MM-DD` string → `date` (dlt has this detection but does
 *   not enable it by default).
 * - number → `bigint` when it is a safe integer, otherwise `double`. Pages are parsed with
 *   exact_json.ts, so a number no double holds arrives exact: a big integer as a `bigint` (typed
 *   `bigint` within int64, `wei` (DECIMAL(38,0)) within 38 digits, else `text`), any other as an
 *   `ExactNumber` (`1e400`, `1e-400`, `123456789012345678901234567.5`), typed `bigint` when it is an
 *   integer within int64, `decimal` (DECIMAL(38,9)) when it fits, else `text` holding the literal as written.
 * - boolean → `bool`; object or array kept whole → `json`.
 *
 * Coercion (a value for an existing column): dlt coerces between many types; we take the subset that
 * loses nothing, and a value outside it goes to a variant column instead:
 * - into `text`: anything. Numbers print as JavaScript prints them, booleans as `True`/`False`
 *   (Python's `str`, which dlt uses), objects and arrays as compact JSON.
 * - into `bigint` / `double`: numbers that fit (never an `ExactNumber` into `double`: that is the rounding it avoids), and strings that are a number's canonical spelling
 *   (`"42"`, `"1.5"`); into `bool`: `"true"` and `"false"`. dlt also takes `" 42"`, `"0x2a"`,
 *   `"042"`, `"yes"`, and any number into `bool`.
 * - into `timestamp`: ISO date-times and dates (midnight UTC). dlt also reads numbers as Unix time.
 * - into `date`: `YYYY-MM-DD` only (dlt truncates date-times). Into `time`: `HH:MM[:SS[.f]]`.
 * - into `decimal` / `wei`: numbers and decimal strings that fit precision and scale without rounding.
 * - into `json`: any value, scalars included (dlt parses strings as JSON instead).
 */
import { ExactNumber } from "../exact_json.ts";
import type { ColumnSchema, DataType } from "./types.ts";

/** A type detection that can turn a string into a richer type, named as in dlt's `settings.detections`. */
export type TypeDetection = "iso_timestamp" | "iso_date";

/** Detections applied when a column is created: dlt's default `iso_timestamp`, plus `iso_date`. */
export const DEFAULT_DETECTIONS: readonly TypeDetection[] = ["iso_timestamp", "iso_date"];

/** Returned by {@link coerceValue} when a value does not fit the column's type. */
export const NO_FIT: unique symbol = Symbol("NO_FIT");

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const WEI_LIMIT = 10n ** 38n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const RE_CANONICAL_INT = /^-?(?:0|[1-9]\d*)$/;
const RE_DECIMAL = /^-?\d+(?:\.\d+)?$/;
const RE_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RE_HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

/**
 * Returns the data type of a value before any detection (dlt's `py_type_to_sc_type`); also the
 * suffix of the variant column a misfit value goes to.
 *
 * @param value A non-null JSON-ish value.
 * @returns The data type, or `undefined` for `null`, `undefined` and values JSON cannot hold.
 */
export function valueType(value: unknown): DataType | undefined {
  switch (typeof value) {
    case "string":
      return "text";
    case "number":
      return Number.isSafeInteger(value) ? "bigint" : "double";
    case "boolean":
      return "bool";
    case "bigint":
      if (value >= INT64_MIN && value <= INT64_MAX) return "bigint";
      return value > -WEI_LIMIT && value < WEI_LIMIT ? "wei" : "text";
    case "object":
      if (value === null) return undefined;
      if (value instanceof Date) return "timestamp";
      if (value instanceof Uint8Array) return "binary";
      if (value instanceof ExactNumber) return _exactType(value);
      return "json";
    default:
      return undefined;
  }
}

/**
 * Returns the data type a new column gets from its first non-null value.
 *
 * @param value The value.
 * @param detections Detections to try on strings.
 * @returns The data type, or `undefined` for `null` / `undefined`.
 */
export function inferDataType(value: unknown, detections: readonly TypeDetection[] = DEFAULT_DETECTIONS): DataType | undefined {
  if (typeof value !== "string") return valueType(value);
  // Cheap shape checks run first: only strings with a dash at 4 and 7 can be dates.
  if (value.length >= 10 && value.charCodeAt(4) === 45 && value.charCodeAt(7) === 45) {
    if (value.length === 10) {
      if (detections.includes("iso_date") && isIsoDate(value)) return "date";
    } else if (detections.includes("iso_timestamp") && parseIsoTimestamp(value) !== undefined) {
      return "timestamp";
    }
  }
  return "text";
}

/**
 * Converts a value into the representation a column of this type holds in a row, without loss.
 *
 * @param column The column's type, precision and scale.
 * @param value A non-null value.
 * @returns The value as the column holds it (see the module comment), or {@link NO_FIT}.
 */
export function coerceValue(column: Pick<ColumnSchema, "data_type" | "precision" | "scale">, value: unknown): unknown {
  const type = typeof value;
  switch (column.data_type) {
    case "text":
      return type === "string" ? value : _toText(value);
    case "bigint":
      if (type === "number") {
        if (Number.isSafeInteger(value)) return value;
        // Already a double: store it exactly when it is integral and inside int64.
        if (Number.isInteger(value)) return _fitInt64(BigInt(value as number));
        return NO_FIT;
      }
      if (type === "bigint") return _fitInt64(value as bigint);
      if (type === "string" && RE_CANONICAL_INT.test(value as string)) return _fitInt64(BigInt(value as string));
      if (value instanceof ExactNumber) {
        const plain = _plainExact(value);
        return plain !== undefined && RE_CANONICAL_INT.test(plain) ? _fitInt64(BigInt(plain)) : NO_FIT;
      }
      return NO_FIT;
    case "double":
      if (type === "number") return value;
      if (type === "bigint") {
        const n = Number(value);
        return BigInt(n) === value ? n : NO_FIT;
      }
      if (type === "string" && (value as string).length > 0) {
        const n = Number(value);
        return Number.isFinite(n) && String(n) === value ? n : NO_FIT;
      }
      return NO_FIT;
    case "bool":
      if (type === "boolean") return value;
      if (value === "true") return true;
      if (value === "false") return false;
      return NO_FIT;
    case "timestamp":
      if (type === "string") {
        const text = value as string;
        if (text.length === 10) return isIsoDate(text) ? `${text}T00:00:00Z` : NO_FIT;
        return parseIsoTimestamp(text) ?? NO_FIT;
      }
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? NO_FIT : value.toISOString();
      return NO_FIT;
    case "date":
      return type === "string" && isIsoDate(value as string) ? value : NO_FIT;
    case "time":
      return type === "string" && isIsoTime(value as string) ? value : NO_FIT;
    case "json":
      return value;
    case "decimal":
      return _toDecimal(value, column.precision ?? 38, column.scale ?? 9);
    case "wei":
      return _toDecimal(value, 38, 0);
    case "binary":
      return _toBinary(value);
  }
}

/**
 * Reads an ISO 8601 date-time and returns it in a form DuckDB casts to `TIMESTAMP WITH TIME ZONE`
 * the same way whatever the session time zone: seconds always present, naive values marked UTC.
 *
 * @param text The candidate string.
 * @returns The date-time to store, or `undefined` when `text` is not one.
 */
export function parseIsoTimestamp(text: string): string | undefined {
  const length = text.length;
  if (length < 16 || !_isDatePart(text)) return undefined;
  const sep = text.charCodeAt(10);
  if (sep !== 84 /* T */ && sep !== 32 /* space */) return undefined;
  if (!_inRange(text, 11, 2, 23) || text.charCodeAt(13) !== 58 || !_inRange(text, 14, 2, 59)) return undefined;
  let i = 16;
  let hasSeconds = false;
  if (text.charCodeAt(i) === 58 /* : */) {
    if (!_inRange(text, i + 1, 2, 59)) return undefined;
    hasSeconds = true;
    i += 3;
    if (text.charCodeAt(i) === 46 /* . */) {
      const start = ++i;
      while (i < length && _isDigit(text.charCodeAt(i))) i++;
      if (i === start || i - start > 9) return undefined;
    }
  }
  const zoneStart = i;
  if (i < length) {
    const c = text.charCodeAt(i);
    if (c === 90 /* Z */) {
      if (i + 1 !== length) return undefined;
    } else if (c === 43 /* + */ || c === 45 /* - */) {
      if (!_inRange(text, i + 1, 2, 23)) return undefined;
      i += 3;
      if (i < length) {
        if (text.charCodeAt(i) === 58) i++;
        if (i + 2 !== length || !_inRange(text, i, 2, 59)) return undefined;
      }
    } else {
      return undefined;
    }
  }
  if (hasSeconds && zoneStart < length) return text;
  const seconds = hasSeconds ? text.slice(0, zoneStart) : `${text.slice(0, 16)}:00`;
  return zoneStart < length ? seconds + text.slice(zoneStart) : `${seconds}Z`;
}

/**
 * Microseconds since the Unix epoch of a date-time as `parseIsoTimestamp` returns it
 * (`YYYY-MM-DD?HH:MM:SS[.fraction](Z|±HH[:MM])`), for DuckDB's Appender: it would read the text
 * itself but ignores the offset. Digits past the microsecond are dropped, as DuckDB's cast does.
 *
 * @param text A date-time with seconds and a zone.
 * @returns The instant in microseconds, or `undefined` when `text` is not in that form.
 */
export function timestampMicros(text: string): bigint | undefined {
  const length = text.length;
  if (length < 19) return undefined;
  const year = _digits(text, 0, 4);
  const month = _digits(text, 5, 2);
  const day = _digits(text, 8, 2);
  const hour = _digits(text, 11, 2);
  const minute = _digits(text, 14, 2);
  const second = _digits(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let i = 19;
  let micros = 0;
  if (text.charCodeAt(i) === 46 /* . */) {
    const start = ++i;
    while (i < length && _isDigit(text.charCodeAt(i))) {
      if (i - start < 6) micros = micros * 10 + (text.charCodeAt(i) - 48);
      i++;
    }
    for (let n = i - start; n < 6; n++) micros *= 10;
  }
  let offsetMinutes = 0;
  const sign = text.charCodeAt(i);
  if (sign === 90 /* Z */) {
    i++;
  } else if (sign === 43 /* + */ || sign === 45 /* - */) {
    const hours = _digits(text, i + 1, 2);
    i += 3;
    if (text.charCodeAt(i) === 58) i++;
    const minutes = i < length ? _digits(text, i, 2) : 0;
    if (hours < 0 || minutes < 0) return undefined;
    if (i < length) i += 2;
    offsetMinutes = (sign === 45 ? -1 : 1) * (hours * 60 + minutes);
  }
  if (i !== length) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0–99 as 1900–1999
  date.setUTCHours(hour, minute, second, 0);
  return BigInt(date.getTime() - offsetMinutes * 60_000) * 1000n + BigInt(micros);
}

/**
 * Tells whether a string is a valid calendar date `YYYY-MM-DD`.
 *
 * @param text The candidate string.
 * @returns True for an existing date between 0001-01-01 and 9999-12-31.
 */
export function isIsoDate(text: string): boolean {
  return text.length === 10 && _isDatePart(text);
}

/** `HH:MM[:SS[.fraction]]`, optionally with an offset DuckDB ignores (dlt strips it too). */
function isIsoTime(text: string): boolean {
  if (text.length < 5 || !_inRange(text, 0, 2, 23) || text.charCodeAt(2) !== 58 || !_inRange(text, 3, 2, 59)) return false;
  let i = 5;
  if (text.charCodeAt(i) === 58) {
    if (!_inRange(text, i + 1, 2, 59)) return false;
    i += 3;
    if (text.charCodeAt(i) === 46) {
      const start = ++i;
      while (i < text.length && _isDigit(text.charCodeAt(i))) i++;
      if (i === start) return false;
    }
  }
  if (i === text.length) return true;
  const zone = text.slice(i);
  return zone === "Z" || /^[+-]\d{2}(?::?\d{2})?$/.test(zone);
}

function _isDatePart(text: string): boolean {
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false;
  const year = _digits(text, 0, 4);
  const month = _digits(text, 5, 2);
  const day = _digits(text, 8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month]) return false;
  return !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

/** The number written by the `count` digits at `at`, or -1 when one of them is not a digit. */
function _digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

function _inRange(text: string, at: number, count: number, max: number): boolean {
  const n = _digits(text, at, count);
  return n >= 0 && n <= max;
}

function _isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function _fitInt64(value: bigint): unknown {
  if (value < INT64_MIN || value > INT64_MAX) return NO_FIT;
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

function _toText(value: unknown): unknown {
  switch (typeof value) {
    case "number":
    case "bigint":
      return String(value);
    case "boolean":
      return value ? "True" : "False";
    case "object":
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
      if (value instanceof ExactNumber) return value.text;
      return _stringifyJson(value);
    default:
      return NO_FIT;
  }
}

/**
 * Serializes a value for a `json` column: compact JSON like dlt's orjson, `bigint` values as plain digits.
 *
 * @param value Any JSON-ish value, `bigint` included.
 * @returns The JSON text.
 */
export function stringifyJson(value: unknown): string {
  return _stringifyJson(value);
}

/** Compact JSON like dlt's orjson; `bigint` values print as plain digits. */
function _stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return _jsonWithBigints(value);
  }
}

function _jsonWithBigints(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object" || value instanceof Date) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(_jsonWithBigints).join(",")}]`;
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${_jsonWithBigints(item)}`);
  }
  return `{${parts.join(",")}}`;
}

function _toDecimal(value: unknown, precision: number, scale: number): unknown {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return NO_FIT;
    text = _plainNumber(value);
  } else if (typeof value === "bigint") {
    text = value.toString();
  } else if (typeof value === "string" && RE_DECIMAL.test(value)) {
    text = value;
  } else if (value instanceof ExactNumber) {
    const plain = _plainExact(value);
    if (plain === undefined) return NO_FIT;
    text = plain;
  } else {
    return NO_FIT;
  }
  const negative = text.charCodeAt(0) === 45 ? 1 : 0;
  const point = text.indexOf(".");
  const integer = text.slice(negative, point < 0 ? text.length : point).replace(/^0+/, "");
  const fraction = point < 0 ? "" : text.slice(point + 1).replace(/0+$/, "");
  return integer.length <= precision - scale && fraction.length <= scale ? text : NO_FIT;
}

/** Exponents beyond this make a plain spelling too long for any DECIMAL column: such a literal is text. */
const MAX_PLAIN_EXPONENT = 64;

/** An exact literal without exponent or superfluous zeros (`1.50e2` → `150`), or undefined when that would be huge. */
function _plainExact(value: ExactNumber): string | undefined {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value.text);
  if (!m) return undefined;
  const digits = (m[2] ?? "") + (m[3] ?? "");
  const at = (m[2] ?? "").length + Number(m[4] ?? 0);
  if (Math.abs(at) > MAX_PLAIN_EXPONENT) return undefined;
  const padded = at <= 0 ? "0".repeat(1 - at) + digits : at >= digits.length ? digits + "0".repeat(at - digits.length) : digits;
  const point = Math.max(at, 1);
  const integer = padded.slice(0, point).replace(/^0+(?=\d)/, "");
  const fraction = padded.slice(point).replace(/0+$/, "");
  const sign = /[1-9]/.test(digits) ? m[1] : "";
  return fraction ? `${sign}${integer}.${fraction}` : `${sign}${integer}`;
}

/** An exact literal's column type: an integer's as for a `bigint`; else `decimal` within DECIMAL(38,9), or `text`. */
function _exactType(value: ExactNumber): DataType {
  const plain = _plainExact(value);
  if (plain === undefined) return "text";
  if (RE_CANONICAL_INT.test(plain)) return valueType(BigInt(plain))!;
  return _toDecimal(plain, 38, 9) === NO_FIT ? "text" : "decimal";
}

/** A finite number without exponent notation, digit for digit as `String` prints it. */
function _plainNumber(value: number): string {
  const text = String(value);
  const e = text.indexOf("e");
  if (e < 0) return text;
  const sign = text.charCodeAt(0) === 45 ? "-" : "";
  const mantissa = text.slice(sign.length, e);
  const point = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  const at = (point < 0 ? mantissa.length : point) + Number(text.slice(e + 1));
  if (at <= 0) return `${sign}0.${"0".repeat(-at)}${digits}`;
  if (at >= digits.length) return sign + digits + "0".repeat(at - digits.length);
  return `${sign}${digits.slice(0, at)}.${digits.slice(at)}`;
}

function _toBinary(value: unknown): unknown {
  if (value instanceof Uint8Array) return value;
  if (typeof value !== "string") return NO_FIT;
  if (RE_HEX.test(value)) {
    const bytes = new Uint8Array((value.length - 2) / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(value.slice(2 + i * 2, 4 + i * 2), 16);
    return bytes;
  }
  if (!RE_BASE64.test(value)) return NO_FIT;
  const raw = atob(value);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}
