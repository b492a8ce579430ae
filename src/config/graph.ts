/**
 * Placeholders and the resource graph. A child resource names its parent in
 * a placeholder — `{resources.<parent>.<field>}` in path, params, json or
 * headers — or with dlt's legacy `params: { x: { type: "resolve", resource,
 * field } }`. Resources are ordered so parents come before children; a
 * cycle or an unknown parent is a config error naming the path.
 *
 * Placeholder syntax is Python's `str.format` as dlt uses it: `{name}`, with
 * `{{` and `}}` for literal braces.
 *
 * Reference: https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/advanced
 */
import { ConfigError } from "../errors.ts";

/** One `{…}` in a string. */
interface Part {
  literal: string;
  field?: string;
}

/** Splits a template into literal text and placeholder names; `{{`/`}}` are literal braces. */
export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let literal = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === "{" && template[i + 1] === "{") {
      literal += "{";
      i++;
    } else if (c === "}" && template[i + 1] === "}") {
      literal += "}";
      i++;
    } else if (c === "{") {
      const end = template.indexOf("}", i);
      if (end < 0) throw new SyntaxError(`unclosed "{" in ${JSON.stringify(template)}; write "{{" for a literal brace`);
      parts.push({ literal, field: template.slice(i + 1, end).trim() });
      literal = "";
      i = end;
    } else if (c === "}") {
      throw new SyntaxError(`single "}" in ${JSON.stringify(template)}; write "}}" for a literal brace`);
    } else literal += c;
  }
  if (literal || parts.length === 0) parts.push({ literal });
  return parts;
}

/** Every placeholder name in a value (strings, and keys and values of objects and lists, recursively). */
export function findPlaceholders(value: unknown): string[] {
  const out = new Set<string>();
  const visit = (x: unknown) => {
    if (typeof x === "string") {
      for (const p of parseTemplate(x)) if (p.field) out.add(p.field);
    } else if (Array.isArray(x)) x.forEach(visit);
    else if (typeof x === "object" && x !== null) {
      for (const [k, v] of Object.entries(x)) {
        visit(k);
        visit(v);
      }
    }
  };
  visit(value);
  return [...out];
}

/**
 * Replaces placeholders with values. With `preserveType`, a string that is
 * exactly one placeholder becomes the value itself (a number stays a number
 * in a JSON body), as dlt does for `json`.
 */
export function expandPlaceholders<T>(value: T, values: Readonly<Record<string, unknown>>, preserveType = false): T {
  const expand = (x: unknown): unknown => {
    if (typeof x === "string") {
      const parts = parseTemplate(x);
      if (preserveType && parts.length === 1 && parts[0].literal === "" && parts[0].field !== undefined) return lookup(parts[0].field);
      let out = "";
      for (const p of parts) {
        out += p.literal;
        if (p.field !== undefined) {
          const v = lookup(p.field);
          out += typeof v === "string" ? v : v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
        }
      }
      return out;
    }
    if (Array.isArray(x)) return x.map(expand);
    if (typeof x === "object" && x !== null) {
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [expand(k) as string, expand(v)]));
    }
    return x;
  };
  const lookup = (field: string): unknown => {
    if (!(field in values)) throw new Error(`no value for placeholder {${field}}`);
    return values[field];
  };
  return expand(value) as T;
}

/** Where a child's values come from: a placeholder (or legacy param) and the parent field it reads. */
export interface ParentBinding {
  /** The placeholder name as written, e.g. `resources.issues.number`, or a legacy param's name. */
  placeholder: string;
  /** The parent record's field (a dotted path or JSONPath). */
  field: string;
}

export const PLACEHOLDER_CONTEXTS = ["resources", "incremental"] as const;
/**
 * dlt's documented four (basic.md, "Using placeholders"), plus the settings its
 * tests format from the Incremental object (`{incremental.lag}`).
 */
export const INCREMENTAL_PLACEHOLDERS = ["start_value", "initial_value", "end_value", "last_value", "lag", "cursor_path"] as const;

/**
 * Checks the placeholders of one endpoint and returns its parent bindings.
 * `locations` maps a config path (`resources[1].endpoint.params`) to the value found there.
 */
export function bindingsOf(
  name: string,
  at: string,
  locations: { path: string; value: unknown }[],
  legacy: { param: string; resource: string; field: string }[],
  hasIncremental: boolean,
): { parent?: string; bindings: ParentBinding[] } {
  const bindings: ParentBinding[] = [];
  const parents = new Set<string>();
  for (const { path, value } of locations) {
    let names: string[];
    try {
      names = findPlaceholders(value);
    } catch (error) {
      throw new ConfigError(`${path}: ${(error as Error).message}`, { hint: "placeholders are {resources.<parent>.<field>} or {incremental.start_value}; write {{ and }} for literal braces" });
    }
    for (const placeholder of names) {
      if (legacy.some((l) => l.param === placeholder)) continue;
      const [context, ...rest] = placeholder.split(".");
      if (context === "resources") {
        if (rest.length < 2 || !rest[0] || !rest.slice(1).join(".")) {
          throw new ConfigError(`${path}: placeholder {${placeholder}} must look like {resources.<parent>.<field>}`, { hint: "name the parent resource and the field of its records, e.g. {resources.issues.number}" });
        }
        parents.add(rest[0]);
        if (!bindings.some((b) => b.placeholder === placeholder)) bindings.push({ placeholder, field: rest.slice(1).join(".") });
      } else if (context === "incremental") {
        if (!hasIncremental) {
          throw new ConfigError(`${path}: placeholder {${placeholder}} needs endpoint.incremental`, {
            hint: "add endpoint.incremental with a cursor_path, or remove the placeholder",
          });
        }
        if (rest.length !== 1 || !(INCREMENTAL_PLACEHOLDERS as readonly string[]).includes(rest[0])) {
          throw new ConfigError(`${path}: unknown placeholder {${placeholder}}; known: ${INCREMENTAL_PLACEHOLDERS.map((p) => `{incremental.${p}}`).join(", ")}`, { hint: "use one of the known {incremental.*} placeholders" });
        }
      } else {
        throw new ConfigError(
          `${path}: unknown placeholder {${placeholder}}; placeholders start with one of: ${PLACEHOLDER_CONTEXTS.join(", ")} (e.g. {resources.<parent>.<field>}); write {{ and }} for literal braces`,
          { hint: "write {resources.<parent>.<field>} for a parent's value, {incremental.start_value} for the cursor, or {{…}} for literal braces" },
        );
      }
    }
  }
  for (const l of legacy) {
    parents.add(l.resource);
    bindings.push({ placeholder: l.param, field: l.field });
  }
  if (parents.size > 1) {
    throw new ConfigError(`${at}: resource "${name}" refers to more than one parent (${[...parents].join(", ")}); a resource has at most one parent`, {
      hint: "take every {resources.…} value from one parent; a value of the grandparent can reach the parent's records through its include_from_parent",
    });
  }
  return { parent: [...parents][0], bindings };
}

/** Orders resources so that every parent comes before its children. Throws on unknown parents and cycles. */
export function orderResources<N extends { name: string; at: string }>(nodes: readonly N[], parentOf: (n: N) => string | undefined): N[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const n of nodes) {
    const parent = parentOf(n);
    if (parent !== undefined && !byName.has(parent)) {
      throw new ConfigError(`${n.at}.endpoint: resource "${n.name}" refers to unknown parent resource "${parent}"; known: ${nodes.map((x) => x.name).join(", ")}`, {
        hint: "fix the parent's name in the placeholder (or resolve param), or add that resource",
      });
    }
    if (parent === n.name) {
      throw new ConfigError(`${n.at}.endpoint: resource "${n.name}" refers to itself as its parent`, { hint: "a resource's placeholders read another resource's records" });
    }
  }
  const out: N[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (n: N, trail: string[]) => {
    const s = state.get(n.name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(n.name)), n.name];
      throw new ConfigError(`${n.at}.endpoint: resources depend on each other in a cycle: ${cycle.join(" → ")}`, {
        hint: "a child resource reads its parent's records; remove one of the {resources.…} references",
      });
    }
    state.set(n.name, "visiting");
    const parent = parentOf(n);
    if (parent !== undefined) visit(byName.get(parent)!, [...trail, n.name]);
    state.set(n.name, "done");
    out.push(n);
  };
  for (const n of nodes) visit(n, []);
  return out;
}

/**
 * dlt's guess that a path returns one entity: it ends in a placeholder
 * (`/users/{id}`), so the response is the record itself and there is one page.
 */
export function isSingleEntityPath(path: string): boolean {
  return /\{[^{}]+\}\/?$/.test(path) && !/\{\{[^{}]*\}\}\/?$/.test(path);
}
