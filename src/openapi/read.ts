/**
 * Reads an OpenAPI document from a file: JSON or YAML (YAML is a superset of
 * JSON, so one parser reads both; JSON goes through JSON.parse for speed).
 * A document split over several files (`$ref: paths/messages.yaml`,
 * `$ref: ../schemas.json#/Message`) is bundled: every reference to a local
 * file is replaced by what it points at, so the generator sees one document.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { ConfigError } from "../errors.ts";

/** Parses an OpenAPI file, bundling references to other local files. Throws ConfigError naming the file when one is missing or unparsable. */
export async function readOpenApiFile(path: string, cwd: string = process.cwd()): Promise<unknown> {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw _readError(path, cause, "pass the path of a local .json or .yaml file (download a remote spec first)");
  }
  const doc = await _parse(text, path);
  // Most documents are bundled already: only walk one that refers to another file.
  if (!/\$ref['"]?\s*:\s*['"]?(?!#)[^'"\s#]/.test(text)) return doc;
  const { parse } = await import("yaml");
  const load = (abs: string) => {
    const shown = relative(cwd, abs) || abs;
    let content: string;
    try {
      content = readFileSync(abs, "utf8");
    } catch (cause) {
      throw _readError(shown, cause, `${path} refers to it with $ref; keep the document's files together, or bundle them first (e.g. redocly bundle)`);
    }
    try {
      return /^\s*[{[]/.test(content) ? JSON.parse(content) : parse(content, { maxAliasCount: -1 });
    } catch (cause) {
      throw new ConfigError(`Cannot parse ${shown} (referred to by ${path}): ${(cause as Error).message.split("\n")[0]}`, { hint: "each file of the document must be JSON or YAML", cause });
    }
  };
  return bundleRefs(doc, file, load, (abs) => relative(cwd, abs) || abs);
}

/**
 * Replaces each `$ref` to another local file (and each `#/…` reference inside such a file) with the node
 * it points at; references within the root document stay as they are. Shared and cyclic targets become
 * shared and cyclic objects. Remote (`https://…`) references are left alone.
 */
export function bundleRefs(root: unknown, rootFile: string, load: (absolutePath: string) => unknown, show: (absolutePath: string) => string = (p) => p): unknown {
  const files = new Map<string, unknown>([[rootFile, root]]);
  const targets = new Map<string, unknown>();
  const fileOf = (abs: string) => {
    if (!files.has(abs)) files.set(abs, load(abs));
    return files.get(abs);
  };
  const walk = (node: unknown, file: string): unknown => {
    if (Array.isArray(node)) return node.map((x) => walk(x, file));
    if (!node || typeof node !== "object") return node;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === "string" && !(file === rootFile && ref.startsWith("#")) && !/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
      const hash = ref.indexOf("#");
      const target = hash < 0 ? ref : ref.slice(0, hash);
      const pointer = hash < 0 ? "" : ref.slice(hash + 1);
      const abs = target ? resolve(dirname(file), decodeURIComponent(target)) : file;
      const key = `${abs}#${pointer}`;
      if (targets.has(key)) return targets.get(key);
      const raw = pointer
        .split("/")
        .filter(Boolean)
        .map((s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), fileOf(abs));
      if (raw === undefined) {
        throw new ConfigError(`Cannot resolve $ref ${JSON.stringify(ref)} in ${show(file)}: ${show(abs)} has nothing at "#${pointer}"`, { hint: "fix the reference or the file it points at" });
      }
      // Filled in after its children, so a reference back to it (a tree of comments) gets the same object.
      const out: unknown = Array.isArray(raw) ? [] : raw && typeof raw === "object" ? {} : raw;
      targets.set(key, out);
      const resolved = walk(raw, abs);
      if (Array.isArray(out)) out.push(...(resolved as unknown[]));
      else if (out && typeof out === "object") Object.assign(out, resolved);
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, file);
    return out;
  };
  return walk(root, rootFile);
}

async function _parse(text: string, path: string): Promise<unknown> {
  try {
    if (/^\s*[{[]/.test(text)) return JSON.parse(text);
    const { parse } = await import("yaml");
    return parse(text, { maxAliasCount: -1 });
  } catch (cause) {
    throw new ConfigError(`Cannot parse OpenAPI file ${path}: ${(cause as Error).message.split("\n")[0]}`, {
      hint: "the file must be OpenAPI 3.x as JSON or YAML",
      cause,
    });
  }
}

function _readError(path: string, cause: unknown, hint: string): ConfigError {
  return new ConfigError(`Cannot read OpenAPI file ${path}: ${(cause as { code?: string }).code === "ENOENT" ? "no such file" : (cause as Error).message}`, { hint, cause });
}
