/**
 * Run progress: a live line per resource on a TTY (checked by replaying the
 * bytes through a tiny terminal), plain periodic lines off a TTY, NO_COLOR,
 * --quiet, and NDJSON with --json.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Io } from "../../src/cli/output.ts";
import { progressReporter } from "../../src/cli/output.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { Redactor } from "../../src/redact.ts";
import { join } from "node:path";
import { queryDb, runCli, SEED_ENV, seedConfig, testEnv, writeConfig } from "../helpers/index.ts";

/** Replays terminal output (\r, \n, erase line, cursor up, colours) and returns the screen's lines. */
function screen(output: string): string[] {
  const lines = [""];
  let row = 0;
  let col = 0;
  for (let i = 0; i < output.length; i++) {
    const ch = output[i];
    if (ch === "\x1b") {
      const m = /^\x1b\[(\d*)([A-Za-z])/.exec(output.slice(i));
      assert.ok(m, `unknown escape at ${i}: ${JSON.stringify(output.slice(i, i + 8))}`);
      const n = Number(m[1] || "1");
      if (m[2] === "K") lines[row] = "";
      else if (m[2] === "A") row = Math.max(0, row - n);
      else assert.equal(m[2], "m", `unexpected escape ${m[0]}`);
      i += m[0].length - 1;
    } else if (ch === "\r") col = 0;
    else if (ch === "\n") {
      row++;
      col = 0;
      lines[row] ??= "";
    } else {
      const line = lines[row].padEnd(col);
      lines[row] = line.slice(0, col) + ch + line.slice(col + 1);
      col++;
    }
  }
  return lines;
}

function fakeIo(isTTY: boolean, env: Record<string, string> = {}, columns = 100): Io & { err: string; out: string } {
  const io = {
    err: "",
    out: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    env,
    cwd: "/",
    isTTY,
    columns,
  };
  return io;
}

const page = (resource: string, page: number, rows: number, elapsedMs: number): PipelineEvent => ({ type: "page", resource, page, records: rows, rows, runRows: rows, elapsedMs });

test("on a TTY a run shows a live line that redraws in place and ends as a result line", async () => {
  await using env = await testEnv({ chat: { messages: 250, faults: [{ nth: 2, status: 429, retryAfter: 0 }] } });
  env.config(seedConfig(env.chat.url));
  const res = await runCli(["run", "chat.json", "--db", "c.duckdb"], { cwd: env.dir, env: { ...SEED_ENV, NO_COLOR: "1" }, isTTY: true, columns: 100 });
  assert.equal(res.code, 0, res.stderr);
  // The live line was drawn and redrawn with the running counts…
  // The API gives a total (250 messages: 3 pages), so the line shows pages of the total and an ETA.
  assert.match(res.stderr, /\r\x1b\[2K⋯ chat_messages: 2\/3 pages, 200 rows, [\d,]+ rows\/s, 1 retry, [\d.]+ m?s, ETA \d+ s/);
  // …NO_COLOR: cursor movement, but no colour codes.
  assert.doesNotMatch(res.stderr, /\x1b\[\d+m/);
  const lines = screen(res.stderr).filter(Boolean);
  assert.match(lines[0], /^starting run [\d.]+ of pipeline chat → c\.duckdb \(dataset chat_dataset\); resources: chat_messages$/);
  assert.match(lines[1], /^chat_messages: paginator offset/);
  assert.match(lines[2], /^chat_messages: 429 Too Many Requests from http:\/\/127\.0\.0\.1:\d+\/v1\/messages\?offset=100&limit=100; retry 1 in 0 ms$/);
  assert.match(lines[3], /^✓ chat_messages: 250 rows from 3 pages, 1 retry, [\d.]+ m?s$/);
  assert.match(lines[4], /^loaded 250 rows into c\.duckdb/);
  assert.equal(lines.length, 5, `no live line left behind:\n${lines.join("\n")}`);
});

test("colour is on for a TTY unless NO_COLOR is set, and off a TTY always off", async () => {
  const events: PipelineEvent[] = [{ type: "resource_finished", resource: "r", pages: 1, rows: 2 }];
  for (const [isTTY, env, coloured] of [[true, {}, true], [true, { NO_COLOR: "1" }, false], [true, { TERM: "dumb" }, false], [false, {}, false]] as const) {
    const io = fakeIo(isTTY, env);
    const report = progressReporter(io, new Redactor());
    for (const e of events) report(e);
    assert.equal(/\x1b\[32m✓/.test(io.err), coloured, JSON.stringify({ isTTY, env }));
  }
});

test("a live line per resource: two resources each keep their line, and lasting lines print above them", () => {
  let t = 0;
  const io = fakeIo(true, { NO_COLOR: "1" }, 60);
  const report = progressReporter(io, new Redactor(), { now: () => t });
  report({ type: "resource_started", resource: "messages", paginator: "offset" });
  report({ type: "resource_started", resource: "channels", paginator: "cursor" });
  t = 1500;
  report(page("messages", 3, 300, 1500));
  report(page("channels", 1, 50, 1000));
  report({ type: "retry", resource: "channels", url: "http://127.0.0.1/x", attempt: 1, delayMs: 2000, status: 503, reason: "HTTP 503" });
  t = 2500;
  report(page("messages", 4, 400, 2500));
  const live = screen(io.err);
  assert.deepEqual(live, [
    "messages: paginator offset",
    "channels: paginator cursor",
    "channels: HTTP 503 from http://127.0.0.1/x; retry 1 in 2.0 s",
    "⋯ messages: 4 pages, 400 rows, 160 rows/s, 0 retries, 2.5 s",
    "⋯ channels: 1 page, 50 rows, 50 rows/s, 1 retry, 2.5 s",
  ]);
  report({ type: "resource_finished", resource: "messages", pages: 4, rows: 400 });
  assert.deepEqual(screen(io.err).slice(3), ["✓ messages: 400 rows from 4 pages, 2.5 s", "⋯ channels: 1 page, 50 rows, 50 rows/s, 1 retry, 2.5 s"]);
  // A failure leaves the live line (how far it got) and moves below it.
  report.close();
  assert.equal(screen(io.err).at(-1), "");
  // Lines never wrap: they are cut to the terminal width.
  const narrow = fakeIo(true, { NO_COLOR: "1" }, 30);
  const r2 = progressReporter(narrow, new Redactor(), { now: () => 0 });
  r2(page("a_resource_with_a_long_name", 1, 10, 5));
  const [line] = screen(narrow.err);
  assert.ok(line.length <= 29 && line.endsWith("…"), line);
});

test("with more resources running than fit, the live area shows seven lines and how many more run", () => {
  const io = fakeIo(true, { NO_COLOR: "1" }, 80);
  const report = progressReporter(io, new Redactor(), { now: () => 1000 });
  const names = Array.from({ length: 12 }, (_, i) => `r${i + 1}`);
  for (const name of names) report({ type: "resource_started", resource: name, paginator: "cursor" });
  for (const name of names) report(page(name, 1, 10, 1000));
  const live = screen(io.err).slice(names.length);
  assert.deepEqual(live, [...names.slice(0, 7).map((n) => `⋯ ${n}: 1 page, 10 rows, 10 rows/s, 0 retries, 0 ms`), "⋯ and 5 more resources running"]);
  // As resources finish, the ones waiting get their own line.
  for (const name of names.slice(0, 5)) report({ type: "resource_finished", resource: name, pages: 1, rows: 10 });
  assert.deepEqual(screen(io.err).slice(-7), names.slice(5).map((n) => `⋯ ${n}: 1 page, 10 rows, 10 rows/s, 0 retries, 0 ms`));
});

test("off a TTY progress is plain lines, at most one per interval (every page with --verbose)", () => {
  let t = 0;
  const io = fakeIo(false);
  const report = progressReporter(io, new Redactor(), { now: () => t, intervalMs: 2000 });
  for (const [at, n] of [[0, 1], [500, 2], [1999, 3], [2100, 4], [4200, 5]] as const) {
    t = at;
    report(page("messages", n, n * 100, at || 1));
  }
  assert.doesNotMatch(io.err, /\x1b/);
  assert.deepEqual(
    io.err.trim().split("\n").map((l) => l.replace(/, [\d,]+ rows\/s.*/, "")),
    ["messages: 1 page, 100 rows", "messages: 4 pages, 400 rows", "messages: 5 pages, 500 rows"],
  );
  const verbose = fakeIo(false);
  const v = progressReporter(verbose, new Redactor(), { now: () => 0, verbose: true });
  for (let n = 1; n <= 3; n++) v(page("messages", n, n * 10, 10));
  assert.equal(verbose.err.trim().split("\n").length, 3);
});

test("--quiet prints only warnings; --json prints one event per line on stdout and nothing on stderr", () => {
  const quiet = fakeIo(true);
  const q = progressReporter(quiet, new Redactor(), { quiet: true });
  q({ type: "resource_started", resource: "m", paginator: "offset" });
  q(page("m", 1, 10, 10));
  q({ type: "warning", message: "view v was not created: boom" });
  assert.match(screen(quiet.err).join("\n").trim(), /^warning: view v was not created: boom$/);
  const json = fakeIo(true);
  const j = progressReporter(json, new Redactor(["s3cret"]), { json: true });
  j(page("m", 1, 10, 10));
  j({ type: "retry", resource: "m", url: "http://x/?token=s3cret", attempt: 1, delayMs: 1, reason: "HTTP 429" });
  assert.equal(json.err, "");
  const lines = json.out.trim().split("\n").map((l) => JSON.parse(l) as { type: string; url?: string; time: string });
  assert.deepEqual(lines.map((l) => l.type), ["page", "retry"]);
  assert.ok(!json.out.includes("s3cret"));
  assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.time))));
});

test("a throttle event is one dim line with --verbose and silent otherwise", () => {
  const render = (verbose: boolean) => {
    let err = "";
    const io: Io = { stdout: () => {}, stderr: (t: string) => void (err += t), env: {}, cwd: "/", isTTY: false, columns: 120 };
    const report = progressReporter(io, new Redactor(), { verbose });
    report({ type: "throttle", resource: "chat_messages", url: "http://127.0.0.1/x", delayMs: 1500, reason: "server_budget" });
    return err;
  };
  assert.match(render(true), /chat_messages: waiting 1\.5 s for the rate limit \(server_budget\)/);
  assert.equal(render(false), "");
});

test("after a resume the rate counts only this run's rows, and a total gives pages of the total and an ETA from this run's pace", () => {
  const io = fakeIo(false);
  let at = 0;
  const report = progressReporter(io, new Redactor(), { intervalMs: 0, now: () => at });
  report({ type: "resource_started", resource: "chat_messages", paginator: "offset (limit 100)", resumedAtPage: 150 });
  at = 1000;
  // 15,000 rows were committed by the interrupted run; this run fetched 10 pages (1,000 rows) in 1 s.
  report({ type: "page", resource: "chat_messages", page: 160, records: 100, rows: 16_000, runRows: 1_000, elapsedMs: 1000, totalPages: 200 });
  const last = io.err.trim().split("\n").at(-1)!;
  assert.match(last, /^chat_messages: 160\/200 pages, 16,000 rows, 1,000 rows\/s, 0 retries, 1\.0 s, ETA 4 s$/);
});

test("Ctrl-C during a run says how many rows the file kept, which is what a query of the file finds", async () => {
  await using tmp = await testEnv({ chat: { messages: 3000 } });
  const api = tmp.chat;
  writeConfig(tmp.dir, { ...seedConfig(api.url), batch_pages: 2 });
  const stop = new AbortController();
  api.onRequest = (n) => {
    if (n === 20) stop.abort("SIGINT");
  };
  const res = await runCli(["run", "chat.json", "--db", "c.duckdb"], { cwd: tmp.dir, env: SEED_ENV, signal: stop.signal });
  assert.equal(res.code, 130, res.stderr);
  // The batch in flight when the signal came is rolled back (its statement interrupted); the earlier ones stay.
  const db = join(tmp.dir, "c.duckdb");
  const exists = (await queryDb(db, "select 1 from information_schema.tables where table_name = 'chat_messages'")).length > 0;
  const kept = exists ? Number((await queryDb<{ n: bigint }>(db, "select count(*) as n from chat_dataset.chat_messages"))[0].n) : 0;
  assert.ok(kept < 3000, `kept ${kept}`);
  const n = kept.toLocaleString("en-US");
  assert.match(res.stderr, new RegExp(`kept ${n} committed rows${kept ? ` \\(chat_messages ${n}\\)` : ""}; [\\d,]+ fetched but not committed will be fetched again`));
});
