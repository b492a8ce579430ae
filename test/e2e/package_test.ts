/**
 * The npm package, installed the way a user installs it (issue 13): `npm pack` from a clean copy,
 * `npm install <tarball>` into a fresh project, then the package imported on Node 24, Deno
 * (`npm:restduck`, resolved from the project's node_modules) and Bun, each loading the mock chat API
 * into a DuckDB file; a user's `tsc --strict` finds the types; `npx restduck` runs the CLI.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { VERSION } from "../../src/version.ts";
import { chatApi, queryDb, SEED_ENV, tempDir } from "../helpers/index.ts";
import { installInto, packPackage, root, sh, shAsync } from "../helpers/pack.ts";

const bin = (name: string) => join(root, "node_modules", ".bin", name);

/** A user's script: the seed source against API_URL into DB, then a count through the pipeline. */
const consumer = (specifier: string) => `
import { pipeline, restApiSource, seedConfig, VERSION } from "${specifier}";

const p = pipeline({ database: process.env.DB, secrets: { client_id: process.env.CLIENT_ID, client_secret: process.env.CLIENT_SECRET } });
try {
  const summary = await p.run(restApiSource(seedConfig(process.env.API_URL)));
  const [{ n }] = await p.query("select count(*) as n from chat_messages");
  console.log(JSON.stringify({ version: VERSION, status: summary.status, loaded: summary.resources[0].rows, n }));
} finally {
  p.close();
}
`;

/** A user's TypeScript: it must compile under --strict against the package's .d.ts, and a misuse must not. */
const TYPED_CONSUMER = `
import { pipeline, restApiSource, secret, type Pipeline, type RunSummary } from "restduck";

const source = restApiSource({
  client: { base_url: "https://api.example.com", auth: { type: "bearer", token: secret("token") } },
  resources: [{ name: "messages", endpoint: { path: "/v1/messages", paginator: { type: "offset", limit: 100 } } }],
});
await using p: Pipeline = pipeline({ database: "typed.duckdb" });
const summary: RunSummary = await p.run(source);
const [row] = await p.query<{ n: number }>("select 1 as n");
const n: number = row.n;
// @ts-expect-error run takes a source made by restApiSource, not a path
await p.run("chat.json");
console.log(summary.status, n);
`;

test("the packed package holds compiled JavaScript, type declarations and the README, and no sources or tests", () => {
  const { files, size, unpackedSize } = packPackage();
  for (const needed of ["package.json", "README.md", "lib/index.js", "lib/index.d.ts", "lib/library.d.ts", "lib/bin/restduck.js"]) {
    assert.ok(files.includes(needed), `${needed} is in the tarball`);
  }
  const unexpected = files.filter((f) => !/^lib\/.+\.(js|d\.ts)$/.test(f) && f !== "package.json" && f !== "README.md" && f !== "LICENSE");
  assert.deepEqual(unexpected, [], "only lib/*.js, lib/*.d.ts, README, LICENSE and package.json");
  assert.ok(!files.some((f) => f.includes("compiled")), "the Bun-only binary entry stays out");
  console.log(`tarball: ${files.length} files, ${size} bytes (${unpackedSize} unpacked)`);
});

test("an installed tarball loads the chat API on Node 24, Deno (npm:restduck) and Bun, types check with tsc --strict, and npx restduck runs", async () => {
  const { tarball } = packPackage();
  const api = await chatApi({ messages: 260 });
  const project = tempDir("restduck-consumer-");
  try {
    installInto(project.dir, tarball);
    writeFileSync(join(project.dir, "consumer.mjs"), consumer("restduck"));
    writeFileSync(join(project.dir, "deno_consumer.ts"), consumer("npm:restduck"));
    writeFileSync(join(project.dir, "typed.ts"), TYPED_CONSUMER);

    const env = (db: string) => ({ ...SEED_ENV, API_URL: api.url, DB: db });
    const runs = {
      node: await shAsync(bin("node"), ["consumer.mjs"], project.dir, env("node.duckdb")),
      // A Deno project with a package.json uses its node_modules: `npm:restduck` resolves to the
      // installed tarball. --cached-only and an empty DENO_DIR prove nothing came from a registry.
      deno: await shAsync(bin("deno"), ["run", "--cached-only", "--allow-read", "--allow-write", "--allow-net", "--allow-env", "--allow-ffi", "deno_consumer.ts"], project.dir, {
        ...env("deno.duckdb"),
        DENO_DIR: join(project.dir, ".deno"),
      }),
      bun: await shAsync(bin("bun"), ["consumer.mjs"], project.dir, env("bun.duckdb")),
    };
    for (const [runtime, res] of Object.entries(runs)) {
      const out = JSON.parse(res.stdout.trim().split("\n").at(-1) ?? "") as Record<string, unknown>;
      assert.deepEqual(out, { version: VERSION, status: "completed", loaded: 260, n: 260 }, `${runtime}: ${res.stdout}${res.stderr}`);
      const [row] = await queryDb<{ n: number; ids: number }>(join(project.dir, `${runtime}.duckdb`), "select count(*)::int as n, count(distinct id)::int as ids from chat_messages");
      assert.deepEqual(row, { n: 260, ids: 260 }, `${runtime} wrote the rows to its DuckDB file`);
    }

    // The user's compiler resolves the package's types through `exports` (the @ts-expect-error proves they are not `any`).
    sh(bin("tsc"), ["--strict", "--noEmit", "--module", "nodenext", "--target", "es2023", "--lib", "es2023,dom,esnext.disposable", "typed.ts"], project.dir);

    // The bin: npx finds node_modules/.bin/restduck, which runs the compiled CLI on Node.
    assert.equal(sh("npx", ["--no-install", "restduck", "--version"], project.dir).stdout.trim(), VERSION);
    const query = sh("npx", ["--no-install", "restduck", "query", "--db", "node.duckdb", "--format", "csv", "select count(*) as n from chat_messages"], project.dir);
    assert.equal(query.stdout, "n\n260\n");
  } finally {
    await api.close();
    project.cleanup();
  }
});
