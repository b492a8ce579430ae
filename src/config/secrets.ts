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
    const line = (cause as { line?: unknown }).line;
    const where = typeof line === "number" ? `line ${line}` : (/line (\d+)/i.exec((cause as Error).message)?.[0] ?? "unknown position");
    throw new ConfigError(`Cannot parse secrets file ${path} (${where})`, {
      hint: path.endsWith(".json") ? "the file must be valid JSON" : "the file must be valid TOML",
    });
  }
}

function lookup(table: Table, name: string): unknown {
  const dig = (root: unknown): unknown => {
    let node = root;
    for (const part of name.split(".")) {
      if (typeof node !== "object" || node === null) return undefined;
      node = (node as Table)[part];
    }
    return node;
  };
  const direct = dig(table);
  if (direct !== undefined) return direct;
  // dlt keeps source secrets under [sources] and [sources.<name>]: look there too.
  const sources = table.sources;
  if (typeof sources === "object" && sources !== null) {
    const inSources = dig(sources);
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
  return { value, values: [...values], origins };
}
