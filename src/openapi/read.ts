/**
 * Reads an OpenAPI document from a file: JSON or YAML (YAML is a superset of
 * JSON, so one parser reads both; JSON goes through JSON.parse for speed).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";

/** Parses an OpenAPI file. Throws ConfigError naming the file when it is missing or unparsable. */
export async function readOpenApiFile(path: string, cwd: string = process.cwd()): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), "utf8");
  } catch (cause) {
    throw new ConfigError(`Cannot read OpenAPI file ${path}: ${(cause as { code?: string }).code === "ENOENT" ? "no such file" : (cause as Error).message}`, {
      hint: "pass the path of a local .json or .yaml file (download a remote spec first)",
      cause,
    });
  }
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
