import type { RequestData } from "./client.ts";

/**
 * One page request as plain data. Serializable: it is also the checkpoint a
 * run resumes from. It lives here, below extract/ and paginate/, because both
 * build one: extract/dependent.ts the first request of a child's chain,
 * the paginators every next one.
 */
export interface PageRequest {
  method: "GET" | "POST";
  url: string;
  params: Record<string, string | number | boolean>;
  json?: Record<string, unknown>;
  /** `endpoint.data` with its placeholders filled; paginators leave it as it is. */
  data?: RequestData;
  headers?: Record<string, string>;
}
