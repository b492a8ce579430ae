/**
 * Paginators by config `type`, and the walk over an endpoint's pages.
 */
import type { PaginatorConfig, PaginatorType } from "../config/schema.ts";
import { autoPaginator } from "./auto.ts";
import { cursorPaginator, headerCursorPaginator, headerLinkPaginator, jsonLinkPaginator } from "./cursor.ts";
import { offsetPaginator, pageNumberPaginator } from "./range.ts";
import { singlePage } from "./single_page.ts";
import type { Paginator } from "./types.ts";

export type { PageRequest, Paginator } from "./types.ts";
export { walkPages, type Page, type WalkOptions } from "./walk.ts";

export interface PaginatorContext {
  /** Called when `auto` settles on a paginator. */
  onDetect?: (name: string) => void;
}

type Factory<T extends PaginatorType> = (config: Extract<PaginatorConfig, { type: T }>, context: PaginatorContext) => Paginator;

export const PAGINATOR_MAP = {
  auto: (_c, ctx) => autoPaginator(ctx.onDetect),
  single_page: () => singlePage(),
  offset: offsetPaginator,
  page_number: pageNumberPaginator,
  cursor: cursorPaginator,
  json_link: jsonLinkPaginator,
  header_link: headerLinkPaginator,
  header_cursor: headerCursorPaginator,
} satisfies { [T in PaginatorType]: Factory<T> };

/** Builds a fresh paginator (they keep per-walk state, e.g. cursors seen). */
export function createPaginator(config: PaginatorConfig, context: PaginatorContext = {}): Paginator {
  return (PAGINATOR_MAP[config.type] as Factory<typeof config.type>)(config as never, context);
}
