/**
 * Authenticators by config `type`. The map is typed against the schema, so a
 * schema variant without an implementation fails to compile.
 */
import type { AuthConfig, AuthType } from "../config/schema.ts";
import type { Authenticator, HttpClient } from "../http/client.ts";
import type { Redactor } from "../redact.ts";
import { apiKeyAuth } from "./api_key.ts";
import { bearerAuth } from "./bearer.ts";
import { httpBasicAuth } from "./http_basic.ts";
import { oauth2ClientCredentials } from "./oauth2.ts";

export interface AuthContext {
  http: HttpClient;
  redactor: Redactor;
  now?: () => number;
}

type Factory<T extends AuthType> = (config: Extract<AuthConfig, { type: T }>, context: AuthContext) => Authenticator;

export const AUTH_MAP = {
  bearer: bearerAuth,
  api_key: apiKeyAuth,
  http_basic: httpBasicAuth,
  oauth2_client_credentials: oauth2ClientCredentials,
} satisfies { [T in AuthType]: Factory<T> };

/** Builds the authenticator for an auth config. */
export function createAuthenticator(config: AuthConfig, context: AuthContext): Authenticator {
  return (AUTH_MAP[config.type] as Factory<typeof config.type>)(config as never, context);
}
