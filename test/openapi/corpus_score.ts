/**
 * Scores a generated config against the hand-written resources of
 * corpus_expectations.ts: which fields of each expected resource the
 * generator got right, and whether the config passes `validate`.
 */
import { isDeepStrictEqual } from "node:util";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { prepareConfig } from "../../src/config/index.ts";
import type { Expected } from "./corpus_expectations.ts";

export const CORPUS = join(import.meta.dirname, "..", "fixtures", "openapi", "corpus");

/** A corpus document, parsed. */
export function loadCorpusDocument(name: string): unknown {
  const text = gunzipSync(readFileSync(join(CORPUS, name))).toString("utf8");
  return name.includes(".json") ? JSON.parse(text) : parse(text, { maxAliasCount: -1 });
}

/** `validate`'s verdict on a generated config, secrets replaced by stand-ins: the problems, none when it passes. */
export function validateProblems(config: unknown): string[] {
  const standIns = JSON.parse(JSON.stringify(config), (_k, v) => (v && typeof v === "object" && typeof v.$secret === "string" ? "stand-in" : v));
  try {
    prepareConfig(standIns, { source: "generated config" });
    return [];
  } catch (error) {
    const listed = (error as { problems?: string[] }).problems;
    return listed?.length ? listed : [(error as Error).message];
  }
}

const shape = (path: string) => path.replace(/\{[^}]*\}/g, "{}");

/** The differences between one expected resource and the generated config (empty when it matches). */
export function differences(generated: { config: any; skipped: string[] }, e: Expected): string[] {
  const found = (generated.config.resources as any[]).filter((r) => shape(r.endpoint?.path ?? "") === shape(e.openapi));
  if (e.left_out) {
    if (found.length) return [`a resource for GET ${e.openapi} (data_selector ${JSON.stringify(found[0].endpoint.data_selector)}), want it left out as one object`];
    return generated.skipped.some((s) => s.startsWith(`GET ${e.openapi}: `) && /one object/.test(s)) ? [] : [`GET ${e.openapi} not in skipped with "one object"`];
  }
  if (found.length !== 1) return [`${found.length} resources for GET ${e.openapi}`];
  const r = found[0];
  const out: string[] = [];
  const check = (what: string, got: unknown, want: unknown) => {
    if (!isDeepStrictEqual(got, want)) out.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  check("path", r.endpoint.path, e.path);
  check("data_selector", r.endpoint.data_selector ?? "$", e.data_selector);
  const p = r.endpoint.paginator;
  check("paginator", typeof p === "string" ? { type: p } : p, e.paginator);
  check("primary_key", r.primary_key ?? null, e.primary_key);
  for (const [k, v] of Object.entries(e.params ?? {})) check(`params.${k}`, r.endpoint.params?.[k], v);
  return out;
}
