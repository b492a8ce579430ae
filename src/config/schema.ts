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
const scalar = v.union([v.string(), v.number(), v.boolean()], "expected a string, number or boolean");
/** valibot's record accepts a list and turns it into `{"0": …}`; a list where a mapping belongs is a mistake. */
const notList = <S extends v.GenericSchema>(what: string, schema: S) =>
  v.pipe(v.unknown(), v.check((x) => !Array.isArray(x), `expected ${what}, got a list`), schema);
const stringMap = notList("an object of strings", v.record(v.string(), str(), "expected an object of strings"));
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
  name: v.optional(nonEmpty(), "Authorization"),
  api_key: nonEmpty(),
  location: v.pipe(
    v.optional(oneOf(["header", "query", "param", "cookie"] as const), "header"),
    // dlt spells the query-string location both "query" and "param".
    v.transform((l) => (l === "param" ? "query" : l)),
  ),
});

const HttpBasicAuth = obj({ type: v.literal("http_basic"), username: str(), password: str() });

const OAuth2Auth = v.pipe(
  obj({
    type: oneOf(["oauth2_client_credentials", "oauth2"] as const),
    access_token_url: v.optional(nonEmpty("a URL")),
    token_url: v.optional(nonEmpty("a URL")),
    client_id: nonEmpty(),
    client_secret: nonEmpty(),
    scopes: v.optional(v.union([str(), v.array(str())], "expected a string or a list of strings")),
    access_token_request_data: v.optional(v.record(v.string(), scalar)),
    default_token_expiration: v.optional(posInt("a positive number of seconds"), 3600),
    client_auth: v.optional(oneOf(["body", "basic"] as const), "body"),
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
  // dlt's shorthand: `{ token }` without a type is bearer auth.
  v.transform((x) => (typeof x === "object" && x !== null && !("type" in x) && "token" in x ? { type: "bearer", ...x } : x)),
  byType("auth type", AUTH_TYPES, [BearerAuth, ApiKeyAuth, HttpBasicAuth, OAuth2Auth]),
);

// -------------------------------------------------------------- paginators

const SinglePage = obj({ type: v.literal("single_page") });

const stopRules = {
  total_path: v.optional(v.nullable(str("a JSONPath"))),
  stop_after_empty_page: v.optional(bool(), true),
  has_more_path: v.optional(str("a JSONPath")),
};

const Offset = obj({
  type: v.literal("offset"),
  limit: posInt(),
  offset: v.optional(nonNegInt(), 0),
  offset_param: v.optional(nonEmpty(), "offset"),
  limit_param: v.optional(nonEmpty(), "limit"),
  offset_body_path: v.optional(nonEmpty("a dotted path")),
  limit_body_path: v.optional(nonEmpty("a dotted path")),
  maximum_offset: v.optional(posInt()),
  ...stopRules,
});

const PageNumber = obj({
  type: v.literal("page_number"),
  base_page: v.optional(nonNegInt(), 0),
  page: v.optional(nonNegInt()),
  page_param: v.optional(nonEmpty(), "page"),
  page_body_path: v.optional(nonEmpty("a dotted path")),
  maximum_page: v.optional(posInt()),
  ...stopRules,
});

const Cursor = obj({
  type: v.literal("cursor"),
  cursor_path: v.optional(str("a JSONPath"), "cursors.next"),
  cursor_param: v.optional(nonEmpty()),
  cursor_body_path: v.optional(nonEmpty("a dotted path")),
  has_more_path: v.optional(str("a JSONPath")),
  stop_after_empty_page: v.optional(bool(), false),
});

const JsonLink = obj({ type: v.literal("json_link"), next_url_path: v.optional(str("a JSONPath"), "next") });
/** dlt's deprecated name for `json_link`. */
const JsonResponse = v.pipe(
  obj({ type: v.literal("json_response"), next_url_path: v.optional(str("a JSONPath"), "next") }),
  v.transform((p) => ({ ...p, type: "json_link" as const })),
);
const HeaderLink = obj({ type: v.literal("header_link"), links_next_key: v.optional(nonEmpty(), "next") });
const HeaderCursor = obj({
  type: v.literal("header_cursor"),
  cursor_key: v.optional(nonEmpty(), "next"),
  cursor_param: v.optional(nonEmpty(), "cursor"),
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

const ClientSchema = obj({
  base_url: v.optional(nonEmpty("a URL")),
  headers: v.optional(stringMap),
  auth: v.optional(AuthSchema),
  paginator: v.optional(PaginatorSchema),
  retry: v.optional(RetrySchema, {}),
  /** Most requests in flight for paginators that can plan pages ahead (offset, page_number with a total). */
  concurrency: v.optional(posInt("a positive number of requests"), 4),
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
  initial_value: v.optional(v.nullable(cursorValue)),
  end_value: v.optional(v.nullable(cursorValue)),
  last_value_func: v.optional(oneOf(LAST_VALUE_FUNCS), "max"),
  lag: v.optional(nonNegNum("a non-negative number (seconds for date-times, days for dates)")),
  range_start: v.optional(oneOf(RANGE_BOUNDS), "closed"),
  range_end: v.optional(oneOf(RANGE_BOUNDS), "open"),
  on_cursor_value_missing: v.optional(oneOf(ON_CURSOR_MISSING), "raise"),
  row_order: v.optional(v.nullable(oneOf(["asc", "desc"] as const))),
  primary_key: v.optional(v.union([nonEmpty(), v.array(nonEmpty())], "expected a column name or a list of them")),
  convert: v.optional(fnOr<(value: unknown) => unknown, v.GenericSchema<string, (typeof CONVERTERS)[number]>>(
    v.picklist(CONVERTERS, (issue) => `expected one of ${CONVERTERS.map((c) => `"${c}"`).join(", ")} or a function, got ${describe(issue.input)}`),
  )),
};

const IncrementalSchema = obj(
  { ...incrementalArgs, start_param: v.optional(nonEmpty()), end_param: v.optional(nonEmpty()) },
  "an incremental object",
);

/** Legacy `params: { x: { type: "resolve", resource, field } }`. */
const ResolveParam = obj({ type: v.literal("resolve"), resource: nonEmpty("a resource name"), field: nonEmpty("a field path") });
/** Legacy `params: { since: { type: "incremental", cursor_path, initial_value } }`: the param is the start param. */
const IncrementalParam = obj({ type: v.literal("incremental"), ...incrementalArgs });
export const PARAM_TYPES = ["resolve", "incremental"] as const;

const ParamObject = byType("param type", PARAM_TYPES, [ResolveParam, IncrementalParam]);
const ParamScalar = v.union([scalar, v.null()], "expected a string, number, boolean, null, or { type: resolve | incremental, … }");
// An object with a `type` is a resolve/incremental param (errors point inside it); anything else must be a scalar.
const ParamValue = v.lazy((input) => (typeof input === "object" && input !== null && "type" in input ? ParamObject : ParamScalar)) as unknown as v.GenericSchema<
  v.InferInput<typeof ParamScalar> | v.InferInput<typeof ParamObject>,
  v.InferOutput<typeof ParamScalar> | v.InferOutput<typeof ParamObject>
>;

export const RESPONSE_ACTIONS = ["ignore", "error", "retry"] as const;

const ResponseActionObject = v.pipe(
  obj(
    {
      status_code: v.optional(v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(/^\d{3}$/))], "expected an HTTP status")),
      content: v.optional(str()),
      body_path: v.optional(nonEmpty("a JSONPath")),
      equals: v.optional(v.unknown()),
      not_equals: v.optional(v.unknown()),
      action: v.union([oneOf(RESPONSE_ACTIONS), fn(), v.array(fn())], (issue) => `expected one of ${RESPONSE_ACTIONS.map((a) => `"${a}"`).join(", ")} or a function, got ${describe(issue.input)}`),
    },
    "a response action",
  ),
  v.check((a) => a.equals === undefined && a.not_equals === undefined ? true : a.body_path !== undefined, '"equals" and "not_equals" need "body_path"'),
);

const ResponseActionSchema = fnOr<(response: { status: number; body: unknown; text: string }) => unknown, typeof ResponseActionObject>(ResponseActionObject);

const EndpointSchema = obj(
  {
  path: v.optional(nonEmpty("a path or URL")),
  method: v.optional(oneOf(["GET", "POST", "get", "post"] as const)),
  params: v.optional(v.record(v.string(), ParamValue)),
  json: v.optional(notList("an object", v.record(v.string(), v.unknown(), "expected an object"))),
  headers: v.optional(stringMap),
  data_selector: v.optional(v.nullable(str("a JSONPath"))),
  paginator: v.optional(PaginatorSchema),
  response_actions: v.optional(v.array(ResponseActionSchema, "expected a list of response actions")),
  incremental: v.optional(IncrementalSchema),
  auth: v.optional(AuthSchema),
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

/** A `columns` hint: dlt's data types (the normalizer's list) and column flags. */
const ColumnHintSchema = obj({
  data_type: v.optional(oneOf(DATA_TYPES)),
  nullable: v.optional(bool()),
  precision: v.optional(posInt()),
  scale: v.optional(nonNegInt()),
  primary_key: v.optional(bool()),
  merge_key: v.optional(bool()),
});

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
  table_name: v.optional(nonEmpty("a table name")),
  primary_key: v.optional(PrimaryKey),
  merge_key: v.optional(PrimaryKey),
  write_disposition: v.optional(WriteDispositionSchema),
  columns: v.optional(v.record(v.string(), ColumnHintSchema)),
  max_table_nesting: v.optional(nonNegInt()),
  schema_contract: v.optional(SchemaContractSchema),
  selected: v.optional(bool()),
  /** Accepted for dlt compatibility; restduck schedules resources itself. */
  parallelized: v.optional(bool()),
  processing_steps: v.optional(v.array(ProcessingStepSchema, "expected a list of processing steps")),
  include_from_parent: v.optional(v.array(nonEmpty("a parent field name"), "expected a list of parent field names")),
  endpoint: v.optional(orString((path) => ({ path }), EndpointSchema)),
};

const ResourceSchema = orString((name) => ({ name }), obj(resourceEntries, "a resource object or a name"));

const ResourceDefaultsSchema = obj({ ...resourceEntries, name: v.optional(v.never("a default cannot set the name")) });

/** Identifier a view may be named: letters, digits and underscores, not starting with a digit. */
const ViewName = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a view name made of letters, digits and _"));

export const ConfigSchema = obj({
  pipeline_name: v.optional(v.pipe(str(), v.regex(/^[A-Za-z0-9_]+$/, "expected letters, digits and _"))),
  dataset_name: v.optional(v.pipe(str(), v.regex(/^[A-Za-z0-9_]+$/, "expected letters, digits and _"))),
  client: obj({ ...ClientSchema.entries }, "a client object"),
  resource_defaults: v.optional(ResourceDefaultsSchema),
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
