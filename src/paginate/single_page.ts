import type { Paginator } from "./types.ts";

/** One request, no pagination. */
export function singlePage(): Paginator {
  return { name: "single_page", init: (r) => r, next: () => undefined };
}
