/**
 * Table and column names as dlt's default `snake_case` naming convention makes them, so SQL
 * written against a dlt-loaded DuckDB runs unchanged against ours.
 *
 * Rules, verified against dlt's docs (https://dlthub.com/docs/general-usage/naming-convention),
 * its source (dlt/common/normalizers/naming/{snake_case,naming,sql_cs_v1}.py,
 * dlt/common/normalizers/json/{relational,helpers}.py) and its tests
 * (tests/common/normalizers/test_naming{,_snake_case}.py):
 *
 * 1. Surrounding whitespace is trimmed (Python `str.strip()`, whose set differs slightly from JS `trim()`).
 * 2. `+` → `x`, `-` → `_`, `*` → `x`, `@` → `a`, `|` → `l` (`_REDUCE_ALPHABET`).
 * 3. Every run of characters other than ASCII letters, Unicode decimal digits (Python's `\d`) and
 *    `_` becomes one `_` (`RE_NON_ALPHANUMERIC = [^a-zA-Z\d_]+`); emoji, dots, quotes, spaces all land here.
 * 4. Words split at case changes: `([^_])([A-Z][a-z]+)` → `\1_\2`, then `([a-z0-9])([A-Z])` → `\1_\2`,
 *    then lower case. So `senderId` → `sender_id`, `HTTPResponse` → `http_response`, `BANaNA` → `ba_na_na`.
 * 5. A name starting with a digit gets a `_` prefix: `123BaNaNa` → `_123_ba_na_na`.
 * 6. Each trailing `_` becomes `x`: `BANANA__` → `bananaxx`, `_` → `x`.
 * 7. Runs of `_` collapse to one, so no identifier contains the `__` path separator.
 * 8. A name longer than the limit keeps its head and tail around a 6-character tag placed in the
 *    middle; the tag is SHAKE-128 (4 bytes) of the trimmed raw name, base64 without padding,
 *    `/` → `a`, `+` → `b`, lower-cased (`NamingConvention._compute_tag` / `_trim_and_tag`).
 * 9. Paths: split on `__`, drop blank parts, normalize each part, join with `__`, then shorten the
 *    whole path with a tag of the raw path (`normalize_path`). dlt normalizes JSON keys and table
 *    names this way by default (`use_break_path_on_normalize`), so a key `a__b` stays `a__b`.
 * 10. A blank key becomes `_empty` (`DataItemNormalizer.EMPTY_KEY_IDENTIFIER`); dlt's naming itself
 *     raises on blank names, and a key of only separators (`__`) crashes dlt
 *     (https://github.com/dlt-hub/dlt/issues/4415), so we name both `_empty`.
 */
import { createHash } from "node:crypto";

/**
 * dlt's DuckDB destination sets `max_identifier_length` and `max_column_identifier_length` to 65536
 * (dlt/destinations/impl/duckdb/factory.py); dlt gives the naming convention the smaller of the two
 * (dlt/common/normalizers/utils.py).
 */
export const MAX_IDENTIFIER_LENGTH = 65536;

/** Separator between parent and child names in nested table and flattened column names. */
export const PATH_SEPARATOR = "__";

/** Name dlt gives a blank JSON key. */
export const EMPTY_KEY_IDENTIFIER = "_empty";

// dlt sizes the tag for a 0.001 collision probability: int(3 * log2(1000) // 8) + 1 = 4 bytes,
// which is 6 base64 characters once the padding is stripped.
const TAG_BYTES = 4;

const REDUCE_ALPHABET: Readonly<Record<string, string>> = { "+": "x", "-": "_", "*": "x", "@": "a", "|": "l" };
const RE_REDUCE_ALPHABET = /[+\-*@|]/g;
const RE_NON_ALPHANUMERIC = /[^a-zA-Z\p{Nd}_]+/gu;
const RE_BREAK_WORD = /([^_])([A-Z][a-z]+)/gu;
const RE_BREAK_CASE = /([a-z0-9])([A-Z])/g;
const RE_LEADING_DIGIT = /^\p{Nd}/u;
const RE_TRAILING_UNDERSCORES = /_+$/;
const RE_UNDERSCORES = /_+/g;
// Python's str.isspace() set, which is what dlt's strip() removes.
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const RE_PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

/**
 * Normalizes one identifier (a JSON key or resource name) as dlt's `snake_case` does.
 *
 * @param name The source name.
 * @param maxLength The longest result allowed; longer results are shortened with a hash tag.
 * @returns The snake_case identifier, `_empty` for a blank name.
 */
export function normalizeIdentifier(name: string, maxLength: number = MAX_IDENTIFIER_LENGTH): string {
  const raw = _pyStrip(name);
  if (raw === "") return EMPTY_KEY_IDENTIFIER;
  return _shorten(_snakeCase(raw), raw, maxLength);
}

/**
 * Joins already-normalized identifiers into a path, skipping blank ones as dlt's `make_path` does.
 *
 * @param parts The identifiers, parent first.
 * @returns The parts joined with `__`.
 */
export function makePath(...parts: string[]): string {
  return parts.filter((part) => _pyStrip(part) !== "").join(PATH_SEPARATOR);
}

/**
 * Joins already-normalized identifiers into a path and shortens it as dlt's `shorten_fragments`
 * does for nested table and flattened column names.
 *
 * @param parts The identifiers, parent first.
 * @param maxLength The longest result allowed.
 * @returns The path, shortened with a tag of itself when too long.
 */
export function shortenFragments(parts: readonly string[], maxLength: number = MAX_IDENTIFIER_LENGTH): string {
  const path = makePath(...parts);
  return _shorten(path, path, maxLength);
}

/**
 * Normalizes each `__`-separated part of a path as dlt's `normalize_path` does.
 *
 * @param path The source path, e.g. a JSON key or `Parent__Child`.
 * @param maxLength The longest result (and part) allowed.
 * @returns The normalized path, `_empty` when no part is left.
 */
export function normalizePath(path: string, maxLength: number = MAX_IDENTIFIER_LENGTH): string {
  const parts = path.split(PATH_SEPARATOR).filter((part) => _pyStrip(part) !== "");
  if (parts.length === 0) return EMPTY_KEY_IDENTIFIER;
  const normalized = makePath(...parts.map((part) => normalizeIdentifier(part, maxLength)));
  return _shorten(normalized, path, maxLength);
}

/** Options of a {@link NameRegistry}. */
export interface NameRegistryOptions {
  /** The longest name allowed; defaults to {@link MAX_IDENTIFIER_LENGTH}. */
  maxLength?: number;
  /** How a source key becomes a name; defaults to {@link normalizePath}, dlt's choice for JSON keys. */
  normalize?: (sourceKey: string, maxLength: number) => string;
}

/**
 * Gives each distinct source key of one table a distinct name, in the order keys are first seen.
 *
 * dlt merges keys that normalize alike (`Id` and `id`) into one column. Here the first key keeps
 * the name and each later colliding key gets the first free `_2`, `_3`, … suffix, so no value is lost.
 */
export class NameRegistry {
  readonly #maxLength: number;
  readonly #normalize: (sourceKey: string, maxLength: number) => string;
  readonly #bySourceKey = new Map<string, string>();
  readonly #taken = new Set<string>();

  constructor(options: NameRegistryOptions = {}) {
    this.#maxLength = options.maxLength ?? MAX_IDENTIFIER_LENGTH;
    this.#normalize = options.normalize ?? normalizePath;
  }

  /**
   * Returns the name of a source key, the same one every time it is asked.
   *
   * @param sourceKey The key as it appears in the source data.
   * @returns The normalized name, suffixed when an earlier key already has it.
   */
  resolve(sourceKey: string): string {
    const known = this.#bySourceKey.get(sourceKey);
    if (known !== undefined) return known;
    const base = this.#normalize(sourceKey, this.#maxLength);
    let name = base;
    for (let n = 2; this.#taken.has(name); n++) name = _withSuffix(base, `_${n}`, this.#maxLength);
    this.#bySourceKey.set(sourceKey, name);
    this.#taken.add(name);
    return name;
  }
}

/** Steps 2–7 of the module comment, on a name already stripped. */
function _snakeCase(raw: string): string {
  let ident = raw
    .replace(RE_REDUCE_ALPHABET, (ch) => REDUCE_ALPHABET[ch])
    .replace(RE_NON_ALPHANUMERIC, "_")
    .replace(RE_BREAK_WORD, "$1_$2")
    .replace(RE_BREAK_CASE, "$1_$2")
    .toLowerCase();
  if (RE_LEADING_DIGIT.test(ident)) ident = `_${ident}`;
  ident = ident.replace(RE_TRAILING_UNDERSCORES, (run) => "x".repeat(run.length));
  return ident.replace(RE_UNDERSCORES, "_");
}

/** dlt's `shorten_identifier`: lengths count code points, as Python's `len` does. */
function _shorten(normalized: string, raw: string, maxLength: number): string {
  if (!maxLength) return normalized;
  const chars = Array.from(normalized);
  if (chars.length <= maxLength) return normalized;
  const tag = _computeTag(raw);
  if (tag.length > maxLength) {
    throw new RangeError(`Cannot shorten identifier ${normalized}: maxLength ${maxLength} is shorter than its ${tag.length}-character tag`);
  }
  const remaining = maxLength - tag.length;
  const tail = Math.floor(remaining / 2);
  return chars.slice(0, remaining - tail).join("") + tag + chars.slice(chars.length - tail).join("");
}

/** dlt's `_compute_tag`: a short, case-insensitive content hash of the raw name. */
function _computeTag(raw: string): string {
  const digest = createHash("shake128", { outputLength: TAG_BYTES }).update(raw, "utf8").digest("base64");
  return digest.replace(/=+$/, "").replaceAll("/", "a").replaceAll("+", "b").toLowerCase();
}

/** Appends a collision suffix, cutting the base so the result stays within maxLength. */
function _withSuffix(base: string, suffix: string, maxLength: number): string {
  const chars = Array.from(base);
  if (!maxLength || chars.length + suffix.length <= maxLength) return base + suffix;
  return chars.slice(0, Math.max(0, maxLength - suffix.length)).join("").replace(/_+$/, "") + suffix;
}

function _pyStrip(text: string): string {
  return text.replace(RE_PY_STRIP, "");
}
