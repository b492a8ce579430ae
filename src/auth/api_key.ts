import type { Authenticator } from "../http/client.ts";
import type { AuthConfig } from "../config/schema.ts";

type ApiKeyConfig = Extract<AuthConfig, { type: "api_key" }>;

/** An API key in a header (default `Authorization`), a query parameter, or a cookie. */
export function apiKeyAuth(config: ApiKeyConfig): Authenticator {
  return {
    async apply({ headers, params }) {
      if (config.location === "query") params[config.name] = config.api_key;
      else if (config.location === "cookie") {
        const cookie = `${encodeURIComponent(config.name)}=${encodeURIComponent(config.api_key)}`;
        headers.cookie = headers.cookie ? `${headers.cookie}; ${cookie}` : cookie;
      } else headers[config.name.toLowerCase()] = config.api_key;
    },
  };
}
