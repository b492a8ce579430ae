/**
 * The resume position as stored in the DuckDB file. A page request carries
 * the endpoint's own params, headers and JSON body, which may hold secrets
 * (`params: { token: { $secret: … } }`); those never go into the file. What is
 * stored is only what the paginator changed; on resume the rest comes from
 * the current config again — so a rotated secret works on resume too (issue 5).
 */
import type { PageRequest } from "../paginate/types.ts";

/** The parts of a request that come from the endpoint config. */
export interface RequestBase {
  params?: Record<string, unknown>;
  headers?: Record<string, string>;
  json?: Record<string, unknown>;
  data?: PageRequest["data"];
}

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

/** Keys of `value` that differ from `base`; a key of `base` that `value` dropped is kept as null. */
function delta(value: Record<string, unknown> | undefined, base: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!value) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!base || !(k in base) || !same(v, base[k])) out[k] = v;
  for (const k of Object.keys(base ?? {})) if (!(k in value)) out[k] = null;
  return out;
}

/** `base` with `stored` laid over it; a null in `stored` drops the key again. */
function overlay<T>(stored: Record<string, unknown> | undefined, base: Record<string, unknown> | undefined): Record<string, T> | undefined {
  if (!stored) return undefined;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(stored)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out as Record<string, T>;
}

/** The request to store in a checkpoint: without the values the endpoint config supplies. */
export function storableRequest(next: PageRequest, base: RequestBase): PageRequest {
  const { data, ...rest } = next;
  return {
    ...rest,
    params: delta(next.params, base.params) as PageRequest["params"],
    headers: delta(next.headers, base.headers) as PageRequest["headers"],
    json: delta(next.json, base.json),
    // Paginators never change a data body, and it may hold secrets (a form's password): it comes from the config again.
    ...(data === undefined || same(data, base.data) ? {} : { data }),
  };
}

/** A stored checkpoint request made whole again from the current endpoint config. */
export function restoreRequest(stored: PageRequest, base: RequestBase): PageRequest {
  return {
    ...stored,
    params: overlay<string | number | boolean>(stored.params ?? {}, base.params) ?? {},
    headers: overlay<string>(stored.headers, base.headers),
    json: overlay<unknown>(stored.json, base.json),
    ...(stored.data ?? base.data ? { data: stored.data ?? base.data } : {}),
  };
}

/** A checkpoint position: a page request, a child resource's `{ parent, request }`, a backfill's `{ window, request }`, or null at the end. */
type Position = PageRequest | { parent: number; request: PageRequest | null } | { window: number; request: PageRequest | null } | null;

/** {@link storableRequest} for any checkpoint position. */
export function storablePosition<P extends Position>(position: P, base: RequestBase): P {
  if (position === null) return position;
  if ("parent" in position || "window" in position) return { ...position, request: position.request ? storableRequest(position.request, base) : null } as P;
  return storableRequest(position, base) as P;
}

/** {@link restoreRequest} for any checkpoint position. */
export function restorePosition<P extends Position>(position: P, base: RequestBase): P {
  if (position === null) return position;
  if ("parent" in position || "window" in position) return { ...position, request: position.request ? restoreRequest(position.request, base) : null } as P;
  return restoreRequest(position, base) as P;
}
