/**
 * OAuth2 client credentials grant (RFC 6749 §4.4): POST a form with
 * `grant_type=client_credentials` to the token URL, cache the token until
 * shortly before it expires, and fetch a new one once after a 401.
 */
import { AuthError, HttpError } from "../errors.ts";
import type { Authenticator, HttpClient } from "../http/client.ts";
import type { AuthConfig } from "../config/schema.ts";
import type { Redactor } from "../redact.ts";
import { base64Utf8 } from "./http_basic.ts";

type OAuth2Config = Extract<AuthConfig, { type: "oauth2_client_credentials" }>;

/** Tokens are renewed this long before they expire, so none expires in flight. */
const EXPIRY_MARGIN_MS = 60_000;

export interface OAuth2Options {
  /** Client used for the token request (retried like any request, never authenticated itself). */
  http: HttpClient;
  redactor: Redactor;
  now?: () => number;
}

/** An authenticator for the client credentials grant. */
export function oauth2ClientCredentials(config: OAuth2Config, options: OAuth2Options): Authenticator {
  const now = options.now ?? Date.now;
  let token: string | undefined;
  let expiresAt = 0;
  let pending: Promise<void> | undefined;

  async function fetchToken(signal?: AbortSignal): Promise<void> {
    const form: Record<string, string> = { grant_type: "client_credentials" };
    const headers: Record<string, string> = {};
    if (config.client_auth === "basic") {
      headers.authorization = `Basic ${base64Utf8(`${encodeURIComponent(config.client_id)}:${encodeURIComponent(config.client_secret)}`)}`;
    } else {
      form.client_id = config.client_id;
      form.client_secret = config.client_secret;
    }
    if (config.scopes) form.scope = Array.isArray(config.scopes) ? config.scopes.join(" ") : config.scopes;
    for (const [k, v] of Object.entries(config.access_token_request_data ?? {})) form[k] = String(v);

    let body: unknown;
    try {
      const response = await options.http.request(
        { method: "POST", url: config.access_token_url, form, headers },
        // Only what the grant needs: no client.headers (they may hold other secrets, and dlt does not send
        // them either), and no redirect to another origin, which would re-post the client secret there.
        { signal, auth: null, bare: true },
      );
      body = response.body;
    } catch (error) {
      if (error instanceof HttpError && error.code === "REDIRECT_REFUSED") {
        const to = /another origin \(([^)]*)\)/.exec(error.message)?.[1] ?? "another origin";
        throw new AuthError(
          options.redactor.redact(`OAuth2 token request to ${error.url} failed: the endpoint answered ${error.status}, a redirect to ${to}; the client credentials are not sent there`),
          { hint: "set access_token_url to the token endpoint's final URL if you trust it", cause: error },
        );
      }
      if (error instanceof HttpError && error.status !== undefined) {
        const detail = tokenErrorDetail(error.message);
        throw new AuthError(
          options.redactor.redact(`OAuth2 token request to ${error.url} failed: ${error.status}${detail ? ` ${detail}` : ""}${error.attempts > 1 ? ` (after ${error.attempts} attempts)` : ""}`),
          {
            hint:
              error.status === 400 || error.status === 401
                ? "check client_id and client_secret (and their secrets); the token endpoint refused them"
                : "check access_token_url; the token endpoint did not answer with a token",
          },
        );
      }
      throw error;
    }
    const b = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
    if (typeof b.access_token !== "string" || b.access_token === "") {
      throw new AuthError(`OAuth2 token response from ${options.redactor.redact(config.access_token_url)} has no access_token`, {
        hint: "check access_token_url: it must point at the OAuth2 token endpoint",
      });
    }
    token = b.access_token;
    options.redactor.add([token]);
    const seconds = Number(b.expires_in);
    const lifetimeMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : config.default_token_expiration) * 1000;
    // For short-lived tokens keep at least half the lifetime usable.
    expiresAt = now() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
  }

  /** One token request at a time, however many requests wait for it. */
  function renew(signal?: AbortSignal): Promise<void> {
    pending ??= fetchToken(signal).finally(() => {
      pending = undefined;
    });
    return pending;
  }

  return {
    async apply({ headers }, signal) {
      if (!token || now() >= expiresAt) await renew(signal);
      headers.authorization = `Bearer ${token}`;
    },
    async refresh(signal, used) {
      // Another request already replaced the token this one was refused with: just retry.
      if (pending) await pending;
      else if (!used || used.headers.authorization === `Bearer ${token}`) {
        token = undefined;
        await renew(signal);
      }
      return true;
    },
  };
}

/** Pulls OAuth2's `error` / `error_description` (RFC 6749 §5.2) out of an HttpError message's body snippet. */
function tokenErrorDetail(message: string): string {
  const error = /\\?"error\\?"\s*:\s*\\?"([^"\\]+)/.exec(message)?.[1];
  const description = /\\?"error_description\\?"\s*:\s*\\?"([^"\\]+)/.exec(message)?.[1];
  if (!error && !description) return "";
  return [error, description].filter(Boolean).join(": ");
}
