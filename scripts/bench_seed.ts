/**
 * What the bench scripts share: the seed chat API's pages walked the way a run walks them (the HTTP
 * client with the seed's retries, OAuth2 client credentials, the offset paginator over walkPages),
 * and the seed resource's normalizer. Imports nothing that starts a server.
 */
import { createAuthenticator } from "../src/auth/index.ts";
import { createHttpClient } from "../src/http/client.ts";
import { Normalizer } from "../src/normalize/normalizer.ts";
import type { Schema } from "../src/normalize/types.ts";
import { createPaginator, walkPages, type Page } from "../src/paginate/index.ts";
import { Redactor } from "../src/redact.ts";
import { BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, PAGE } from "./bench_server.ts";

/** Every page of the bench server at `url`, in order, with up to `concurrency` requests on the wire. */
export function seedPages(url: string, concurrency: number): AsyncGenerator<Page> {
  const retry = { max_retries: 3, backoff_factor: 2, max_delay: 60, status_codes: [429, 500, 502, 503, 504], timeout: 30, respect_retry_after: true };
  const http = createHttpClient({ baseUrl: url, retry });
  const auth = createAuthenticator(
    { type: "oauth2_client_credentials", access_token_url: `${url}/oauth/token`, client_id: BENCH_CLIENT_ID, client_secret: BENCH_CLIENT_SECRET, default_token_expiration: 3600, client_auth: "body" } as never,
    { http, redactor: new Redactor() },
  );
  const authed = { request: (req: Parameters<typeof http.request>[0], o?: Parameters<typeof http.request>[1]) => http.request(req, { ...o, auth }) };
  const paginator = createPaginator({ type: "offset", limit: PAGE, offset: 0, offset_param: "offset", limit_param: "limit", stop_after_empty_page: true } as never);
  return walkPages({ method: "GET", url: "/v1/messages", params: {} }, { http: authed, paginator, dataSelector: "messages", concurrency });
}

/** The records of every page, page by page. */
export async function seedRecords(url: string, concurrency: number): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  for await (const page of seedPages(url, concurrency)) pages.push(page.records);
  return pages;
}

/** The seed resource's normalizer (merge on `id`, upsert) over `schema`. */
export function seedNormalizer(schema: Schema): Normalizer {
  return new Normalizer(schema, { loadId: "1", table: "chat_messages", resource: "chat_messages", primaryKey: ["id"], writeDisposition: "merge", mergeStrategy: "upsert" });
}
