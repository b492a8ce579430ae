/**
 * Reads a config file: JSON, YAML, or a TS/JS module whose default export is
 * the config (the form closest to dlt's Python dict).
 */
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { ConfigError } from "../errors.ts";

const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs"]);

/** Where a config came from, kept for messages. */
export interface RawConfig {
  path: string;
  data: unknown;
}

/**
 * Reads and parses a config file without validating it.
 *
 * A TS/JS config is a module: importing it runs its code, with the user's permissions, before
 * anything is validated (even for `validate`). `warn` hears one line saying so, before the import.
 */
export async function readConfigFile(path: string, cwd: string = process.cwd(), options: { warn?: (message: string) => void } = {}): Promise<RawConfig> {
  const abs = resolve(cwd, path);
  const ext = extname(abs).toLowerCase();
  if (MODULE_EXTENSIONS.has(ext)) {
    options.warn?.(`${path} is a ${ext.slice(1).toUpperCase()} module: loading it runs its code with your permissions; use JSON or YAML for a config you did not write`);
    let mod: { default?: unknown };
    try {
      mod = await import(pathToFileURL(abs).href);
    } catch (cause) {
      const err = cause as Error & { code?: string };
      // Deno codes a syntax error in the module ERR_MODULE_NOT_FOUND too: only a file that is not there is missing.
      if (err.code === "ERR_MODULE_NOT_FOUND" && err.message.includes(abs) && !existsSync(abs)) {
        throw new ConfigError(`Cannot read config ${path}: no such file`, { hint: "check the path" });
      }
      throw new ConfigError(`Cannot load config module ${path}: ${err.message.split("\n")[0]}`, {
        hint: "the module must run on its own and `export default` the config object",
        cause,
      });
    }
    const data = typeof mod.default === "function" ? await (mod.default as () => unknown)() : mod.default;
    if (data === undefined) {
      throw new ConfigError(`Config module ${path} has no default export`, {
        hint: "write `export default { client: …, resources: … }`",
      });
    }
    return { path, data };
  }

  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new ConfigError(`Cannot read config ${path}: ${code === "ENOENT" ? "no such file" : (cause as Error).message}`, {
      hint: "check the path",
    });
  }
  if (ext === ".yaml" || ext === ".yml") {
    try {
      return { path, data: parseYaml(text) };
    } catch (cause) {
      const at = cause instanceof YAMLParseError ? cause.linePos?.[0] : undefined;
      // The parser's message repeats the position and ends in its own snippet, cut short by a
      // one-line message: keep the sentence, and show the lines around the fault ourselves.
      const what = (cause as Error).message.split("\n")[0].replace(/ at line \d+, column \d+:?\s*$/, "");
      throw new ConfigError(`Cannot parse YAML config ${path}${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${what}${at ? snippet(text, at.line, at.col) : ""}`, {
        hint: "fix the YAML syntax",
      });
    }
  }
  if (ext !== ".json") {
    throw new ConfigError(`Cannot read config ${path}: unknown file type "${ext || "(none)"}"`, {
      hint: "use a .json, .yaml, .yml, .ts or .js file",
    });
  }
  try {
    return { path, data: JSON.parse(text) };
  } catch (cause) {
    // Engines word JSON errors differently and not all give a position (Bun: "JSON Parse error:
    // Property name must be a string literal"), so the position comes from our own scan.
    const what = (cause as Error).message.replace(/\s*(in JSON )?at position \d+.*$/s, "").replace(/^JSON Parse error: /, "");
    const offset = jsonErrorOffset(text);
    const at = offset === undefined ? undefined : lineColumn(text, offset);
    throw new ConfigError(`Cannot parse JSON config ${path}${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${what}${at ? snippet(text, at.line, at.col) : ""}`, {
      hint: "fix the JSON syntax",
    });
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, col: offset - before.lastIndexOf("\n") };
}

/** The faulty line and the one before it, numbered, with a caret under the column: `\n    4 | resources:\n      | ^`. */
function snippet(text: string, line: number, col: number): string {
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  // Secrets are not known yet (the config is not parsed), so a line that looks like one shows its key only.
  const mask = (l: string) => (/secret|token|password|passw|api.?key|authorization|credential/i.test(l) ? l.replace(/([:=]).*$/, "$1 ***") : l);
  const show = (n: number) => `\n  ${String(n).padStart(width)} | ${mask(lines[n - 1] ?? "").slice(0, 200)}`;
  return `${line > 1 ? show(line - 1) : ""}${show(line)}\n  ${" ".repeat(width)} | ${" ".repeat(Math.min(Math.max(col - 1, 0), 200))}^`;
}

/**
 * Where a JSON text first breaks the grammar (RFC 8259), as a character offset; undefined if it
 * does not. Only called after JSON.parse failed, so it need not be fast, only exact.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new JsonSyntaxAt(i);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = () => {
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') return void i++;
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? "x")) fail();
      } else if (c < " ") fail();
      i++;
    }
    fail();
  };
  const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === close) return void i++;
        fail();
      }
    }
    if (c === '"') return string();
    for (const word of ["true", "false", "null"]) if (text.startsWith(word, i)) return void (i += word.length);
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) return void (i = NUMBER.lastIndex);
    fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof JsonSyntaxAt) return error.offset;
    return undefined; // nested too deeply to scan: the message goes without a position
  }
}

class JsonSyntaxAt {
  offset: number;
  constructor(offset: number) {
    this.offset = offset;
  }
}
