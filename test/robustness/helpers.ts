/**
 * Helpers for the robustness suites: a seeded PRNG, the CLI as a real child
 * process, and whole-database snapshots to compare runs by.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { queryDb } from "../helpers/index.ts";

/** The repository's portable entry, run by the same Node as the tests. */
export const BIN = fileURLToPath(new URL("../../src/bin/restduck.ts", import.meta.url));

/** mulberry32: the same seed gives the same kill points on every machine. */
export { rng as seeded } from "../../src/demo/chat_api.ts";

export interface Spawned {
  child: ChildProcess;
  /** Resolves when the process has exited, with its code or the signal that ended it. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `restduck <args>` as a child process in `cwd` with `env` added to a minimal environment. */
export function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Every row of the given views, sorted, as JSON: two databases with equal snapshots hold the same data. */
export async function snapshot(db: string, views: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const v of views) {
    const rows = await queryDb(db, `SELECT * FROM "${v}" ORDER BY ALL`);
    out[v] = JSON.stringify(rows);
  }
  return out;
}
