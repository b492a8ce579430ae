/**
 * Dotted paths (`page.offset`, `user.address.city`, `sources.rest_api.token`):
 * the plain key-by-key walk that body paths, processing steps and secrets
 * tables use. No quoting, no wildcards: where a config key is a JSONPath,
 * use ./jsonpath.ts instead.
 */

function _isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads the value at a dotted path; `undefined` when a step is missing or not
 * an object. A list is stepped into by index (`items.0`).
 */
export function getPath(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Returns a copy of `root` with `value` at a dotted path. Only the objects on
 * the path are copied (the input stays as it was); a step that is missing or
 * is not an object (a list, a scalar) becomes `{}`.
 */
export function setPath(root: Record<string, unknown> | undefined, path: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...root };
  const keys = path.split(".");
  let node = out;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    const copy: Record<string, unknown> = _isRecord(child) ? { ...child } : {};
    node[key] = copy;
    node = copy;
  }
  node[keys.at(-1)!] = value;
  return out;
}
