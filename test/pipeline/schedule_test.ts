/**
 * The scheduler on its own: which item runs when and what a failure does to
 * the others. (The request budget is the slot gate, tested in test/http/concurrency_test.ts.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { schedule } from "../../src/pipeline/schedule.ts";

/** A promise and the functions that settle it. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

test("the first failure stops the running items, waits for them to settle, and is the one reported", async () => {
  const a = deferred();
  const log: string[] = [];
  const run = schedule(["a", "b", "c"], {
    limit: () => 2,
    after: () => undefined,
    alone: () => false,
    run: async (item, signal) => {
      log.push(`start ${item}`);
      if (item === "b") throw new Error("b broke");
      // a stops when told, but only after its commit in flight settles.
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => void a.promise.then(resolve)));
      log.push(`stopped ${item}`);
      throw signal.reason;
    },
  });
  let settled = false;
  void run.catch(() => (settled = true));
  await tick();
  assert.equal(settled, false, "still waiting for a to settle");
  a.resolve();
  await assert.rejects(run, /b broke/);
  // c never started: nothing new starts after a failure.
  assert.deepEqual(log, ["start a", "start b", "stopped a"]);
});

test("children wait for their parent, one that runs alone waits for the others and holds back those after it", async () => {
  const log: string[] = [];
  const gates = new Map(["p", "x", "c", "solo", "y"].map((n) => [n, deferred()]));
  const parent = new Map([["c", "p"]]);
  const run = schedule(["p", "x", "c", "solo", "y"], {
    limit: () => 4,
    after: (item) => parent.get(item),
    alone: (item) => item === "solo",
    run: async (item) => {
      log.push(`+${item}`);
      await gates.get(item)!.promise;
      log.push(`-${item}`);
    },
  });
  await tick();
  assert.deepEqual(log, ["+p", "+x"], "c waits for p; solo waits for x (and holds y back)");
  gates.get("p")!.resolve();
  await tick();
  assert.deepEqual(log, ["+p", "+x", "-p", "+c"]);
  gates.get("x")!.resolve();
  gates.get("c")!.resolve();
  await tick();
  assert.deepEqual(log.slice(4), ["-x", "-c", "+solo"]);
  gates.get("solo")!.resolve();
  await tick();
  assert.deepEqual(log.slice(7), ["-solo", "+y"]);
  gates.get("y")!.resolve();
  await run;
});
