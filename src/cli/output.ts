/**
 * Rendering for the terminal: query results (table, csv, json, ndjson),
 * errors in one shape (what, where, what to do), and run progress. Data goes
 * to stdout, everything else to stderr. Every string passes the redactor.
 */
import { RestduckError } from "../errors.ts";
import type { PipelineEvent, RunSummary } from "../pipeline/run.ts";
import { Redactor } from "../redact.ts";

/** Where the CLI writes; injectable so tests run the CLI in-process. */
export interface Io {
  /**
   * Writes data. A returned promise means the text is still queued (a slow reader): a command
   * that writes much awaits it before writing more, so memory holds one chunk, not the result.
   */
  stdout: (text: string) => void | Promise<void>;
  stderr: (text: string) => void;
  /** Aborted when stdout's reader has gone (`| head`); what is written after is dropped. */
  stdoutClosed?: AbortSignal;
  env: Record<string, string | undefined>;
  cwd: string;
  isTTY: boolean;
  columns: number;
}

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

const useColor = (io: Io) => io.isTTY && !("NO_COLOR" in io.env && io.env.NO_COLOR !== "") && io.env.TERM !== "dumb";

export function paint(io: Io) {
  const on = useColor(io);
  const wrap = (code: string) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { red: wrap("31"), yellow: wrap("33"), green: wrap("32"), dim: wrap("2"), bold: wrap("1") };
}

/** Prints an error: message, then hint; the stack only with --verbose. Returns the exit code. */
export function reportError(io: Io, error: unknown, redactor: Redactor, options: OutputOptions = {}): number {
  const c = paint(io);
  const err = error as Error & { hint?: string; exitCode?: number; code?: string };
  const exitCode = error instanceof RestduckError ? error.exitCode : 1;
  if (options.json) {
    io.stdout(redactor.redact(JSON.stringify({ type: "error", code: err.code ?? "UNEXPECTED", message: err.message, hint: err.hint, exit_code: exitCode })) + "\n");
  }
  io.stderr(`${c.red("error:")} ${redactor.redact(err.message ?? String(error))}\n`);
  if (err.hint) io.stderr(`${c.dim("hint:")} ${redactor.redact(err.hint)}\n`);
  if (options.verbose && err.stack) io.stderr(c.dim(redactor.redact(err.stack)) + "\n");
  else if (!(error instanceof RestduckError)) io.stderr(c.dim("(run with --verbose for details)") + "\n");
  return exitCode;
}

/** Most live lines drawn at once (a terminal is about 24 lines tall). */
const MAX_LIVE_LINES = 8;

const fmtMs = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const fmtN = (n: number) => n.toLocaleString("en-US");

/**
 * Turns pipeline events into progress: NDJSON on stdout with --json; on a
 * TTY a live line per resource (pages, rows, rows/s, retries, elapsed) that
 * redraws in place, with lasting lines (retries, warnings, results) printed
 * above it; off a TTY plain lines, at most one every `intervalMs` per
 * resource (every page with --verbose). `now` is injectable for tests.
 */
export function progressReporter(
  io: Io,
  redactor: Redactor,
  options: OutputOptions & { intervalMs?: number; now?: () => number } = {},
): ProgressReporter {
  const c = paint(io);
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 2000;
  const live = new Map<string, LiveState>();
  /** Rows each resource has committed (the last batch_committed): what an interrupted run keeps. */
  const committed = new Map<string, number>();
  let drawn = 0;
  // Live lines go to stderr: with stdout in a pipe (no width), assume a common terminal's.
  const width = Math.max((Number.isFinite(io.columns) ? io.columns : 120) - 1, 20);
  const fit = (text: string) => (text.length > width ? text.slice(0, width - 1) + "…" : text);
  // The cursor rests at the end of the last live line; erase upwards to the first one.
  const erase = () => {
    if (drawn === 0) return;
    io.stderr("\r\x1b[2K" + "\x1b[1A\x1b[2K".repeat(drawn - 1));
    drawn = 0;
  };
  const draw = () => {
    if (!io.isTTY || live.size === 0) return;
    const running = [...live.entries()];
    // Resources run side by side (up to client.concurrency): past a screenful the rest are one line, so the
    // live area never scrolls (erasing it could not reach lines scrolled out of view).
    const shown = running.length > MAX_LIVE_LINES ? running.slice(0, MAX_LIVE_LINES - 1) : running;
    const lines = shown.map(([name, s]) => fit(statusText(name, s, now())));
    if (shown.length < running.length) lines.push(fit(`⋯ and ${running.length - shown.length} more resources running`));
    io.stderr(lines.map((l) => c.dim(l.slice(0, 1)) + l.slice(1)).join("\n"));
    drawn = lines.length;
  };
  const line = (text: string) => {
    erase();
    io.stderr(redactor.redact(text) + "\n");
    draw();
  };
  const statusText = (name: string, s: LiveState, at: number) => {
    const pages = s.totalPages !== undefined ? `${fmtN(s.pages)}/${fmtN(s.totalPages)} pages` : `${fmtN(s.pages)} ${s.pages === 1 ? "page" : "pages"}`;
    // The ETA comes from this run's own pace: pages a resumed run had committed before cost it nothing.
    const runPages = s.pages - s.startPage;
    const eta = s.totalPages !== undefined && runPages > 0 && s.totalPages > s.pages ? `, ETA ${fmtEta(((s.totalPages - s.pages) * s.elapsedMs) / runPages)}` : "";
    const windows = s.windows ? `window ${fmtN(s.windows.done)}/${fmtN(s.windows.total)}, ` : "";
    return `⋯ ${name}: ${windows}${pages}, ${fmtN(s.rows)} ${s.rows === 1 ? "row" : "rows"}, ${fmtN(s.rate)} rows/s, ${s.retries} ${s.retries === 1 ? "retry" : "retries"}, ${fmtMs(at - s.since)}${eta}`;
  };
  const stateOf = (resource: string) => {
    let s = live.get(resource);
    if (!s) {
      s = { pages: 0, rows: 0, rate: 0, retries: 0, since: now(), lastPrinted: Number.NEGATIVE_INFINITY, startPage: 0, elapsedMs: 0 };
      live.set(resource, s);
    }
    return s;
  };
  const report = (event: PipelineEvent) => {
    if (options.json) {
      io.stdout(redactor.redact(JSON.stringify({ ...event, time: new Date().toISOString() })) + "\n");
      return;
    }
    if (options.quiet && event.type !== "warning") return;
    switch (event.type) {
      case "run_started":
        line(
          `${event.resumed ? "resuming" : "starting"} run ${event.loadId} of pipeline ${c.bold(event.pipeline)} → ${event.database} (dataset ${event.dataset}); resources: ${event.resources.join(", ")}${event.recording ? `; ${event.recording.mode === "record" ? "recording to" : "replaying"} ${event.recording.path}` : ""}`,
        );
        break;
      case "resource_started": {
        const s = stateOf(event.resource);
        s.since = now();
        s.startPage = event.resumedAtPage ?? 0;
        s.windows = event.windows;
        line(`${c.bold(event.resource)}: paginator ${event.paginator}${event.windows ? `, backfill in ${fmtN(event.windows.total)} windows` : ""}${event.resumedAtPage !== undefined ? `, resuming after page ${event.resumedAtPage}${event.windows ? ` (window ${fmtN(event.windows.done + 1)})` : ""}` : ""}`);
        break;
      }
      case "paginator_detected":
        line(`${event.resource}: auto paginator chose ${event.paginator}`);
        break;
      case "page": {
        const s = stateOf(event.resource);
        s.pages = event.page;
        s.rows = event.rows;
        s.elapsedMs = event.elapsedMs;
        s.totalPages = event.totalPages;
        // This run's rows only: after a resume, the rows committed before took none of this run's time.
        s.rate = event.elapsedMs > 0 ? Math.round((event.runRows * 1000) / event.elapsedMs) : 0;
        if (io.isTTY) {
          erase();
          draw();
        } else {
          const at = now();
          if (options.verbose || at - s.lastPrinted >= interval) {
            s.lastPrinted = at;
            line(statusText(event.resource, s, at).slice(2));
          }
        }
        break;
      }
      case "window_finished": {
        const s = stateOf(event.resource);
        s.windows = { done: event.done, total: event.total };
        if (options.verbose) line(c.dim(`${event.resource}: window ${fmtN(event.done)}/${fmtN(event.total)} [${event.start}, ${event.end}) finished, ${fmtN(event.rows)} rows`));
        else if (io.isTTY) {
          erase();
          draw();
        }
        break;
      }
      case "batch_committed":
        committed.set(event.resource, event.rows);
        if (options.verbose) line(c.dim(`${event.resource}: committed ${fmtN(event.batchRows)} rows (${fmtN(event.rows)} in all, ${event.pages} pages)`));
        break;
      case "retry":
        if (event.resource) stateOf(event.resource).retries++;
        line(c.yellow(`${event.resource}: ${event.reason} from ${event.url}; retry ${event.attempt} in ${fmtMs(event.delayMs)}`));
        break;
      case "auth_refresh":
        line(`${event.resource}: access token refused; fetching a new one`);
        break;
      case "throttle":
        // Pacing to stay under a rate limit is normal; worth a line only when asked for detail.
        if (options.verbose) line(c.dim(`${event.resource}: waiting ${fmtMs(event.delayMs)} for the rate limit (${event.reason})`));
        break;
      case "resource_finished": {
        const s = live.get(event.resource);
        live.delete(event.resource);
        const took = s ? `, ${fmtMs(now() - s.since)}` : "";
        const retries = s?.retries ? `, ${s.retries} ${s.retries === 1 ? "retry" : "retries"}` : "";
        line(`${c.green("✓")} ${event.resource}: ${fmtN(event.rows)} rows from ${fmtN(event.pages)} pages${event.skipped ? " (already loaded by the interrupted run)" : `${retries}${took}`}`);
        break;
      }
      case "refreshed": {
        const what = event.mode === "drop_data" ? "emptied" : "dropped";
        line(`refresh ${event.mode}: ${what} ${event.tables.length ? event.tables.join(", ") : "no tables"}; forgot the stored state of ${event.resources.length ? event.resources.join(", ") : "no resources"}`);
        break;
      }
      case "warning":
        line(c.yellow(`warning: ${event.message}`));
        break;
      case "run_finished":
        live.clear();
        line(summaryLine(event.summary));
        break;
    }
  };
  // A failed run leaves the live lines in place (they show how far it got); the error goes below them.
  const close = () => {
    if (drawn > 0) io.stderr("\n");
    drawn = 0;
  };
  /** After an interruption: what the file keeps, against what was fetched (the live counts). */
  const keptLine = (): string | undefined => {
    const lost = [...live.entries()].reduce((n, [name, s]) => n + Math.max(0, s.rows - (committed.get(name) ?? 0)), 0);
    const kept = [...committed.values()].reduce((n, r) => n + r, 0);
    if (committed.size === 0 && lost === 0) return undefined;
    const per = [...committed.entries()].map(([name, rows]) => `${name} ${fmtN(rows)}`).join(", ");
    return `kept ${fmtN(kept)} committed row${kept === 1 ? "" : "s"}${per ? ` (${per})` : ""}${lost > 0 ? `; ${fmtN(lost)} fetched but not committed will be fetched again` : ""}`;
  };
  return Object.assign(report, { close, keptLine });
}

interface LiveState {
  pages: number;
  rows: number;
  rate: number;
  retries: number;
  since: number;
  lastPrinted: number;
  /** The page a resumed run started after (0 for a fresh one). */
  startPage: number;
  /** This run's time on the resource, as the last page event said. */
  elapsedMs: number;
  totalPages?: number;
  /** A backfill in windows: finished of all. */
  windows?: { done: number; total: number };
}

const fmtEta = (ms: number) => {
  const s = Math.max(1, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
};

/**
 * Renders pipeline events; `close` ends the live area so what follows starts on a fresh line;
 * `keptLine` says, after an interruption, how many rows the file kept.
 */
export type ProgressReporter = ((event: PipelineEvent) => void) & { close: () => void; keptLine: () => string | undefined };

export function summaryLine(s: RunSummary): string {
  const rows = s.resources.reduce((n, r) => n + r.rows, 0);
  return `loaded ${fmtN(rows)} rows into ${s.database} in ${fmtMs(s.durationMs)} (${fmtN(s.requests)} requests, ${fmtN(s.retries)} retries); views: ${s.views.filter((v) => !v.startsWith("_")).join(", ")}`;
}

/** How `query` prints rows. */
export type ResultFormat = "table" | "csv" | "json" | "ndjson";

/** Formats a whole result at once (what `info` and `schema` print). */
export function formatResult(result: { columns: string[]; types?: string[]; rows: unknown[][] }, format: ResultFormat, width = 120): string {
  const render = resultRenderer(result.columns, result.types, format, width);
  return render.rows(result.rows) + render.end();
}

/**
 * Renders a result chunk by chunk, so `query` streams any number of rows in flat memory: `rows`
 * per chunk, then `end`; the pieces concatenated are the whole output. A table takes its column
 * widths from the first chunk (wider later values are cut with "…"; csv and json carry them whole).
 */
export function resultRenderer(
  columns: string[],
  types: string[] | undefined,
  format: ResultFormat,
  width = 120,
): { rows: (rows: unknown[][]) => string; end: () => string } {
  // DuckDB hands 64/128-bit integers over as strings (JSON numbers lose precision past 2^53): numbers again where they fit.
  const wide = (types ?? []).map((t) => /^(BIGINT|UBIGINT|HUGEINT|UHUGEINT)$/i.test(t));
  const numbers = wide.some(Boolean)
    ? (rows: unknown[][]) => rows.map((r) => r.map((v, i) => (wide[i] && typeof v === "string" && Number.isSafeInteger(Number(v)) ? Number(v) : v)))
    : (rows: unknown[][]) => rows;
  const object = (r: unknown[]) => Object.fromEntries(columns.map((c, i) => [c, r[i]]));
  let count = 0;
  let started = false;
  switch (format) {
    case "ndjson":
      return {
        rows: (rows) => numbers(rows).map((r) => JSON.stringify(object(r)) + "\n").join(""),
        end: () => "",
      };
    case "json":
      // The same bytes as JSON.stringify(allRows, null, 2): a JSON string never holds a raw newline, so indenting each line is exact.
      return {
        rows: (rows) =>
          numbers(rows)
            .map((r) => `${count++ === 0 ? "[\n" : ",\n"}  ${JSON.stringify(object(r), null, 2).replace(/\n/g, "\n  ")}`)
            .join(""),
        end: () => (count === 0 ? "[]\n" : "\n]\n"),
      };
    case "csv": {
      const cell = (v: unknown) => {
        if (v === null || v === undefined) return "";
        const s = typeof v === "object" ? JSON.stringify(v) : String(v);
        return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      };
      const head = () => (started ? "" : ((started = true), columns.map(cell).join(",") + "\n"));
      return {
        rows: (rows) => head() + numbers(rows).map((r) => r.map(cell).join(",") + "\n").join(""),
        end: () => head(),
      };
    }
    case "table": {
      let layout: TableLayout | undefined;
      const first = (rows: unknown[][]) => {
        layout = tableLayout(columns, rows, width, types);
        return [layout.sep, layout.row(columns), layout.sep, ""].join("\n");
      };
      return {
        rows: (rows) => {
          const shown = numbers(rows);
          const head = layout ? "" : first(shown);
          count += shown.length;
          return head + shown.map((r) => layout!.row(r.map(cellText)) + "\n").join("");
        },
        end: () => {
          const head = layout ? "" : first([]);
          const hidden = layout!.hidden;
          const footer = `${count} row${count === 1 ? "" : "s"}${hidden.length ? ` · ${hidden.length} column${hidden.length === 1 ? "" : "s"} not shown (${hidden.join(", ")}): widen the terminal or use -f csv/json` : ""}`;
          return `${head}${layout!.sep}\n${footer}\n`;
        },
      };
    }
  }
}

const cellText = (v: unknown) => (v === null || v === undefined ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v)).replace(/\s+/g, " ");

interface TableLayout {
  sep: string;
  /** One row's cells (as text) fitted to the column widths. */
  row: (cells: string[]) => string;
  /** Columns left out because the table would not fit. */
  hidden: string[];
}

function tableLayout(allColumns: string[], rows: unknown[][], width: number, types?: string[]): TableLayout {
  const cells = rows.map((r) => r.map(cellText));
  // Numbers align right; a STRUCT or list holding integers is not a number.
  const numeric = (types ?? []).map((t) => /^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC)\b(?!.*[\[\]])/i.test(t));
  let widths = allColumns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  // Shrink the widest columns until the table fits the terminal…
  const total = () => widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1) + 4;
  while (total() > width && Math.max(...widths) > 8) {
    const i = widths.indexOf(Math.max(...widths));
    widths[i]--;
  }
  // …and if even that is too wide, leave out columns from the right and say which.
  let hidden: string[] = [];
  while (total() > width && widths.length > 1) {
    widths = widths.slice(0, -1);
    hidden = [allColumns[widths.length], ...hidden];
  }
  widths = widths.map((w) => Math.max(w, 1));
  const fit = (s: string, w: number, right: boolean) => {
    const t = s.length > w ? s.slice(0, Math.max(w - 1, 0)) + "…" : s;
    return right ? t.padStart(w) : t.padEnd(w);
  };
  return {
    sep: `+-${widths.map((w) => "-".repeat(w)).join("-+-")}-+`,
    row: (r) => `| ${widths.map((w, i) => fit(r[i] ?? "", w, numeric[i])).join(" | ")} |`,
    hidden,
  };
}
