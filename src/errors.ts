/**
 * The error classes a caller of restduck handles. Each has a stable `code`,
 * the process exit code the CLI uses for it, and an optional `cause`.
 *
 * Messages follow one shape: what failed, where, and what to do next.
 */

/** Base class of every error restduck throws on purpose. */
export class RestduckError extends Error {
  /** Stable machine-readable code, e.g. `CONFIG_INVALID`. */
  readonly code: string;
  /** Exit code the CLI returns for this error. */
  readonly exitCode: number;
  /** Optional next step for the user, printed after the message. */
  readonly hint?: string;

  constructor(code: string, message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** The config file is unreadable or invalid; exit code 2. */
export class ConfigError extends RestduckError {
  /** One line per problem, each starting with its config path. */
  readonly problems: readonly string[];

  constructor(message: string, options: { problems?: readonly string[]; hint?: string; cause?: unknown } = {}) {
    super("CONFIG_INVALID", message, { exitCode: 2, hint: options.hint, cause: options.cause });
    this.problems = options.problems ?? [];
  }
}

/** A `{ "$secret": … }` reference could not be resolved; exit code 2. */
export class SecretError extends RestduckError {
  constructor(message: string, options: { hint?: string } = {}) {
    super("SECRET_MISSING", message, { exitCode: 2, hint: options.hint });
  }
}

/** An HTTP request failed for good (after retries), or its response was unusable. */
export class HttpError extends RestduckError {
  /** Last HTTP status seen, if any response arrived. */
  readonly status?: number;
  /** The request URL with secrets redacted. */
  readonly url: string;
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(
    message: string,
    options: { status?: number; url: string; attempts: number; hint?: string; cause?: unknown; code?: string },
  ) {
    super(options.code ?? "HTTP_FAILED", message, { exitCode: 1, hint: options.hint, cause: options.cause });
    this.status = options.status;
    this.url = options.url;
    this.attempts = options.attempts;
  }
}

/** Authentication failed (token endpoint refused, or the API kept answering 401/403). */
export class AuthError extends RestduckError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super("AUTH_FAILED", message, { exitCode: 1, hint: options.hint, cause: options.cause });
  }
}

/** A response could not be turned into records (not JSON, selector missing, not objects). */
export class ResponseError extends RestduckError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super("RESPONSE_INVALID", message, { exitCode: 1, hint: options.hint, cause: options.cause });
  }
}

/** The DuckDB file could not be opened or written. */
export class DatabaseError extends RestduckError {
  constructor(message: string, options: { hint?: string; cause?: unknown; code?: string } = {}) {
    super(options.code ?? "DATABASE_FAILED", message, { exitCode: 1, hint: options.hint, cause: options.cause });
  }
}

/** The run was stopped by a signal (SIGINT → 130, SIGTERM → 143). */
export class InterruptedError extends RestduckError {
  constructor(signal: "SIGINT" | "SIGTERM" = "SIGINT") {
    super("INTERRUPTED", `run interrupted by ${signal}`, {
      exitCode: signal === "SIGTERM" ? 143 : 130,
      hint: "committed batches are kept; run the same command again to resume",
    });
  }
}
