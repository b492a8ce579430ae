/**
 * The valibot schema of a restduck config: the single source of the config
 * types. The vocabulary is dlt's `rest_api_source` (snake_case keys, `type`
 * discriminators) so dlt configs carry over unchanged; restduck's own keys
 * (`retry`, `views`, `pipeline_name`, …) sit beside them.
 *
 * Reference: https://dlthub.com/docs/dlt-ecosystem/verified-sources/rest_api/basic
 */
import * as v from "valibot";
import { DEFAULT_RETRY_STATUSES } from "../http/retry.ts";
import { DATA_TYPES } from "../normalize/types.ts";
import { compileJsonPath } from "../shared/jsonpath.ts";

// ---------------------------------------------------------------- helpers

const describe = (input: unknown): string => {
  if (input === undefined) return "nothing";
  try {
    const text = JSON.stringify(input);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return String(input);
  }
};

/** A strict object whose unknown-key error lists the keys it knows. */
function obj<const E extends v.ObjectEntries>(entries: E, what = "an object") {
  const known = Object.keys(entries).join(", ");
  return v.strictObject(entries, (issue) =>
    issue.expected === "never"
      ? `unknown key ${issue.received}; known: ${known}`
      : issue.expected?.startsWith('"')
        ? `required key ${issue.expected} is missing`
        : `expected ${what}, got ${describe(issue.input)}`,
  );
}

/**
 * Accepts a shorthand string for an object (`"messages"` for `{ name: "messages" }`)
 * by expanding it before validation, so errors point inside the object
 * rather than at a vague union.
 */
function orString<S extends v.GenericSchema>(expand: (s: string) => object, schema: S) {
  return v.pipe(
    v.unknown(),
    v.transform((x) => (typeof x === "string" ? expand(x) : x)),
    schema,
  );
}

const str = (what = "a string") => v.string(`expected ${what}`);
const nonEmpty = (what = "a non-empty string") => v.pipe(str(what), v.minLength(1, `expected ${what}`));
const posInt = (what = "a positive integer") =>
  v.pipe(v.number(`expected ${what}`), v.integer(`expected ${what}`), v.minValue(1, `expected ${what}`));
const nonNegInt = (what = "a non-negative integer") =>
  v.pipe(v.number(`expected ${what}`), v.integer(`expected ${what}`), v.minValue(0, `expected ${what}`));
const nonNegNum = (what = "a non-negative number") =>
  v.pipe(v.number(`expected ${what}`), v.minValue(0, `expected ${what}`));
const posNum = (what = "a positive number") =>
  v.pipe(v.number(`expected ${what}`), v.gtValue(0, `expected ${what}`));
const bool = () => v.boolean("expected true or false");

/** Why `expr` is no JSONPath we can run (the parser's message), or undefined; "" means "not set". */
function jsonPathProblem(expr: string): string | undefined {
  if (expr === "") return undefined;
  try {
    compileJsonPath(expr);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
/** A JSONPath, parsed here so a typo fails validation (exit 2) before any database is opened or request sent. */
const jsonPath = () =>
  v.pipe(
    str("a JSONPath"),
    v.check((x) => jsonPathProblem(x) === undefined, (issue) => jsonPathProblem(issue.input as string) ?? "expected a JSONPath"),
  );

const scalar = v.union([v.string(), v.number(), v.boolean()], "expected a string, number or boolean");
/** valibot's record accepts a list and turns it into `{"0": …}`; a list where a mapping belongs is a mistake. */
const notList = <S extends v.GenericSchema>(what: string, schema: S) =>
  v.pipe(v.unknown(), v.check((x) => !Array.isArray(x), `expected ${what}, got a list`), schema);
const stringMap = notList("an object of strings", v.record(v.string(), str(), "expected an object of strings"));
/**
 * dlt accepts `None` for most optional keys, meaning "not set": `unset` reads
 * null as absent (the default applies), so inner code never sees null.
 */
const unset = <S extends v.GenericSchema>(schema: S) => v.pipe(v.nullish(schema), v.transform((x) => x ?? undefined));
/**
 * Resource and endpoint keys keep an explicit null: it overrides what
 * `resource_defaults` (or the client) would give, as a `None` does in dlt
 * (`paginator: None` drops an inherited paginator). The plan reads null as unset.
 */
const orNull = <S extends v.GenericSchema>(schema: S) => v.optional(v.nullable(schema));
const oneOf = <const T extends readonly string[]>(values: T) =>
  v.picklist(values, (issue) => `expected one of ${values.map((x) => `"${x}"`).join(", ")}, got ${describe(issue.input)}`);

/** A `type`-discriminated union whose error for an unknown type lists the known ones. */
function byType<const O extends v.VariantOptions<"type">>(what: string, known: readonly string[], options: O) {
  return v.variant("type", options, (issue) =>
    issue.input === undefined
      ? `required key "type" is missing; known types: ${known.join(", ")}`
      : issue.expected === "Object"
        ? `expected an object with a "type" (one of: ${known.join(", ")}), got ${describe(issue.input)}`
        : `unknown ${what} ${describe(issue.input)}; known: ${known.join(", ")}`,
  );
}

// ------------------------------------------------------------------- auth

const BearerAuth = obj({ type: v.literal("bearer"), token: nonEmpty() });

const ApiKeyAuth = obj({
  type: v.literal("api_key"),
  name: v.nullish(nonEmpty(), "Authorization"),
  api_key: nonEmpty(),
  location: v.pipe(
    v.nullish(oneOf(["header", "query", "param", "cookie"] as const), "header"),
    // dlt spells the query-string location both "query" and "param".
    v.transform((l) => (l === "param" ? "query" : l)),
  ),
});

const HttpBasicAuth = obj({ type: v.literal("http_basic"), username: str(), password: str() });

const OAuth2Auth = v.pipe(
  obj({
    type: oneOf(["oauth2_client_credentials", "oauth2"] as const),
    access_token_url: unset(nonEmpty("a URL")),
    token_url: unset(nonEmpty("a URL")),
    client_id: nonEmpty(),
    client_secret: nonEmpty(),
    scopes: unset(v.union([str(), v.array(str())], "expected a string or a list of strings")),
    access_token_request_data: unset(v.record(v.string(), scalar)),
    default_token_expiration: v.nullish(posInt("a positive number of seconds"), 3600),
    client_auth: v.nullish(oneOf(["body", "basic"] as const), "body"),
  }),
  v.check(
    (a) => Boolean(a.access_token_url ?? a.token_url),
    'expected "access_token_url" (or its alias "token_url"): the URL to request tokens from',
  ),
  v.transform(({ token_url, access_token_url, ...rest }) => ({
    ...rest,
    type: "oauth2_client_credentials" as const,
    access_token_url: (access_token_url ?? token_url) as string,
  })),
);

/** Every auth type restduck implements, by its config name (aliases included). */
export const AUTH_TYPES = ["bearer", "api_key", "http_basic", "oauth2_client_credentials", "oauth2"] as const;

export const AuthSchema = v.pipe(
  v.unknown(),
  // dlt's shorthands: `"bearer"` is `{ type: "bearer" }` (its values come from the secrets, see
  // secrets.ts fillAuthCredentials), and `{ token }` without a type is bearer auth.
  v.transform((x) =>
    typeof x === "string"
      ? { type: x }
      : typeof x === "object" && x !== null && (x as { type?: unknown }).type == null && "token" in x
        ? { ...x, type: "bearer" }
        : x,
  ),
  byType("auth type", AUTH_TYPES, [BearerAuth, ApiKeyAuth, HttpBasicAuth, OAuth2Auth]),
);

// -------------------------------------------------------------- paginators

const SinglePage = obj({ type: v.literal("single_page") });

const stopRules = {
  /** null: the response has no total (dlt's `total_path: None`). */
  total_path: v.optional(v.nullable(jsonPath())),
  stop_after_empty_page: v.nullish(bool(), true),
  has_more_path: unset(jsonPath()),
};

/**
 * offset and page_number stop at the total (total_path, "total" when unset),
 * at has_more false, at the maximum or at an empty page; with none of them the
 * walk would never end.
 */
const hasStopRule = (p: { total_path?: string | null; stop_after_empty_page: boolean; has_more_path?: string }, maximum: number | undefined) =>
  p.stop_after_empty_page || p.total_path === undefined || Boolean(p.total_path) || Boolean(p.has_more_path) || maximum !== undefined;
const noStopRule = (maximum: string) =>
  `no stop rule: with no total_path and stop_after_empty_page false, nothing ends the walk; set total_path, has_more_path, ${maximum}, or stop_after_empty_page: true`;

const Offset = v.pipe(obj({
  type: v.literal("offset"),
  limit: posInt(),
  offset: v.nullish(nonNegInt(), 0),
  offset_param: v.nullish(nonEmpty(), "offset"),
  limit_param: v.nullish(nonEmpty(), "limit"),
  offset_body_path: unset(nonEmpty("a dotted path")),
  limit_body_path: unset(nonEmpty("a dotted path")),
  maximum_offset: unset(posInt()),
  ...stopRules,
}), v.check((p) => hasStopRule(p, p.maximum_offset), noStopRule("maximum_offset")));

const PageNumber = v.pipe(obj({
  type: v.literal("page_number"),
  base_page: v.nullish(nonNegInt(), 0),
  page: unset(nonNegInt()),
  page_param: v.nullish(nonEmpty(), "page"),
  page_body_path: unset(nonEmpty("a dotted path")),
  maximum_page: unset(posInt()),
  ...stopRules,
}), v.check((p) => hasStopRule(p, p.maximum_page), noStopRule("maximum_page")));

const Cursor = obj({
  type: v.literal("cursor"),
  cursor_path: v.nullish(jsonPath(), "cursors.next"),
  cursor_param: unset(nonEmpty()),
  cursor_body_path: unset(nonEmpty("a dotted path")),
  has_more_path: unset(jsonPath()),
  stop_after_empty_page: v.nullish(bool(), false),
});

const JsonLink = obj({ type: v.literal("json_link"), next_url_path: v.nullish(jsonPath(), "next") });
/** dlt's deprecated name for `json_link`. */
const JsonResponse = v.pipe(
  obj({ type: v.literal("json_response"), next_url_path: v.nullish(jsonPath(), "next") }),
  v.transform((p) => ({ ...p, type: "json_link" as const })),
);
const HeaderLink = obj({ type: v.literal("header_link"), links_next_key: v.nullish(nonEmpty(), "next") });
const HeaderCursor = obj({
  type: v.literal("header_cursor"),
  cursor_key: v.nullish(nonEmpty(), "next"),
  cursor_param: v.nullish(nonEmpty(), "cursor"),
});
const Auto = obj({ type: v.literal("auto") });

/** Every paginator type restduck implements, by its config name. */
export const PAGINATOR_TYPES = [
  "auto",
  "single_page",
  "offset",
  "page_number",
  "cursor",
  "json_link",
  "header_link",
  "header_cursor",
  "json_response",
] as const;

export const PaginatorSchema = orString(
  (type) => ({ type }),
  byType("paginator", PAGINATOR_TYPES, [SinglePage, Offset, PageNumber, Cursor, JsonLink, JsonResponse, HeaderLink, HeaderCursor, Auto]),
);

// ----------------------------------------------------------------- client

export const RetrySchema = obj({
  max_retries: v.optional(nonNegInt(), 3),
  backoff_factor: v.optional(nonNegNum(), 2),
  max_delay: v.optional(posNum("a positive number of seconds"), 60),
  status_codes: v.optional(
    v.array(v.pipe(v.number(), v.integer(), v.minValue(100, "expected an HTTP status"), v.maxValue(599, "expected an HTTP status"))),
    [...DEFAULT_RETRY_STATUSES],
  ),
  timeout: v.optional(posNum("a positive number of seconds"), 30),
  respect_retry_after: v.optional(bool(), true),
});

/**
 * `client.rate_limit`: requests per second (`10`), or N per window
 * (`{ requests: 100, per_seconds: 60 }`), plus which rate-limit headers the
 * server sends (`X-RateLimit-Remaining` / `X-RateLimit-Reset` by default;
 * reset as epoch seconds, seconds from now, or `auto`).
 */
export const RateLimitSchema = v.pipe(
  v.unknown(),
  v.transform((x) => (typeof x === "number" ? { requests_per_second: x } : x)),
  obj({
    requests_per_second: v.optional(posNum("a positive number of requests per second")),
    requests: v.optional(posInt("a positive number of requests")),
    per_seconds: v.optional(posNum("a positive number of seconds"), 1),
    headers: v.optional(bool(), true),
    remaining_header: v.optional(nonEmpty("a header name")),
    reset_header: v.optional(nonEmpty("a header name")),
    reset_format: v.optional(oneOf(["auto", "epoch", "delta"] as const), "auto"),
  }, "a number of requests per second or { requests, per_seconds }"),
);

/**
 * One entry of `client.trusted_origins` (restduck): `https://files.example.com[:port]`, an
 * origin that receives the credentials besides base_url's (issue #11). A path would suggest a
 * narrower scope than the one that applies, so only scheme, host and port are accepted.
 */
const TrustedOrigin = v.pipe(
  str("an origin like https://files.example.com"),
  v.check((x) => {
    try {
      const u = new URL(x);
      return (u.protocol === "https:" || u.protocol === "http:") && !u.username && !u.password && !u.search && !u.hash && (u.pathname === "/" || u.pathname === "") && !/\/.+/.test(x.replace(/^[a-z]+:\/\//i, ""));
    } catch {
      return false;
    }
  }, (issue) => `expected an origin like "https://files.example.com" (scheme, host and port only), got ${describe(issue.input)}`),
);

/** An absolute http(s) URL: a base_url without a scheme would fail every request with a bare "Invalid URL". */
const BaseUrl = v.pipe(
  nonEmpty("a URL"),
  v.check((u) => {
    try {
      return ["http:", "https:"].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  }, (issue) => {
    // A user:password@ part is masked: the message echoes what was written.
    const written = String(issue.input).replace(/^(.*)@/, "***@");
    const rest = written.replace(/^[a-z]+:\/*/i, "");
    const like = rest.startsWith("/") ? `https://api.example.com${rest}` : `https://${rest || "api.example.com"}`;
    return `expected an absolute URL with its scheme, like "${like}", got ${describe(written)}`;
  }),
);

const ClientSchema = obj({
  base_url: unset(BaseUrl),
  headers: unset(stringMap),
  auth: unset(AuthSchema),
  /** null: no client-wide paginator (each endpoint's, else `auto`), as dlt's `paginator: None`. */
  paginator: unset(PaginatorSchema),
  retry: v.optional(RetrySchema, {}),
  /**
   * Most requests on the wire, a hard cap. Unset, the limit starts at 4 and grows while answers are
   * healthy up to 16 (DEFAULT_CONCURRENCY in http/concurrency.ts); 429s shrink it either way.
   */
  concurrency: v.optional(posInt("a positive number of requests")),
  rate_limit: v.optional(RateLimitSchema),
  /** Largest response body accepted, in bytes: a hostile or broken server cannot exhaust memory. */
  max_response_bytes: v.optional(posInt("a positive number of bytes"), 64 * 1024 * 1024),
  /** Origins besides base_url's that receive the credentials (restduck); any other origin gets requests without them. */
  trusted_origins: v.optional(v.array(TrustedOrigin, "expected a list of origins like [\"https://files.example.com\"]")),
});

// --------------------------------------------------------------- resources

/** A value a TS config may give as a function (processing steps, convert, response hooks). */
const fn = <T extends (...args: never[]) => unknown>() => v.custom<T>((x) => typeof x === "function", "expected a function");

/** A function (TS configs) or a value checked by `schema`, whose own errors then point inside it. */
const fnOr = <T extends (...args: never[]) => unknown, S extends v.GenericSchema>(schema: S) =>
  v.lazy((input) => (typeof input === "function" ? fn<T>() : schema)) as unknown as v.GenericSchema<v.InferInput<S> | T, v.InferOutput<S> | T>;

const LAST_VALUE_FUNCS = ["max", "min"] as const;
const RANGE_BOUNDS = ["closed", "open"] as const;
const ON_CURSOR_MISSING = ["raise", "include", "exclude"] as const;
/** Named `convert`s for JSON/YAML configs (a TS config may pass a function). */
export const CONVERTERS = ["unix_seconds", "unix_ms", "iso", "date"] as const;

const cursorValue = v.union([v.string(), v.number()], "expected a string or a number");

const incrementalArgs = {
  cursor_path: nonEmpty("a JSONPath to the cursor field"),
  initial_value: unset(v.nullable(cursorValue)),
  end_value: unset(v.nullable(cursorValue)),
  last_value_func: v.nullish(oneOf(LAST_VALUE_FUNCS), "max"),
  lag: unset(nonNegNum("a non-negative number (seconds for date-times, days for dates)")),
  range_start: v.nullish(oneOf(RANGE_BOUNDS), "closed"),
  range_end: v.nullish(oneOf(RANGE_BOUNDS), "open"),
  on_cursor_value_missing: v.nullish(oneOf(ON_CURSOR_MISSING), "raise"),
  row_order: unset(v.nullable(oneOf(["asc", "desc"] as const))),
  primary_key: unset(v.union([nonEmpty(), v.array(nonEmpty())], "expected a column name or a list of them")),
  convert: unset(fnOr<(value: unknown) => unknown, v.GenericSchema<string, (typeof CONVERTERS)[number]>>(
    v.picklist(CONVERTERS, (issue) => `expected one of ${CONVERTERS.map((c) => `"${c}"`).join(", ")} or a function, got ${describe(issue.input)}`),
  )),
};

const IncrementalSchema = obj(
  {
    ...incrementalArgs,
    start_param: unset(nonEmpty()),
    end_param: unset(nonEmpty()),
    /** restduck: cut the backfill `[initial_value, end_value)` into windows fetched concurrently ("1d", "P1D", 10000). */
    window: unset(v.union([v.string(), v.number()], 'expected a duration such as "1d" or "P1D", or a number of cursor units such as 10000')),
  },
  "an incremental object",
);

/** Legacy `params: { x: { type: "resolve", resource, field } }`. */
const ResolveParam = obj({ type: v.literal("resolve"), resource: nonEmpty("a resource name"), field: nonEmpty("a field path") });
/**
 * A param's incremental sets only the start: dlt refuses an end there
 * (config_setup.setup_incremental_object), and so does restduck, pointing to
 * `endpoint.incremental`, which takes `end_value` and `end_param`.
 */
const startOnly = (key: string) =>
  v.optional(
    v.nullable(v.never(`an incremental param carries only the start (initial_value); ${key} belongs in endpoint.incremental, with start_param and end_param`)),
  );
/** Legacy `params: { since: { type: "incremental", cursor_path, initial_value } }`: the param is the start param. */
const IncrementalParam = obj({ type: v.literal("incremental"), ...incrementalArgs, end_value: startOnly("end_value"), end_param: startOnly("end_param") });
export const PARAM_TYPES = ["resolve", "incremental"] as const;

const ParamObject = byType("param type", PARAM_TYPES, [ResolveParam, IncrementalParam]);
const ParamScalar = v.union([scalar, v.null()], "expected a string, number, boolean, null, or { type: resolve | incremental, … }");
// An object with a `type` is a resolve/incremental param (errors point inside it); anything else must be a scalar.
const ParamValue = v.lazy((input) => (typeof input === "object" && input !== null && "type" in input ? ParamObject : ParamScalar)) as unknown as v.GenericSchema<
  v.InferInput<typeof ParamScalar> | v.InferInput<typeof ParamObject>,
  v.InferOutput<typeof ParamScalar> | v.InferOutput<typeof ParamObject>
>;

export const RESPONSE_ACTIONS = ["ignore", "error", "retry"] as const;
/**
 * dlt runs an action it does not know as a no-op hook, so an unknown name is
 * accepted here too; the plan drops it with a warning naming the known ones.
 */
const ActionName = nonEmpty(`one of ${RESPONSE_ACTIONS.map((a) => `"${a}"`).join(", ")}`);

const ResponseActionObject = v.pipe(
  obj(
    {
      status_code: unset(v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(/^\d{3}$/))], "expected an HTTP status")),
      content: unset(str()),
      body_path: v.optional(nonEmpty("a JSONPath")),
      equals: v.optional(v.unknown()),
      not_equals: v.optional(v.unknown()),
      action: v.union([ActionName, fn(), v.array(fn())], (issue) => `expected one of ${RESPONSE_ACTIONS.map((a) => `"${a}"`).join(", ")} or a function, got ${describe(issue.input)}`),
    },
    "a response action",
  ),
  v.check((a) => a.equals === undefined && a.not_equals === undefined ? true : a.body_path !== undefined, '"equals" and "not_equals" need "body_path"'),
);

const ResponseActionSchema = fnOr<(response: { status: number; body: unknown; text: string }) => unknown, typeof ResponseActionObject>(ResponseActionObject);

const formValue = v.union([scalar, v.null()], "expected a string, number, boolean or null");
/**
 * `endpoint.data`, sent as the request body the way dlt (requests) sends it:
 * an object or a list of `[key, value]` pairs is a form
 * (application/x-www-form-urlencoded; pairs keep repeated keys), a string is
 * sent as it is, without a content type.
 */
const DataSchema = v.union(
  [
    str(),
    notList("an object", v.record(v.string(), v.union([formValue, v.array(formValue)], "expected a string, number, boolean, null or a list of them"))),
    v.array(v.tuple([str("a field name"), formValue], "expected a [key, value] pair"), "expected a list of [key, value] pairs"),
  ],
  (issue) => `expected a form object, a list of [key, value] pairs or a string, got ${describe(issue.input)}`,
);

const EndpointSchema = obj(
  {
  path: orNull(nonEmpty("a path or URL")),
  method: orNull(oneOf(["GET", "POST", "get", "post"] as const)),
  params: orNull(v.record(v.string(), ParamValue)),
  json: orNull(notList("an object", v.record(v.string(), v.unknown(), "expected an object"))),
  data: orNull(DataSchema),
  headers: orNull(stringMap),
  data_selector: orNull(jsonPath()),
  /** null: not this endpoint's nor resource_defaults' — the client's paginator, else `auto` (dlt's `paginator: None`). */
  paginator: orNull(PaginatorSchema),
  response_actions: orNull(v.array(ResponseActionSchema, "expected a list of response actions")),
  incremental: orNull(IncrementalSchema),
  /** null: the client's auth (dlt's `auth: None`). */
  auth: orNull(AuthSchema),
  /** Stop after this many pages (restduck's; dlt has no such key). */
  max_pages: v.optional(posInt("a positive number of pages")),
  },
  "an endpoint object or a path",
);

// ------------------------------------------------------- processing steps

const fieldPath = nonEmpty("a field name or dotted path");
const FilterSpec = v.pipe(
  obj({
    field: fieldPath,
    equals: v.optional(v.unknown()),
    not_equals: v.optional(v.unknown()),
    in: v.optional(v.array(v.unknown(), "expected a list")),
    not_in: v.optional(v.array(v.unknown(), "expected a list")),
    exists: v.optional(bool()),
  }, "a filter object"),
  v.check(
    (f) => ["equals", "not_equals", "in", "not_in", "exists"].filter((k) => (f as Record<string, unknown>)[k] !== undefined).length === 1,
    "a filter needs exactly one of: equals, not_equals, in, not_in, exists",
  ),
);
const MapSpec = obj({
  rename: v.optional(v.record(v.string(), nonEmpty("a field name"))),
  drop: v.optional(v.array(fieldPath, "expected a list of field names")),
  set: v.optional(v.record(v.string(), v.unknown())),
}, "a map object (rename, drop, set)");

const ProcessingStepSchema = v.pipe(
  obj({
    filter: v.optional(fnOr<(record: Record<string, unknown>) => boolean, typeof FilterSpec>(FilterSpec)),
    map: v.optional(fnOr<(record: Record<string, unknown>) => unknown, typeof MapSpec>(MapSpec)),
  }, "a processing step ({ filter } or { map })"),
  v.check((s) => s.filter !== undefined || s.map !== undefined, 'a processing step needs "filter" or "map"'),
);

const WRITE_DISPOSITIONS = ["append", "replace", "merge"] as const;

/**
 * A `columns` hint: dlt's data types (the normalizer's list) and column flags.
 * `partition`, `cluster`, `sort` and `unique` are accepted and have no effect
 * on DuckDB, as with dlt's duckdb destination.
 */
const ColumnHintSchema = obj({
  name: unset(nonEmpty("a column name")),
  data_type: unset(oneOf(DATA_TYPES)),
  nullable: unset(bool()),
  precision: unset(posInt()),
  scale: unset(nonNegInt()),
  primary_key: unset(bool()),
  merge_key: unset(bool()),
  partition: unset(bool()),
  cluster: unset(bool()),
  sort: unset(bool()),
  unique: unset(bool()),
  description: unset(str()),
});

/**
 * `columns` as dlt takes them: `{ name: hint }`, or a list of hints that each
 * carry their `name` (dlt's ensure_table_schema_columns). Lists become the
 * mapping here; a name given twice is a mistake, reported with its position.
 */
const ColumnsSchema = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const input = dataset.value;
    if (!Array.isArray(input)) return input;
    const out: Record<string, unknown> = {};
    for (const [i, item] of input.entries()) {
      const name = typeof item === "object" && item !== null ? (item as { name?: unknown }).name : undefined;
      if (typeof name !== "string" || name === "") {
        addIssue({ message: `a column in a list needs a "name", got ${describe(item)}`, path: [{ type: "array", origin: "value", input, key: i, value: item }] });
        return NEVER;
      }
      if (name in out) {
        addIssue({ message: `column "${name}" is listed twice; give each column once`, path: [{ type: "array", origin: "value", input, key: i, value: item }] });
        return NEVER;
      }
      out[name] = item;
    }
    return out;
  }),
  notList("an object of column hints or a list of them", v.record(v.string(), ColumnHintSchema, "expected an object of column hints or a list of them")),
);

/** dlt's table formats; DuckDB tables have none of them, so the plan warns that the key has no effect. */
export const TABLE_FORMATS = ["iceberg", "delta", "hive", "native"] as const;

const CONTRACT_MODES = ["evolve", "freeze", "discard_row", "discard_value"] as const;
const SchemaContractSchema = v.union(
  [
    oneOf(CONTRACT_MODES),
    obj({ tables: v.optional(oneOf(CONTRACT_MODES)), columns: v.optional(oneOf(CONTRACT_MODES)), data_type: v.optional(oneOf(CONTRACT_MODES)) }),
  ],
  (issue) => `expected one of "evolve", "freeze", "discard_row", "discard_value" or { tables, columns, data_type }, got ${describe(issue.input)}`,
);

const WriteDispositionSchema = orString(
  (disposition) => ({ disposition }),
  obj({
    disposition: oneOf(WRITE_DISPOSITIONS),
    strategy: v.optional(oneOf(["upsert", "delete-insert", "scd2"] as const)),
  }, "a write disposition or { disposition, strategy }"),
);

const PrimaryKey = v.union([nonEmpty(), v.pipe(v.array(nonEmpty()), v.minLength(1))], "expected a column name or a list of them");

const resourceEntries = {
  name: v.optional(nonEmpty("a resource name")),
  table_name: orNull(nonEmpty("a table name")),
  primary_key: orNull(PrimaryKey),
  merge_key: orNull(PrimaryKey),
  write_disposition: orNull(WriteDispositionSchema),
  columns: orNull(ColumnsSchema),
  max_table_nesting: orNull(nonNegInt()),
  schema_contract: orNull(SchemaContractSchema),
  /** Accepted as in dlt; it has no effect on DuckDB (the plan says so). */
  table_format: orNull(oneOf(TABLE_FORMATS)),
  selected: orNull(bool()),
  /** dlt's flag: false keeps the resource from running beside others (it runs alone); see README "How a run works". */
  parallelized: orNull(bool()),
  processing_steps: orNull(v.array(ProcessingStepSchema, "expected a list of processing steps")),
  include_from_parent: orNull(v.array(nonEmpty("a parent field name"), "expected a list of parent field names")),
  endpoint: orNull(orString((path) => ({ path }), EndpointSchema)),
};

const ResourceSchema = orString((name) => ({ name }), obj(resourceEntries, "a resource object or a name"));

const ResourceDefaultsSchema = obj({ ...resourceEntries, name: v.optional(v.never("a default cannot set the name")) });

/** Identifier a view may be named: letters, digits and underscores, not starting with a digit. */
const ViewName = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a view name made of letters, digits and _"));

export const ConfigSchema = obj({
  pipeline_name: v.optional(v.pipe(str(), v.regex(/^[A-Za-z0-9_]+$/, "expected letters, digits and _"))),
  dataset_name: v.optional(v.pipe(str(), v.regex(/^[A-Za-z0-9_]+$/, "expected letters, digits and _"))),
  client: obj({ ...ClientSchema.entries }, "a client object"),
  resource_defaults: unset(ResourceDefaultsSchema),
  resources: v.pipe(v.array(ResourceSchema, "expected a list of resources"), v.minLength(1, "expected at least one resource")),
  views: v.optional(v.record(ViewName, nonEmpty("a SQL query"))),
  max_table_nesting: v.optional(nonNegInt()),
  schema_contract: v.optional(SchemaContractSchema),
  /** Commit a batch every N pages… */
  batch_pages: v.optional(posInt("a positive number of pages")),
  /** …or after this many seconds, whichever comes first. */
  batch_seconds: v.optional(posNum("a positive number of seconds")),
});

/** A config as written, before validation. */
export type ConfigInput = v.InferInput<typeof ConfigSchema>;
/** A validated config. */
export type Config = v.InferOutput<typeof ConfigSchema>;
export type AuthConfig = v.InferOutput<typeof AuthSchema>;
export type AuthType = AuthConfig["type"];
export type PaginatorConfig = v.InferOutput<typeof PaginatorSchema>;
export type PaginatorType = PaginatorConfig["type"];
export type RetryConfig = v.InferOutput<typeof RetrySchema>;
export type RateLimitConfig = v.InferOutput<typeof RateLimitSchema>;
export type EndpointConfig = v.InferOutput<typeof EndpointSchema>;
export type IncrementalConfig = v.InferOutput<typeof IncrementalSchema>;
export type IncrementalParamConfig = v.InferOutput<typeof IncrementalParam>;
export type ResolveParamConfig = v.InferOutput<typeof ResolveParam>;
export type ResponseActionConfig = v.InferOutput<typeof ResponseActionSchema>;
export type ProcessingStepConfig = v.InferOutput<typeof ProcessingStepSchema>;
export type FilterSpecConfig = v.InferOutput<typeof FilterSpec>;
export type MapSpecConfig = v.InferOutput<typeof MapSpec>;
export type ResourceConfig = Config["resources"][number];
export type WriteDisposition = (typeof WRITE_DISPOSITIONS)[number];
export type ColumnHintConfig = v.InferOutput<typeof ColumnHintSchema>;
export type SchemaContractConfig = v.InferOutput<typeof SchemaContractSchema>;

/** Turns valibot issues into `path: message` lines, e.g. `resources[0].endpoint.paginator.limit: expected a positive integer, got "100"`. */
export function formatIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    // A union's own message is vague; its sub-issues name the real problem when exactly one branch was an object.
    if (issue.type === "union" && issue.issues?.length) {
      const nested = issue.issues.filter((i) => (i.path?.length ?? 0) > (issue.path?.length ?? 0));
      if (nested.length) {
        lines.push(...formatIssues(nested));
        continue;
      }
    }
    const path = formatPath(issue.path);
    let message = issue.message;
    if (!/, got |is missing|^unknown /.test(message) && issue.expected !== "never" && issue.type !== "check") {
      message += `, got ${describe(issue.input)}`;
    }
    lines.push(path ? `${path}: ${message}` : message);
  }
  return [...new Set(lines)];
}

function formatPath(path: v.BaseIssue<unknown>["path"]): string {
  let out = "";
  for (const item of path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}
