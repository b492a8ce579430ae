/**
 * Secret references: a config value written `{ "$secret": "client_id" }`
 * (in a TS config: `secret("client_id")`) is looked up, in order, in the
 * environment (`CLIENT_ID`), in `.dlt/secrets.toml` of the working directory
 * (a top-level key or under `[sources]`), and in the `--secrets` file.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { ConfigError, SecretError } from "../errors.ts";
import { getPath } from "../shared/dotted_path.ts";
import { jsonErrorOffset, lineColumn } from "./read.ts";

/** A reference to a secret, resolved when the config is loaded. */
export interface SecretRef {
  readonly $secret: string;
}

/** Marks a config value as a secret to be resolved from the environment or a secrets file. */
export function secret(name: string): SecretRef {
  return { $secret: name };
}

/** Whether a value is a `{ "$secret": name }` reference. */
export function isSecretRef(value: unknown): value is SecretRef {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { $secret?: unknown }).$secret === "string"
  );
}

/** The environment variable a secret name maps to: `client_id` → `CLIENT_ID`, `sources.chat.token` → `SOURCES__CHAT__TOKEN`. */
export function secretEnvName(name: string): string {
  return name
    .split(".")
    .map((part) => part.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase())
    .join("__");
}

export interface SecretSources {
  /** Environment variables; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Folder holding `.dlt/secrets.toml`; defaults to the working directory. */
  cwd?: string;
  /** Extra secrets file (TOML or JSON), looked at last. */
  secretsFile?: string;
  /**
   * A stand-in for a secret found nowhere, instead of an error: a replay (`--replay`) needs no
   * secrets, since the recording masked them. The stand-in is treated as a secret (masked).
   */
  placeholder?: (name: string) => string;
  /**
   * The source's name in dlt's config sections (`sources.rest_api.<name>.credentials`):
   * the config's `pipeline_name`, else this (the config file's name).
   */
  sourceName?: string;
}

export interface ResolvedSecrets<T> {
  value: T;
  /** Every secret value substituted, for redaction. */
  values: string[];
  /** Where each secret came from (`env CLIENT_ID`, `.dlt/secrets.toml`), never the value. */
  origins: Record<string, string>;
}

type Table = Record<string, unknown>;

function readTable(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ConfigError(`Cannot read secrets file ${path}: ${(cause as Error).message}`, {
      hint: "check the path given with --secrets",
    });
  }
  try {
    return (path.endsWith(".json") ? JSON.parse(text) : parseToml(text)) as Table;
  } catch (cause) {
    // The parser's message may quote the offending line, which can hold a secret: keep only its position.
    // JSON's is found by our own scan (Bun puts the line of the JSON.parse call, not of the file, on its error);
    // smol-toml's error carries the file's line.
    const offset = path.endsWith(".json") ? jsonErrorOffset(text) : undefined;
    const line = offset !== undefined ? lineColumn(text, offset).line : (cause as { line?: unknown }).line;
    const where = typeof line === "number" ? `line ${line}` : (/line (\d+)/i.exec((cause as Error).message)?.[0] ?? "unknown position");
    throw new ConfigError(`Cannot parse secrets file ${path} (${where})`, {
      hint: path.endsWith(".json") ? "the file must be valid JSON" : "the file must be valid TOML",
    });
  }
}

function lookup(table: Table, name: string): unknown {
  const direct = getPath(table, name);
  if (direct !== undefined) return direct;
  // dlt keeps source secrets under [sources] and [sources.<name>]: look there too.
  const sources = table.sources;
  if (typeof sources === "object" && sources !== null) {
    const inSources = getPath(sources, name);
    if (inSources !== undefined) return inSources;
    const leaf = name.split(".").at(-1)!;
    for (const section of Object.values(sources as Table)) {
      if (typeof section === "object" && section !== null && typeof (section as Table)[leaf] !== "object") {
        const found = (section as Table)[leaf];
        if (found !== undefined) return found;
      }
    }
  }
  return undefined;
}

/**
 * Replaces every `{ "$secret": name }` in a raw config with its value.
 * Throws a SecretError naming every missing secret, its environment variable
 * and each file looked at; the error never contains a secret value.
 */
export function resolveSecrets<T>(raw: T, sources: SecretSources = {}): ResolvedSecrets<T> {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const files: { label: string; path: string; table?: Table }[] = [
    { label: ".dlt/secrets.toml", path: join(cwd, ".dlt", "secrets.toml") },
  ];
  if (sources.secretsFile) files.push({ label: sources.secretsFile, path: resolve(cwd, sources.secretsFile) });
  const tableOf = (file: (typeof files)[number]): Table | undefined => {
    if (file.table === undefined && existsSync(file.path)) file.table = readTable(file.path);
    return file.table;
  };
  if (sources.secretsFile && !existsSync(files[1].path)) {
    throw new ConfigError(`Cannot read secrets file ${sources.secretsFile}: no such file`, {
      hint: "check the path given with --secrets",
    });
  }

  const values = new Set<string>();
  const origins: Record<string, string> = {};
  const missing = new Map<string, string>();

  const find = (name: string): string | undefined => {
    const envName = secretEnvName(name);
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== "") {
      origins[name] = `env ${envName}`;
      return fromEnv;
    }
    for (const file of files) {
      const table = tableOf(file);
      if (!table) continue;
      const found = lookup(table, name);
      if (typeof found === "string" || typeof found === "number") {
        origins[name] = file.label;
        return String(found);
      }
    }
    if (sources.placeholder) {
      origins[name] = "placeholder";
      return sources.placeholder(name);
    }
    missing.set(name, envName);
    return undefined;
  };

  const walk = (node: unknown): unknown => {
    if (isSecretRef(node)) {
      const value = find(node.$secret);
      if (value !== undefined) values.add(value);
      return value ?? "";
    }
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node === "object" && node !== null && Object.getPrototypeOf(node) === Object.prototype) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    }
    return node;
  };
  const value = walk(raw) as T;

  if (missing.size) {
    const looked = files.map((f) => `${f.label}${existsSync(f.path) ? "" : " (not found)"}`).join(", ");
    const list = [...missing].map(([name, envName]) => `"${name}" (environment variable ${envName})`).join(", ");
    throw new SecretError(`Missing secret${missing.size > 1 ? "s" : ""} ${list}; looked in: environment, ${looked}`, {
      hint: `set ${[...missing.values()].join(", ")} in the environment, or add ${[...missing.keys()].map((n) => `${n.split(".").at(-1)} = "…"`).join(", ")} to .dlt/secrets.toml`,
    });
  }
  const sourceName = typeof (value as { pipeline_name?: unknown })?.pipeline_name === "string" ? (value as { pipeline_name: string }).pipeline_name : sources.sourceName;
  fillAuthCredentials(value, credentialSections(sourceName), {
    // As dlt resolves: provider by provider (environment, then each file), most specific section first in each.
    find: (keys) => {
      for (const key of keys) {
        const fromEnv = env[secretEnvName(key)];
        if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, origin: `env ${secretEnvName(key)}` };
      }
      for (const file of files) {
        for (const key of keys) {
          const found = getPath(tableOf(file), key);
          if (typeof found === "string" || typeof found === "number") return { value: String(found), origin: `${file.label} [${key.split(".").slice(0, -1).join(".")}]` };
        }
      }
      return undefined;
    },
    filled: (at, found, isSecret) => {
      origins[at] = found.origin;
      if (isSecret) values.add(found.value);
    },
    looked: () => files.map((f) => `${f.label}${existsSync(f.path) ? "" : " (not found)"}`).join(", "),
  });
  return { value, values: [...values], origins };
}

/**
 * The auth fields dlt's auth classes take from its config providers, by auth
 * type, with those that must end up set and those that are secrets.
 */
const AUTH_FIELDS: Record<string, { fields: string[]; required: string[]; secret: string[] }> = {
  bearer: { fields: ["token"], required: ["token"], secret: ["token"] },
  api_key: { fields: ["api_key", "name", "location"], required: ["api_key"], secret: ["api_key"] },
  http_basic: { fields: ["username", "password"], required: ["username", "password"], secret: ["password"] },
  oauth2_client_credentials: { fields: ["access_token_url", "client_id", "client_secret"], required: ["access_token_url", "client_id", "client_secret"], secret: ["client_secret"] },
};
AUTH_FIELDS.oauth2 = AUTH_FIELDS.oauth2_client_credentials;

/**
 * Where dlt looks for a rest_api source's credentials, most specific first:
 * `sources.rest_api.<name>.credentials`, then `sources.rest_api.credentials`,
 * `sources.credentials` and `credentials` (env `SOURCES__REST_API__CREDENTIALS__TOKEN`,
 * TOML `[sources.rest_api.credentials]`). restduck also reads `[sources.<name>.credentials]`,
 * where its other secrets live.
 */
export function credentialSections(sourceName?: string): string[] {
  const named = sourceName ? [`sources.rest_api.${sourceName}.credentials`, ...(sourceName === "rest_api" ? [] : [`sources.${sourceName}.credentials`])] : [];
  return [...named, "sources.rest_api.credentials", "sources.credentials", "credentials"];
}

/**
 * A config whose auth shorthands have stand-ins for the fields they must
 * have, so its shape can be checked before the credentials are looked up
 * (restApiSource validates at once, and resolves secrets at run time).
 */
export function withCredentialStandIns<T>(config: T): T {
  // Plain objects and lists are copied; functions (a TS config's steps and hooks) are kept as they are.
  const copyOf = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(copyOf) : typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, copyOf(v)])) : x;
  const copy = copyOf(config) as T;
  fillAuthCredentials(copy, ["credentials"], {
    find: (keys) => ({ value: `<credential ${keys[0]}>`, origin: "stand-in" }),
    filled: () => {},
    looked: () => "",
  }, true);
  return copy;
}

interface CredentialLookup {
  /** The first of `keys` (dotted, most specific first) that a provider holds. */
  find(keys: string[]): { value: string; origin: string } | undefined;
  filled(at: string, found: { value: string; origin: string }, isSecret: boolean): void;
  looked(): string;
}

/**
 * dlt's auth shorthands: `auth: "bearer"` (any auth type as a bare string), and
 * an auth object missing a field, are completed from the config providers as
 * dlt completes them (`create_auth` → `resolve_configuration`). Fields written
 * in the config win. A required field found nowhere is a SecretError naming
 * the environment variables and the TOML section to set. Mutates `config`.
 */
function fillAuthCredentials(config: unknown, sections: string[], lookup: CredentialLookup, onlyRequired = false): void {
  if (typeof config !== "object" || config === null) return;
  const c = config as Table;
  const places: { at: string; holder: Table }[] = [];
  const add = (at: string, holder: unknown) => {
    if (typeof holder === "object" && holder !== null && !Array.isArray(holder) && (holder as Table).auth != null) places.push({ at, holder: holder as Table });
  };
  add("client", c.client);
  add("resource_defaults.endpoint", (c.resource_defaults as Table | undefined)?.endpoint);
  if (Array.isArray(c.resources)) c.resources.forEach((r, i) => add(`resources[${i}].endpoint`, typeof r === "object" && r !== null ? (r as Table).endpoint : undefined));

  const problems: string[] = [];
  const envNames = new Set<string>();
  for (const { at, holder } of places) {
    let auth = holder.auth;
    if (typeof auth === "string") auth = holder.auth = { type: auth };
    if (typeof auth !== "object" || auth === null || Array.isArray(auth)) continue;
    const a = auth as Table;
    const type = typeof a.type === "string" ? a.type : a.type == null && "token" in a ? "bearer" : undefined;
    const spec = type === undefined ? undefined : AUTH_FIELDS[type];
    if (!spec) continue; // an unknown type: the schema reports it with the known ones
    for (const field of spec.fields) {
      if (a[field] !== undefined && a[field] !== null) continue;
      if (onlyRequired && !spec.required.includes(field)) continue;
      if (field === "access_token_url" && a.token_url != null) continue;
      const found = lookup.find(sections.map((section) => `${section}.${field}`));
      if (found) {
        a[field] = found.value;
        lookup.filled(`${at}.auth.${field}`, found, spec.secret.includes(field));
      }
      if (a[field] == null && spec.required.includes(field)) {
        const names = sections.map((s) => secretEnvName(`${s}.${field}`));
        names.forEach((n) => envNames.add(n));
        problems.push(`${at}.auth (${type}) needs "${field}": not in the config, nor in ${names.join(", ")}`);
      }
    }
  }
  if (problems.length) {
    const general = sections.find((s) => s === "sources.rest_api.credentials")!;
    throw new SecretError(`Missing credential${problems.length > 1 ? "s" : ""}:\n  ${problems.join("\n  ")}\n  looked in: environment, ${lookup.looked()}`, {
      hint: `set ${secretEnvName(general)}__<FIELD> in the environment, add the fields under [${general}] in .dlt/secrets.toml, or write them in the auth object (e.g. { "$secret": "…" })`,
    });
  }
}
