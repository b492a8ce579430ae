/**
 * How long `init --openapi` takes on a large document: reads the corpus documents named on the command
 * line (default: every JSON one), merges them into one OpenAPI document of ~10 MB
 * (each document's components prefixed so they do not collide), writes it to a temp file and times
 * reading + generating, as `restduck init --openapi` does.
 *
 *   node scripts/bench_openapi.ts [github.json.gz stripe.json.gz …]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateConfig } from "../src/openapi/generate.ts";
import { readOpenApiFile } from "../src/openapi/read.ts";
import { loadCorpusDocument } from "../test/openapi/corpus_score.ts";

const names = process.argv.slice(2).length ? process.argv.slice(2) : ["github.json.gz", "stripe.json.gz", "twilio_api.json.gz", "box.json.gz", "discord.json.gz", "twilio_conversations.json.gz"];
const merged: Record<string, any> = { openapi: "3.0.3", info: { title: "Merged", version: "1" }, servers: [{ url: "https://api.example.com" }], paths: {}, components: {} };
for (const [i, name] of names.entries()) {
  const prefix = `d${i}_`;
  // Prefix every component name, and every reference to one.
  const doc = JSON.parse(JSON.stringify(loadCorpusDocument(name)).replace(/"#\/components\/([^/"]+)\/([^"]+)"/g, `"#/components/$1/${prefix}$2"`));
  for (const [kind, entries] of Object.entries((doc.components ?? {}) as Record<string, Record<string, unknown>>)) {
    merged.components[kind] ??= {};
    for (const [key, value] of Object.entries(entries)) merged.components[kind][`${prefix}${key}`] = value;
  }
  for (const [path, item] of Object.entries(doc.paths as Record<string, unknown>)) merged.paths[`/${prefix.slice(0, -1)}${path}`] = item;
}
const dir = mkdtempSync(join(tmpdir(), "restduck-bench-openapi-"));
try {
  const file = join(dir, "merged.json");
  // Pretty-printed, as vendors publish them (GitHub, Stripe, Box).
  const text = JSON.stringify(merged, null, 2);
  writeFileSync(file, text);
  const t0 = performance.now();
  const spec = await readOpenApiFile(file);
  const t1 = performance.now();
  const { config } = generateConfig(spec);
  const t2 = performance.now();
  console.log(
    `${(text.length / 1e6).toFixed(1)} MB, ${Object.keys(merged.paths).length} paths → ${config.resources.length} resources: read ${(t1 - t0).toFixed(0)} ms, generate ${(t2 - t1).toFixed(0)} ms, total ${(t2 - t0).toFixed(0)} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
