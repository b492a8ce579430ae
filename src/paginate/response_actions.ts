/**
 * `response_actions`: dlt's per-endpoint rules for responses, checked in
 * order, first match wins.
 *
 * - `{ status_code: 404, action: "ignore" }` — e.g. a deleted parent's
 *   children: the response counts as an empty last page (dlt's
 *   IgnoreResponseException).
 * - `{ content: "Not found", action: "ignore" }` — a substring of the body.
 * - restduck's `body_path` with `equals` / `not_equals` matches a value in a
 *   JSON body, so an error inside an HTTP 200 (Slack's `{"ok": false,
 *   "error": "ratelimited"}`) becomes `action: "error"` (fail with the
 *   body's error) or `action: "retry"` (wait with the client's backoff, or
 *   the Retry-After header, and ask again, up to `client.retry.max_retries`).
 * - A TS config may give a function (or list of them) as the action, or as
 *   the rule itself; it sees `{ status, headers, url, body }`, may change
 *   `body`, and may return "ignore", "error" or "retry".
 *
 * For responses the HTTP client already refused (4xx/5xx after its
 * retries), `content` is matched against the start of the body the error
 * message carries.
 */
import type { ResponseActionConfig, RetryConfig } from "../config/schema.ts";
import { HttpError } from "../errors.ts";
import { firstJsonPath } from "../extract/jsonpath.ts";
import type { HttpClient, HttpResponse } from "../http/client.ts";
import { abortableSleep } from "../http/client.ts";
import { backoffDelay, parseRetryAfter } from "../http/retry.ts";
import type { Paginator } from "./types.ts";

type ActionName = "ignore" | "error" | "retry";

/** What a response action function sees. */
export interface ResponseView {
  status: number;
  headers: Headers;
  url: string;
  body: unknown;
}

const ignored = new WeakSet<HttpResponse>();

/** Whether a response was turned into an empty last page by an `ignore` action. */
export function isIgnored(response: HttpResponse): boolean {
  return ignored.has(response);
}

function matches(rule: Exclude<ResponseActionConfig, (...a: never[]) => unknown>, status: number, text: string, body: unknown): boolean {
  if (rule.status_code !== undefined && Number(rule.status_code) !== status) return false;
  if (rule.content !== undefined && !text.includes(rule.content)) return false;
  if (rule.body_path !== undefined) {
    const value = firstJsonPath(body, rule.body_path);
    if (rule.equals !== undefined && JSON.stringify(value) !== JSON.stringify(rule.equals)) return false;
    if (rule.not_equals !== undefined && JSON.stringify(value) === JSON.stringify(rule.not_equals)) return false;
    if (rule.equals === undefined && rule.not_equals === undefined && value === undefined) return false;
  }
  return true;
}

/** Runs the rules against one response; returns the action to take, if any. */
function decide(actions: readonly ResponseActionConfig[], view: ResponseView, text: () => string): ActionName | undefined {
  for (const rule of actions) {
    if (typeof rule === "function") {
      const out = rule({ ...view, text: text() } as never);
      if (out === "ignore" || out === "error" || out === "retry") return out;
      continue;
    }
    if (!matches(rule, view.status, text(), view.body)) continue;
    const hooks = typeof rule.action === "function" ? [rule.action] : Array.isArray(rule.action) ? rule.action : undefined;
    if (!hooks) return rule.action as ActionName;
    for (const hook of hooks) {
      const out = (hook as (v: ResponseView) => unknown)(view);
      if (out === "ignore" || out === "error" || out === "retry") return out;
    }
  }
  return undefined;
}

/** A short description of an error inside a body: its `error` / `message` fields. */
function bodyError(body: unknown): string {
  const pick = (path: string) => {
    const v = firstJsonPath(body, path);
    return typeof v === "string" || typeof v === "number" ? String(v) : typeof v === "object" && v !== null ? JSON.stringify(v).slice(0, 160) : undefined;
  };
  return pick("error") ?? pick("error_description") ?? pick("message") ?? pick("errors") ?? JSON.stringify(body ?? null).slice(0, 160);
}

export interface ResponseActionOptions {
  retry: Pick<RetryConfig, "max_retries" | "backoff_factor" | "max_delay" | "respect_retry_after">;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** Told about each retry a rule asks for. */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
}

/** Wraps a client so that every response passes the endpoint's response actions. */
export function withResponseActions(http: HttpClient, actions: readonly ResponseActionConfig[], options: ResponseActionOptions): HttpClient {
  if (actions.length === 0) return http;
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? Date.now;
  return {
    async request(req, opts) {
      for (let retries = 0; ; ) {
        let response: HttpResponse;
        try {
          response = await http.request(req, opts);
        } catch (error) {
          if (!(error instanceof HttpError) || error.status === undefined) throw error;
          const view: ResponseView = { status: error.status, headers: new Headers(), url: error.url, body: undefined };
          const action = decide(actions, view, () => error.message);
          if (action === "ignore") return ignoredResponse(view);
          // e.g. GitHub's secondary rate limit: a 403 whose body says so.
          if (action === "retry" && retries < options.retry.max_retries) {
            retries++;
            const delayMs = backoffDelay(retries, options.retry.backoff_factor, options.retry.max_delay);
            options.onRetry?.({ url: error.url, attempt: retries, delayMs, reason: `response action: ${error.status}` });
            await sleep(delayMs, opts?.signal);
            continue;
          }
          throw error;
        }
        let text: string | undefined;
        const view: ResponseView = { status: response.status, headers: response.headers, url: response.url, body: response.body };
        const action = decide(actions, view, () => (text ??= JSON.stringify(response.body ?? "")));
        if (action === undefined) return view.body === response.body ? response : { ...response, body: view.body };
        if (action === "ignore") return ignoredResponse(view);
        const detail = bodyError(response.body);
        if (action === "retry" && retries < options.retry.max_retries) {
          retries++;
          const after = options.retry.respect_retry_after ? parseRetryAfter(response.headers.get("retry-after"), now()) : undefined;
          const delayMs = after ?? backoffDelay(retries, options.retry.backoff_factor, options.retry.max_delay);
          options.onRetry?.({ url: response.url, attempt: retries, delayMs, reason: `response action: ${detail}` });
          await sleep(delayMs, opts?.signal);
          continue;
        }
        throw new HttpError(
          `[${req.method}] "${response.url}": ${response.status} response reports an error: ${detail}${action === "retry" ? ` (still after ${retries} retr${retries === 1 ? "y" : "ies"})` : ""}`,
          {
            status: response.status,
            url: response.url,
            attempts: retries + 1,
            code: "RESPONSE_ACTION",
            hint: action === "retry" ? "the API kept reporting the error; raise client.retry.max_retries or slow down" : "the API reported an error in the body; see endpoint.response_actions",
          },
        );
      }
    },
  };
}

function ignoredResponse(view: ResponseView): HttpResponse {
  // No body: the walk reads no records from it, whatever the data_selector.
  const response: HttpResponse = { status: view.status, headers: new Headers(), url: view.url, body: undefined, bytes: 0 };
  ignored.add(response);
  return response;
}

/** A paginator that ends the walk after an ignored response, whatever the wrapped one would do. */
export function stopOnIgnored(paginator: Paginator): Paginator {
  return {
    get name() {
      return paginator.name;
    },
    init: (r) => paginator.init(r),
    next: (request, response, records) => (isIgnored(response) ? undefined : paginator.next(request, response, records)),
    plan: paginator.plan ? (request, response, records) => (isIgnored(response) ? undefined : paginator.plan!(request, response, records)) : undefined,
    totalPages: (response) => (isIgnored(response) ? undefined : paginator.totalPages?.(response)),
  };
}


