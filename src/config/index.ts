/**
 * Loading a config: read the file, resolve secrets, validate, plan.
 * This is the one boundary where raw input becomes typed config.
 */
import { basename, extname } from "node:path";
import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import { Redactor } from "../redact.ts";
import { planConfig, type Plan } from "./plan.ts";
import { readConfigFile } from "./read.ts";
import { ConfigSchema, formatIssues, type AuthConfig, type Config } from "./schema.ts";
import { resolveSecrets, type SecretSources } from "./secrets.ts";

export { secret, isSecretRef, secretEnvName, withCredentialStandIns, type SecretRef, type SecretSources } from "./secrets.ts";
export type { Plan, ResourcePlan } from "./plan.ts";
export type * from "./schema.ts";

/** A validated config with its plan and the secret values to redact from all output. */
export interface LoadedConfig {
  path?: string;
  config: Config;
  plan: Plan;
  secrets: string[];
  secretOrigins: Record<string, string>;
}

/** Validates a raw config object (secrets already resolved). Throws a ConfigError listing every problem with its path. */
export function parseConfig(data: unknown, source = "config"): Config {
  // valibot's object check lets a list through (and reports its missing keys): say what it is.
  if (Array.isArray(data)) {
    const problem = `expected an object with "client" and "resources", got a list`;
    throw new ConfigError(`Invalid ${source}:\n  ${problem}`, { problems: [problem], hint: "the config's top level is an object: { client: …, resources: […] }" });
  }
  const result = v.safeParse(ConfigSchema, data);
  if (!result.success) {
    const problems = formatIssues(result.issues);
    // The schema parses every JSONPath (data_selector, the paginators' *_path keys): a typo there gets the JSONPath hint.
    const jsonPath = problems.some((p) => p.includes(": Cannot parse JSONPath "));
    throw new ConfigError(`Invalid ${source}:\n  ${problems.join("\n  ")}`, {
      problems,
      hint: jsonPath
        ? "write JSONPaths like $.data.items or data.items (filters and scripts are not supported); `restduck validate <config>` checks a config without running it"
        : "fix the keys named above; `restduck validate <config>` checks a config without running it",
    });
  }
  return result.output;
}

/** Resolves secrets in, validates and plans an in-memory config object. */
export function prepareConfig(data: unknown, options: SecretSources & { source?: string } = {}): LoadedConfig {
  const { value, values, origins } = resolveSecrets(data, options);
  let config: Config;
  try {
    config = parseConfig(value, options.source);
  } catch (error) {
    // A secret put where another type belongs would be echoed by "got …": mask it.
    if (error instanceof ConfigError) {
      const redactor = new Redactor(values);
      throw new ConfigError(redactor.redact(error.message), { problems: error.problems.map((p) => redactor.redact(p)), hint: error.hint });
    }
    throw error;
  }
  const plan = planConfig(config, options.source);
  return { config, plan, secrets: [...values, ...inlineSecrets(config)], secretOrigins: origins };
}

/**
 * Reads, resolves, validates and plans a config file. `warn` hears that a TS/JS config runs code
 * when loaded (see readConfigFile).
 */
export async function loadConfig(path: string, options: SecretSources & { warn?: (message: string) => void } = {}): Promise<LoadedConfig> {
  const raw = await readConfigFile(path, options.cwd, { warn: options.warn });
  return { path, ...prepareConfig(raw.data, { sourceName: stemName(path), ...options, source: `config ${path}` }) };
}

/** A config file's name as a source name (`configs/Chat API.yaml` → `chat_api`), as the pipeline name is made. */
function stemName(path: string): string {
  const stem = basename(path, extname(path)).toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return stem === "" ? "restduck" : /^\d/.test(stem) ? `_${stem}` : stem;
}

/** Secret-looking values written inline in a config: redacted like resolved secrets. */
function inlineSecrets(config: Config): string[] {
  const out: string[] = [];
  const endpointAuth = (e: unknown) => (typeof e === "object" && e !== null ? (e as { auth?: AuthConfig }).auth : undefined);
  const auths = [config.client.auth, endpointAuth(config.resource_defaults?.endpoint), ...config.resources.map((r) => endpointAuth(r.endpoint))];
  for (const auth of auths) {
    if (!auth) continue;
    if (auth.type === "bearer") out.push(auth.token);
    if (auth.type === "api_key") out.push(auth.api_key);
    if (auth.type === "http_basic") out.push(auth.password);
    if (auth.type === "oauth2_client_credentials") out.push(auth.client_secret);
  }
  return out.filter((s) => s.length >= 4);
}
