/**
 * A frozen schema contract: a violation stops the run, and nothing of that
 * run is committed, even batches loaded before the violating page.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { SchemaContractError } from "../../src/normalize/normalizer.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

test("a columns freeze violation names table, column and type, and leaves nothing of the run", async () => {
  await using env = await testEnv({ chat: { messages: 300 } });
  await env.run(prepareConfig(seedConfig(env.chat.url), { env: SEED_ENV, cwd: "/" }), { pipelineName: "chat" });
  // Page 1 changes an existing column (allowed), page 3 brings a new column (frozen).
  env.chat.updateMessage(5, { content: "changed in the frozen run" });
  env.chat.updateMessage(250, { edited_at: "2024-04-01T00:00:00Z" } as never);
  const frozen = seedConfig(env.chat.url) as { resource_defaults: Record<string, unknown> };
  frozen.resource_defaults.schema_contract = { columns: "freeze" };
  const events: PipelineEvent[] = [];
  await assert.rejects(
    env.run(prepareConfig(frozen, { env: SEED_ENV, cwd: "/" }), { pipelineName: "chat", batchPages: 1, onEvent: (e) => events.push(e) }),
    (error: unknown) => {
      assert.ok(error instanceof SchemaContractError, String(error));
      assert.match(error.message, /chat_messages/);
      assert.match(error.message, /edited_at/);
      assert.match(error.message, /for a (text|timestamp) value/);
      return true;
    },
  );
  assert.ok(events.some((e) => e.type === "warning" && /one transaction/.test(e.message)));
  const [row] = await env.query<{ content: string }>("select content from chat_messages where id = 5");
  assert.notEqual(row.content, "changed in the frozen run");
  const cols = await env.query("select 1 from information_schema.columns where table_name = 'chat_messages' and column_name = 'edited_at'");
  assert.equal(cols.length, 0);
  const runs = await env.query<{ status: string }>("select status from chat_dataset._restduck_runs order by started_at");
  assert.deepEqual(runs.map((r) => r.status), ["completed", "failed"]);
});
