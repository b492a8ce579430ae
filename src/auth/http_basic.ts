import type { Authenticator } from "../http/client.ts";
import type { AuthConfig } from "../config/schema.ts";

type HttpBasicConfig = Extract<AuthConfig, { type: "http_basic" }>;

/** Base64 of UTF-8 bytes (RFC 7617 allows UTF-8 credentials; `btoa` alone takes Latin-1 only). */
export function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** HTTP Basic authentication (RFC 7617). */
export function httpBasicAuth(config: HttpBasicConfig): Authenticator {
  const value = `Basic ${base64Utf8(`${config.username}:${config.password}`)}`;
  return {
    async apply({ headers }) {
      headers.authorization = value;
    },
  };
}
