/**
 * Test helpers: temp folders, the mock chat API, the CLI run in-process, and
 * a real DuckDB file to check. Everything a test starts, it stops. New tests
 * use `await using env = await testEnv()` (env.ts), which owns all of these.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import type { Io } from "../../src/cli/output.ts";
import { openDatabase } from "../../src/load/db.ts";
import { seedConfig, startChatApi, type ChatApi, type ChatApiOptions } from "../../src/demo/chat_api.ts";

export { seedConfig };
export { testEnv, type TestEnv, type TestEnvOptions } from "./env.ts";

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = "restduck-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the chat API for one test; `t.after` or `finally` must call close. */
export async function chatApi(options: ChatApiOptions = {}): Promise<ChatApi> {
  return startChatApi({ clientId: "test-client", clientSecret: "s3cret-Value-42", ...options });
}

/** The env that resolves the seed config's secrets against `chatApi()`. */
export const SEED_ENV = { CLIENT_ID: "test-client", CLIENT_SECRET: "s3cret-Value-42" };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd: string; signal?: AbortSignal; isTTY?: boolean; columns?: number },
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: options.env ?? {},
    cwd: options.cwd,
    isTTY: options.isTTY ?? false,
    columns: options.columns ?? 120,
  };
  const code = await main(args, io, options.signal);
  return { code, stdout, stderr };
}

/** Writes a config object as JSON into `dir` and returns its path. */
export function writeConfig(dir: string, config: unknown, name = "chat.json"): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** Runs a query on a DuckDB file (read-only) and returns rows as objects. */
export async function queryDb<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const db = await openDatabase(path, { readOnly: true });
  try {
    return await db.all<T>(sql);
  } finally {
    db.close();
  }
}

/** Instant sleeps that record what was asked, for retry tests that should not wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}
