/**
 * The JSONPath subset that dlt configs use in `data_selector`, `total_path`,
 * `cursor_path`, `next_url_path` and friends: dotted keys, quoted keys,
 * indices, wildcards and recursive descent.
 *
 * The parser is our own and deliberately small: filter `[?(...)]` and script
 * `[(...)]` expressions are rejected rather than evaluated, because a config
 * file must never be able to run code.
 *
 * Reference: https://www.rfc-editor.org/rfc/rfc9535 (syntax and node order),
 * https://github.com/h2non/jsonpath-ng (what dlt parses its paths with).
 */
import { ConfigError } from "../errors.ts";

type _Selector =
  | { readonly kind: "name"; readonly name: string }
  // Dotted configs write `items.0` for the first item, yet `meta.0` may name an object key.
  | { readonly kind: "dotted"; readonly name: string; readonly index: number | undefined }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "wildcard" };

type _Step = { readonly descendant: boolean; readonly selector: _Selector };

/** A compiled JSONPath; build it with `compileJsonPath` and reuse it for every document. */
export type JsonPath = {
  /** The expression as written in the config. */
  readonly expression: string;
  /** Internal: the parsed steps; may change without notice. */
  readonly _steps: readonly _Step[];
};

// Expressions come from config files, so the cache stays small in practice;
// the cap only guards against a caller compiling data-derived strings.
const _CACHE_LIMIT = 1000;
const _cache = new Map<string, JsonPath>();

/**
 * Parses a JSONPath expression once; the same expression returns the cached result.
 *
 * @throws {ConfigError} if the expression is malformed or uses unsupported syntax.
 */
export function compileJsonPath(expr: string): JsonPath {
  const cached = _cache.get(expr);
  if (cached) return cached;
  const path: JsonPath = Object.freeze({ expression: expr, _steps: Object.freeze(_parse(expr)) });
  if (_cache.size >= _CACHE_LIMIT) _cache.clear();
  _cache.set(expr, path);
  return path;
}

/** Returns every value the path selects in `doc`, in document order; `[]` when nothing matches. */
export function queryJsonPath(doc: unknown, path: JsonPath | string): unknown[] {
  const compiled = typeof path === "string" ? compileJsonPath(path) : path;
  let nodes: unknown[] = [doc];
  for (const step of compiled._steps) {
    const next: unknown[] = [];
    for (const node of nodes) {
      if (step.descendant) {
        for (const inner of _descendantsOrSelf(node)) _select(inner, step.selector, next);
      } else {
        _select(node, step.selector, next);
      }
    }
    nodes = next;
    if (nodes.length === 0) break;
  }
  return nodes;
}

/** Returns the first value the path selects in `doc`, or `undefined` when nothing matches. */
export function firstJsonPath(doc: unknown, path: JsonPath | string): unknown {
  return queryJsonPath(doc, path)[0];
}

// ------------------------------------------------------------- evaluation

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _at(array: readonly unknown[], index: number, out: unknown[]): void {
  const i = index < 0 ? array.length + index : index;
  if (i >= 0 && i < array.length) out.push(array[i]);
}

function _select(node: unknown, selector: _Selector, out: unknown[]): void {
  switch (selector.kind) {
    case "name":
      if (_isObject(node) && Object.hasOwn(node, selector.name)) out.push(node[selector.name]);
      return;
    case "dotted":
      if (Array.isArray(node)) {
        if (selector.index !== undefined) _at(node, selector.index, out);
      } else if (_isObject(node) && Object.hasOwn(node, selector.name)) {
        out.push(node[selector.name]);
      }
      return;
    case "index":
      if (Array.isArray(node)) _at(node, selector.index, out);
      return;
    case "wildcard":
      // A loop, not push(...spread): spreading a 200k-item page exceeds the argument limit.
      if (Array.isArray(node)) for (const item of node) out.push(item);
      else if (_isObject(node)) for (const value of Object.values(node)) out.push(value);
      return;
  }
}

// Pre-order with an explicit stack, so deeply nested responses cannot overflow the call stack.
function* _descendantsOrSelf(root: unknown): Generator<unknown> {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    yield node;
    const children = Array.isArray(node) ? node : _isObject(node) ? Object.values(node) : [];
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
}

// ----------------------------------------------------------------- parsing

const _FILTER_HINT = "select the list with a plain path such as $.data and filter the records afterwards";
const _QUOTE_HINT = `quote keys that contain "." or "[", e.g. $['@odata.nextLink']`;

function _fail(expr: string, reason: string, position: number, hint = _QUOTE_HINT): never {
  throw new ConfigError(`Cannot parse JSONPath ${JSON.stringify(expr)}: ${reason} at position ${position}`, { hint });
}

function _parse(expr: string): _Step[] {
  if (expr.length === 0) _fail(expr, "expression is empty", 0, "write $ for the whole document, or a key such as data");
  const steps: _Step[] = [];
  let pos = 0;

  if (expr[0] === "$") {
    pos = 1;
    const next = expr[pos];
    if (next !== undefined && next !== "." && next !== "[") {
      _fail(expr, `unexpected ${JSON.stringify(next)} after "$"`, pos, `quote keys that start with "$", e.g. $['${expr}']`);
    }
  } else if (expr[0] !== "." && expr[0] !== "[") {
    // A bare key (`messages`, `cursors.next`) is read as if it followed `$.`.
    pos = _parseDotted(expr, pos, false, steps);
  }

  while (pos < expr.length) {
    const c = expr[pos];
    if (c === "[") {
      pos = _parseBracket(expr, pos, false, steps);
    } else if (expr.startsWith("..", pos)) {
      pos += 2;
      if (expr[pos] === "[") pos = _parseBracket(expr, pos, true, steps);
      else pos = _parseDotted(expr, pos, true, steps);
    } else if (c === ".") {
      pos = _parseDotted(expr, pos + 1, false, steps);
    } else {
      _fail(expr, `unexpected ${JSON.stringify(c)}`, pos);
    }
  }
  return steps;
}

const _INTEGER = /^-?\d+$/;

/** Reads one dot-form member (`key`, `*`, `'quoted key'`) starting at `pos`; returns the position after it. */
function _parseDotted(expr: string, pos: number, descendant: boolean, steps: _Step[]): number {
  const c = expr[pos];
  if (c === "'" || c === '"') {
    // jsonpath-ng also accepts `$.'a.b'`, so dlt configs may use it.
    const [name, end] = _parseQuoted(expr, pos);
    steps.push({ descendant, selector: { kind: "name", name } });
    return end;
  }
  let end = pos;
  while (end < expr.length && expr[end] !== "." && expr[end] !== "[") end++;
  const name = expr.slice(pos, end);
  if (name.length === 0) {
    _fail(expr, `expected a key after "${descendant ? ".." : "."}"`, pos);
  }
  if (name === "*") {
    steps.push({ descendant, selector: { kind: "wildcard" } });
  } else {
    const index = _INTEGER.test(name) ? Number(name) : undefined;
    steps.push({ descendant, selector: { kind: "dotted", name, index } });
  }
  return end;
}

/** Reads one `[...]` selector starting at the `[` at `open`; returns the position after the `]`. */
function _parseBracket(expr: string, open: number, descendant: boolean, steps: _Step[]): number {
  let pos = _skipSpaces(expr, open + 1);
  const c = expr[pos];
  let selector: _Selector;
  if (c === undefined) {
    _fail(expr, "unclosed bracket", open);
  } else if (c === "?") {
    _fail(expr, "filter expressions [?(...)] are not supported", open, _FILTER_HINT);
  } else if (c === "(") {
    _fail(expr, "script expressions [(...)] are not supported", open, _FILTER_HINT);
  } else if (c === "'" || c === '"') {
    const [name, end] = _parseQuoted(expr, pos);
    selector = { kind: "name", name };
    pos = end;
  } else if (c === "*") {
    selector = { kind: "wildcard" };
    pos += 1;
  } else if (c === "-" || (c >= "0" && c <= "9")) {
    const match = /^-?\d+/.exec(expr.slice(pos));
    if (!match) _fail(expr, "expected digits after \"-\"", pos + 1);
    selector = { kind: "index", index: Number(match[0]) };
    pos += match[0].length;
  } else {
    _fail(expr, "expected a quoted key, an integer index or * inside brackets", pos);
  }

  pos = _skipSpaces(expr, pos);
  const close = expr[pos];
  if (close === "]") {
    steps.push({ descendant, selector });
    return pos + 1;
  }
  if (close === undefined) _fail(expr, "unclosed bracket", open);
  if (close === ":") _fail(expr, "array slices [start:end] are not supported", pos, "select the whole list with [*]");
  if (close === ",") _fail(expr, "unions [a,b] are not supported", pos, "write one path per value");
  _fail(expr, `expected "]" but found ${JSON.stringify(close)}`, pos);
}

const _ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\", "/": "/", "'": "'", '"': '"', b: "\b", f: "\f", n: "\n", r: "\r", t: "\t",
};

/** Reads a quoted key starting at the quote at `open`; returns the key and the position after the closing quote. */
function _parseQuoted(expr: string, open: number): [string, number] {
  const quote = expr[open];
  let name = "";
  let pos = open + 1;
  while (pos < expr.length) {
    const c = expr[pos];
    if (c === quote) return [name, pos + 1];
    if (c !== "\\") {
      name += c;
      pos += 1;
      continue;
    }
    const e = expr[pos + 1];
    if (e === undefined) break;
    if (e === "u") {
      const hex = expr.slice(pos + 2, pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) _fail(expr, "invalid \\u escape, expected 4 hex digits", pos);
      name += String.fromCharCode(Number.parseInt(hex, 16));
      pos += 6;
    } else if (Object.hasOwn(_ESCAPES, e)) {
      name += _ESCAPES[e];
      pos += 2;
    } else {
      _fail(expr, `invalid escape "\\${e}"`, pos, `write \\\\ for a literal backslash`);
    }
  }
  return _fail(expr, "unclosed quote", open);
}

function _skipSpaces(expr: string, pos: number): number {
  while (expr[pos] === " " || expr[pos] === "\t") pos++;
  return pos;
}
