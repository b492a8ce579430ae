/**
 * The Node CLI's heap settings for a loading run (runtime/process.ts), taken from inside the
 * process: V8's young generation stops growing at the cap, and a flag the user gave stands.
 * Each case runs in a child Node process, since V8's flags are the whole process's.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const onNode = !(process.versions as Record<string, string | undefined>).bun && !(process.versions as Record<string, string | undefined>).deno;
const processTs = join(import.meta.dirname, "../../src/runtime/process.ts");

/**
 * Allocates like a load (short-lived objects, some surviving a while), lets V8's GC notifications
 * run, and prints the largest new space seen, in MB, and what capYoungGeneration returned.
 */
function youngGeneration(semiSpaceMb: number | undefined, nodeFlags: string[] = []): { newSpaceMb: number; capped: boolean } {
  const script = `
    import { getHeapSpaceStatistics } from "node:v8";
    import { capYoungGeneration } from ${JSON.stringify(processTs)};
    const semi = ${semiSpaceMb === undefined ? "undefined" : semiSpaceMb};
    const cap = semi === undefined ? undefined : capYoungGeneration(semi, { given: process.execArgv });
    let keep = [];
    let most = 0;
    for (let i = 0; i < 2_000_000; i++) {
      keep.push({ a: "x" + i, b: [i, i + 1], c: { d: i } });
      if (keep.length > 20_000) keep = keep.slice(10_000);
      if (i % 2_000 === 0) {
        await new Promise((r) => setImmediate(r));
        most = Math.max(most, getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);
      }
    }
    cap?.stop();
    console.log(JSON.stringify({ newSpaceMb: most / 1048576, capped: cap !== undefined }));
  `;
  const child = spawnSync(process.execPath, [...nodeFlags, "--input-type=module", "-e", script], { encoding: "utf8", timeout: 120_000 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!);
}

test("V8's young generation stops growing at the cap, set from inside the running process", { skip: !onNode && "V8's flags: Node only" }, () => {
  const free = youngGeneration(undefined);
  const capped = youngGeneration(4);
  assert.ok(free.newSpaceMb >= 32, `without the cap V8 grows new space to 64–128 MB here (${free.newSpaceMb} MB)`);
  assert.equal(capped.capped, true);
  // The hold is set after the collection that grew new space past 2 × 4 MB: it stops one growth step
  // beyond (12–14 MB seen), far below where V8 would go.
  assert.ok(capped.newSpaceMb <= 24, `new space ${capped.newSpaceMb} MB with a 4 MB semi-space cap (${free.newSpaceMb} MB without)`);
});

test("a semi-space flag the user gave stands: the cap leaves V8 alone", { skip: !onNode && "V8's flags: Node only" }, () => {
  const mine = youngGeneration(4, ["--max-semi-space-size=32"]);
  assert.equal(mine.capped, false);
  assert.ok(mine.newSpaceMb > 16, `the user's 32 MB semi-space is used (${mine.newSpaceMb} MB)`);
});
