/**
 * The layers of src/ (README, Architecture): a module imports from its own
 * folder or a lower layer, never one above it or beside it (issue #14).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "../src");

/** Lowest first. cli/, library.ts, runtime/, bin/ and the CLI-side openapi/ stand above these and are not checked here. */
const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts", "redact.ts", "exact_json.ts", "version.ts"],
  ["shared"],
  ["http", "normalize"],
  ["config"],
  ["auth", "extract", "load"],
  ["paginate"],
  ["pipeline"],
];

/** The top-level entry of src/ a file belongs to: its folder, or its own name for a file at the top. */
const placeOf = (file: string) => relative(SRC, file).split(/[\\/]/)[0];
const layerOf = (place: string) => LAYERS.findIndex((layer) => layer.includes(place));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

test("no module imports a layer above its own or a sibling of its layer", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = placeOf(file);
    const layer = layerOf(from);
    if (layer < 0) continue;
    const text = readFileSync(file, "utf8");
    for (const [, spec] of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)) {
      const to = placeOf(resolve(dirname(file), spec));
      if (to === from) continue;
      const target = layerOf(to);
      if (target < 0 || target >= layer) wrong.push(`${relative(SRC, file)} imports ${spec} (${from} → ${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});
