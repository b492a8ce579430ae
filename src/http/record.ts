/**
 * Record and replay (issue #16): every HTTP exchange of a run — token requests, retries, refused
 * answers — written as it happens to a HAR 1.2 file, and a `fetch` that serves a run from such a
 * file with no network at all.
 *
 * Why HAR: it is the one standard format for HTTP exchanges that people already have tools for
 * (browser dev tools open it, and many libraries and proxies read and write it), it is plain JSON
 * to read or diff, and it holds everything a replay needs (method, URL, body, status, headers).
 *
 * No secret is written: URLs, headers and bodies go through the run's redactor (its secret values
 * and secret-named URL parameters), credential headers (`Authorization`, `Cookie`, `Set-Cookie`, …)
 * are masked whole, and tokens a token endpoint issues are replaced by stand-ins before anything
 * is written. A replay therefore needs no secrets: requests are matched on method, redacted URL and
 * redacted body, each recorded answer used once, in order.
 *
 * The file is valid HAR after every exchange (the closing brackets are rewritten behind each new
 * entry), so a recording cut short by a crash or Ctrl-C still opens.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ResponseError, RestduckError } from "../errors.ts";
import { MASK, Redactor } from "../redact.ts";
import { VERSION } from "../version.ts";

/** Headers whose whole value is a credential (or carries one in a form the redactor may not know, such as Basic's base64). */
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"]);
/** Keys under which token endpoints hand out credentials. */
const TOKEN_KEYS = ["access_token", "refresh_token", "id_token", "token"];
/** Headers that described the bytes on the wire, not the (already decoded) body kept. */
const TRANSPORT_HEADERS = new Set(["content-encoding", "content-length", "transfer-encoding"]);
const TAIL = "\n]}}\n";
/** The stand-in an issued token is recorded as. */
const STAND_IN = /recorded-token-\d+/;

interface HarHeader {
  name: string;
  value: string;
}

/** One HAR 1.2 entry, with the fields restduck writes. */
export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    headers: HarHeader[];
    queryString: HarHeader[];
    cookies: never[];
    headersSize: number;
    bodySize: number;
    postData?: { mimeType: string; text: string };
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    headers: HarHeader[];
    cookies: never[];
    content: { size: number; mimeType: string; text: string; encoding?: "base64" };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
}

/** The recording file of a pipeline in a folder: `<folder>/<pipeline>.har`, the name reduced to safe characters. */
export function recordingPath(dir: string, pipelineName: string): string {
  const safe = pipelineName.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^\.+/, "_") || "restduck";
  return join(dir, `${safe}.har`);
}

/** What a request looked like when fetch was called, whatever form ofetch or a caller gave it in. */
function describe(input: RequestInfo | URL, init: RequestInit | undefined): { method: string; url: string; headers: Headers; body: string | undefined } {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const method = (init?.method ?? (typeof input === "object" && "method" in input ? input.method : "GET")).toUpperCase();
  const headers = new Headers(init?.headers ?? (typeof input === "object" && "headers" in input ? input.headers : undefined));
  const raw = init?.body;
  const body = raw === undefined || raw === null ? undefined : typeof raw === "string" ? raw : raw instanceof URLSearchParams ? raw.toString() : "[binary body]";
  return { method, url, headers, body };
}

const isText = (type: string) => type === "" || /json|text|xml|x-www-form-urlencoded|javascript/i.test(type);

/**
 * Tokens in a token endpoint's answer, each given its own stand-in (`recorded-token-1`, …) so a
 * replayed run still tells one token from the next: its "refresh once per refused token" logic
 * must see a new token after a refresh, as the recorded run did.
 */
function learnTokens(text: string, type: string, tokens: Map<string, string>): void {
  // Token answers are small JSON objects naming a token key: skip parsing every page of records.
  if (text.length > 65_536 || (!/json/i.test(type) && !text.trimStart().startsWith("{"))) return;
  if (!TOKEN_KEYS.some((k) => text.includes(`"${k}"`))) return;
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    if (typeof doc !== "object" || doc === null) return;
    for (const key of TOKEN_KEYS) {
      const value = doc[key];
      if (typeof value === "string" && value.length >= 4 && !tokens.has(value)) tokens.set(value, `recorded-token-${tokens.size + 1}`);
    }
  } catch {
    // Not JSON after all: nothing to learn.
  }
}

/** A response built again from bytes already read (a fetch Response's body can be read once). */
function rebuild(status: number, statusText: string, headers: Headers, bytes: Uint8Array): Response {
  const kept = new Headers();
  headers.forEach((value, name) => {
    if (!TRANSPORT_HEADERS.has(name.toLowerCase())) kept.append(name, value);
  });
  const nullBody = [101, 204, 205, 304].includes(status) || (bytes.length === 0 && status >= 300 && status < 400);
  return new Response(nullBody ? null : (bytes as Uint8Array<ArrayBuffer>), { status, statusText, headers: kept });
}

/** A recorder: a `fetch` that writes each exchange to the HAR file, and `close`. */
export interface Recorder {
  readonly path: string;
  readonly fetch: typeof globalThis.fetch;
  /** How many exchanges were written. */
  readonly entries: number;
  close(): void;
}

/**
 * Starts a recording in `dir` (created if missing) for a pipeline; an earlier recording of the
 * same pipeline there is replaced.
 *
 * @param options `fetch` to record (default: the global one), the run's redactor (its secrets are masked; tokens it learns too), a clock.
 */
export function createRecorder(dir: string, pipelineName: string, options: { fetch?: typeof globalThis.fetch; redactor: Redactor; now?: () => number }): Recorder {
  const inner = options.fetch ?? globalThis.fetch;
  const redactor = options.redactor;
  const now = options.now ?? Date.now;
  mkdirSync(dir, { recursive: true });
  const path = recordingPath(dir, pipelineName);
  const fd = openSync(path, "w", 0o600);
  const head = JSON.stringify({ log: { version: "1.2", creator: { name: "restduck", version: VERSION }, pages: [] } }).slice(0, -2) + ',"entries":[';
  let offset = Buffer.byteLength(head);
  writeSync(fd, head + TAIL);
  let count = 0;
  let closed = false;
  /** Issued tokens → their stand-ins; replaced before the redactor masks the rest. */
  const tokens = new Map<string, string>();
  const scrub = (text: string): string => {
    let out = text;
    for (const [token, standIn] of tokens) if (out.includes(token)) out = out.split(token).join(standIn);
    return redactor.redact(out);
  };

  const append = (entry: HarEntry) => {
    if (closed) return;
    const text = `${count ? "," : ""}\n${JSON.stringify(entry)}`;
    const bytes = Buffer.from(text + TAIL);
    writeSync(fd, bytes, 0, bytes.length, offset);
    offset += Buffer.byteLength(text);
    count++;
  };
  const headerList = (headers: Headers): HarHeader[] => {
    const list: HarHeader[] = [];
    headers.forEach((value, name) => {
      if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) return list.push({ name, value: scrub(value) });
      // A credential header is masked whole, but an issued token's stand-in stays: replay matches on it.
      const standIn = STAND_IN.exec(scrub(value))?.[0];
      list.push({ name, value: standIn && name.toLowerCase() === "authorization" ? `Bearer ${standIn}` : MASK });
    });
    return list;
  };

  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = describe(input, init);
    const started = now();
    const response = await inner(input, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const type = response.headers.get("content-type") ?? "";
    const textual = isText(type);
    const text = textual ? new TextDecoder().decode(bytes) : Buffer.from(bytes).toString("base64");
    if (textual) learnTokens(text, type, tokens);
    const url = scrub(req.url);
    append({
      startedDateTime: new Date(started).toISOString(),
      time: Math.max(0, now() - started),
      request: {
        method: req.method,
        url,
        httpVersion: "HTTP/1.1",
        headers: headerList(req.headers),
        queryString: [...new URL(url).searchParams].map(([name, value]) => ({ name, value })),
        cookies: [],
        headersSize: -1,
        bodySize: req.body === undefined ? 0 : Buffer.byteLength(req.body),
        ...(req.body === undefined ? {} : { postData: { mimeType: req.headers.get("content-type") ?? "application/json", text: scrub(req.body) } }),
      },
      response: {
        status: response.status,
        statusText: response.statusText,
        httpVersion: "HTTP/1.1",
        headers: headerList(response.headers).filter((h) => !TRANSPORT_HEADERS.has(h.name.toLowerCase())),
        cookies: [],
        content: { size: bytes.length, mimeType: type, text: textual ? scrub(text) : text, ...(textual ? {} : { encoding: "base64" as const }) },
        redirectURL: scrub(response.headers.get("location") ?? ""),
        headersSize: -1,
        bodySize: bytes.length,
      },
      cache: {},
      timings: { send: 0, wait: Math.max(0, now() - started), receive: 0 },
    });
    return rebuild(response.status, response.statusText, response.headers, bytes);
  }) as typeof globalThis.fetch;

  return {
    path,
    fetch,
    get entries() {
      return count;
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/**
 * Reads a recording: `<dir>/<pipeline>.har`, or the only `.har` file in `dir`.
 *
 * @throws {RestduckError} (exit 2) when there is none, or it is not a HAR file.
 */
export function readRecording(dir: string, pipelineName: string): { path: string; entries: HarEntry[] } {
  let path = recordingPath(dir, pipelineName);
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    let hars: string[] = [];
    try {
      hars = readdirSync(dir).filter((f) => f.endsWith(".har"));
    } catch {
      // Reported below.
    }
    if (hars.length !== 1) {
      throw new RestduckError("REPLAY_NOT_FOUND", `No recording of pipeline ${pipelineName} in ${dir}${hars.length ? ` (it holds ${hars.join(", ")})` : ""}`, {
        exitCode: 2,
        hint: hars.length ? "name the pipeline the recording was made with (--pipeline), or keep one .har file in the folder" : "record one first: restduck run CONFIG --record DIR",
      });
    }
    path = join(dir, hars[0]);
    text = readFileSync(path, "utf8");
  }
  let entries: unknown;
  try {
    entries = (JSON.parse(text) as { log?: { entries?: unknown } }).log?.entries;
  } catch (error) {
    throw new RestduckError("REPLAY_NOT_FOUND", `${path} is not a HAR file: ${(error as Error).message}`, { exitCode: 2, hint: "replay a folder written by restduck run --record" });
  }
  if (!Array.isArray(entries)) throw new RestduckError("REPLAY_NOT_FOUND", `${path} is not a HAR file: it has no log.entries`, { exitCode: 2, hint: "replay a folder written by restduck run --record" });
  return { path, entries: entries as HarEntry[] };
}

/**
 * A `fetch` that answers from a recording, with no network: each request is matched on method,
 * redacted URL and redacted body, and each recorded answer is used once, in recorded order (so a
 * recorded 503 and the 200 of its retry come back in turn). A request the recording does not hold
 * is an error naming it.
 *
 * @param redactor The replaying run's redactor (its placeholder secrets are masked the way the recording masked the real ones).
 */
export function replayFetch(recording: { path: string; entries: HarEntry[] }, redactor: Redactor): typeof globalThis.fetch & { remaining(): number } {
  // Answers per request (method, redacted URL and body), in recorded order, each with the token it was given to.
  const answers = new Map<string, { entry: HarEntry; token: string; used: boolean }[]>();
  const keyOf = (method: string, url: string, body: string | undefined) => `${method} ${redactor.redact(url)}\n${body === undefined ? "" : redactor.redact(body)}`;
  const tokenOf = (authorization: string | null | undefined) => (authorization ? (STAND_IN.exec(authorization)?.[0] ?? "") : "");
  for (const entry of recording.entries) {
    const key = keyOf(entry.request.method, entry.request.url, entry.request.postData?.text);
    const token = tokenOf(entry.request.headers.find((h) => h.name.toLowerCase() === "authorization")?.value);
    (answers.get(key) ?? answers.set(key, []).get(key)!).push({ entry, token, used: false });
  }
  /**
   * Requests in flight interleave differently in a replay than they did live: the answer given to
   * the same token comes first; else one that did not refuse a token (a 401 belongs to the token it
   * refused, and a replayed request may already carry the refreshed one); else the next in order.
   */
  const pick = (key: string, token: string) => {
    const list = (answers.get(key) ?? []).filter((a) => !a.used);
    const chosen = list.find((a) => a.token === token) ?? list.find((a) => a.entry.response.status !== 401 && a.entry.response.status !== 403) ?? list[0];
    if (chosen) chosen.used = true;
    return chosen?.entry;
  };
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    init?.signal?.throwIfAborted();
    const req = describe(input, init);
    const entry = pick(keyOf(req.method, req.url, req.body), tokenOf(req.headers.get("authorization")));
    if (!entry) {
      const sameUrl = recording.entries.filter((e) => e.request.method === req.method && redactor.redact(e.request.url) === redactor.redact(req.url)).length;
      throw new ResponseError(
        `The recording ${recording.path} holds no${sameUrl ? " further" : ""} answer for [${req.method}] "${redactor.redact(req.url)}"${sameUrl ? ` (its ${sameUrl} recorded answer${sameUrl === 1 ? " is" : "s are"} used up)` : ""}; replay never goes to the network`,
        { hint: "record again with the current config (restduck run CONFIG --record DIR): the config asks for requests the recorded run did not make" },
      );
    }
    const c = entry.response.content;
    const bytes = c.encoding === "base64" ? new Uint8Array(Buffer.from(c.text, "base64")) : new TextEncoder().encode(c.text ?? "");
    const headers = new Headers();
    for (const h of entry.response.headers) headers.append(h.name, h.value);
    return rebuild(entry.response.status, entry.response.statusText, headers, bytes);
  };
  return Object.assign(fetch as typeof globalThis.fetch, { remaining: () => [...answers.values()].reduce((n, q) => n + q.filter((a) => !a.used).length, 0) });
}
