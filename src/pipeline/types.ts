/** What a run takes (RunOptions), reports while it works (PipelineEvent) and returns (RunSummary). */
import type { Database } from "../load/db.ts";
import type { RefreshMode } from "../load/refresh.ts";

/** What a run reports while it works. */
export type PipelineEvent =
  | {
      type: "run_started";
      loadId: string;
      pipeline: string;
      dataset: string;
      database: string;
      resumed: boolean;
      resources: string[];
      /** The HAR file this run writes (`record`) or is served from (`replay`). */
      recording?: { mode: "record" | "replay"; path: string };
    }
  | {
      type: "resource_started";
      resource: string;
      paginator: string;
      resumedAtPage?: number;
      /** A backfill in windows: how many there are, and how many a resumed run had finished before. */
      windows?: { done: number; total: number };
    }
  | {
      type: "window_finished";
      resource: string;
      /** Windows finished so far (they finish in order), of all of them. */
      done: number;
      total: number;
      /** The window's bounds, `[start, end)`, and the rows it loaded. */
      start: string | number;
      end: string | number;
      rows: number;
    }
  | { type: "paginator_detected"; resource: string; paginator: string }
  | {
      type: "page";
      resource: string;
      /** Pages and rows of the resource so far, counting those a resumed run had committed before. */
      page: number;
      records: number;
      rows: number;
      /** Rows fetched by this run alone (a resumed run's rate counts only these). */
      runRows: number;
      /** This run's time on the resource. */
      elapsedMs: number;
      /** The resource's pages in all, when the API gives a total. */
      totalPages?: number;
    }
  | { type: "batch_committed"; resource: string; pages: number; rows: number; batchRows: number }
  | { type: "retry"; resource: string; url: string; attempt: number; delayMs: number; status?: number; reason: string }
  | { type: "auth_refresh"; resource: string; url: string }
  | { type: "throttle"; resource: string; url: string; delayMs: number; reason: string }
  | { type: "resource_finished"; resource: string; pages: number; rows: number; skipped?: boolean }
  | { type: "warning"; message: string }
  | { type: "refreshed"; mode: RefreshMode; tables: string[]; resources: string[] }
  | { type: "run_finished"; summary: RunSummary };

export interface ResourceSummary {
  name: string;
  table: string;
  pages: number;
  rows: number;
}

/** The outcome of a run. */
export interface RunSummary {
  loadId: string;
  pipeline: string;
  dataset: string;
  database: string;
  status: "completed" | "failed" | "interrupted";
  resumed: boolean;
  resources: ResourceSummary[];
  requests: number;
  retries: number;
  durationMs: number;
  views: string[];
  viewErrors: { name: string; error: string }[];
  error?: string;
}

export interface RunOptions {
  /** DuckDB database path (or anything DuckDB's ATTACH accepts). */
  database: string;
  pipelineName?: string;
  dataset?: string;
  /** Only these resources (by name). */
  resources?: string[];
  /** Start over instead of resuming an unfinished run. */
  restart?: boolean;
  /**
   * dlt's refresh modes, applied before loading (and never resuming): `drop_sources` drops every table
   * and all state of the pipeline, `drop_resources` those of the resources being loaded, `drop_data`
   * empties their tables and forgets their state but keeps the tables.
   */
  refresh?: RefreshMode;
  /** Stop every resource after this many pages (overrides `endpoint.max_pages`): a quick, real, small load. */
  maxPages?: number;
  /** Write every HTTP exchange of the run, secrets masked, to `<record>/<pipeline>.har` (HAR 1.2) as it happens. */
  record?: string;
  /**
   * Serve the run from `<replay>/<pipeline>.har` (or the folder's only .har file), with no network and no
   * waiting; secrets are not needed (stand-ins fill missing ones).
   */
  replay?: string;
  /** Aborting stops the run within moments: the DuckDB statement in flight is interrupted and the batch under way rolls back; committed batches are kept and the next run resumes. */
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /** Commit a batch every N pages (default: config's batch_pages, else 50). */
  batchPages?: number;
  /** …or once this many records are pending (default 50,000). */
  batchRows?: number;
  /** …or when the oldest pending page is this many seconds old (default: config's batch_seconds, else 5). */
  batchSeconds?: number;
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** The retry backoff's jitter source, in [0, 1) (default `Math.random`); `() => 0` waits the documented backoff exactly. */
  random?: () => number;
  /** Most requests on the wire, a hard cap (default: the config's client.concurrency; unset, from 4 growing to 16). */
  concurrency?: number;
  /** Folder relative paths are resolved against (default: the working directory). */
  cwd?: string;
  /** An open database to use instead of opening `database` (the library keeps one per pipeline). */
  db?: Database;
}
