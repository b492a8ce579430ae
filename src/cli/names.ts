import { basename, extname } from "node:path";

/** A pipeline name from a config file name: `configs/Chat API.yaml` → `chat_api`. */
export function defaultPipelineName(configPath: string): string {
  const stem = basename(configPath, extname(configPath));
  const name = stem.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return name === "" ? "restduck" : /^\d/.test(name) ? `_${name}` : name;
}
