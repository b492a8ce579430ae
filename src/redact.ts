/**
 * Redaction: secrets never reach any output. Every string that leaves
 * restduck (log lines, errors, events) goes through a Redactor that knows the
 * run's secret values; URLs also lose the values of secret-named parameters.
 */

/** Query parameter names whose values are always hidden in URLs. */
export const SECRET_PARAM_NAMES = [
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "api_key",
  "apikey",
  "api-key",
  "key",
  "secret",
  "client_secret",
  "password",
  "pass",
  "pwd",
  "auth",
  "signature",
  "sig",
];

const SECRET_PARAM = new RegExp(`([?&](?:${SECRET_PARAM_NAMES.map((n) => n.replace(/[-]/g, "\\-")).join("|")})=)[^&#\\s"']*`, "gi");

export const MASK = "***";

/** Hides the values of secret-named query parameters in a URL (or any text containing URLs). */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAM, `$1${MASK}`);
}

/**
 * Placeholder a stored text holds instead of a secret: `{{secret:0}}` is the
 * first secret the config resolves, `{{secret:token}}` a token obtained at run
 * time; `|url` and `|form` mark the encoded forms a secret takes in a URL.
 */
const PLACEHOLDER = /\{\{secret:(\d+|token)(?:\|(url|form))?\}\}/g;

type SecretForm = "raw" | "url" | "form";

/** The ways a secret is spelled in text: as is, and encoded as URLs carry it (`%20` or `+` for a space). */
function formsOf(secret: string): Map<SecretForm, string> {
  const forms = new Map<SecretForm, string>([["raw", secret]]);
  const url = encodeURIComponent(secret);
  if (url !== secret) forms.set("url", url);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  if (form !== secret && form !== url) forms.set("form", form);
  return forms;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Applies `fn` to every string (and object key) inside a JSON-able value. */
export function mapStrings<T>(value: T, fn: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return fn(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [fn(k), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** Knows a run's secret values and masks them in any text. */
export class Redactor {
  #secrets: string[] = [];
  /** Each secret's id for placeholders: its index among the config's secrets, or "token" when obtained at run time. */
  readonly #ids = new Map<string, string>();
  /** The newest value of each id, to put back into a stored text. */
  readonly #values = new Map<string, string>();
  #configCount = 0;
  #sealPattern: RegExp | undefined;
  readonly #formToPlaceholder = new Map<string, string>();

  /** `secrets` are the config's resolved secrets, in the config's order (their placeholders number them). */
  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) {
      if (!this.#accept(s) || this.#ids.has(s)) continue;
      this.#remember(s, String(this.#configCount++));
    }
  }

  /** Adds secret values obtained at run time (e.g. a fresh access token) to mask from now on. */
  add(secrets: Iterable<string>): void {
    for (const s of secrets) if (this.#accept(s) && !this.#ids.has(s)) this.#remember(s, "token");
  }

  // Very short values would mask ordinary text; they are not secrets worth the name.
  #accept(s: unknown): s is string {
    return typeof s === "string" && s.length >= 4;
  }

  #remember(secret: string, id: string): void {
    this.#ids.set(secret, id);
    this.#values.set(id, secret);
    // Also the URL-encoded form in which a secret may travel.
    for (const form of new Set([secret, encodeURIComponent(secret)])) if (!this.#secrets.includes(form)) this.#secrets.push(form);
    this.#secrets.sort((a, b) => b.length - a.length);
    for (const [kind, form] of formsOf(secret)) this.#formToPlaceholder.set(form, `{{secret:${id}${kind === "raw" ? "" : `|${kind}`}}}`);
    const forms = [...this.#formToPlaceholder.keys()].sort((a, b) => b.length - a.length);
    this.#sealPattern = new RegExp(forms.map(escapeRegExp).join("|"), "g");
  }

  /** Masks every known secret and secret-named URL parameter in a text. */
  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join(MASK);
    return redactUrl(out);
  }

  /** Masks secrets inside any JSON-able value (for events and echoes). */
  redactValue<T>(value: T): T {
    return JSON.parse(this.redact(JSON.stringify(value) ?? "null")) as T;
  }

  /**
   * Replaces every known secret value in a text that is stored (a checkpoint's
   * next-page URL, a run's error) by a placeholder that {@link unseal} can
   * fill in again with the secret the config then provides. Unlike
   * {@link redact}, parameters are not masked by name: a stored position must
   * stay usable, and a signed URL's `sig=` is not ours to hide.
   */
  seal(text: string): string {
    // One pass: a placeholder is never searched again (`{{secret:0}}` contains "secret", a possible value).
    return this.#sealPattern ? text.replace(this.#sealPattern, (form) => this.#formToPlaceholder.get(form)!) : text;
  }

  /** {@link seal} for every string inside a JSON-able value. */
  sealValue<T>(value: T): T {
    return this.#sealPattern ? mapStrings(value, (s) => this.seal(s)) : value;
  }

  /**
   * Puts this run's secrets back into a sealed value. `missing` names the
   * placeholders this run has no secret for (a token of an earlier run, a
   * secret the config no longer has): those stay as they are.
   */
  unsealValue<T>(value: T): { value: T; missing: string[] } {
    const missing = new Set<string>();
    const out = mapStrings(value, (s) =>
      s.includes("{{secret:")
        ? s.replace(PLACEHOLDER, (placeholder, id: string, kind: SecretForm | undefined) => {
            const secret = this.#values.get(id);
            if (secret === undefined || (id !== "token" && Number(id) >= this.#configCount)) {
              missing.add(placeholder);
              return placeholder;
            }
            return formsOf(secret).get(kind ?? "raw") ?? secret;
          })
        : s,
    );
    return { value: out, missing: [...missing] };
  }
}
