/**
 * Resources side by side: independent resources (and sibling children) fetch
 * at the same time under the one request budget, each resource's batches
 * commit in its own order, a stopped run resumes every resource that was in
 * flight, and `parallelized: false` keeps a resource to itself.
 *
 * The API below answers on cue instead of after a delay: a response can be
 * held until another request has arrived, so overlap is shown by the order
 * the server saw things in, never by timing. A hold gives up after a few
 * seconds (so one-at-a-time code fails the assertion instead of hanging).
 * It is the suite's mock API with one script handler answering every request,
 * so `testEnv` owns the server, the folder and the database.
 */
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import { checkConfig } from "../../src/pipeline/check.ts";
import type { PipelineEvent } from "../../src/pipeline/types.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { seedConfig, testEnv, type TestEnv } from "../helpers/index.ts";
import { spawnCli } from "../robustness/helpers.ts";

const PER_PAGE = 10;

/** What the server saw, in order: a request arriving, or its answer going out. */
interface Seen {
  kind: "arrive" | "answer";
  resource: string;
  page: number;
}

interface CueApi {
  url: string;
  log: Seen[];
  /** Requests in flight now, and the most at once, all resources together. */
  readonly inFlight: number;
  maxInFlight: number;
  /** Resolves once `seen` holds (checked at each arrival and answer), or after `giveUpMs`. */
  when(seen: (log: Seen[]) => boolean, giveUpMs?: number): Promise<void>;
}

const arrived = (log: Seen[], resource: string, page = 1) => log.some((s) => s.kind === "arrive" && s.resource === resource && s.page === page);
const indexOf = (log: Seen[], kind: Seen["kind"], resource: string, page = 1) => log.findIndex((s) => s.kind === kind && s.resource === resource && s.page === page);

/**
 * A test env whose API serves `/r/<name>?page=N` (and `/r/<name>/<parent id>?page=N` for a child): PER_PAGE
 * records with ids unique per resource, and `next` until `pages(name)`. `hold` may delay an answer; `fail`
 * may refuse one. `env.cue` is what the server saw.
 */
async function cueEnv(options: {
  pages: (resource: string) => number;
  hold?: (api: CueApi, at: { resource: string; page: number }) => Promise<void> | undefined;
  fail?: (at: { resource: string; page: number; attempt: number }) => number | undefined;
  /** Fields added to every record of a resource. */
  extra?: (resource: string) => Record<string, unknown>;
}): Promise<TestEnv & { cue: CueApi }> {
  let inFlight = 0;
  const waiters: { seen: (log: Seen[]) => boolean; done: () => void }[] = [];
  const attempts = new Map<string, number>();
  const note = (s: Seen) => {
    api.log.push(s);
    for (const w of [...waiters]) if (w.seen(api.log)) w.done();
  };
  const answer = async (res: ServerResponse, req: IncomingMessage) => {
    const url = new URL(req.url!, "http://x");
    const [, , resource, parentId] = url.pathname.split("/");
    const page = Number(url.searchParams.get("page") ?? 1);
    inFlight++;
    api.maxInFlight = Math.max(api.maxInFlight, inFlight);
    note({ kind: "arrive", resource, page });
    await options.hold?.(api, { resource, page });
    const key = `${resource}/${parentId ?? ""}/${page}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const status = options.fail?.({ resource, page, attempt });
    const last = options.pages(resource);
    const base = (Number(parentId ?? 0) * 1000 + (page - 1)) * PER_PAGE;
    const body =
      status !== undefined
        ? { error: "refused" }
        : {
            data: Array.from({ length: PER_PAGE }, (_, i) => ({ id: base + i + 1, name: `${resource} ${base + i + 1}`, ...options.extra?.(resource) })),
            next: page < last ? `${url.pathname}?page=${page + 1}` : null,
            total_pages: last,
          };
    inFlight--;
    note({ kind: "answer", resource, page });
    res.writeHead(status ?? 200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const env = await testEnv({ api: { script: [answer] } });
  const api: CueApi = {
    url: env.api.url,
    log: [],
    get inFlight() {
      return inFlight;
    },
    maxInFlight: 0,
    when(seen, giveUpMs = 3000) {
      if (seen(api.log)) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiter = {
          seen,
          done: () => {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(waiter), 1);
            resolve();
          },
        };
        const timer = setTimeout(waiter.done, giveUpMs);
        waiters.push(waiter);
      });
    },
  };
  // Held answers go out before the server closes (the defer runs first), so closing never waits on a hold.
  env.defer(() => {
    for (const w of [...waiters]) w.done();
  });
  return Object.assign(env, { cue: api });
}

/** A config with one resource per name, paged by a next link (one request at a time per resource). */
function cueConfig(url: string, resources: (string | Record<string, unknown>)[], extra: { concurrency?: number; defaults?: Record<string, unknown>; paginator?: Record<string, unknown> } = {}) {
  return {
    client: { base_url: url, concurrency: extra.concurrency ?? 4, paginator: extra.paginator ?? { type: "json_link", next_url_path: "next" } },
    resource_defaults: { endpoint: { data_selector: "data" }, ...extra.defaults },
    resources: resources.map((r) => (typeof r === "string" ? { name: r, endpoint: { path: `/r/${r}` } } : r)),
  };
}

const prepare = (config: unknown) => prepareConfig(config, { env: {}, cwd: "/nonexistent" });

/** Lockstep: page N of any resource is answered once every named resource asked for its page N (or has no page N). */
const lockstep = (names: string[], pages: (r: string) => number) => (api: CueApi, at: { page: number }) =>
  api.when((log) => names.every((n) => pages(n) < at.page || arrived(log, n, at.page)));

test("independent resources fetch side by side: the second asks for its first page before the first's is answered", async () => {
  await using env = await cueEnv({
    pages: () => 3,
    hold: (api, at) => (at.resource === "a" && at.page === 1 ? api.when((log) => arrived(log, "b")) : undefined),
  });
  const api = env.cue;
  const summary = await runPipeline(prepare(cueConfig(api.url, ["a", "b"])), { database: env.db, pipelineName: "p" });
  assert.ok(indexOf(api.log, "arrive", "b") < indexOf(api.log, "answer", "a"), `b asked only after a's first page was answered: ${JSON.stringify(api.log)}`);
  // The summary keeps the config's order whichever resource finished first.
  assert.deepEqual(summary.resources.map((r) => [r.name, r.rows]), [["a", 30], ["b", 30]]);
  const counts = await env.query<{ a: number; b: number }>("select (select count(distinct id) from p_dataset.a)::int a, (select count(distinct id) from p_dataset.b)::int b");
  assert.deepEqual(counts, [{ a: 30, b: 30 }]);
});

test("requests in flight for all resources together never exceed client.concurrency", async () => {
  const names = ["a", "b", "c", "d", "e"];
  {
    // Each answer waits a moment for a request beyond the budget (which must not come), so requests pile up if they can.
    await using env = await cueEnv({ pages: () => 3, hold: (api) => api.when(() => api.inFlight > 2, 300) });
    const api = env.cue;
    await runPipeline(prepare(cueConfig(api.url, names, { concurrency: 2 })), { database: env.db, pipelineName: "p" });
    assert.equal(api.maxInFlight, 2, "two resources' requests were in flight at once, never three");
    for (const n of names) assert.equal(api.log.filter((s) => s.kind === "answer" && s.resource === n).length, 3);
  }

  // Resources whose pages are known up front (a total) each fetch several at once: still three in all.
  await using env2 = await cueEnv({ pages: () => 6, hold: (api) => api.when(() => api.inFlight > 3, 500) });
  const api2 = env2.cue;
  const config = cueConfig(api2.url, ["a", "b", "c", "d"], { concurrency: 3, paginator: { type: "page_number", base_page: 1, page_param: "page", total_path: "total_pages" } });
  await runPipeline(prepare(config), { database: env2.db, pipelineName: "p" });
  assert.equal(api2.maxInFlight, 3, JSON.stringify(api2.log.map((s) => `${s.kind === "arrive" ? ">" : "<"}${s.resource}${s.page}`)));
  assert.equal(api2.log.filter((s) => s.kind === "answer").length, 24);
});

test("each resource's batches commit in its own page order while the resources' commits interleave", async () => {
  const names = ["a", "b"];
  const pages = () => 4;
  await using env = await cueEnv({ pages, hold: lockstep(names, pages) });
  const api = env.cue;
  const events: PipelineEvent[] = [];
  await runPipeline(prepare(cueConfig(api.url, names)), { database: env.db, pipelineName: "p", batchPages: 1, onEvent: (e) => events.push(e) });
  const commits = events.filter((e) => e.type === "batch_committed");
  for (const n of names) {
    assert.deepEqual(commits.filter((c) => c.resource === n).map((c) => c.pages), [1, 2, 3, 4], `${n}'s batches in order`);
  }
  const order = commits.map((c) => c.resource);
  assert.ok(order.indexOf("b") < order.lastIndexOf("a") && order.indexOf("a") < order.lastIndexOf("b"), `commits interleave: ${order.join(" ")}`);
  const rows = await env.query<{ resource: string; n: number }>("select resource, sum(rows)::int n from p_dataset._restduck_checkpoints where done group by 1 order by 1");
  assert.deepEqual(rows.map((r) => [r.resource, r.n]), [["a", 40], ["b", 40]]);
});

test("a run stopped with two resources in flight resumes both at their own checkpoints and ends with every row once", async () => {
  const names = ["a", "b"];
  const pages = () => 6;
  await using env = await cueEnv({ pages, hold: lockstep(names, pages) });
  const api = env.cue;
  const db = env.db;
  const stop = new AbortController();
  const committed = new Map<string, number>();
  const first = runPipeline(prepare(cueConfig(api.url, names)), {
    database: db,
    pipelineName: "p",
    batchPages: 1,
    signal: stop.signal,
    onEvent: (e) => {
      if (e.type !== "batch_committed") return;
      committed.set(e.resource, e.pages);
      // Both resources have committed pages (or, one at a time, the first is well along): stop.
      if (((committed.get("a") ?? 0) >= 2 && (committed.get("b") ?? 0) >= 2) || (committed.get("a") ?? 0) >= 4) stop.abort("SIGINT");
    },
  });
  await assert.rejects(first, /interrupted/i);
  const kept = new Map(committed);
  for (const n of names) assert.ok((kept.get(n) ?? 0) > 0 && kept.get(n)! < 6, `${n} was stopped midway (${kept.get(n) ?? 0} of 6 pages committed)`);
  const before = api.log.length;
  const second = await runPipeline(prepare(cueConfig(api.url, names)), { database: db, pipelineName: "p", batchPages: 1 });
  assert.equal(second.resumed, true);
  for (const n of names) {
    const firstPage = Math.min(...api.log.slice(before).filter((s) => s.kind === "arrive" && s.resource === n).map((s) => s.page));
    assert.equal(firstPage, (kept.get(n) ?? 0) + 1, `${n} resumed after its last committed page`);
  }
  const [counts] = await env.query<{ a: number; ad: number; b: number; bd: number }>(
    "select (select count(*) from a)::int a, (select count(distinct id) from a)::int ad, (select count(*) from b)::int b, (select count(distinct id) from b)::int bd",
  );
  assert.deepEqual(counts, { a: 60, ad: 60, b: 60, bd: 60 });
});

test("sibling children of one parent fetch side by side once the parent finished", async () => {
  await using env = await cueEnv({
    pages: (r) => (r === "p" ? 1 : 2),
    hold: (api, at) => (at.resource === "c1" && at.page === 1 ? api.when((log) => arrived(log, "c2")) : undefined),
  });
  const api = env.cue;
  const child = (name: string) => ({ name, endpoint: { path: `/r/${name}/{resources.p.id}/items` }, include_from_parent: ["id"] });
  // Each child fetches up to `concurrency` parent records' pages at once; with 10 parent records, 12 leaves
  // room in the one budget for the sibling (a child that fills the budget makes its sibling wait, as it should).
  const config = cueConfig(api.url, ["p", child("c1"), child("c2")], { concurrency: 12 });
  const summary = await runPipeline(prepare(config), { database: env.db, pipelineName: "p" });
  assert.ok(indexOf(api.log, "arrive", "c2") < indexOf(api.log, "answer", "c1"), `c2 asked only after c1's first page was answered: ${JSON.stringify(api.log.slice(0, 8))}`);
  // No child asked before its parent was done.
  assert.ok(indexOf(api.log, "answer", "p") < indexOf(api.log, "arrive", "c1") && indexOf(api.log, "answer", "p") < indexOf(api.log, "arrive", "c2"));
  // 10 parent records × 2 pages × 10 records for each child.
  assert.deepEqual(summary.resources.map((r) => [r.name, r.rows]), [["p", 10], ["c1", 200], ["c2", 200]]);
});

test("parallelized: false runs a resource alone, after those before it and before those after it; true or unset run side by side", async () => {
  {
    await using env = await cueEnv({
      pages: () => 2,
      hold: (api, at) => (at.resource === "a" && at.page === 1 ? api.when((log) => arrived(log, "c")) : undefined),
    });
    const api = env.cue;
    const config = cueConfig(api.url, ["a", { name: "c", parallelized: true, endpoint: { path: "/r/c" } }, { name: "b", parallelized: false, endpoint: { path: "/r/b" } }, "d"]);
    await runPipeline(prepare(config), { database: env.db, pipelineName: "p" });
    const log = api.log;
    assert.ok(indexOf(log, "arrive", "c") < indexOf(log, "answer", "a"), "a and c ran side by side");
    const bFirst = indexOf(log, "arrive", "b");
    const bLast = indexOf(log, "answer", "b", 2);
    // Nothing but b between b's first request and its last answer; a and c before it, d after.
    assert.deepEqual([...new Set(log.slice(bFirst, bLast + 1).map((s) => s.resource))], ["b"]);
    assert.ok(indexOf(log, "answer", "a", 2) < bFirst && indexOf(log, "answer", "c", 2) < bFirst && bLast < indexOf(log, "arrive", "d"));
  }

  // resource_defaults: { parallelized: false } is dlt's default spelled out: one resource after another.
  await using env2 = await cueEnv({ pages: () => 2 });
  const api2 = env2.cue;
  await runPipeline(prepare(cueConfig(api2.url, ["a", "b", "c"], { defaults: { parallelized: false } })), { database: env2.db, pipelineName: "p" });
  assert.deepEqual(
    api2.log.filter((s) => s.kind === "arrive").map((s) => `${s.resource}${s.page}`),
    ["a1", "a2", "b1", "b2", "c1", "c2"],
  );
});

test("a retry is told for the resource whose request it was, and a failure names its resource while another runs", async () => {
  await using env = await cueEnv({
    pages: () => 3,
    // a's first page is held until b's first page was refused and retried: a is in flight during b's retry.
    hold: (api, at) => (at.resource === "a" && at.page === 1 ? api.when((log) => log.filter((s) => s.resource === "b" && s.kind === "answer").length >= 2) : undefined),
    fail: ({ resource, page, attempt }) => (resource === "b" && page === 1 && attempt === 1 ? 503 : resource === "b" && page === 2 ? 400 : undefined),
  });
  const api = env.cue;
  const events: PipelineEvent[] = [];
  await assert.rejects(
    runPipeline(prepare(cueConfig(api.url, ["a", "b"])), { database: env.db, pipelineName: "p", batchPages: 1, sleep: async () => {}, onEvent: (e) => events.push(e) }),
    (error: Error) => /^resource b: /.test(error.message) && /400/.test(error.message),
  );
  const retries = events.filter((e) => e.type === "retry");
  assert.deepEqual(retries.map((e) => e.resource), ["b"]);
  // b's retry came while a's first page was still held: a was in flight.
  assert.ok(api.log.filter((s) => s.resource === "b").length >= 4 && indexOf(api.log, "answer", "a") > api.log.findLastIndex((s) => s.resource === "b" && s.page === 1), JSON.stringify(api.log));
});

test("a stored schema never describes another resource's tables before their rows are committed", async () => {
  await using env = await cueEnv({
    pages: () => 3,
    // a's second page (which ends a's first batch) waits until b's first page was fetched and b asks for its second,
    // and b's second page fails only after a's batch committed with b's table already in the shared schema.
    hold: (api, at) =>
      at.resource === "a" && at.page === 2 ? api.when((log) => arrived(log, "b", 2)) : at.resource === "b" && at.page === 2 ? api.when((log) => arrived(log, "a", 3)) : undefined,
    fail: ({ resource, page }) => (resource === "b" && page === 2 ? 400 : undefined),
  });
  const api = env.cue;
  await assert.rejects(runPipeline(prepare(cueConfig(api.url, ["a", "b"])), { database: env.db, pipelineName: "p", batchPages: 2 }), /resource b: .*400/);
  assert.ok(indexOf(api.log, "arrive", "b", 2) < indexOf(api.log, "answer", "a", 2), "b's first page was normalized before a's batch was cut");
  const [a] = await env.query<{ n: number }>("select count(*)::int n from p_dataset.a");
  assert.ok(a.n >= 20, `a's first batch is kept (${a.n} rows)`);
  const tables = await env.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = 'p_dataset' and table_name = 'b'");
  assert.deepEqual(tables, [], "b committed nothing");
  const stored = await env.query<{ schema: string }>("select schema from p_dataset._dlt_version order by version desc, inserted_at desc limit 1");
  assert.deepEqual(Object.keys(JSON.parse(stored[0].schema).tables).sort(), ["a"]);
});

test("on a terminal each running resource has its own live line", async () => {
  const names = ["a", "b"];
  const pages = () => 3;
  await using env = await cueEnv({ pages, hold: lockstep(names, pages) });
  const path = env.config({ pipeline_name: "p", ...cueConfig(env.cue.url, names) }, "p.json");
  const { code, stderr } = await env.cli(["run", path, "--db", env.db], { isTTY: true, env: { NO_COLOR: "1" } });
  assert.equal(code, 0, stderr);
  // One frame of the live area shows both lines, one under the other.
  assert.match(stderr, /⋯ a: [^\n\r]*\n⋯ b: |⋯ b: [^\n\r]*\n⋯ a: /);
  assert.match(stderr, /✓ a: 30 rows from 3 pages/);
  assert.match(stderr, /✓ b: 30 rows from 3 pages/);
});

test("SIGKILL with two resources in flight: the rerun resumes each after its own last committed page, every row once", async () => {
  const names = ["a", "b"];
  const pages = () => 6;
  // Page 4 of each is never answered while the first run lives: both resources stop there, mid-run, together.
  let holding = true;
  await using env = await cueEnv({ pages, hold: (api, at) => (holding && at.page === 4 ? api.when(() => !holding, 15_000) : undefined) });
  env.defer(() => void (holding = false));
  const api = env.cue;
  const db = env.db;
  const config = env.config({ pipeline_name: "p", batch_pages: 1, ...cueConfig(api.url, names) }, "p.json");
  const run = spawnCli(["run", config, "--db", db], { cwd: env.dir });
  // A failed assertion before the kill below must not leave the child running.
  env.defer(() => run.child.exitCode === null && run.child.signalCode === null && run.child.kill("SIGKILL"));
  await api.when((log) => names.every((n) => arrived(log, n, 4)), 15_000);
  run.child.kill("SIGKILL");
  const ended = await run.done;
  assert.equal(ended.signal, "SIGKILL", ended.stderr);
  holding = false;
  const kept = await env.query<{ resource: string; pages: number; rows: number }>("select resource, pages::int as pages, rows::int as rows from p_dataset._restduck_checkpoints order by resource");
  // Each had committed at least the batches before the one in flight (pages 1–2), and was not done.
  assert.deepEqual(kept.map((k) => k.resource), names);
  for (const k of kept) assert.ok(k.pages >= 2 && k.pages <= 3 && k.rows === k.pages * PER_PAGE, JSON.stringify(k));
  const before = api.log.length;
  const second = await runPipeline(prepare({ batch_pages: 1, ...cueConfig(api.url, names) }), { database: db, pipelineName: "p" });
  assert.equal(second.resumed, true);
  for (const k of kept) {
    const asked = api.log.slice(before).filter((s) => s.kind === "arrive" && s.resource === k.resource).map((s) => s.page);
    assert.deepEqual(asked, Array.from({ length: 6 - k.pages }, (_, i) => k.pages + 1 + i), `${k.resource} resumed after page ${k.pages}`);
  }
  const [counts] = await env.query<{ a: number; ad: number; b: number; bd: number }>(
    "select (select count(*) from a)::int a, (select count(distinct id) from a)::int ad, (select count(*) from b)::int b, (select count(distinct id) from b)::int bd",
  );
  assert.deepEqual(counts, { a: 60, ad: 60, b: 60, bd: 60 });
});

test("a run in one transaction (a frozen schema contract) loads one resource at a time, and a violation in the second leaves nothing of the first", async () => {
  let extra: Record<string, unknown> = {};
  await using env = await cueEnv({ pages: () => 2, extra: (resource) => (resource === "b" ? extra : {}) });
  const api = env.cue;
  const db = env.db;
  const config = () => prepare(cueConfig(api.url, ["a", "b"], { defaults: { schema_contract: { columns: "freeze" } } }));
  await runPipeline(config(), { database: db, pipelineName: "p" });
  // The second run's b records bring a column the frozen contract refuses.
  extra = { surprise: 1 };
  const before = api.log.length;
  await assert.rejects(runPipeline(config(), { database: db, pipelineName: "p" }), /surprise/);
  assert.deepEqual(
    api.log.slice(before).filter((s) => s.kind === "arrive").map((s) => `${s.resource}${s.page}`),
    ["a1", "a2", "b1"],
  );
  const [counts] = await env.query<{ a: number; b: number }>("select (select count(*) from a)::int a, (select count(*) from b)::int b");
  assert.deepEqual(counts, { a: 20, b: 20 }, "the second run's rows of a were rolled back with b's");
});

test("check fetches the resources' first pages side by side and reports them in the config's order", async () => {
  await using env = await cueEnv({
    pages: () => 2,
    hold: (api, at) => (at.resource === "a" ? api.when((log) => arrived(log, "b")) : undefined),
  });
  const api = env.cue;
  const results = await checkConfig(prepare(cueConfig(api.url, ["a", "b"])));
  assert.ok(indexOf(api.log, "arrive", "b") < indexOf(api.log, "answer", "a"), JSON.stringify(api.log));
  assert.deepEqual(results.map((r) => [r.name, r.records, r.morePages]), [["a", 10, true], ["b", 10, true]]);
});

test("resources that start together share one OAuth2 token: one token request, not one per resource", async () => {
  await using env = await testEnv({ chat: { messages: 300, latencyMs: 5 } });
  const config = seedConfig(env.chat.url) as { resources: Record<string, unknown>[] };
  const [messages] = config.resources;
  config.resources = ["m1", "m2", "m3"].map((name) => ({ ...messages, name, table_name: name }));
  const summary = await env.run(config, { pipelineName: "c" });
  assert.deepEqual(summary.resources.map((r) => r.rows), [300, 300, 300]);
  assert.equal(env.chat.tokensIssued, 1);
  assert.ok(env.chat.maxInFlight > 1, `max in flight ${env.chat.maxInFlight}`);
});

test("the catalog is read as often for eight resources' tables as for one's, not once per table", async () => {
  await using env = await cueEnv({ pages: () => 1 });
  /** Runs `names` into a fresh file through the real database, counting its catalog column reads. */
  const catalogReads = async (names: string[]) => {
    const path = env.path(`${names.length}.duckdb`);
    const db = await env.open({ path });
    let reads = 0;
    const all = db.all.bind(db);
    db.all = ((sql: string, params?: unknown[]) => {
      if (/information_schema\.columns/.test(sql)) reads++;
      return all(sql, params as never);
    }) as typeof db.all;
    await runPipeline(prepare(cueConfig(env.cue.url, names)), { database: path, db, pipelineName: "p" });
    const [tables] = await all<{ n: number }>("select count(*)::int as n from information_schema.tables where table_schema = 'p_dataset' and table_name like 'r%'");
    assert.equal(tables.n, names.length);
    return reads;
  };
  const one = await catalogReads(["r1"]);
  const eight = await catalogReads(Array.from({ length: 8 }, (_, i) => `r${i + 1}`));
  assert.equal(eight, one);
});
