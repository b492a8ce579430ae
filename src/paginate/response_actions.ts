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
 * The actions are a classification hook of the one HTTP client
 * (`RequestOptions.classify`), not a client of their own: the client's retry
 * policy goes first (network errors, `client.retry.status_codes`), then the
 * actions classify the answer it would hand back. A `retry` they ask for
 * draws on the same `max_retries` budget, so a 503 that a rule also retries
 * is asked at most `max_retries + 1` times, not (max_retries + 1)² (issue #14).
 *
 * For responses the HTTP client refuses (4xx, or a 5xx after its retries),
 * `content` is matched against the start of the body the error message carries.
 */
import type { ResponseActionConfig } from "../config/schema.ts";
import { firstJsonPath } from "../shared/jsonpath.ts";
import { isIgnored, type Answer, type HttpClient, type ResponseClassifier, type Verdict } from "../http/client.ts";
import type { Paginator } from "./types.ts";

type ActionName = "ignore" | "error" | "retry";

/** What a response action function sees. */
export interface ResponseView {
  status: number;
  headers: Headers;
  url: string;
  body: unknown;
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

/**
 * The endpoint's response actions as the client's classification hook, or undefined for none.
 * A function action may change the body the page is read from (`view.body`).
 */
export function responseActionsHook(actions: readonly ResponseActionConfig[]): ResponseClassifier | undefined {
  if (actions.length === 0) return undefined;
  return (answer: Answer): Verdict | undefined => {
    const received = answer.body;
    const view: ResponseView = { status: answer.status, headers: answer.headers, url: answer.url, body: received };
    const action = decide(actions, view, answer.text);
    answer.body = view.body;
    if (action === undefined) return undefined;
    if (action === "ignore") return { action };
    // A refused answer has no body here: its status says what it was.
    const refused = answer.status < 200 || answer.status >= 300;
    return { action, reason: refused ? String(answer.status) : bodyError(received) };
  };
}

/** Hands every request of `http` the endpoint's response actions as its classification hook. */
export function withResponseActions(http: HttpClient, actions: readonly ResponseActionConfig[]): HttpClient {
  const classify = responseActionsHook(actions);
  if (!classify) return http;
  return { request: (req, opts) => http.request(req, { ...opts, classify }) };
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
