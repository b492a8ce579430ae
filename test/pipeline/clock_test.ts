/**
 * The run's clock is injected (`now`): the batch_seconds decision and the
 * elapsed time of page events follow it, not the wall clock.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

test("batch_seconds and page timings follow the injected clock, not the wall clock", async () => {
  await using env = await testEnv({ chat: { messages: 250 } });
  // A minute passes on the injected clock with every page; the wall clock barely moves.
  let clock = 1_700_000_000_000;
  const events: PipelineEvent[] = [];
  const summary = await env.run(prepareConfig(seedConfig(env.chat.url), { env: SEED_ENV, cwd: "/nonexistent" }), {
    pipelineName: "chat",
    batchPages: 1000,
    batchSeconds: 30,
    now: () => clock,
    onEvent: (e) => {
      events.push(e);
      if (e.type === "page") clock += 60_000;
    },
  });
  assert.equal(summary.status, "completed");
  const pages = events.filter((e) => e.type === "page");
  assert.deepEqual(pages.map((e) => e.elapsedMs), [0, 60_000, 120_000]);
  // Each page is older than batch_seconds by the time the next arrives: one batch per page.
  const batches = events.filter((e) => e.type === "batch_committed");
  assert.deepEqual(batches.map((e) => e.batchRows), [100, 100, 50]);
});
