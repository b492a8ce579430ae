/**
 * `offset` and `page_number`: both step a number through a request parameter
 * (or JSON body path) and share their stop rules.
 */
import type { PaginatorConfig } from "../config/schema.ts";
import { ConfigError, ResponseError } from "../errors.ts";
import { getPath, setPath } from "../shared/dotted_path.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";
import { isFalsy, type PageRequest, type Paginator } from "./types.ts";

type OffsetConfig = Extract<PaginatorConfig, { type: "offset" }>;
type PageNumberConfig = Extract<PaginatorConfig, { type: "page_number" }>;

interface RangeOptions {
  name: string;
  param: string;
  bodyPath?: string;
  start: number;
  step: number;
  /** Value at which to stop, from the response's total (items for offset, pages for page_number). */
  stopAt: (total: number) => number;
  maximum?: number;
  totalPath?: string | null;
  stopAfterEmptyPage: boolean;
  hasMorePath?: string;
  /** Extra fixed values set on every request (the limit). */
  fixed?: { param: string; bodyPath?: string; value: number };
}

function read(request: PageRequest, param: string, bodyPath: string | undefined): number | undefined {
  const raw = bodyPath ? getPath(request.json, bodyPath) : request.params[param];
  const n = Number(raw);
  return raw === undefined || Number.isNaN(n) ? undefined : n;
}

function write(request: PageRequest, param: string, bodyPath: string | undefined, value: number): PageRequest {
  if (bodyPath) return { ...request, json: setPath(request.json, bodyPath, value) };
  return { ...request, params: { ...request.params, [param]: value } };
}

function rangePaginator(o: RangeOptions): Paginator {
  // The schema refuses such a config (validate says so, exit 2). This assert stays for paginators built
  // in code from a config that never met the schema (a hand-built plan passed to runPipeline, auto.ts):
  // with no total, no has_more, no maximum and no empty-page rule the walk would never end.
  if (!o.stopAfterEmptyPage && !o.totalPath && !o.hasMorePath && o.maximum === undefined) {
    throw new ConfigError(`${o.name}: no stop rule: set total_path, has_more_path, a maximum, or stop_after_empty_page: true`);
  }
  return {
    name: o.name,
    init(request) {
      let r = write(request, o.param, o.bodyPath, read(request, o.param, o.bodyPath) ?? o.start);
      if (o.fixed) r = write(r, o.fixed.param, o.fixed.bodyPath, o.fixed.value);
      return r;
    },
    next(request, response, records) {
      const current = read(request, o.param, o.bodyPath) ?? o.start;
      const nextValue = current + o.step;
      if (o.stopAfterEmptyPage && records.length === 0) return undefined;
      if (o.hasMorePath && isFalsy(firstJsonPath(response.body, o.hasMorePath))) return undefined;
      if (o.totalPath) {
        const total = firstJsonPath(response.body, o.totalPath);
        if (total !== undefined && total !== null) {
          const n = Number(total);
          if (!Number.isFinite(n)) {
            throw new ResponseError(`${o.name}: total at "${o.totalPath}" is not a number: ${JSON.stringify(total)} (${response.url})`, {
              hint: "point total_path at the total count, or set it to null to rely on an empty page",
            });
          }
          if (nextValue >= o.stopAt(n)) return undefined;
        } else if (!o.stopAfterEmptyPage && !o.hasMorePath && o.maximum === undefined) {
          // Only the total could stop this walk, and it is missing: stop rather than loop.
          throw new ResponseError(`${o.name}: the response has no total at "${o.totalPath}" and no other stop rule is set (${response.url})`, {
            hint: "fix total_path, or set stop_after_empty_page: true",
          });
        }
      }
      if (o.maximum !== undefined && nextValue >= o.maximum) return undefined;
      return write(request, o.param, o.bodyPath, nextValue);
    },
    totalPages(response) {
      if (!o.totalPath) return undefined;
      const raw = firstJsonPath(response.body, o.totalPath);
      const total = raw === null || raw === undefined ? NaN : Number(raw);
      if (!Number.isFinite(total)) return undefined;
      const end = o.maximum === undefined ? o.stopAt(total) : Math.min(o.stopAt(total), o.maximum);
      return Math.max(1, Math.ceil((end - o.start) / o.step));
    },
    plan(request, response) {
      if (!o.totalPath) return undefined;
      const total = Number(firstJsonPath(response.body, o.totalPath));
      if (!Number.isFinite(total)) return undefined;
      let end = o.stopAt(total);
      if (o.maximum !== undefined) end = Math.min(end, o.maximum);
      const current = read(request, o.param, o.bodyPath) ?? o.start;
      // Lazy: a huge (or hostile) total costs nothing until pages are actually requested.
      return (function* () {
        for (let v = current + o.step; v < end; v += o.step) yield write(request, o.param, o.bodyPath, v);
      })();
    },
  };
}

/** dlt's `offset` paginator: `offset`/`limit` params stepping by `limit`. */
export function offsetPaginator(c: OffsetConfig): Paginator {
  return rangePaginator({
    name: `offset (limit ${c.limit})`,
    param: c.offset_param,
    bodyPath: c.offset_body_path,
    start: c.offset,
    step: c.limit,
    stopAt: (total) => total,
    maximum: c.maximum_offset,
    totalPath: c.total_path === undefined ? "total" : c.total_path,
    stopAfterEmptyPage: c.stop_after_empty_page,
    hasMorePath: c.has_more_path,
    fixed: { param: c.limit_param, bodyPath: c.limit_body_path, value: c.limit },
  });
}

/** dlt's `page_number` paginator: a `page` param stepping by one; `total_path` is the number of pages. */
export function pageNumberPaginator(c: PageNumberConfig): Paginator {
  const base = c.base_page;
  return rangePaginator({
    name: "page_number",
    param: c.page_param,
    bodyPath: c.page_body_path,
    start: c.page ?? base,
    step: 1,
    stopAt: (totalPages) => totalPages + base,
    maximum: c.maximum_page === undefined ? undefined : c.maximum_page + 1,
    totalPath: c.total_path === undefined ? "total" : c.total_path,
    stopAfterEmptyPage: c.stop_after_empty_page,
    hasMorePath: c.has_more_path,
  });
}
