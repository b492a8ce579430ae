/**
 * The run's HTTP edge: record or replay at the fetch, one client with one
 * adaptive limit for the whole API, each resource's authenticator, the
 * request and retry counts, and the warnings about where credentials go.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { resolve as resolvePath } from "node:path";
import { createAuthenticator } from "../auth/index.ts";
import type { LoadedConfig, ResourcePlan } from "../config/index.ts";
import { createHttpClient, originOf, type HttpClient, type HttpEvent } from "../http/client.ts";
import { createAdaptiveConcurrency, DEFAULT_CONCURRENCY, type AdaptiveConcurrency } from "../http/concurrency.ts";
import { rateLimitOptions } from "../http/rate_limit.ts";
import { createRecorder, readRecording, replayFetch, type Recorder } from "../http/record.ts";
import type { Redactor } from "../redact.ts";
import type { PipelineEvent, RunOptions } from "./types.ts";

export interface RunHttp {
  /** The client a resource requests with: its own auth (or the client's), and the origin its endpoint.auth is meant for. */
  forResource(resource: ResourcePlan): HttpClient;
  /** One adaptive limit for the whole API: a 429 on any request halves what is in flight (issue #6). */
  adaptive: AdaptiveConcurrency;
  /** The sleep the run waits with (a replay does not wait). */
  sleep: RunOptions["sleep"];
  /** The HAR file the run writes (`record`) or is served from (`replay`). */
  recording?: { mode: "record" | "replay"; path: string };
  recorder?: Recorder;
  readonly requests: number;
  readonly retries: number;
}

/** Sets up the run's HTTP edge for the resources it fetches. Throws when the replay's recording cannot be read. */
export function runHttp(loaded: LoadedConfig, toFetch: ResourcePlan[], options: RunOptions, context: { pipelineName: string; redactor: Redactor; emit: (e: PipelineEvent) => void }): RunHttp {
  const { plan } = loaded;
  const { pipelineName, redactor, emit } = context;
  // Record and replay sit at the fetch edge: every request (token requests and retries too) passes there.
  let fetchImpl = options.fetch;
  let sleepImpl = options.sleep;
  let recorder: Recorder | undefined;
  let recording: { mode: "record" | "replay"; path: string } | undefined;
  if (options.replay !== undefined) {
    const found = readRecording(resolvePath(options.cwd ?? process.cwd(), options.replay), pipelineName);
    fetchImpl = replayFetch(found, redactor);
    // Recorded Retry-After and backoff waits protected the API, which a replay does not reach.
    sleepImpl = async (_ms, signal) => signal?.throwIfAborted();
    recording = { mode: "replay", path: found.path };
  } else if (options.record !== undefined) {
    recorder = createRecorder(resolvePath(options.cwd ?? process.cwd(), options.record), pipelineName, { fetch: options.fetch, redactor });
    fetchImpl = recorder.fetch;
    recording = { mode: "record", path: recorder.path };
  }

  let requests = 0;
  let retries = 0;
  // Resources run side by side over the one client, whose events do not say whose request they are
  // about: each resource's requests run in its own async context, which the events are told in.
  const requestedFor = new AsyncLocalStorage<string>();
  const edge = {
    get requests() {
      return requests;
    },
    get retries() {
      return retries;
    },
  };
  const onHttp = (e: HttpEvent) => {
    const resource = requestedFor.getStore() ?? "";
    if (e.type === "retry") {
      retries++;
      emit({ type: "retry", resource, url: e.url, attempt: e.attempt, delayMs: e.delayMs, status: e.status, reason: e.reason });
    } else if (e.type === "throttle") emit({ type: "throttle", resource, url: e.url, delayMs: e.delayMs, reason: e.reason });
    else if (e.type === "credentials_withheld") emit({ type: "warning", message: withheldMessage(e, resource) });
    else emit({ type: "auth_refresh", resource, url: e.url });
  };
  // A configured concurrency is where the limit starts and a hard cap; without one it starts at the
  // seed's 4 and grows to 16 while the API answers well (issue #15). Either way a 429 halves it.
  const explicit = options.concurrency ?? plan.concurrency;
  const adaptive = createAdaptiveConcurrency({ ...(explicit !== undefined ? { max: explicit } : DEFAULT_CONCURRENCY), sleep: sleepImpl, now: options.now });
  const baseHttp = createHttpClient({
    baseUrl: plan.baseUrl,
    trustedOrigins: trustedOrigins(loaded, toFetch),
    headers: plan.headers,
    retry: plan.retry,
    redactor,
    onEvent: onHttp,
    // A replay has no server to pace for.
    rateLimit: options.replay !== undefined ? undefined : rateLimitOptions(plan.rateLimit),
    maxResponseBytes: plan.maxResponseBytes,
    adaptive,
    fetch: fetchImpl,
    sleep: sleepImpl,
    now: options.now,
    random: options.random,
  });
  const counting: HttpClient = {
    request(req, opts) {
      requests++;
      return baseHttp.request(req, opts);
    },
  };
  // client.concurrency is the API's budget, not each resource's: every walk of every resource takes its
  // slots from the one `adaptive` gate, one per attempt on the wire (issue #15), so resources side by side
  // share it and a request sleeping through a backoff holds none. Token requests (made by the
  // authenticators through `counting`, inside a resource's request) take no slot, or a full gate of
  // requests waiting for a token would wait for ever.
  const clientAuth = plan.auth ? createAuthenticator(plan.auth, { http: counting, redactor, now: options.now }) : undefined;
  const forResource = (r: ResourcePlan): HttpClient => {
    const auth = r.endpoint.auth ? createAuthenticator(r.endpoint.auth, { http: counting, redactor, now: options.now }) : clientAuth;
    // endpoint.auth written beside an absolute path is meant for that path's origin: it is trusted for this resource.
    const own = r.endpoint.auth ? originOf(r.endpoint.path) : undefined;
    const trustedHere = own ? [own] : undefined;
    const send: HttpClient["request"] = (req, opts) => counting.request(req, { ...opts, auth: opts?.auth === null ? null : auth, trustedOrigins: trustedHere });
    return { request: (req, opts) => requestedFor.run(r.name, () => send(req, opts)) };
  };
  return Object.assign(edge, { forResource, adaptive, sleep: sleepImpl, recording, recorder });
}

/** Warns of credentials or data sent over plain http: to base_url, and to OAuth2 token URLs, which carry the client secret. */
export function insecureWarnings(plan: LoadedConfig["plan"], toFetch: ResourcePlan[], emit: (e: PipelineEvent) => void): void {
  warnInsecure(plan.baseUrl, "client.base_url", emit);
  // OAuth2 token URLs carry the client secret: plain http to them is worse than to the API (access_token_url / token_url).
  const tokenUrls = new Map<string, string>();
  if (plan.auth?.type === "oauth2_client_credentials") tokenUrls.set(plan.auth.access_token_url, "client.auth.access_token_url");
  for (const r of toFetch) if (r.endpoint.auth?.type === "oauth2_client_credentials") tokenUrls.set(r.endpoint.auth.access_token_url, `${r.at}.endpoint.auth.access_token_url`);
  for (const [url, at] of tokenUrls) warnInsecure(url, at, emit);
}

/**
 * Origins that receive credentials besides base_url's: client.trusted_origins, and, in a config
 * without a base_url, the origins its endpoints' absolute paths name (there is no other to trust).
 */
function trustedOrigins(loaded: LoadedConfig, resources: ResourcePlan[]): string[] {
  const listed = loaded.config.client.trusted_origins ?? [];
  if (loaded.plan.baseUrl) return listed;
  const named = resources.map((r) => originOf(r.endpoint.path)).filter((o) => o !== undefined);
  return [...listed, ...named];
}

/** The warning for a request sent without credentials: where, why, and the key that allows it. */
function withheldMessage(e: Extract<HttpEvent, { type: "credentials_withheld" }>, resource: string): string {
  const where = `${resource ? `resource ${resource}: ` : ""}${e.url} is on ${e.origin}`;
  return e.downgrade
    ? `${where}, reached over plain http from https: sent without credentials; point the config at an https URL`
    : `${where}, not the origin of client.base_url: sent without credentials; if it should get them, add "${e.origin}" to client.trusted_origins`;
}

function warnInsecure(baseUrl: string | undefined, at: string, emit: (e: PipelineEvent) => void): void {
  if (!baseUrl) return;
  try {
    const u = new URL(baseUrl);
    if (u.protocol === "http:" && !["127.0.0.1", "localhost", "[::1]", "::1"].includes(u.hostname)) {
      emit({ type: "warning", message: `${at} uses plain http to ${u.hostname}: credentials and data travel unencrypted; use https` });
    }
  } catch {
    // An unparsable base_url fails on the first request with a clearer message.
  }
}

