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

/** Knows a run's secret values and masks them in any text. */
export class Redactor {
  #secrets: string[] = [];

  constructor(secrets: Iterable<string> = []) {
    this.add(secrets);
  }

  /** Adds secret values (e.g. a fresh access token) to mask from now on. */
  add(secrets: Iterable<string>): void {
    for (const s of secrets) {
      // Very short values would mask ordinary text; they are not secrets worth the name.
      if (typeof s === "string" && s.length >= 4 && !this.#secrets.includes(s)) {
        this.#secrets.push(s);
        // Also the URL-encoded and base64 forms in which a secret may travel.
        const encoded = encodeURIComponent(s);
        if (encoded !== s) this.#secrets.push(encoded);
      }
    }
    this.#secrets.sort((a, b) => b.length - a.length);
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
}
