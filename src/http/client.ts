/**
 * The HTTP client: the only importer of ofetch. One request = up to
 * `max_retries + 1` attempts, each with its own timeout signal (ofetch 1.5's
 * own `timeout` reuses the first attempt's signal across retries, and its
 * retry ignores Retry-After, so the loop lives here).
 *
 * It is the only retry loop (issue #14): an endpoint's response actions are a
 * classification hook of it (`RequestOptions.classify`), as dlt's response
 * hooks are of its one client, so a retry they ask for draws on the same
 * `max_retries` budget as a 503 or a reset connection, and every retry is
 * told through the one `onEvent`.
 */
import { createFetch, type FetchResponse } from "ofetch";
import { HttpError, ResponseError, RestduckError } from "../errors.ts";
import { parseJsonExact } from "../exact_json.ts";
import { Redactor } from "../redact.ts";
import { backoffDelay, isRetryableError, isRetryableStatus, parseRetryAfter } from "./retry.ts";
import { abortableSleep } from "./sleep.ts";
import { createRateLimiter, type RateLimiter, type RateLimitOptions, type ThrottleReason } from "./rate_limit.ts";
import type { Slot, Slots } from "./concurrency.ts";

/** What to send. `url` may be absolute or relative to the client's base URL. */
export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  params?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** A form body (application/x-www-form-urlencoded), e.g. for token endpoints. */
  form?: Record<string, string>;
  /** An endpoint's `data` body: a form (pairs, repeated keys kept) or raw text sent without a content type. */
  data?: RequestData;
  headers?: Record<string, string>;
}

/** dlt's `endpoint.data` as sent: a form, or raw text (requests sends a str body with no content type). */
export type RequestData = { form: [string, string][] } | { raw: string };

/** A successful response, its body parsed as JSON. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Final URL of the request (after base URL, query and redirects), secrets masked. */
  url: string;
  body: unknown;
  /** Size of the body in bytes. */
  bytes: number;
  /** Set when the request's `classify` hook said "ignore": the answer stands for an empty last page. */
  ignored?: true;
}

/** The result of an answer a response action ignored (dlt's IgnoreResponseException): no body, so no records. */
export interface IgnoredResponse extends HttpResponse {
  ignored: true;
  body: undefined;
}

/** Whether a response is an ignored answer rather than a page. */
export function isIgnored(response: HttpResponse): response is IgnoredResponse {
  return response.ignored === true;
}

/** One answer as a `classify` hook sees it, after the client's own retries of transient failures. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The request's final URL, secrets masked. */
  url: string;
  /** The parsed JSON body of a 2xx answer (a hook may replace it); undefined for a refused one. */
  body: unknown;
  /**
   * The text `content` rules look in: a 2xx body as JSON, or for a refused answer the message the
   * client would fail with (status, URL and the start of the body, secrets masked).
   */
  text(): string;
}

/**
 * What a hook makes of an answer: ignore it (an empty last page), fail with it, or ask again
 * within the client's retry budget. `reason` names the cause in the retry event or the error.
 * No verdict: the answer goes on as the client would take it (a 2xx accepted, anything else refused).
 */
export type Verdict = { action: "ignore" } | { action: "error" | "retry"; reason: string };

/** Classifies one answer: an endpoint's response actions. */
export type ResponseClassifier = (answer: Answer) => Verdict | undefined;

/** Adds credentials to a request and refreshes them when the server says 401. */
export interface Authenticator {
  /** Mutates headers/params to carry credentials. */
  apply(request: { headers: Record<string, string>; params: Record<string, string | number | boolean | undefined> }, signal?: AbortSignal): Promise<void>;
  /**
   * Called once after a 401 with the headers the refused request carried;
   * returns true when new credentials are in place and the request is worth
   * repeating. Concurrent 401s for the same stale token share one refresh.
   */
  refresh?(signal?: AbortSignal, used?: { headers: Record<string, string> }): Promise<boolean>;
}

/** Something worth telling the user about while a request is under way. */
export type HttpEvent =
  | { type: "retry"; url: string; attempt: number; delayMs: number; status?: number; reason: string }
  | { type: "auth_refresh"; url: string }
  /** A request waits before it is sent, so as not to exceed a rate limit (`client.rate_limit` or the server's headers). */
  | { type: "throttle"; url: string; delayMs: number; reason: ThrottleReason }
  /**
   * A request (a next-page link, an absolute path, a redirect) goes to an origin that is not
   * trusted, so it goes without credentials. Told once per origin for the client's lifetime.
   */
  | { type: "credentials_withheld"; url: string; origin: string; downgrade: boolean };

export interface RetryPolicy {
  max_retries: number;
  backoff_factor: number;
  max_delay: number;
  status_codes: number[];
  timeout: number;
  respect_retry_after: boolean;
}

export interface HttpClientOptions {
  /** Relative request URLs resolve against it, and its origin receives the credentials. */
  baseUrl?: string;
  /**
   * Further origins (`https://files.example.com`) that receive credentials: `client.trusted_origins`.
   * Any other origin gets requests without auth and without secret-bearing headers.
   */
  trustedOrigins?: string[];
  headers?: Record<string, string>;
  retry: RetryPolicy;
  auth?: Authenticator;
  redactor?: Redactor;
  /** Largest response body accepted, in bytes (default 64 MiB). */
  maxResponseBytes?: number;
  /** Longest Retry-After honoured, in seconds (default 300). */
  maxRetryAfter?: number;
  onEvent?: (event: HttpEvent) => void;
  /** Proactive rate limit: a limiter, or options for one (a rate and/or the server's X-RateLimit-* headers). */
  rateLimit?: RateLimiter | RateLimitOptions;
  /**
   * Told each response's outcome, e.g. an AdaptiveConcurrency that shrinks on 429 and grows on
   * success; a 429's Retry-After (in ms, when honoured) comes with it.
   */
  adaptive?: { onSuccess(): void; onThrottle(retryAfterMs?: number, rank?: number): void };
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** The backoff's jitter source, in [0, 1) (default `Math.random`); `() => 0` waits the documented backoff exactly. */
  random?: () => number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Credentials for this request instead of the client's; null for none. */
  auth?: Authenticator | null;
  /**
   * Parse the body when it is first read instead of before resolving (a body that is not JSON
   * then throws there). walkPages asks this for pages fetched ahead of the one being consumed.
   */
  lazy?: boolean;
  /**
   * Send only the request's own headers (not the client's) and follow no redirect to another
   * origin: for an OAuth2 token request, whose form or headers hold the client secret.
   */
  bare?: boolean;
  /** Origins trusted with credentials for this request besides the client's, e.g. the one `endpoint.auth` was written for. */
  trustedOrigins?: readonly string[];
  /**
   * Classifies each answer the retry policy would hand back (a 2xx, or a refusal whose retries
   * are spent or that is not retried): the endpoint's response actions. A "retry" verdict uses
   * the same budget and backoff as a 503, so one request never makes more than `max_retries + 1` attempts.
   */
  classify?: ResponseClassifier;
  /**
   * Where each attempt takes its slot on the wire (issue #15): acquired just before the attempt
   * is sent, given back once its answer is read, so a request sleeping through its backoff or a
   * Retry-After holds none. Its retries keep their place in line (the slot's `rank`).
   */
  slots?: Slots;
}

export interface HttpClient {
  request(request: HttpRequest, options?: RequestOptions): Promise<HttpResponse>;
}

export { abortableSleep } from "./sleep.ts";

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** Statuses whose Location is followed (RFC 9110 §15.4); 300 and 304 are answers, not hops. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Most redirects one request follows, as browsers and undici's default (20) bound them; APIs need one or two. */
export const MAX_REDIRECTS = 10;

/**
 * Header names that carry credentials by convention. A client or endpoint header with such a
 * name, or whose value holds a known secret, is withheld from untrusted origins.
 */
const CREDENTIAL_HEADER = /^(?:authorization|proxy-authorization|cookie)$|auth|token|key|secret|session|signature|passw|credential/i;

/** The headers, params and credential decision of one hop of one attempt. */
interface Sent {
  response: FetchResponse<ReadableStream<Uint8Array> | undefined>;
  /** Headers the last hop carried (the 401 refresh compares the token it used). */
  headers: Record<string, string>;
  /** The last hop's URL with its query. */
  url: string;
  /** Whether the last hop carried the authenticator's credentials. */
  credentialed: boolean;
  /** The origin of the last hop when credentials were withheld from it. */
  withheldFrom?: string;
}

/** Creates a client that sends requests with retries, auth and redacted errors. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const $fetch = createFetch({ fetch: options.fetch ?? globalThis.fetch });
  const redactor = options.redactor ?? new Redactor();
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? Date.now;
  const policy = options.retry;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_BYTES;
  const maxRetryAfterMs = (options.maxRetryAfter ?? 300) * 1000;
  const jitter = { random: options.random ?? Math.random };
  /** The server's Retry-After in ms, when it sent one and the policy honours it (capped). */
  const retryAfterOf = (headers: Headers): number | undefined => {
    const retryAfter = policy.respect_retry_after ? parseRetryAfter(headers.get("retry-after"), now()) : undefined;
    return retryAfter !== undefined ? Math.min(retryAfter, maxRetryAfterMs) : undefined;
  };
  /** The wait before retry number `retries`: the server's Retry-After when it sent one (exact, only capped), else backoff with jitter. */
  const retryDelay = (retries: number, headers?: Headers): number =>
    (headers && retryAfterOf(headers)) ?? backoffDelay(retries, policy.backoff_factor, policy.max_delay, jitter);
  const limiter =
    options.rateLimit === undefined ? undefined : "acquire" in options.rateLimit ? options.rateLimit : createRateLimiter({ now, sleep, ...options.rateLimit });

  const resolveUrl = (url: string): string => {
    if (/^https?:\/\//i.test(url) || !options.baseUrl) return url;
    return options.baseUrl.replace(/\/+$/, "") + "/" + url.replace(/^\/+/, "");
  };

  // Credentials go to the base URL's origin and the listed ones only (issue #11): a next-page
  // link, an absolute path or a redirect elsewhere must not hand them to whoever is there.
  const baseOrigin = options.baseUrl ? originOf(options.baseUrl) : undefined;
  const trusted = new Set([baseOrigin, ...(options.trustedOrigins ?? []).map(originOf)].filter((o) => o !== undefined));
  const secureBase = baseOrigin?.startsWith("https:") === true;
  // An http origin's host upgraded to https on its standard port (`http://api.example.com` answering 301 to
  // `https://api.example.com`) is the same party, better protected.
  const upgradable = new Set([...trusted].filter((o) => o.startsWith("http:")).map((o) => new URL(o).hostname));
  const warned = new Set<string>();
  const isSecretValue = (value: string) => redactor.redact(value) !== value;

  /** Whether a hop may carry credentials: a trusted origin, reached without leaving https. */
  const mayCarryCredentials = (to: URL, downgraded: boolean, extra: readonly string[] = []) =>
    !downgraded &&
    !(secureBase && to.protocol === "http:") &&
    (trusted.has(to.origin) || extra.includes(to.origin) || (to.protocol === "https:" && to.port === "" && upgradable.has(to.hostname)));

  /** Removes the headers that carry credentials; says whether there were any. */
  function withhold(headers: Record<string, string>): boolean {
    let any = false;
    for (const [name, value] of Object.entries(headers)) {
      if (CREDENTIAL_HEADER.test(name) || isSecretValue(value)) {
        delete headers[name];
        any = true;
      }
    }
    return any;
  }

  /**
   * One attempt: the request and the redirects it meets, followed here (`redirect: "manual"`)
   * because fetch keeps custom headers (an api_key's `X-API-Key`) on a hop to another origin and
   * strips only Authorization and Cookie. Each hop carries what its own origin may have.
   */
  async function send(
    req: HttpRequest,
    url: string,
    auth: Authenticator | undefined,
    opts: RequestOptions,
    signal: AbortSignal,
    /** Waits for the rate limit once the first hop's credentials are in hand (an OAuth2 token request goes first). */
    beforeFirst: (shownUrl: () => string) => Promise<void>,
  ): Promise<Sent> {
    let method: string = req.method;
    let form = req.form;
    let json = req.json;
    let data = req.data;
    let target = url;
    let query: HttpRequest["params"] = req.params;
    let downgraded = false;
    for (let hop = 0; ; hop++) {
      const to = new URL(target);
      const headers: Record<string, string> = { accept: "application/json", ...(opts.bare ? {} : options.headers), ...req.headers };
      const params = { ...query };
      // A bare request (the token request) carries its own credentials to the URL the config names, and no further.
      const credentialed = opts.bare === true || mayCarryCredentials(to, downgraded, opts.trustedOrigins);
      let withheldFrom: string | undefined;
      if (credentialed) {
        if (auth) await auth.apply({ headers, params }, opts.signal);
      } else if (withhold(headers) || auth) {
        withheldFrom = to.origin;
        if (!warned.has(to.origin)) {
          warned.add(to.origin);
          options.onEvent?.({ type: "credentials_withheld", url: redactor.redact(withQuery(target, params)), origin: to.origin, downgrade: downgraded || (secureBase && to.protocol === "http:") });
        }
      }
      if (form) headers["content-type"] = "application/x-www-form-urlencoded";
      else if (data && "form" in data) Object.assign(headers, withContentType(headers, "application/x-www-form-urlencoded"));
      const sentUrl = withQuery(target, params);
      const shown = () => redactor.redact(sentUrl);
      if (hop === 0) await beforeFirst(shown);
      const response = await $fetch.raw(target, {
        method,
        query: cleanParams(params),
        headers,
        body: form ? new URLSearchParams(form).toString() : data ? dataBody(data) : (json as Record<string, unknown> | undefined),
        retry: 0,
        ignoreResponseError: true,
        responseType: "stream",
        redirect: "manual",
        signal,
      });
      if (response.type === "opaqueredirect") {
        throw new HttpError(`[${method}] "${shown()}": the runtime hid a redirect's target, so it cannot be followed`, {
          url: shown(),
          attempts: 1,
          code: "REDIRECT_FAILED",
          hint: "point the config at the URL the API redirects to",
        });
      }
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get("location") : null;
      if (location === null) return { response, headers, url: sentUrl, credentialed: credentialed && auth !== undefined, withheldFrom };
      await response._data?.cancel().catch(() => {});
      const next = new URL(location, sentUrl);
      if (hop >= MAX_REDIRECTS) {
        throw new HttpError(`[${req.method}] "${redactor.redact(withQuery(url, req.params))}": more than ${MAX_REDIRECTS} redirects (the last to ${redactor.redact(next.toString())})`, {
          url: shown(),
          attempts: 1,
          code: "REDIRECT_FAILED",
          hint: "the API redirects in a loop or too often; point the config at the final URL",
        });
      }
      if (opts.bare && next.origin !== to.origin) {
        throw new HttpError(
          `[${method}] "${shown()}": ${response.status} redirect to another origin (${next.origin}) not followed, so what this request carries is not sent there`,
          { status: response.status, url: shown(), attempts: 1, code: "REDIRECT_REFUSED", hint: `if ${next.origin} is the real endpoint, put its URL in the config instead` },
        );
      }
      // Once a chain leaves https, nothing credential-like travels on it, whatever the origin.
      if (to.protocol === "https:" && next.protocol === "http:") downgraded = true;
      // 303, and 301/302 after a POST, turn into a GET without a body (Fetch standard, HTTP-redirect fetch step 12).
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
        method = "GET";
        form = undefined;
        json = undefined;
        data = undefined;
      }
      target = next.toString();
      query = undefined;
    }
  }

  async function request(req: HttpRequest, opts: RequestOptions = {}): Promise<HttpResponse> {
    const auth = opts.auth === null ? undefined : (opts.auth ?? options.auth);
    const url = resolveUrl(req.url);
    let shownUrl = redactor.redact(withQuery(url, req.params));
    let attempt = 0;
    let retries = 0;
    let refreshed = false;
    let rank: number | undefined;
    for (;;) {
      attempt++;
      // On the wire from here until the answer is read; a retry's wait below holds no slot.
      const wire: Slot | undefined = opts.slots ? await opts.slots.acquire(opts.signal, rank) : undefined;
      rank = wire?.rank;
      const signals = [AbortSignal.timeout(policy.timeout * 1000)];
      if (opts.signal) signals.push(opts.signal);
      const signal = AbortSignal.any(signals);

      let sent: Sent | undefined;
      let data = EMPTY;
      let bytes = 0;
      let failure: unknown;
      let slot: number | undefined;
      let acquired = false;
      const acquire = async (at: () => string) => {
        if (!limiter) return;
        ({ slot } = await limiter.acquire(opts.signal, (delayMs, reason) => options.onEvent?.({ type: "throttle", url: at(), delayMs, reason })));
        acquired = true;
      };
      try {
        sent = await send(req, url, auth, opts, signal, acquire);
        // Told before this attempt's slot is given back, so a 429's pause holds the next attempt back.
        if (sent.response.status === 429) options.adaptive?.onThrottle(retryAfterOf(sent.response.headers), wire?.rank);
        else if (sent.response.ok) options.adaptive?.onSuccess();
        shownUrl = redactor.redact(sent.url);
        ({ data, bytes } = await readBody(sent.response._data, maxBytes, shownUrl));
      } catch (error) {
        // Ours on purpose (an oversized body, a refused redirect, a failed token request): not a network failure to retry.
        if (error instanceof RestduckError) throw error;
        // ofetch wraps what fetch throws; a RestduckError from an injected fetch (a replay's missing answer) is final too.
        if ((error as { cause?: unknown })?.cause instanceof RestduckError) throw (error as { cause: RestduckError }).cause;
        if (opts.signal?.aborted) throw opts.signal.reason;
        failure = error;
      } finally {
        if (acquired) limiter?.release(sent?.response.headers, slot);
        wire?.release();
      }

      if (failure !== undefined || !sent) {
        const host = unresolvedHost(failure, url);
        if (host !== undefined) {
          throw new HttpError(`[${req.method}] "${shownUrl}": cannot resolve host ${host}: DNS knows no such name (ENOTFOUND); not retried`, {
            url: shownUrl,
            attempts: attempt,
            hint: `check the host in client.base_url (or an auth token_url) for a typo, and that this machine's DNS can see ${host}`,
            cause: failure,
          });
        }
        const reason = describeNetworkError(failure, policy.timeout);
        if (isRetryableError(failure) && retries < policy.max_retries) {
          retries++;
          const delayMs = retryDelay(retries);
          options.onEvent?.({ type: "retry", url: shownUrl, attempt, delayMs, reason });
          await sleep(delayMs, opts.signal);
          continue;
        }
        throw new HttpError(`[${req.method}] "${shownUrl}": ${reason} (after ${attempt} attempt${attempt > 1 ? "s" : ""})`, {
          url: shownUrl,
          attempts: attempt,
          hint: "check that the API is reachable; retries are set under client.retry",
          cause: failure,
        });
      }

      const response = sent.response;
      const status = response.status;
      // A refused request that carried no credentials (another origin) is not helped by new ones.
      if ((status === 401 || status === 403) && auth?.refresh && !refreshed && sent.credentialed) {
        refreshed = true;
        options.onEvent?.({ type: "auth_refresh", url: shownUrl });
        if (await auth.refresh(opts.signal, { headers: sent.headers })) continue;
      }
      if (isRetryableStatus(status, policy.status_codes) && retries < policy.max_retries) {
        retries++;
        const delayMs = retryDelay(retries, response.headers);
        options.onEvent?.({ type: "retry", url: shownUrl, attempt, delayMs, status, reason: `${status} ${response.statusText}`.trim() });
        await sleep(delayMs, opts.signal);
        continue;
      }
      const ok = status >= 200 && status < 300;
      const refusal = () => {
        const snippet = redactor.redact(bodySnippet(new TextDecoder().decode(data)));
        return new HttpError(
          `[${req.method}] "${shownUrl}": ${status} ${response.statusText}`.trim() +
            (attempt > 1 ? ` (after ${attempt} attempts)` : "") +
            (snippet ? ` — ${snippet}` : ""),
          {
            status,
            url: shownUrl,
            attempts: attempt,
            hint:
              sent.withheldFrom && (status === 401 || status === 403)
                ? `credentials are sent only to client.base_url's origin; if ${sent.withheldFrom} should get them too, add "${sent.withheldFrom}" to client.trusted_origins`
                : hintForStatus(status),
          },
        );
      };
      const answered = response;
      const parse = () => parseJson(new TextDecoder().decode(data), answered, shownUrl, req.method);
      const head = { status, headers: response.headers, url: shownUrl, bytes };
      if (opts.classify) {
        // The hook reads the body, so a classified answer is parsed now even when `lazy` asked otherwise.
        const refused = ok ? undefined : refusal();
        let text: string | undefined;
        const answer: Answer = { status, headers: response.headers, url: shownUrl, body: ok ? parse() : undefined, text: () => (text ??= refused ? refused.message : JSON.stringify(answer.body ?? "")) };
        const verdict = opts.classify(answer);
        // A reason quotes the body, which may echo a secret the request carried.
        const reason = verdict && verdict.action !== "ignore" ? redactor.redact(verdict.reason) : "";
        if (verdict?.action === "ignore") return { status, headers: new Headers(), url: shownUrl, body: undefined, bytes: 0, ignored: true } satisfies IgnoredResponse;
        if (verdict?.action === "retry" && retries < policy.max_retries) {
          // e.g. Slack's {"ok": false, "error": "ratelimited"} in a 200, or GitHub's 403 secondary rate limit.
          retries++;
          const delayMs = retryDelay(retries, response.headers);
          options.onEvent?.({ type: "retry", url: shownUrl, attempt, delayMs, status, reason: `response action: ${reason}` });
          await sleep(delayMs, opts.signal);
          continue;
        }
        if (refused) throw refused;
        if (verdict !== undefined) {
          const still = verdict.action === "retry" ? ` (still after ${retries} retr${retries === 1 ? "y" : "ies"})` : "";
          throw new HttpError(`[${req.method}] "${shownUrl}": ${status} response reports an error: ${reason}${still}`, {
            status,
            url: shownUrl,
            attempts: attempt,
            code: "RESPONSE_ACTION",
            hint: verdict.action === "retry" ? "the API kept reporting the error; raise client.retry.max_retries or slow down" : "the API reported an error in the body; see endpoint.response_actions",
          });
        }
        return { ...head, body: answer.body };
      }
      if (!ok) throw refusal();
      return opts.lazy ? lazyBody(head, parse) : { ...head, body: parse() };
    }
  }

  return { request };
}

function cleanParams(params: Record<string, string | number | boolean | undefined>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let any = false;
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    out[k] = String(v);
    any = true;
  }
  return any ? out : undefined;
}

/** The origin of a URL (`https://host:port`), or undefined when it is not an absolute URL. */
export function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** The URL a request goes to, with its query, for messages. */
export function withQuery(url: string, params?: Record<string, string | number | boolean | undefined>): string {
  const clean = params ? cleanParams(params) : undefined;
  if (!clean) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(clean)) u.searchParams.set(k, v);
  return u.toString();
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * A response whose body is decoded and parsed when first read. Pages fetched ahead of the one
 * being loaded (walkPages) wait as their bytes, a third of the size of the parsed objects or less,
 * so a long read-ahead window stays cheap. A body that is not JSON throws on every read.
 */
function lazyBody(head: Omit<HttpResponse, "body">, parse: () => unknown): HttpResponse {
  let pending: (() => unknown) | undefined = parse;
  let body: unknown;
  return {
    ...head,
    get body() {
      if (pending) {
        body = pending();
        pending = undefined;
      }
      return body;
    },
  };
}

async function readBody(stream: ReadableStream<Uint8Array> | undefined, maxBytes: number, url: string): Promise<{ data: Uint8Array; bytes: number }> {
  if (!stream) return { data: EMPTY, bytes: 0 };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new ResponseError(`Response from "${url}" is larger than ${maxBytes} bytes; stopped reading it`, {
        hint: "ask for smaller pages (a lower paginator limit), or raise client.max_response_bytes if the API really sends pages this large",
      });
    }
    chunks.push(value);
  }
  const all = chunks.length === 1 ? chunks[0] : concat(chunks, bytes);
  return { data: all, bytes };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Sets a content type unless the request's headers already name one (in any case). */
function withContentType(headers: Record<string, string>, type: string): Record<string, string> {
  return Object.keys(headers).some((k) => k.toLowerCase() === "content-type") ? headers : { ...headers, "content-type": type };
}

/**
 * The bytes of a `data` body. Raw text goes as bytes: a string body would make
 * fetch add `text/plain`, where requests (and so dlt) sends no content type.
 */
function dataBody(data: RequestData): string | Uint8Array {
  return "form" in data ? new URLSearchParams(data.form).toString() : new TextEncoder().encode(data.raw);
}

function parseJson(text: string, response: FetchResponse<unknown>, url: string, method: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    // JSON.parse changes numbers silently (1e400 → Infinity, big integers rounded): keep those exact.
    return parseJsonExact(text);
  } catch (cause) {
    const type = response.headers.get("content-type") ?? "no content type";
    throw new ResponseError(
      `[${method}] "${url}": ${response.status} response is not valid JSON (${type}, ${text.length} bytes): ${bodySnippet(text)}`,
      { hint: "check the endpoint path and that the API answers JSON; an HTML page usually means a wrong URL or a proxy error", cause },
    );
  }
}

/** The first bytes of a body, on one line, for error messages. */
export function bodySnippet(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${JSON.stringify(flat.slice(0, max))}…` : flat ? JSON.stringify(flat) : "";
}

function describeNetworkError(error: unknown, timeoutSeconds: number): string {
  const err = error as { name?: string; message?: string } | undefined;
  if (err?.name === "TimeoutError" || /timeout|timed out/i.test(err?.message ?? "")) return `no response within ${timeoutSeconds} s`;
  const chain = causeChain(error);
  // Deno names the failure only in words ("tcp connect error: Connection refused (os error 111)").
  const worded = chain.some((e) => /connection refused/i.test(e.message)) ? "ECONNREFUSED" : chain.some((e) => /connection reset/i.test(e.message)) ? "ECONNRESET" : undefined;
  const code = chain.find((e) => e.code)?.code ?? worded;
  if (code === "ECONNREFUSED") return "network error ECONNREFUSED (connection refused: nothing listens at that address)";
  if (code === "ECONNRESET") return "network error ECONNRESET (the server closed the connection)";
  // The innermost message is the socket's own ("bad port", Deno's "dns error: …"); outer ones say "fetch failed".
  const detail = chain.at(-1)?.message ?? String(error);
  return code ? `network error ${code}` : `network error: ${detail.replace(/\[[A-Z]+\] "[^"]*": /, "").split("\n")[0]}`;
}

/**
 * Errors down a fetch failure's cause chain: undici wraps the socket's error (`getaddrinfo
 * ENOTFOUND api.example.com`) in "fetch failed", ofetch wraps that again, and a dual-stack
 * connect gives an AggregateError of both attempts.
 */
function causeChain(error: unknown): { code?: string; message: string }[] {
  const out: { code?: string; message: string }[] = [];
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== "object" || depth > 6) return;
    const x = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    out.push({ code: typeof x.code === "string" ? x.code : undefined, message: typeof x.message === "string" ? x.message : String(e) });
    if (Array.isArray(x.errors)) for (const inner of x.errors) walk(inner, depth + 1);
    walk(x.cause, depth + 1);
  };
  walk(error, 0);
  return out;
}

/**
 * The host a request failed on because DNS has no such name (Node and Bun: ENOTFOUND; Deno:
 * "dns error: failed to lookup address"). That is not transient like a refused or reset
 * connection: retrying it only delays the error, so it fails at once. EAI_AGAIN (the resolver
 * itself failed for now) is still retried.
 */
function unresolvedHost(error: unknown, url: string): string | undefined {
  const dns = causeChain(error).some(
    (e) => e.code === "ENOTFOUND" || /dns error: failed to lookup|Name or service not known|nodename nor servname/i.test(e.message),
  );
  if (!dns) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return "(unknown host)";
  }
}

function hintForStatus(status: number): string {
  if (status === 401 || status === 403) return "check the credentials in client.auth and their secrets";
  if (status === 404) return "check client.base_url and the endpoint path";
  if (status === 429) return "the API rate-limits this client; raise client.retry.max_retries or slow down";
  if (status >= 500) return "the API failed; try again later, or raise client.retry.max_retries";
  return "check the request parameters in the endpoint config";
}
