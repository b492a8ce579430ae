/**
 * JSON numbers kept exactly (issue #11, item 9). `JSON.parse` turns `1e400`
 * into Infinity, `1e-400` into 0 and `123456789012345678901234567.5` into the
 * nearest double, silently. Here a number literal whose double is not its
 * value is kept as written: an integer as a `bigint`, anything else as an
 * {@link ExactNumber}, which the normalizer stores in a `decimal` or `text`
 * column (a variant column when its column is a `double`).
 *
 * Only pages whose text holds a suspicious literal pay for it: a cheap
 * pattern looks for long digit runs and three-digit exponents first. The exact
 * text comes from the reviver's `context.source` (TC39 "JSON.parse source
 * text access": Node 22+, Deno, Bun 1.1+); where a runtime lacks it, a scan
 * of the text turns those literals into marked strings before parsing.
 */

/** A JSON number whose value no double holds, kept as the literal the API wrote. */
export class ExactNumber {
  /** The literal as written in the JSON text, e.g. `1e400`. */
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** Written back into JSON exactly as it came (a string where the runtime has no `JSON.rawJSON`). */
  toJSON(): unknown {
    return rawJson ? rawJson(this.text) : this.text;
  }

  toString(): string {
    return this.text;
  }

  /** The nearest double, for comparisons (`>`, sorting). */
  valueOf(): number {
    return Number(this.text);
  }
}

const rawJson = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;

/**
 * A number literal at a value's start (after `:`, `,` or `[`) with 16+ digits and points, or a
 * three-digit exponent; the literal is group 1. Anything shorter is a double's exact value: 15
 * significant digits always round-trip, and only exponents past ±300 leave the double range.
 * (Text in a string like `":1e400"` matches too: that only costs a slower parse.) Every page is
 * scanned with it, so it is one pass without lookahead.
 */
const SUSPICIOUS = /[:,[]\s*(-?\d[.\d]{15,}(?:[eE][+-]?\d+)?|-?\d+(?:\.\d+)?[eE][+-]?\d{3,})/g;

/** Feature test: does this runtime's JSON.parse hand revivers the source text of a number? */
const HAS_SOURCE = (() => {
  let source: unknown;
  JSON.parse("1", (_k, v, context?: { source?: string }) => ((source = context?.source), v));
  return source === "1";
})();

/** Marks a literal turned into a string by the fallback scan (a NUL cannot occur raw in JSON text). */
const MARK = "\u0000restduck-number:";

/**
 * `JSON.parse`, except that number literals no double holds exactly come back as a `bigint`
 * (integers) or an {@link ExactNumber}.
 *
 * @param text JSON text.
 * @param options `sourceAccess: false` forces the fallback scan (for tests).
 * @returns The parsed value.
 */
export function parseJsonExact(text: string, options: { sourceAccess?: boolean } = {}): unknown {
  // A reviver makes JSON.parse several times slower, and APIs often print doubles with 17 digits
  // (`1.1099999999999999`) that are exact: only a literal a double really changes pays for it.
  if (!hasInexactLiteral(text)) return JSON.parse(text);
  if (options.sourceAccess ?? HAS_SOURCE) return JSON.parse(text, reviveFromSource);
  const marked = markInexact(text);
  return marked === text ? JSON.parse(text) : JSON.parse(marked, reviveMarked);
}

function hasInexactLiteral(text: string): boolean {
  SUSPICIOUS.lastIndex = 0;
  for (let m = SUSPICIOUS.exec(text); m !== null; m = SUSPICIOUS.exec(text)) {
    if (needsExact(Number(m[1]), m[1])) return true;
  }
  return false;
}

function reviveFromSource(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number") return value;
  const source = context?.source;
  return source === undefined || !needsExact(value, source) ? value : exactValue(source);
}

function reviveMarked(_key: string, value: unknown): unknown {
  return typeof value === "string" && value.startsWith(MARK) ? exactValue(value.slice(MARK.length)) : value;
}

const INTEGER = /^-?\d+$/;

const exactValue = (literal: string): bigint | ExactNumber => (INTEGER.test(literal) ? BigInt(literal) : new ExactNumber(literal));

/**
 * Whether a literal must not become the double it parsed to: an integer beyond 2^53 (kept a `bigint`
 * like every big integer, so its column stays an integer one), or any literal whose double is not its value.
 */
function needsExact(value: number, literal: string): boolean {
  if (Number.isSafeInteger(value) && INTEGER.test(literal)) return false;
  return INTEGER.test(literal) || !isExact(value, literal);
}

/** Rewrites each number literal that no double holds into a marked string; strings are skipped whole. */
function markInexact(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \ */) i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let end = i + 1;
      while (end < text.length && /[-+.\deE]/.test(text[end])) end++;
      const literal = text.slice(i, end);
      if (needsExact(Number(literal), literal)) {
        out += `${text.slice(from, i)}"\\u0000${MARK.slice(1)}${literal}"`;
        from = end;
      }
      i = end - 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Whether a double is exactly the value of the literal it was parsed from: finite, zero only for a zero
 * literal, and the same decimal digits as the shortest text that reads back as that double.
 */
export function isExact(value: number, literal: string): boolean {
  if (literal.length <= 15 && !/[eE]/.test(literal)) return true;
  if (!Number.isFinite(value)) return false;
  if (String(value) === literal) return true;
  return decimalKey(literal) === decimalKey(String(value));
}

/** A decimal literal's value as `digits` + `e` + exponent, without leading or trailing zeros: equal keys, equal values. */
function decimalKey(literal: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return literal;
  const digits = (m[2] ?? "") + (m[3] ?? "");
  const lead = digits.length - digits.replace(/^0+/, "").length;
  const significant = digits.slice(lead).replace(/0+$/, "");
  if (significant === "") return "0";
  // The value is 0.<significant> × 10^point, where point counts from the first significant digit.
  const point = (m[2] ?? "").length - lead + Number(m[4] ?? 0);
  return `${m[1]}${significant}e${point}`;
}
