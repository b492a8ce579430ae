/**
 * What the config suites share: the seed config to vary, the secrets it resolves against, and
 * the problems a config is refused with (none when it is accepted).
 */
import { prepareConfig } from "../../src/config/index.ts";
import { ConfigError, SecretError } from "../../src/errors.ts";
import { seedConfig } from "../helpers/index.ts";

/** A fresh copy of the seed config on a public-looking base URL, to change in a test. */
export const base = (): any => seedConfig("https://api.example.com");

/** The secrets the seed config asks for. */
export const SECRETS = { CLIENT_ID: "id-1234", CLIENT_SECRET: "secret-5678" };

/** The problems `prepareConfig` refuses `config` with; [] when it accepts it. */
export function problemsOf(config: unknown): string[] {
  try {
    prepareConfig(config, { env: SECRETS, cwd: "/nonexistent" });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.length ? [...error.problems] : [error.message];
    if (error instanceof SecretError) return [error.message];
    throw error;
  }
  return [];
}
