/**
 * Which JavaScript engine runs restduck: JavaScriptCore (Bun, and so the binary) or V8 (Node,
 * Deno). Where the two differ enough to choose a different way of doing the same thing, the
 * choice reads this (load/tables.ts: how rows reach DuckDB).
 */
export const ENGINE: "javascriptcore" | "v8" = typeof (globalThis as { Bun?: unknown }).Bun === "object" ? "javascriptcore" : "v8";
