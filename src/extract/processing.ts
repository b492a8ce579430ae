/**
 * `processing_steps`: dlt's `filter` and `map` applied to each record, in
 * the order written. A TS config passes functions, as dlt's Python does; a
 * JSON or YAML config uses the declarative forms:
 *
 * - `{ filter: { field, equals | not_equals | in | not_in | exists } }` keeps the records that match;
 * - `{ map: { rename: { old: new }, drop: [field…], set: { field: value } } }` reshapes each record
 *   (applied in that order: rename, drop, set).
 *
 * `field` is a key, a dotted path (`user.id`) or a JSONPath. Declarative
 * steps never run code.
 */
import type { FilterSpecConfig, MapSpecConfig, ProcessingStepConfig } from "../config/schema.ts";
import { ResponseError } from "../errors.ts";
import { getPath, setPath } from "../shared/dotted_path.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";

type Rec = Record<string, unknown>;
/** One compiled step: the record to keep (possibly a new object), or undefined to drop it. */
export type RecordStep = (record: Rec) => Rec | undefined;

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

function compileFilter(spec: FilterSpecConfig): (r: Rec) => boolean {
  const get = (r: Rec) => firstJsonPath(r, spec.field);
  if (spec.exists !== undefined) return (r) => (get(r) !== undefined) === spec.exists;
  if (spec.in !== undefined) return (r) => spec.in!.some((x) => same(get(r), x));
  if (spec.not_in !== undefined) return (r) => !spec.not_in!.some((x) => same(get(r), x));
  if ("not_equals" in spec && spec.not_equals !== undefined) return (r) => !same(get(r), spec.not_equals);
  return (r) => same(get(r), spec.equals);
}

/** A field path as a dotted path: a leading `$.` is allowed. */
const dotted = (path: string) => path.replace(/^\$\.?/, "");

/** Deletes a field in place (`record` is the step's own copy); a missing path is no error. */
function deleteField(record: Rec, path: string): void {
  const keys = dotted(path).split(".");
  const parent = keys.length === 1 ? record : getPath(record, keys.slice(0, -1).join("."));
  if (typeof parent === "object" && parent !== null) delete (parent as Rec)[keys.at(-1)!];
}

function compileMap(spec: MapSpecConfig): RecordStep {
  return (input) => {
    let record: Rec = structuredClone(input);
    for (const [from, to] of Object.entries(spec.rename ?? {})) {
      const value = firstJsonPath(record, from);
      if (value === undefined) continue;
      deleteField(record, from);
      record = setPath(record, dotted(to), value);
    }
    for (const field of spec.drop ?? []) deleteField(record, field);
    for (const [field, value] of Object.entries(spec.set ?? {})) record = setPath(record, dotted(field), structuredClone(value));
    return record;
  };
}

/** Compiles a resource's processing steps into one function over a record. */
export function compileProcessingSteps(steps: readonly ProcessingStepConfig[], resource = ""): RecordStep | undefined {
  if (steps.length === 0) return undefined;
  const compiled: RecordStep[] = [];
  for (const step of steps) {
    // dlt adds a step's filter before its map.
    if (step.filter) {
      const f = typeof step.filter === "function" ? step.filter : compileFilter(step.filter);
      compiled.push((r) => (f(r) ? r : undefined));
    }
    if (step.map) {
      if (typeof step.map === "function") {
        const m = step.map;
        compiled.push((r) => {
          const out = m(r);
          // A map that mutates in place and returns nothing keeps the record.
          if (out === undefined) return r;
          if (typeof out !== "object" || out === null || Array.isArray(out)) {
            throw new ResponseError(`${resource ? `resource ${resource}: ` : ""}a processing_steps map returned ${Array.isArray(out) ? "a list" : typeof out}, not a record object`, {
              hint: "return the (changed) record from the map function",
            });
          }
          return out as Rec;
        });
      } else compiled.push(compileMap(step.map));
    }
  }
  return (record) => {
    let r: Rec | undefined = record;
    for (const step of compiled) {
      r = step(r);
      if (r === undefined) return undefined;
    }
    return r;
  };
}

/** Applies compiled steps to a page of records. */
export function processRecords(records: readonly Rec[], step: RecordStep | undefined): Rec[] {
  if (!step) return records as Rec[];
  const out: Rec[] = [];
  for (const r of records) {
    const kept = step(r);
    if (kept !== undefined) out.push(kept);
  }
  return out;
}
