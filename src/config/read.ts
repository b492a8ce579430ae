/**
 * Reads a config file: JSON, YAML, or a TS/JS module whose default export is
 * the config (the form closest to dlt's Python dict).
 */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml, parseDocument, YAMLParseError } from "yaml";
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
      if (err.code === "ERR_MODULE_NOT_FOUND" && err.message.includes(abs)) {
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
      const pos = cause instanceof YAMLParseError && cause.linePos ? ` at line ${cause.linePos[0].line}, column ${cause.linePos[0].col}` : "";
      throw new ConfigError(`Cannot parse YAML config ${path}${pos}: ${(cause as Error).message.split("\n")[0]}`, {
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
    throw new ConfigError(`Cannot parse JSON config ${path}${jsonPosition(text, cause as Error)}: ${(cause as Error).message}`, {
      hint: "fix the JSON syntax",
    });
  }
}

/** Turns the character offset some engines report into `line L, column C`. */
function jsonPosition(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  // V8 gives no position when the text simply stops: that is the end of the file.
  if (!match && !/end of JSON input/i.test(error.message)) {
    // Bun's and some other engines' messages carry no position: JSON is YAML, so ask the YAML parser where it breaks.
    const at = parseDocument(text).errors[0]?.linePos?.[0];
    return at ? ` at line ${at.line}, column ${at.col}` : "";
  }
  const offset = match ? Number(match[1]) : text.length;
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return ` at line ${line}, column ${column}`;
}
