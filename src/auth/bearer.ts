import type { Authenticator } from "../http/client.ts";
import type { AuthConfig } from "../config/schema.ts";

type BearerConfig = Extract<AuthConfig, { type: "bearer" }>;

/** `Authorization: Bearer <token>` on every request. */
export function bearerAuth(config: BearerConfig): Authenticator {
  return {
    async apply({ headers }) {
      headers.authorization = `Bearer ${config.token}`;
    },
  };
}
