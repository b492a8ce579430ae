/**
 * Builds the npm package's contents: src/ compiled by tsconfig.build.json into lib/ (ESM JavaScript,
 * a .d.ts beside each file, `#!/usr/bin/env node` kept on lib/bin/restduck.js). `npm pack` and
 * `npm publish` run it through `prepack`, so a tarball is never built from a stale lib/.
 *
 * Why compiled at all: Node refuses to strip types from .ts files under node_modules
 * (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), Deno's npm resolution does the same, and a user's
 * `tsc` will not read .ts sources from a dependency (TS5097). The source stays the truth; lib/ is
 * a build output, ignored by git.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const lib = join(root, "lib");

// Start empty: tsc never deletes, and a file removed from src/ must not live on in the tarball.
rmSync(lib, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) {
  console.error(`error: tsc -p tsconfig.build.json failed (exit ${tsc.status ?? tsc.signal}); lib/ is incomplete`);
  process.exit(1);
}

const RELATIVE_TS = /((?:from|import)\s*\(?\s*["']\.{1,2}\/[^"']*)\.ts(["'])/g;
const files = readdirSync(lib, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"));

// tsc rewrites `./x.ts` to `./x.js` in the JavaScript but leaves declarations as written (TS 5.9).
// A consumer's tsc resolves `.js` specifiers in every module mode: spell them `.js` there too.
for (const f of files.filter((f) => f.endsWith(".d.ts"))) {
  const path = join(lib, f);
  const text = readFileSync(path, "utf8");
  const fixed = text.replace(RELATIVE_TS, "$1.js$2");
  if (fixed !== text) writeFileSync(path, fixed);
}

// A relative import still spelled `.ts` would fail only when a user runs it: check the output here.
const stale = files.filter((f) => new RegExp(RELATIVE_TS.source).test(readFileSync(join(lib, f), "utf8")));
if (stale.length > 0) {
  console.error(`error: ${stale.map((f) => relative(root, join(lib, f))).join(", ")} still import .ts files; check rewriteRelativeImportExtensions in tsconfig.build.json`);
  process.exit(1);
}
if (!readFileSync(join(lib, "bin", "restduck.js"), "utf8").startsWith("#!/usr/bin/env node\n")) {
  console.error("error: lib/bin/restduck.js lost its `#!/usr/bin/env node` line; npm's bin link needs it");
  process.exit(1);
}
console.log(`lib/: ${files.filter((f) => f.endsWith(".js")).length} modules with type declarations`);
