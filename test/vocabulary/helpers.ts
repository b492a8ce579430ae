/**
 * Runs a config against the mock API into a real DuckDB file. `await using h = harness()`
 * removes the folder when the test ends, like `testEnv`.
 */
import { join } from "node:path";
import { prepareConfig } from "../../src/config/index.ts";
import { runPipeline, type PipelineEvent, type RunSummary } from "../../src/pipeline/run.ts";
import { queryDb, recordingSleep, tempDir } from "../helpers/index.ts";

export interface Harness {
  db: string;
  run(config: unknown, options?: { resources?: string[] }): Promise<RunSummary & { events: PipelineEvent[] }>;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** What the run slept, in ms; the backoff's jitter is pinned, so computed waits are exact. */
  waits: number[];
  cleanup(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export function harness(): Harness {
  const tmp = tempDir("restduck-vocab-");
  const db = join(tmp.dir, "v.duckdb");
  const { sleep, waits } = recordingSleep();
  return {
    db,
    waits,
    async run(config, options = {}) {
      const events: PipelineEvent[] = [];
      const loaded = prepareConfig(config, { env: {}, cwd: "/nonexistent" });
      const summary = await runPipeline(loaded, { database: db, pipelineName: "vocab", sleep, random: () => 0, onEvent: (e) => events.push(e), resources: options.resources });
      return { ...summary, events };
    },
    query: (sql) => queryDb(db, sql),
    cleanup: tmp.cleanup,
    [Symbol.asyncDispose]: async () => tmp.cleanup(),
  };
}
