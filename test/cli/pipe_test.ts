/**
 * The real CLI writing into real pipes (issue #13): a slow reader gets every byte of every format,
 * a reader that closes early ends restduck quietly with exit 0. Node and Bun write to pipes
 * asynchronously, so this runs the CLI as a child process — from source on Node and on Bun, and
 * the compiled binary when dist/restduck was built from the current sources — never in-process.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { queryDb, runCli, SEED_ENV, seedConfig, testEnv, writeConfig, type TestEnv } from "../helpers/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const NODE = join(ROOT, "node_modules/.bin/node");
const BIN = join(ROOT, "dist/restduck");
const RUNTIMES: { name: string; argv: string[] }[] = [
  { name: "node", argv: [NODE, join(ROOT, "src/bin/restduck.ts")] },
  { name: "bun", argv: [join(ROOT, "node_modules/.bin/bun"), join(ROOT, "src/bin/restduck.ts")] },
  ...(binaryIsCurrent() ? [{ name: "binary", argv: [BIN] }] : []),
];

/**
 * The binary is tried here only when it was built from the sources as they are (a stale
 * dist/restduck would test old code); test/e2e/binary_test.ts builds it afresh and pipes it too.
 */
function binaryIsCurrent(): boolean {
  if (!existsSync(BIN)) return false;
  const built = statSync(BIN).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  return built >= newest(join(ROOT, "src"));
}

/** Waits 300 ms before reading anything, then prints the byte count, line count and sha256 of all it read. */
const SLOW_READER = `setTimeout(() => {
  const hash = require("node:crypto").createHash("sha256"); let bytes = 0, lines = 0;
  process.stdin.on("data", (d) => { hash.update(d); bytes += d.length; for (const c of d) if (c === 10) lines++; });
  process.stdin.on("end", () => console.log(JSON.stringify({ bytes, lines, sha256: hash.digest("hex") })));
}, 300);`;

/** The folder the tests share (set up in `before`), and the database loaded there once. */
let tmp: TestEnv;
let DB = "";
// 2,000 messages × 10 = 20,000 rows of ~200 bytes: megabytes, far past a pipe's 64 KiB buffer.
const SQL = "select m.id, m.channel, m.sender_id, m.content, r.range as copy from chat_messages m, range(10) r order by m.id, r.range";
const ROWS = 20_000;
const FORMATS: { format: string; lines: number }[] = [
  { format: "csv", lines: ROWS + 1 },
  { format: "ndjson", lines: ROWS },
  { format: "json", lines: ROWS * 7 + 2 }, // "[", then per row "{", five columns, "}," and "]"
  { format: "table", lines: ROWS + 5 },
];

/** Runs `producer | consumer` through bash; returns the producer's exit code and stderr, and the consumer's stdout. */
function pipe(producer: string[], consumer: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stderr: string; out: string }> {
  const errFile = join(tmp.dir, `err-${process.hrtime.bigint()}`);
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const script = `${producer.map(quote).join(" ")} 2>${quote(errFile)} | ${consumer.map(quote).join(" ")}; echo "exit=\${PIPESTATUS[0]}"`;
  return new Promise((done, fail) => {
    const child = spawn("bash", ["-c", script], { cwd: options.cwd ?? tmp.dir, env: { ...process.env, NO_COLOR: "1", ...options.env }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("close", () => {
      const code = Number(/exit=(\d+)\n$/.exec(out)?.[1] ?? -1);
      done({ code, stderr: readFileSync(errFile, "utf8"), out: out.replace(/exit=\d+\n$/, "") });
    });
  });
}

before(async () => {
  tmp = await testEnv({ prefix: "restduck-pipe-" });
  DB = tmp.path("chat.duckdb");
  await using env = await testEnv({ chat: { messages: 2000 } });
  writeConfig(tmp.dir, seedConfig(env.chat.url));
  const res = await runCli(["run", "chat.json", "--db", DB, "--quiet"], { cwd: tmp.dir, env: SEED_ENV });
  assert.equal(res.code, 0, res.stderr);
});
after(() => tmp?.[Symbol.asyncDispose]());

for (const rt of RUNTIMES) {
  describe(`restduck on ${rt.name} into a pipe`, () => {
    for (const { format, lines } of FORMATS) {
      test(`query --format ${format} reaches a slow reader whole, byte for byte, and exits 0`, async () => {
        const args = [...rt.argv, "query", "--db", DB, "--format", format, SQL];
        // A file is written synchronously: the reference bytes.
        const file = join(tmp.dir, `ref.${rt.name}.${format}`);
        const ref = await pipe(args, ["tee", file]);
        assert.equal(ref.code, 0, ref.stderr);
        const expected = readFileSync(file);
        const res = await pipe(args, [NODE, "-e", SLOW_READER]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stderr, "");
        const got = JSON.parse(res.out) as { bytes: number; lines: number; sha256: string };
        assert.equal(got.lines, lines);
        assert.equal(got.bytes, expected.length);
        assert.equal(got.sha256, createHash("sha256").update(expected).digest("hex"));
      });

      test(`query --format ${format} into a reader that closes after one line ends quietly with exit 0`, async () => {
        const res = await pipe([...rt.argv, "query", "--db", DB, "--format", format, SQL], ["head", "-n", "1"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stderr, "");
        assert.equal(res.out.split("\n").length, 2);
      });
    }

    test("info, schema, export --json and run --json reach a slow reader whole and end quietly when it closes early", async () => {
      for (const cmd of [["info", DB], ["schema", DB], ["schema", DB, "--json"], ["info", DB, "--json"], ["export", "--db", DB, "--to", "lake", "--json"]]) {
        const file = join(tmp.dir, `ref.${rt.name}.${cmd.join("_").replace(/\W/g, "")}`);
        const ref = await pipe([...rt.argv, ...cmd], ["tee", file]);
        assert.equal(ref.code, 0, ref.stderr);
        const slow = await pipe([...rt.argv, ...cmd], [NODE, "-e", SLOW_READER]);
        assert.equal(slow.code, 0, slow.stderr);
        assert.equal((JSON.parse(slow.out) as { sha256: string }).sha256, createHash("sha256").update(readFileSync(file)).digest("hex"), cmd.join(" "));
        const early = await pipe([...rt.argv, ...cmd], ["head", "-c", "10"]);
        assert.equal(early.code, 0, `${cmd.join(" ")}: ${early.stderr}`);
        assert.equal(early.stderr, "", cmd.join(" "));
      }
      // A load whose --json events lose their reader still loads everything: the events are a report, the load is the job.
      await using env = await testEnv({ chat: { messages: 300 } });
      writeFileSync(join(tmp.dir, "run.json"), JSON.stringify(seedConfig(env.chat.url)));
      const db = join(tmp.dir, `run-${rt.name}.duckdb`);
      const res = await pipe([...rt.argv, "run", "run.json", "--db", db, "--json"], ["head", "-n", "1"], { env: SEED_ENV });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, "");
      assert.equal((JSON.parse(res.out) as { type: string }).type, "run_started");
      assert.deepEqual(await queryDb(db, "select count(*)::INT as n from chat_messages"), [{ n: 300 }]);
    });
  });
}

test("stdout that cannot be written (a full disk) is an error, exit 1", async () => {
  const child = spawn("bash", ["-c", `'${NODE}' '${join(ROOT, "src/bin/restduck.ts")}' query --db '${DB}' --format csv '${SQL}' >/dev/full`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  assert.equal(code, 1);
  assert.match(stderr, /error: cannot write the output to stdout: ENOSPC/);
});
