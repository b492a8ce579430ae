/**
 * Dependent resources: what a child needs from each parent record, and the
 * first request of the child's chain for one parent record.
 *
 * Reference: https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/basic#define-resource-relationships
 */
import { expandPlaceholders } from "../config/graph.ts";
import type { ParentPlan, ResourcePlan } from "../config/plan.ts";
import { ResponseError } from "../errors.ts";
import type { PageRequest } from "../http/page_request.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";

/** The values one parent record gives its child: placeholder values and the included fields. */
export interface ParentValues {
  placeholders: Record<string, unknown>;
  /** `_<parent>_<field>` → value, added to each child row. */
  include: Record<string, unknown>;
}

/** dlt's name for an included parent field. */
export const parentColumn = (parent: string, field: string) => `_${parent}_${field}`;

/** Picks what the child needs out of one parent record; a missing field is an error naming the available ones. */
export function parentValues(record: Record<string, unknown>, parent: ParentPlan, child: string): ParentValues {
  const placeholders: Record<string, unknown> = {};
  for (const b of parent.bindings) {
    const value = firstJsonPath(record, b.field);
    if (value === undefined || value === null) {
      throw new ResponseError(
        `resource ${child}: its parent ${parent.resource} sent a record without "${b.field}" (needed for {${b.placeholder}}); the record has: ${Object.keys(record).slice(0, 20).join(", ")}`,
        { hint: `check the field name in {resources.${parent.resource}.…} against the parent's records` },
      );
    }
    placeholders[b.placeholder] = value;
  }
  const include: Record<string, unknown> = {};
  for (const field of parent.includeFromParent) {
    if (!(field in record)) {
      throw new ResponseError(
        `resource ${child}: include_from_parent names "${field}", which the parent ${parent.resource}'s record lacks; it has: ${Object.keys(record).slice(0, 20).join(", ")}`,
        { hint: "fix include_from_parent" },
      );
    }
    include[parentColumn(parent.resource, field)] = record[field];
  }
  return { placeholders, include };
}

/** Stable key of one parent record's values: the child's per-parent cursor is stored under it. */
export function parentKey(values: ParentValues): string {
  return JSON.stringify(Object.entries(values.placeholders).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The first request of an endpoint with its placeholders filled: parent
 * values and `{incremental.*}` in path, params, json (types kept when a
 * value is the whole string), data and headers, plus legacy start/end params.
 */
export function firstRequest(
  resource: ResourcePlan,
  placeholders: Record<string, unknown>,
  extraParams: Record<string, string | number | boolean> = {},
): PageRequest {
  const e = resource.endpoint;
  const params: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(expandPlaceholders(e.params, placeholders))) params[k] = v;
  const headers = expandPlaceholders(e.headers, placeholders);
  return {
    method: e.method,
    url: expandPlaceholders(e.path, placeholders),
    params: { ...params, ...extraParams },
    json: e.json === undefined ? undefined : expandPlaceholders(e.json, placeholders, true),
    // dlt fills `data` like params: every value becomes text (no type kept).
    data:
      e.data === undefined
        ? undefined
        : "raw" in e.data
          ? { raw: expandPlaceholders(e.data.raw, placeholders) }
          : { form: e.data.form.map(([k, v]): [string, string] => [expandPlaceholders(k, placeholders), typeof v === "string" ? expandPlaceholders(v, placeholders) : String(v)]) },
    headers: Object.keys(headers).length ? headers : undefined,
  };
}
