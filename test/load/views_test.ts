/**
 * Views after every load (issue #4): the config's `views` in dependency order, a failing one
 * reported without undoing the load, and `_restduck_runs` with one row per run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { refreshViews } from "../../src/load/views.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { SEED_ENV, seedConfig, testEnv } from "../helpers/index.ts";

const withViews = (url: string, views: Record<string, string>) => prepareConfig({ ...seedConfig(url), views }, { env: SEED_ENV, cwd: "/" });

test("config views are created after the load in dependency order; a broken one is a warning and the data stays", async () => {
  await using env = await testEnv({ chat: { messages: 120 } });
  const events: PipelineEvent[] = [];
  const summary = await env.run(
    withViews(env.chat.url, {
      // Declared before the views it reads from.
      top_sender: "select sender_id from per_sender order by n desc, sender_id limit 1",
      broken: "select no_such_column from chat_messages",
      per_sender: "select sender_id, count(*) as n from chat_messages group by 1",
      reactions_per_sender: "select m.sender_id, count(*) as n from chat_messages m join chat_messages__reactions r on r.chat_messages_id = m.id group by 1",
    }), { pipelineName: "chat", onEvent: (e) => events.push(e) },
  );
  assert.equal(summary.status, "completed");
  assert.deepEqual(
    summary.views.filter((v) => ["top_sender", "per_sender", "reactions_per_sender"].includes(v)),
    ["per_sender", "reactions_per_sender", "top_sender"],
  );
  assert.deepEqual(summary.viewErrors.map((e) => e.name), ["broken"]);
  assert.match(summary.viewErrors[0].error, /no_such_column/);
  const warnings = events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
  assert.ok(warnings.some((m) => /view broken was not created: .*no_such_column/.test(m)), warnings.join("\n"));

  const counts = new Map<string, number>();
  for (const m of env.chat.messages) counts.set(m.sender_id, (counts.get(m.sender_id) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
  assert.deepEqual(await env.query("select * from top_sender"), [{ sender_id: top }]);
  assert.deepEqual(await env.query("select count(*)::int as n from chat_messages"), [{ n: 120 }]);
  assert.deepEqual(await env.query("select count(*)::int as n from information_schema.tables where table_name = 'broken'"), [{ n: 0 }]);
  assert.deepEqual(await env.query("select status from chat_dataset._restduck_runs"), [{ status: "completed" }]);
  assert.deepEqual(await env.query("select count(*)::int as n from chat_dataset._dlt_loads"), [{ n: 1 }]);
});

test("views are recreated after every load, so they show columns a later run added", async () => {
  await using env = await testEnv({ chat: { messages: 30 } });
  const config = () => withViews(env.chat.url, { edited: "select id, edited_at from chat_messages where edited_at is not null" });
  const first = await env.run(config(), { pipelineName: "chat" });
  assert.deepEqual(first.viewErrors.map((e) => e.name), ["edited"]);
  env.chat.updateMessage(7, { edited_at: "2024-04-01T00:00:00Z" } as never);
  const second = await env.run(config(), { pipelineName: "chat" });
  assert.deepEqual(second.viewErrors, []);
  assert.deepEqual(await env.query("select id::int as id from edited"), [{ id: 7 }]);
});

test("_restduck_runs has one row per run with start, end, status and rows per table", async () => {
  await using env = await testEnv({ chat: { messages: 150 } });
  const config = () => prepareConfig(seedConfig(env.chat.url), { env: SEED_ENV, cwd: "/" });
  const first = await env.run(config(), { pipelineName: "chat" });
  // 400 is not retried: the second run fails on its second page, after its first batch committed.
  env.chat.addFaults([{ match: ({ query }) => query.get("offset") === "100", status: 400 }]);
  await assert.rejects(env.run(config(), { pipelineName: "chat", batchPages: 1, concurrency: 1, restart: true }));
  const third = await env.run(config(), { pipelineName: "chat", restart: true });

  const runs = await env.query<{
    load_id: string;
    status: string;
    ordered: boolean;
    rows: string;
    rows_per_table: { key: string; value: string }[];
    rows_per_resource: { key: string; value: string }[];
  }>("select load_id, status, started_at <= finished_at as ordered, rows, rows_per_table, rows_per_resource from _restduck_runs");
  assert.deepEqual(
    runs.map((r) => [r.load_id === first.loadId || r.load_id === third.loadId, r.status, r.ordered]),
    [
      [true, "completed", true],
      [false, "failed", true],
      [true, "completed", true],
    ],
  );
  const reactions = env.chat.messages.reduce((s, m) => s + m.reactions.length, 0);
  const users = env.chat.messages.reduce((s, m) => s + m.reactions.reduce((u, r) => u + r.users.length, 0), 0);
  const attachments = env.chat.messages.reduce((s, m) => s + m.attachments.length, 0);
  const perTable = (r: (typeof runs)[number]) => Object.fromEntries(r.rows_per_table.map(({ key, value }) => [key, Number(value)]));
  const all = { chat_messages: 150, chat_messages__attachments: attachments, chat_messages__reactions: reactions, chat_messages__reactions__users: users };
  assert.deepEqual(perTable(runs[0]), all);
  assert.deepEqual(perTable(runs[2]), all);
  // The failed run counts what its committed batch wrote: the first 100 messages and their nested rows.
  assert.equal(perTable(runs[1]).chat_messages, 100);
  assert.equal(Number(runs[0].rows), 150);
  assert.deepEqual(runs[0].rows_per_resource, [{ key: "chat_messages", value: "150" }]);
});

test("refreshViews refuses a config view that is not one read-only SELECT, even when called without the run's check", async () => {
  await using env = await testEnv();
  const db = await env.open({ path: env.path("direct.duckdb") });
  await db.run("CREATE SCHEMA ds; CREATE TABLE ds.t AS SELECT 1 AS id");
  const result = await refreshViews(db, {
    dataset: "ds",
    schema: { name: "s", version: 1, tables: {} },
    resources: [],
    views: {
      ok: "select id from ds.t",
      rider: "select 1 as x; create table main.rode as select 1 as x",
      reader: "select * from read_text('/etc/hostname')",
    },
  });
  assert.ok(result.created.includes("ok"));
  assert.deepEqual(result.failed.map((f) => f.name).filter((n) => n !== "_restduck_runs").sort(), ["reader", "rider"]);
  assert.match(result.failed.find((f) => f.name === "reader")!.error, /^refused: table function read_text\(\) is not allowed/);
  assert.deepEqual(await db.all("select table_name from information_schema.tables where table_name in ('rode', 'rider', 'reader')"), []);
});
