/**
 * Finds the records in a response body: through `data_selector` when the
 * config has one, otherwise by dlt's guess at which list holds the records.
 *
 * Reference: dlt `sources/helpers/rest_client/detector.py` (`find_response_page_data`).
 */
import { queryJsonPath } from "../shared/jsonpath.ts";

// dlt's RECORD_KEY_PATTERNS plus names common APIs use (`value` is OData's, `hits` Elasticsearch's).
const _RECORD_KEYS: ReadonlySet<string> = new Set([
  "data", "items", "results", "records", "entries", "elements", "objects", "values",
  "list", "messages", "hits", "rows", "content", "collection", "value", "resources",
]);

/**
 * Guesses where the records are in a response without a `data_selector`.
 * A top-level array is the records; in an object, a list under a well-known
 * key (`data`, `items`, `results`, …) wins, otherwise the least nested list.
 *
 * @returns the records and a JSONPath to them, or `undefined` when the document holds no list.
 */
export function findRecords(doc: unknown): { records: unknown[]; path: string } | undefined {
  if (Array.isArray(doc)) return { records: doc, path: "$" };
  if (!_isObject(doc)) return undefined;

  // Breadth-first, so lists come out ordered by depth and then by key order.
  let first: { records: unknown[]; keys: string[] } | undefined;
  let level: { value: Record<string, unknown>; keys: string[] }[] = [{ value: doc, keys: [] }];
  while (level.length > 0) {
    const next: typeof level = [];
    for (const { value, keys } of level) {
      for (const [key, child] of Object.entries(value)) {
        const childKeys = [...keys, key];
        if (Array.isArray(child)) {
          if (_RECORD_KEYS.has(key.toLowerCase())) return { records: child, path: _formatPath(childKeys) };
          first ??= { records: child, keys: childKeys };
        } else if (_isObject(child)) {
          next.push({ value: child, keys: childKeys });
        }
      }
    }
    level = next;
  }
  return first && { records: first.records, path: _formatPath(first.keys) };
}

/**
 * Returns the records of one response body.
 * With a selector: its single array match, or every match when there are several
 * (arrays spread, `null` skipped); a lone object is one record. Without one (or
 * with `""`, as dlt treats it): `findRecords`, and a lone object is one record.
 *
 * @returns the records, or `undefined` when the selector matches nothing or nothing looks like records.
 * @throws {ConfigError} if the selector is not a valid JSONPath.
 */
export function selectRecords(doc: unknown, selector: string | undefined): unknown[] | undefined {
  if (selector === undefined || selector === "") {
    const found = findRecords(doc);
    if (found) return found.records;
    return _isObject(doc) ? [doc] : undefined;
  }

  const matches = queryJsonPath(doc, selector);
  if (matches.length === 0) return undefined;
  const records: unknown[] = [];
  for (const match of matches) {
    // `"data": null` is how many APIs say "empty page", not a record.
    if (match === null) continue;
    if (Array.isArray(match)) {
      if (matches.length === 1) return match;
      for (const record of match) records.push(record);
    } else {
      records.push(match);
    }
  }
  return records;
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const _IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Writes keys as a JSONPath that `compileJsonPath` reads back to the same place. */
function _formatPath(keys: readonly string[]): string {
  let path = "$";
  for (const key of keys) {
    path += _IDENTIFIER.test(key) ? `.${key}` : `[${_quote(key)}]`;
  }
  return path;
}

function _quote(key: string): string {
  return `'${key.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}
