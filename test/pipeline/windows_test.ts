/**
 * Backfill in windows (issue #16 part 2): an incremental range with
 * `end_value` and `window` is fetched as consecutive half-open windows,
 * several at once, each resumable on its own; the stored cursor ends at the
 * highest value loaded. Against the chat API, whose /v1/messages selects by
 * `since` (inclusive) and `until` (exclusive) on the message timestamp.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { ChatApi } from "../../src/demo/chat_api.ts";
import { ConfigError } from "../../src/errors.ts";
import { parseWindowSize, splitWindows, type CursorWindow, type WindowSize } from "../../src/extract/windows.ts";
import { runPipeline, type PipelineEvent } from "../../src/pipeline/run.ts";
import { queryDb, SEED_ENV, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";
import { seeded, snapshot, spawnCli } from "../robustness/helpers.ts";

const FROM = "2024-03-01T00:00:00Z";
const TO = "2024-03-07T00:00:00Z";
const DAY_STARTS = ["2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-03-03T00:00:00Z", "2024-03-04T00:00:00Z", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z"];

interface Options {
  window?: string | number | null;
  disposition?: "append" | "merge" | "replace";
  concurrency?: number;
  /** Send `until` (default true); without it each window's rows past its end come back and the cursor drops them. */
  until?: boolean;
  from?: unknown;
  to?: unknown;
  limit?: number;
}

function windowConfig(url: string, o: Options = {}): Record<string, unknown> {
  const config = seedConfig(url) as { client: Record<string, unknown>; resources: Record<string, unknown>[] };
  config.client.concurrency = o.concurrency ?? 4;
  const params: Record<string, string> = { since: "{incremental.start_value}" };
  if (o.until !== false) params.until = "{incremental.end_value}";
  const incremental: Record<string, unknown> = { cursor_path: "timestamp", initial_value: "from" in o ? o.from : FROM, end_value: "to" in o ? o.to : TO };
  if (o.window !== null) incremental.window = o.window ?? "1d";
  config.resources[0].endpoint = {
    path: "/v1/messages",
    data_selector: "messages",
    // No total: a window's pages follow one another, so only windows can overlap.
    paginator: { type: "offset", limit: o.limit ?? 10, total_path: null, stop_after_empty_page: true },
    params,
    incremental,
  };
  return { pipeline_name: "windows", ...config, resource_defaults: { primary_key: "id", write_disposition: o.disposition ?? "append" } };
}

const inRange = (api: ChatApi, from = FROM, to = TO) =>
  api.messages.filter((m) => Date.parse(m.timestamp) >= Date.parse(from) && Date.parse(m.timestamp) < Date.parse(to)).map((m) => m.id);

const messageRequests = (api: ChatApi, from = 0) => api.requests.slice(from).filter((r) => r.path === "/v1/messages" && r.status !== 401);

async function loadedIds(db: string): Promise<number[]> {
  return (await queryDb<{ id: number }>(db, "SELECT id::INT AS id FROM windows_dataset.chat_messages ORDER BY id")).map((r) => r.id);
}

async function storedCursor(db: string): Promise<unknown> {
  const [row] = await queryDb<{ state: string }>(db, "SELECT state FROM windows_dataset._dlt_pipeline_state ORDER BY version DESC LIMIT 1");
  const state = JSON.parse(row.state) as { sources: Record<string, { resources: Record<string, { incremental: Record<string, { last_value: unknown }> }> }> };
  return state.sources.windows.resources.chat_messages.incremental.timestamp.last_value;
}

const run = (config: Record<string, unknown>, dir: string, db: string, onEvent?: (e: PipelineEvent) => void) =>
  runPipeline(prepareConfig(config, { env: SEED_ENV, cwd: dir }), { database: db, onEvent });

// ------------------------------------------------------------------ splitting

const size = (spec: string | number): WindowSize => {
  const s = parseWindowSize(spec);
  assert.ok(!("error" in s), `parses ${spec}`);
  return s;
};
const split = (from: string | number, to: string | number, spec: string | number): CursorWindow[] => {
  const w = splitWindows(from, to, size(spec));
  assert.ok(Array.isArray(w), JSON.stringify(w));
  return w;
};

test("window sizes read as short durations, ISO 8601 durations and numbers, and bare minutes-or-months is refused", () => {
  assert.deepEqual(size("6h"), { kind: "duration", months: 0, ms: 6 * 3_600_000, text: "6h" });
  assert.deepEqual(size("30min"), { kind: "duration", months: 0, ms: 1_800_000, text: "30min" });
  assert.deepEqual(size("P1D"), { kind: "duration", months: 0, ms: 86_400_000, text: "P1D" });
  assert.deepEqual(size("PT1H30M"), { kind: "duration", months: 0, ms: 5_400_000, text: "PT1H30M" });
  assert.deepEqual(size("P1M"), { kind: "duration", months: 1, ms: 0, text: "P1M" });
  assert.deepEqual(size("1y"), { kind: "duration", months: 12, ms: 0, text: "1y" });
  assert.deepEqual(size(10_000), { kind: "number", size: 10_000, text: "10000" });
  assert.deepEqual(size("500"), { kind: "number", size: 500, text: "500" });
  for (const bad of [0, -5, "0d", "PT0S", "P", "PT", "1 fortnight", ""]) assert.ok("error" in parseWindowSize(bad), `refuses ${JSON.stringify(bad)}`);
  const ambiguous = parseWindowSize("30m");
  assert.ok("error" in ambiguous && /30min.*30mo/.test(ambiguous.error), JSON.stringify(ambiguous));
});

test("windows cover the range exactly, half-open and in order, the last one cut at end_value", () => {
  const days = split("2024-01-01T00:00:00Z", "2024-01-03T12:00:00Z", "1d");
  assert.deepEqual(days, [
    { index: 0, start: "2024-01-01T00:00:00Z", end: "2024-01-02T00:00:00Z" },
    { index: 1, start: "2024-01-02T00:00:00Z", end: "2024-01-03T00:00:00Z" },
    { index: 2, start: "2024-01-03T00:00:00Z", end: "2024-01-03T12:00:00Z" },
  ]);
  assert.deepEqual(split(0, 25_000, 10_000), [
    { index: 0, start: 0, end: 10_000 },
    { index: 1, start: 10_000, end: 20_000 },
    { index: 2, start: 20_000, end: 25_000 },
  ]);
  // Months step from the start (no drift), a 31st becoming the month's last day; dates stay dates.
  assert.deepEqual(split("2024-01-31", "2024-04-30", "1mo").map((w) => w.end), ["2024-02-29", "2024-03-31", "2024-04-30"]);
  assert.deepEqual(split("2024-01-01T00:00:00.000Z", "2024-01-01T01:00:00.000Z", "30min").map((w) => w.start), ["2024-01-01T00:00:00.000Z", "2024-01-01T00:30:00.000Z"]);
  assert.equal(split("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "1d").length, 731);
});

test("a range that cannot be split says why: wrong kinds, an empty range, too many windows, hours on a date", () => {
  const error = (from: string | number, to: string | number, spec: string | number) => {
    const w = splitWindows(from, to, size(spec));
    assert.ok("error" in w, `${from}..${to} by ${spec} is refused`);
    return w.error;
  };
  assert.match(error(0, 100, "1d"), /needs ISO 8601 dates or date-times/);
  assert.match(error("2024-01-01", "2024-02-01", 10), /needs numeric initial_value and end_value/);
  assert.match(error("2024-02-01", "2024-01-01", "1d"), /must be later than initial_value/);
  assert.match(error(0, 1e9, 1), /1,000,000,000 windows, more than 100,000/);
  assert.match(error("2000-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "1s"), /more than 100,000/);
  assert.match(error("2024-01-01", "2024-02-01", "6h"), /must be whole days/);
});

// ------------------------------------------------------------------ config

test("a window without end_value, of size 0, of 100,001 windows, on a child or in minutes-or-months is a config error (exit 2) at its path", () => {
  const problem = (incremental: Record<string, unknown>, child = false) => {
    const config = windowConfig("http://127.0.0.1:1") as { resources: Record<string, unknown>[] };
    const endpoint = config.resources[0].endpoint as Record<string, unknown>;
    endpoint.incremental = { cursor_path: "timestamp", ...incremental };
    if (child) {
      config.resources.unshift({ name: "channels", endpoint: { path: "/v1/channels" } });
      endpoint.path = "/v1/channels/{resources.channels.id}/messages";
    }
    try {
      prepareConfig(config, { env: SEED_ENV, cwd: "." });
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.exitCode, 2);
      return `${error.message} (hint: ${error.hint})`;
    }
    assert.fail(`accepted ${JSON.stringify(incremental)}`);
  };
  const at = (child: boolean) => `resources[${child ? 1 : 0}].endpoint.incremental.window`;
  assert.match(problem({ initial_value: FROM, window: "1d" }), new RegExp(`${at(false).replace(/[.[\]]/g, "\\$&")}: .*needs both.*hint: add end_value`));
  assert.match(problem({ initial_value: FROM, end_value: TO, window: 0 }), /window: expected .*larger than 0/);
  assert.match(problem({ initial_value: FROM, end_value: TO, window: "-1d" }), /window: expected a duration/);
  assert.match(problem({ initial_value: 0, end_value: 100_001, window: 1 }), /100,001 windows, more than 100,000.*hint: choose a larger window/);
  assert.match(problem({ initial_value: FROM, end_value: TO, window: "30m" }), /"30m" is ambiguous/);
  assert.match(problem({ initial_value: FROM, end_value: TO, window: "1d", last_value_func: "min" }), /last_value_func "min" runs backward/);
  assert.match(problem({ initial_value: FROM, end_value: TO, window: "1d" }, true), /resources\[1\]\.endpoint\.incremental\.window: a child resource/);
});

test("the CLI refuses a window without end_value with exit 2 before any request", async () => {
  await using env = await testEnv({ chat: { messages: 20 }, prefix: "restduck-windows-" });
  const path = env.config(windowConfig(env.chat.url, { to: null }), "w.json");
  const result = await env.cli(["run", path, "--db", env.db]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /endpoint\.incremental\.window: a window splits the range \[initial_value, end_value\), so it needs both/);
  assert.equal(messageRequests(env.chat).length, 0);
});

// ------------------------------------------------------------------ runs

test("a backfill in 1-day windows loads every message of the range once, with each window's bounds in since/until", async () => {
  await using env = await testEnv({ chat: { messages: 300 }, prefix: "restduck-windows-" });
  const events: PipelineEvent[] = [];
  const summary = await run(windowConfig(env.chat.url), env.dir, env.db, (e) => events.push(e));
  assert.equal(summary.status, "completed");
  assert.deepEqual(await loadedIds(env.db), inRange(env.chat));
  const firsts = messageRequests(env.chat).filter((r) => r.query.offset === "0");
  assert.deepEqual(firsts.map((r) => [r.query.since, r.query.until]).sort(), DAY_STARTS.map((s, i) => [s, DAY_STARTS[i + 1] ?? TO]));
  // Progress: the resource announces 6 windows, and they finish in order 1..6.
  const started = events.find((e) => e.type === "resource_started");
  assert.deepEqual(started?.type === "resource_started" && started.windows, { done: 0, total: 6 });
  const finished = events.filter((e) => e.type === "window_finished");
  assert.deepEqual(finished.map((e) => e.type === "window_finished" && `${e.done}/${e.total}`), ["1/6", "2/6", "3/6", "4/6", "5/6", "6/6"]);
  assert.equal(finished.reduce((n, e) => n + (e.type === "window_finished" ? e.rows : 0), 0), inRange(env.chat).length);
});

test("rows exactly on a window boundary load once even when the API ignores the window's end (the cursor keeps [start, end))", async () => {
  await using env = await testEnv({ chat: { messages: 300 }, prefix: "restduck-windows-" });
  // Three messages sit exactly on boundaries: the range's start, between days 2 and 3, and the range's end (excluded).
  const [a, b, c] = [env.chat.messages[0].id, env.chat.messages[100].id, env.chat.messages[250].id];
  env.chat.updateMessage(a, { timestamp: "2024-03-01T00:00:00.000Z" });
  env.chat.updateMessage(b, { timestamp: "2024-03-03T00:00:00.000Z" });
  env.chat.updateMessage(c, { timestamp: "2024-03-07T00:00:00.000Z" });
  await run(windowConfig(env.chat.url, { until: false }), env.dir, env.db);
  const ids = await loadedIds(env.db);
  assert.deepEqual(ids, inRange(env.chat));
  assert.equal(new Set(ids).size, ids.length, "no row twice");
  assert.ok(ids.includes(a) && ids.includes(b) && !ids.includes(c), "start and inner boundary in, end out");
});

test("with concurrency 4 the API sees several windows' requests before the first window has finished", async () => {
  await using env = await testEnv({ chat: { messages: 300, latencyMs: 5 }, prefix: "restduck-windows-" });
  await run(windowConfig(env.chat.url, { concurrency: 4 }), env.dir, env.db);
  const log = messageRequests(env.chat);
  // The arrival order: everything the server saw before window 1's last request.
  const lastOfFirst = log.findLastIndex((r) => r.query.since === DAY_STARTS[0]);
  const windowsBefore = new Set(log.slice(0, lastOfFirst).map((r) => r.query.since));
  assert.ok(windowsBefore.size >= 3, `requests of ${[...windowsBefore].join(", ")} came before window 1 ended`);
  assert.ok(env.chat.maxInFlight >= 2, `most in flight: ${env.chat.maxInFlight}`);
  // …and the limit holds: never more than 4 message requests at once (+1 for a window prefetching its next page).
  assert.ok(env.chat.maxInFlight <= 5, `most in flight: ${env.chat.maxInFlight}`);
});

test("a window that fails fails the run naming the window; the rerun resumes at that window and ends equal to a clean run", async () => {
  await using env = await testEnv({ chat: { messages: 300 }, prefix: "restduck-windows-" });
  const config = windowConfig(env.chat.url, { concurrency: 2 });
  const clean = env.path("clean.duckdb");
  await run(config, env.dir, clean);
  // A 400 (never retried) on the second page of window 3.
  env.chat.addFaults([{ match: ({ query }) => query.get("since") === DAY_STARTS[2] && query.get("offset") === "10", status: 400 }]);
  const path = env.config(config, "w.json");
  const db = env.path("w.duckdb");
  const failed = await env.cli(["run", path, "--db", db]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /window 3\/6 \[2024-03-03T00:00:00Z, 2024-03-04T00:00:00Z\): .*400/);
  assert.match(failed.stderr, /a rerun resumes the backfill at this window/);
  // Windows 1 and 2 and window 3's first page were kept.
  const kept = await loadedIds(db);
  const day = (i: number) => inRange(env.chat, DAY_STARTS[i], DAY_STARTS[i + 1] ?? TO);
  assert.deepEqual(kept, [...day(0), ...day(1), ...day(2).slice(0, 10)]);

  const from = env.chat.requests.length;
  const rerun = await env.cli(["run", path, "--db", db]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /resuming run/);
  const asked = messageRequests(env.chat, from);
  assert.deepEqual([asked[0].query.since, asked[0].query.offset], [DAY_STARTS[2], "10"], "resumes at the failed page of window 3");
  assert.ok(asked.every((r) => r.query.since >= DAY_STARTS[2]), "finished windows are not fetched again");
  assert.deepEqual(await snapshot(db, ["chat_messages"]), await snapshot(clean, ["chat_messages"]));
});

test("after a windowed backfill the stored cursor is the highest timestamp loaded, and the next ordinary run starts there", async () => {
  await using env = await testEnv({ chat: { messages: 300 }, prefix: "restduck-windows-" });
  await run(windowConfig(env.chat.url, { disposition: "merge" }), env.dir, env.db);
  const inside = env.chat.messages.filter((m) => m.timestamp < "2024-03-07");
  const max = inside.at(-1)!.timestamp;
  assert.equal(await storedCursor(env.db), max);
  // The ordinary config: no end_value, no window.
  const from = env.chat.requests.length;
  await run(windowConfig(env.chat.url, { disposition: "merge", window: null, to: null, until: false }), env.dir, env.db);
  const asked = messageRequests(env.chat, from);
  assert.equal(asked[0].query.since, max);
  assert.equal(asked[0].query.until, undefined);
  assert.deepEqual(await loadedIds(env.db), env.chat.messages.map((m) => m.id));
  assert.equal(await storedCursor(env.db), env.chat.messages.at(-1)!.timestamp);
});

test("the live progress shows the window count; a numeric cursor splits into windows of ids", async () => {
  await using env = await testEnv({ chat: { messages: 120 }, prefix: "restduck-windows-" });
  // ids as the cursor: since/until do not filter ids on this API, so the cursor keeps each window's ids.
  const config = windowConfig(env.chat.url, { from: 1, to: 101, window: 25, until: false }) as { resources: { endpoint: { incremental: Record<string, unknown> } }[] };
  config.resources[0].endpoint.incremental.cursor_path = "id";
  const path = env.config(config, "w.json");
  const db = env.path("w.duckdb");
  const result = await env.cli(["run", path, "--db", db, "--verbose"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /chat_messages: paginator offset \(limit 10\), backfill in 4 windows/);
  assert.match(result.stderr, /chat_messages: window 2\/4 \[26, 51\) finished, 25 rows/);
  assert.match(result.stderr, /chat_messages: window 3\/4, \d+ pages, 75 rows/);
  assert.deepEqual(await loadedIds(db), Array.from({ length: 100 }, (_, i) => i + 1));
  const json = await env.cli(["run", path, "--db", env.path("j.duckdb"), "--json"]);
  const windows = json.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "window_finished");
  assert.deepEqual(windows.map((e) => [e.done, e.total, e.start, e.end, e.rows]), [[1, 4, 1, 26, 25], [2, 4, 26, 51, 25], [3, 4, 51, 76, 25], [4, 4, 76, 101, 25]]);
});

test("SIGKILL of the CLI at seeded points of a windowed append backfill, then a rerun, ends equal to a clean run with no row twice", async (t) => {
  const SEED = Number(process.env.RESTDUCK_CRASH_SEED ?? 20261206);
  const random = seeded(SEED);
  await using env = await testEnv({ chat: { messages: 600, latencyMs: 5 }, prefix: "restduck-windows-" });
  const api = env.chat;
  env.defer(() => void (api.onRequest = undefined));
  const to = "2024-03-15T00:00:00Z";
  const config = { ...windowConfig(api.url, { concurrency: 3, to, window: "12h", limit: 5 }), batch_pages: 3 };
  const clean = join(env.dir, "clean.duckdb");
  await run(config, env.dir, clean);
  const expected = await snapshot(clean, ["chat_messages"]);
  const cleanCursor = await storedCursor(clean);
  const path = writeConfig(env.dir, config, "w.json");
  const db = join(env.dir, "w.duckdb");
  let landed = 0;
  const points: string[] = [];
  for (let attempt = 0; attempt < 8 && landed < 4; attempt++) {
    const k = 5 + Math.floor(random() * 40);
    const delay = Math.floor(random() * 40);
    let seen = 0;
    const proc = spawnCli(["run", path, "--db", db, "--quiet"], { cwd: env.dir, env: SEED_ENV });
    api.onRequest = () => {
      if (++seen === k) setTimeout(() => proc.child.kill("SIGKILL"), delay);
    };
    const exit = await proc.done;
    api.onRequest = undefined;
    if (exit.signal !== "SIGKILL") {
      assert.equal(exit.code, 0, exit.stderr);
      break;
    }
    landed++;
    points.push(`${k}+${delay}ms`);
    // After any kill: the rows committed are whole windows' prefixes, never a row twice.
    const ids = await loadedIds(db).catch(() => [] as number[]);
    assert.equal(new Set(ids).size, ids.length, `no row twice after kill ${landed} (seed ${SEED}, ${points.join(", ")})`);
  }
  const final = await spawnCli(["run", path, "--db", db, "--quiet"], { cwd: env.dir, env: SEED_ENV }).done;
  assert.equal(final.code, 0, final.stderr);
  assert.ok(landed >= 2, `only ${landed} kills landed`);
  assert.deepEqual(await snapshot(db, ["chat_messages"]), expected, `seed ${SEED}: kills at ${points.join(", ")}`);
  assert.deepEqual(await loadedIds(db), inRange(api, FROM, to));
  assert.equal(await storedCursor(db), cleanCursor);
  t.diagnostic(`kills landed: ${landed} (${points.join(", ")})`);
});

test("an unfinished backfill is not resumed with other windows: a changed window size starts over, and says so", async () => {
  await using env = await testEnv({ chat: { messages: 300 }, prefix: "restduck-windows-" });
  env.chat.addFaults([{ match: ({ query }) => query.get("since") === DAY_STARTS[3], status: 400 }]);
  const failed = await env.cli(["run", env.config(windowConfig(env.chat.url, { disposition: "merge" }), "w.json"), "--db", env.db]);
  assert.equal(failed.code, 1, failed.stderr);
  const from = env.chat.requests.length;
  const rerun = await env.cli(["run", env.config(windowConfig(env.chat.url, { disposition: "merge", window: "2d" }), "w.json"), "--db", env.db]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /not resuming run .*the config changed since this run stopped/);
  assert.deepEqual(messageRequests(env.chat, from).filter((r) => r.query.offset === "0").map((r) => r.query.since).sort(), [DAY_STARTS[0], DAY_STARTS[2], DAY_STARTS[4]]);
  assert.deepEqual(await loadedIds(env.db), inRange(env.chat));
});
