/**
 * OpenAPI 3.x → a restduck (dlt `rest_api_source`) config, the way
 * dlt-init-openapi does it: one resource per list endpoint, the paginator
 * guessed from query parameters and the response schema, `data_selector`
 * from the response schema, a primary key from an `id`-like field,
 * parent/child resources from path parameters, auth from `securitySchemes`.
 * The result is a starting point the user edits; every guess it could not
 * make is written down in `notes`.
 *
 * Reference: https://github.com/dlt-hub/dlt-init-openapi (its detectors),
 * https://spec.openapis.org/oas/v3.1.0 (the document shape).
 */
import { ConfigError } from "../errors.ts";

type Json = Record<string, any>;

/** A generated config and what the generator wants the user to know. */
export interface GeneratedConfig {
  config: Json;
  /** One line per guess that needs a look (pagination it could not express, unresolved path parameters, …). */
  notes: string[];
  /** Endpoints left out, with why (`GET /posts/{post_id}: returns one object`). */
  skipped: string[];
  /** Names of the `$secret` references the config uses. */
  secrets: string[];
}

export interface GenerateOptions {
  /** Only these path prefixes (e.g. `/channels`). */
  include?: string[];
}

const HTTP_LIST_HINT = "a list endpoint is a GET whose 2xx JSON response is an array or an object with an array of objects";

/** Builds a config from a parsed OpenAPI 3.x document. Throws ConfigError for anything that is not OpenAPI 3. */
export function generateConfig(spec: unknown, options: GenerateOptions = {}): GeneratedConfig {
  const doc = spec as Json;
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError("The OpenAPI document is not an object", { hint: "pass an OpenAPI 3.x file (JSON or YAML)" });
  }
  if (typeof doc.swagger === "string") {
    throw new ConfigError(`This is a Swagger ${doc.swagger} document; restduck reads OpenAPI 3.x`, {
      hint: "convert it first, e.g. with swagger2openapi or https://converter.swagger.io, then run `restduck init --openapi` on the result",
    });
  }
  if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.")) {
    throw new ConfigError(`Not an OpenAPI 3.x document (openapi: ${JSON.stringify(doc.openapi ?? null)})`, {
      hint: 'the file must have a top-level "openapi": "3.0.x" or "3.1.x"',
    });
  }
  const g = new _Generator(doc, options);
  return g.run();
}

interface _Endpoint {
  path: string;
  op: Json;
  params: Json[];
  records: Json;
  dataSelector: string;
  response: Json;
  responseHeaders: Json;
}

interface _Resource {
  name: string;
  path: string;
  endpoint: _Endpoint;
  primaryKey?: string;
  /** Singular stems this resource answers to, for matching path parameters (`channel` for `channels`). */
  stems: string[];
  config: Json;
  parents: _Resource[];
}

class _Generator {
  readonly doc: Json;
  readonly options: GenerateOptions;
  readonly notes: string[] = [];
  readonly skipped: string[] = [];
  readonly secrets = new Set<string>();

  constructor(doc: Json, options: GenerateOptions) {
    this.doc = doc;
    this.options = options;
  }

  run(): GeneratedConfig {
    const endpoints: _Endpoint[] = [];
    const paths = Object.entries((this.doc.paths ?? {}) as Json);
    for (const [path, rawItem] of paths) {
      if (this.options.include?.length && !this.options.include.some((p) => path.startsWith(p))) continue;
      const item = this.deref(rawItem);
      const op = item?.get ? this.deref(item.get) : undefined;
      if (!op) continue;
      const where = `GET ${path}`;
      if (op.deprecated) {
        this.skipped.push(`${where}: deprecated`);
        continue;
      }
      if (/\{[^}]+\}\/?$/.test(path)) {
        this.skipped.push(`${where}: ends in a path parameter (one object, not a list)`);
        continue;
      }
      const found = this.responseOf(op);
      if (!found) {
        this.skipped.push(`${where}: no JSON 2xx response schema`);
        continue;
      }
      const list = this.findRecords(found.schema);
      if (!list) {
        const map = this.mapProperty(found.schema);
        this.skipped.push(
          map
            ? `${where}: records come as an object keyed by id ("${map}": {id: record}); data_selector "${map}.*" reads them, but an empty page has no match, so write that resource by hand`
            : `${where}: response has no list of objects (${HTTP_LIST_HINT})`,
        );
        continue;
      }
      const params = [...((item.parameters ?? []) as Json[]), ...((op.parameters ?? []) as Json[])].map((p) => this.deref(p)).filter(Boolean);
      endpoints.push({ path, op, params, records: list.items, dataSelector: list.selector, response: found.schema, responseHeaders: found.headers });
    }
    if (!endpoints.length) {
      throw new ConfigError(`No list endpoints found in the OpenAPI document (${paths.length} paths looked at)`, {
        hint: `${HTTP_LIST_HINT}; check the file, or --include a path prefix`,
      });
    }
    // Names first (by path, so they are stable), then parents among all list endpoints, then parents before children.
    endpoints.sort((a, b) => a.path.localeCompare(b.path));
    const names = new Set<string>();
    const drafts = endpoints.map((ep) => this.draft(ep, names));
    for (const d of drafts) this.link(d, drafts);
    const resources: _Resource[] = [];
    const done = new Set<_Resource>();
    while (done.size < drafts.length) {
      const ready = drafts.filter((d) => !done.has(d) && d.parents.every((p) => done.has(p) || p === d));
      // A cycle (rare, and a document error): emit the rest as they are.
      const batch = ready.length ? ready : drafts.filter((d) => !done.has(d));
      batch.sort((a, b) => a.parents.length - b.parents.length || a.path.length - b.path.length || a.path.localeCompare(b.path));
      for (const d of batch) {
        done.add(d);
        resources.push(d);
      }
    }

    const config: Json = {};
    const title = typeof this.doc.info?.title === "string" ? this.doc.info.title : "";
    const pipeline = snake(title).replace(/_api$/, "") || "openapi";
    config.pipeline_name = pipeline.slice(0, 60);
    const client: Json = {};
    const baseUrl = this.baseUrl();
    if (baseUrl) client.base_url = baseUrl;
    else this.notes.push("no servers[] in the document: set client.base_url");
    const auth = this.auth(endpoints);
    if (auth) client.auth = auth;
    config.client = client;
    config.resources = resources.map((r) => r.config);
    return { config, notes: this.notes, skipped: this.skipped, secrets: [...this.secrets] };
  }

  // ------------------------------------------------------------ documents

  /** Resolves local `$ref`s (`#/components/...`), one level at a time. */
  deref(node: any, seen = new Set<string>()): any {
    let current = node;
    while (current && typeof current === "object" && typeof current.$ref === "string") {
      const ref: string = current.$ref;
      if (seen.has(ref) || !ref.startsWith("#/")) return {};
      seen.add(ref);
      current = ref
        .slice(2)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((o: any, k) => (o && typeof o === "object" ? o[k] : undefined), this.doc);
    }
    return current;
  }

  /** A schema with `$ref`, `allOf`, and single-branch `oneOf`/`anyOf` (often `null | X`) flattened. */
  schema(node: any, depth = 0): Json | undefined {
    const s = this.deref(node);
    if (!s || typeof s !== "object" || depth > 8) return undefined;
    if (Array.isArray(s.allOf)) {
      const merged: Json = { ...s, allOf: undefined, properties: { ...(s.properties ?? {}) } };
      for (const part of s.allOf) {
        const p = this.schema(part, depth + 1);
        if (!p) continue;
        Object.assign(merged.properties, p.properties ?? {});
        if (p.type && !merged.type) merged.type = p.type;
        if (p.items && !merged.items) merged.items = p.items;
      }
      return merged;
    }
    for (const key of ["oneOf", "anyOf"] as const) {
      if (Array.isArray(s[key])) {
        const branches = (s[key] as any[]).map((b) => this.schema(b, depth + 1)).filter((b): b is Json => Boolean(b) && !isNullSchema(b!));
        if (branches.length === 1) return branches[0];
        if (branches.length > 1) {
          // Several object shapes (Discord's channel kinds): their union of properties is what a table will hold.
          const objects = branches.filter((b) => typeOf(b) === "object");
          if (objects.length === branches.length) return { type: "object", properties: Object.assign({}, ...objects.map((b) => b.properties ?? {})) };
          return branches[0];
        }
      }
    }
    return s;
  }

  responseOf(op: Json): { schema: Json; headers: Json } | undefined {
    const responses = (op.responses ?? {}) as Json;
    const codes = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort();
    for (const code of [...codes, "default"]) {
      const r = this.deref(responses[code]);
      const content = r?.content as Json | undefined;
      if (!content) continue;
      const mediaType = Object.keys(content).find((m) => /json/i.test(m));
      if (!mediaType) continue;
      const schema = this.schema(content[mediaType]?.schema);
      if (schema) return { schema, headers: (r.headers ?? {}) as Json };
    }
    return undefined;
  }

  /** Where the records are: the response itself if it is an array, else the best array-of-objects property (two levels deep). */
  findRecords(schema: Json): { items: Json; selector: string } | undefined {
    if (typeOf(schema) === "array") {
      const items = this.schema(schema.items);
      return items && typeOf(items) === "object" ? { items, selector: "$" } : undefined;
    }
    if (typeOf(schema) !== "object") return undefined;
    const candidates: { path: string; items: Json; score: number }[] = [];
    const visit = (s: Json, prefix: string, depth: number) => {
      for (const [key, raw] of Object.entries((s.properties ?? {}) as Json)) {
        const prop = this.schema(raw);
        if (!prop) continue;
        const path = prefix ? `${prefix}.${key}` : key;
        if (typeOf(prop) === "array") {
          const items = this.schema(prop.items);
          if (items && typeOf(items) === "object" && Object.keys(items.properties ?? {}).length) {
            const preferred = /^(data|items|results|records|entries|elements|values|list|messages|rows|objects)$/i.test(key) ? 2 : 0;
            candidates.push({ path, items, score: preferred - depth + Object.keys(items.properties ?? {}).length / 1000 });
          }
        } else if (typeOf(prop) === "object" && depth < 1) {
          visit(prop, path, depth + 1);
        }
      }
    };
    visit(schema, "", 0);
    candidates.sort((a, b) => b.score - a.score);
    return candidates[0] ? { items: candidates[0].items, selector: candidates[0].path } : undefined;
  }

  /** A top-level property that is a map of objects (`additionalProperties: {$ref: Post}`), if any. */
  mapProperty(schema: Json): string | undefined {
    for (const [key, raw] of Object.entries((schema.properties ?? {}) as Json)) {
      const prop = this.schema(raw);
      const values = prop && typeof prop.additionalProperties === "object" ? this.schema(prop.additionalProperties) : undefined;
      if (values && typeOf(values) === "object") return key;
    }
    return undefined;
  }

  baseUrl(): string | undefined {
    const servers = (this.doc.servers as Json[] | undefined) ?? Object.values((this.doc.paths ?? {}) as Json).find((p: any) => Array.isArray(p?.servers))?.servers;
    const server = servers?.[0];
    if (!server?.url) return undefined;
    let url: string = server.url;
    for (const [name, variable] of Object.entries((server.variables ?? {}) as Json)) url = url.replaceAll(`{${name}}`, String((variable as Json).default ?? name));
    return url.replace(/\/+$/, "");
  }

  // ------------------------------------------------------------ resources

  /** A resource for an endpoint, before its parents are known. */
  draft(ep: _Endpoint, names: Set<string>): _Resource {
    const statics = ep.path.split("/").filter((s) => s && !s.startsWith("{"));
    // `/posts/{id}/files/info` → `files_info`: a generic last word takes its neighbour.
    let last = snake(statics.at(-1) ?? "items") || "items";
    if (/^(info|list|all|search|index|items|details)$/.test(last) && statics.length > 1) last = `${snake(statics.at(-2)!)}_${last}`;
    let name = last;
    for (let i = statics.length - 2; names.has(name) && i >= 0; i--) name = `${snake(statics[i]) || "x"}_${name}`;
    for (let n = 2; names.has(name); n++) name = `${last}_${n}`;
    names.add(name);

    const where = `resource ${name} (GET ${ep.path})`;
    const params: Json = {};
    for (const p of ep.params.filter((p) => p.in === "query")) {
      if (p.required && this.schema(p.schema)?.default === undefined) {
        params[p.name] = null;
        this.notes.push(`${where}: required query parameter "${p.name}" set to null; fill it in`);
      }
    }
    const endpoint: Json = { path: ep.path, data_selector: ep.dataSelector };
    endpoint.paginator = this.paginator(ep, where, params);
    if (Object.keys(params).length) endpoint.params = params;

    const primaryKey = this.primaryKey(ep.records, last);
    const config: Json = { name };
    if (primaryKey) {
      config.primary_key = primaryKey;
      config.write_disposition = "merge";
    } else {
      config.write_disposition = "append";
      this.notes.push(`${where}: no id-like field in the records; loads with append (set primary_key for merge)`);
    }
    config.endpoint = endpoint;
    const base = snake(statics.at(-1) ?? "");
    const stems = [...new Set([base, singularize(base), last, singularize(last), name, singularize(name)])].filter(Boolean);
    return { name, path: ep.path, endpoint: ep, primaryKey, stems, config, parents: [] };
  }

  /** Parent/child from path parameters: `/channels/{channel_id}/messages` is a child of `channels`. */
  link(r: _Resource, all: _Resource[]): void {
    const others = all.filter((o) => o !== r);
    const endpoint = r.config.endpoint as Json;
    for (const param of paramNames(r.path)) {
      const parent = this.parentFor(param, r.path, others);
      if (parent) {
        endpoint.path = endpoint.path.replace(`{${param}}`, `{resources.${parent.name}.${this.parentField(param, parent)}}`);
        r.parents.push(parent);
      } else {
        // dlt fills `{post_id}` from `params.post_id`: a stand-in value the user replaces, and the resource off until then.
        endpoint.params = { ...(endpoint.params ?? {}), [param]: `<${param}>` };
        const { endpoint: ep, ...rest } = r.config;
        r.config = { ...rest, selected: false, endpoint: ep };
        this.notes.push(`resource ${r.name} (GET ${r.path}): path parameter {${param}} matches no list resource; set params.${param} to a value and remove "selected": false`);
      }
    }
  }

  parentFor(param: string, path: string, earlier: _Resource[]): _Resource | undefined {
    // 1. The list endpoint right before the parameter: `/channels` for `/channels/{channel_id}/…`.
    const prefix = path.slice(0, path.indexOf(`{${param}}`)).replace(/\/$/, "");
    const exact = earlier.find((r) => r.path === prefix);
    if (exact) return exact;
    // 2. A resource named after the parameter: `channel_id`, `ChannelSid`, `channelId` → `channels`.
    const stem = snake(param).replace(/_(id|sid|uuid|key|name|slug)$/, "");
    const byStem = earlier.filter((r) => r.stems.includes(stem) || r.stems.includes(`${stem}s`));
    if (byStem.length) return byStem.sort((a, b) => a.path.length - b.path.length)[0];
    // 3. The static segment before the parameter (`/teams/{id}/…` → `teams`).
    const before = snake(prefix.split("/").filter(Boolean).at(-1) ?? "");
    return before ? earlier.find((r) => r.stems.includes(before)) : undefined;
  }

  /** Which field of the parent fills the parameter: the same name if the parent has it, else its primary key. */
  parentField(param: string, parent: _Resource): string {
    const props = Object.keys((parent.endpoint.records.properties ?? {}) as Json);
    if (props.includes(param)) return param;
    const s = snake(param);
    const stem = s.replace(/_(id|sid|uuid|key|name|slug)$/, "");
    const suffix = s.slice(stem.length + 1);
    if (suffix && props.includes(suffix)) return suffix;
    return parent.primaryKey ?? "id";
  }

  primaryKey(items: Json, resourceName: string): string | undefined {
    const props = Object.keys((items.properties ?? {}) as Json);
    const singular = singularize(resourceName);
    for (const candidate of ["id", "_id", "uuid", "sid", "guid", "key", `${singular}_id`, `${singular}Id`, `${singular}_sid`]) {
      if (props.includes(candidate)) return candidate;
    }
    const ids = props.filter((p) => /(^|_)id$|Id$/.test(p));
    return ids.length === 1 ? ids[0] : undefined;
  }

  // ------------------------------------------------------------ pagination

  paginator(ep: _Endpoint, where: string, params: Json): Json | string {
    const query = ep.params.filter((p) => p.in === "query");
    const q = (re: RegExp) => query.find((p) => re.test(p.name));
    const responseProps = flatProps(ep.response, (s) => this.schema(s));
    const prop = (re: RegExp, type?: string) => responseProps.find((p) => re.test(p.key) && (!type || p.type === type || p.type === undefined));
    const sizeParam = q(/^(limit|per_page|perPage|page_size|pageSize|PageSize|count|max_results|maxResults|size|page_limit)$/);
    const pageSize = sizeParam ? this.pageSize(sizeParam) : undefined;

    // A next link in the body.
    const nextLink = prop(/(^|\.)(next|next_url|nextUrl|next_page_url|nextPageUrl|next_link|nextLink|next_href)$|(^|\.)links?\.next$/i, "string");
    if (nextLink) {
      if (sizeParam && pageSize) params[sizeParam.name] = pageSize;
      return { type: "json_link", next_url_path: nextLink.key };
    }
    // A cursor in the body, sent back as a query parameter.
    const cursorParam = q(/^(cursor|after|starting_after|page_token|pageToken|PageToken|next_token|nextToken|continuation|continuation_token|page_after|since_id)$/);
    const cursorProp = prop(/(^|\.)(next_cursor|nextCursor|cursor|next_page_token|nextPageToken|next_token|nextToken|continuation|continuation_token|after|end_cursor|endCursor|next)$/i);
    if (cursorParam && cursorProp && cursorProp.type !== "array" && cursorProp.type !== "object") {
      if (sizeParam && pageSize) params[sizeParam.name] = pageSize;
      const has = prop(/(^|\.)(has_more|hasMore|has_next|hasNext|more)$/, "boolean");
      return { type: "cursor", cursor_path: cursorProp.key, cursor_param: cursorParam.name, ...(has ? { has_more_path: has.key } : {}) };
    }
    // Link header.
    if (Object.keys(ep.responseHeaders).some((h) => h.toLowerCase() === "link")) {
      if (sizeParam && pageSize) params[sizeParam.name] = pageSize;
      return { type: "header_link" };
    }
    const total = prop(/(^|\.)(total|total_count|totalCount|total_results|totalResults|count|total_items|totalItems)$/, "integer");
    // offset + limit.
    const offsetParam = q(/^(offset|skip|start|from)$/);
    if (offsetParam && sizeParam) {
      return {
        type: "offset",
        limit: pageSize ?? 100,
        ...(offsetParam.name !== "offset" ? { offset_param: offsetParam.name } : {}),
        ...(sizeParam.name !== "limit" ? { limit_param: sizeParam.name } : {}),
        ...(total ? { total_path: total.key } : {}),
      };
    }
    // page + page size.
    const pageParam = q(/^(page|page_number|pageNumber|Page|p)$/);
    if (pageParam) {
      if (sizeParam && pageSize) params[sizeParam.name] = pageSize;
      const pageSchema = this.schema(pageParam.schema) ?? {};
      const base = typeof pageSchema.default === "number" ? pageSchema.default : typeof pageSchema.minimum === "number" ? pageSchema.minimum : 1;
      const totalPages = prop(/(^|\.)(total_pages|totalPages|page_count|pageCount|last_page|lastPage|pages)$/, "integer");
      return {
        type: "page_number",
        base_page: base,
        ...(pageParam.name !== "page" ? { page_param: pageParam.name } : {}),
        ...(totalPages ? { total_path: totalPages.key } : { total_path: null }),
      };
    }
    if (cursorParam && sizeParam) {
      // Keyset paging by the last record's id (`after=<last id>`, as Discord does): no paginator in the dlt vocabulary expresses it.
      params[sizeParam.name] = pageSize ?? 100;
      this.notes.push(
        `${where}: pages with ${cursorParam.name}=<last record's id>, which no restduck paginator expresses yet; loads one page of ${sizeParam.name}=${params[sizeParam.name]}`,
      );
      return { type: "single_page" };
    }
    if (sizeParam || cursorParam || offsetParam) {
      this.notes.push(`${where}: has paging parameters (${[sizeParam, cursorParam, offsetParam].filter(Boolean).map((p) => p!.name).join(", ")}) but no recognisable scheme; using "auto"`);
      return { type: "auto" };
    }
    return { type: "single_page" };
  }

  pageSize(param: Json): number | undefined {
    const s = this.schema(param.schema) ?? {};
    if (typeof s.maximum === "number" && s.maximum <= 1000) return s.maximum;
    if (typeof s.default === "number" && s.default > 0) return s.default;
    return 100;
  }

  // ------------------------------------------------------------ auth

  auth(endpoints: _Endpoint[]): Json | undefined {
    const schemes = (this.doc.components?.securitySchemes ?? {}) as Json;
    const names = Object.keys(schemes);
    if (!names.length) return undefined;
    // The global requirement, else the scheme list endpoints ask for most.
    const counts = new Map<string, number>();
    for (const requirement of [...(this.doc.security ?? []), ...endpoints.flatMap((e) => e.op.security ?? [])] as Json[]) {
      for (const name of Object.keys(requirement ?? {})) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([n]) => n);
    // Machine-friendly schemes first: an API key or client credentials beat an interactive OAuth2 flow.
    const usable = (n: string) => {
      const s = this.deref(schemes[n]);
      return s?.type !== "oauth2" || Boolean(s.flows?.clientCredentials);
    };
    const chosen = ranked.find((n) => schemes[n] && usable(n)) ?? ranked.find((n) => schemes[n]) ?? names.find(usable) ?? names[0];
    const scheme = this.deref(schemes[chosen]) as Json;
    // Secret names a person recognises: `username`/`password`, `api_token`, or the scheme's own name when it says what it is (`bot_token`).
    const secretName = (fallback: string) => {
      const own = snake(chosen);
      const name = /(token|key|secret)$/.test(own) ? own : fallback;
      this.secrets.add(name);
      return { $secret: name };
    };
    const others = names.filter((n) => n !== chosen);
    if (others.length) this.notes.push(`auth: used securitySchemes.${chosen}; the document also offers ${others.join(", ")}`);
    switch (scheme?.type) {
      case "http":
        if (/^basic$/i.test(scheme.scheme)) {
          this.secrets.add("username");
          this.secrets.add("password");
          return { type: "http_basic", username: { $secret: "username" }, password: { $secret: "password" } };
        }
        return { type: "bearer", token: secretName("api_token") };
      case "apiKey": {
        const location = ["header", "query", "cookie"].includes(scheme.in) ? scheme.in : "header";
        if (/^authorization$/i.test(scheme.name ?? "") && /bot/i.test(chosen)) {
          this.notes.push(`auth: ${chosen} goes in the Authorization header; its value usually needs a prefix (Discord: "Bot <token>")`);
        }
        return { type: "api_key", name: scheme.name ?? "Authorization", api_key: secretName("api_key"), location };
      }
      case "oauth2": {
        const cc = scheme.flows?.clientCredentials;
        if (cc?.tokenUrl) {
          this.secrets.add("client_id");
          this.secrets.add("client_secret");
          const scopes = Object.keys((cc.scopes ?? {}) as Json);
          return {
            type: "oauth2_client_credentials",
            access_token_url: absoluteUrl(cc.tokenUrl, this.baseUrl()),
            client_id: { $secret: "client_id" },
            client_secret: { $secret: "client_secret" },
            ...(scopes.length && scopes.length <= 10 ? { scopes } : {}),
          };
        }
        this.notes.push(`auth: ${chosen} is OAuth2 without a client-credentials flow; get an access token yourself and store it as a secret`);
        this.secrets.add("access_token");
        return { type: "bearer", token: { $secret: "access_token" } };
      }
      case "openIdConnect":
        this.notes.push(`auth: ${chosen} is OpenID Connect; get an access token yourself and store it as a secret`);
        this.secrets.add("access_token");
        return { type: "bearer", token: { $secret: "access_token" } };
      default:
        this.notes.push(`auth: securitySchemes.${chosen} has type ${JSON.stringify(scheme?.type)}, which restduck cannot map; set client.auth`);
        return undefined;
    }
  }
}

// ---------------------------------------------------------------- helpers

function paramNames(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

function typeOf(s: Json): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t: string) => t !== "null");
  if (typeof s.type === "string") return s.type;
  if (s.properties) return "object";
  if (s.items) return "array";
  return undefined;
}

function isNullSchema(s: Json): boolean {
  return s.type === "null" || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === "null");
}

/** Every property of a response schema up to two levels, as dotted paths with their type. */
function flatProps(schema: Json, resolve: (s: unknown) => Json | undefined): { key: string; type?: string }[] {
  const out: { key: string; type?: string }[] = [];
  const visit = (s: Json, prefix: string, depth: number) => {
    for (const [key, raw] of Object.entries((s.properties ?? {}) as Json)) {
      const prop = resolve(raw);
      if (!prop) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      const type = typeOf(prop);
      out.push({ key: path, type: type === "number" ? "integer" : type });
      if (type === "object" && depth < 2) visit(prop, path, depth + 1);
    }
  };
  if (typeOf(schema) === "object") visit(schema, "", 0);
  // Shallow properties win over nested ones with the same name.
  return out.sort((a, b) => a.key.split(".").length - b.key.split(".").length);
}

/** dlt-like snake_case for resource and secret names. */
export function snake(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/^(\d)/, "_$1");
}

function singularize(word: string): string {
  if (/ies$/.test(word)) return word.slice(0, -3) + "y";
  if (/(ss|us)$/.test(word)) return word;
  if (/(xes|ches|shes|sses)$/.test(word)) return word.slice(0, -2);
  if (/s$/.test(word)) return word.slice(0, -1);
  return word;
}

function absoluteUrl(url: string, base: string | undefined): string {
  if (/^https?:\/\//i.test(url) || !base) return url;
  try {
    return new URL(url, base.endsWith("/") ? base : `${base}/`).toString();
  } catch {
    return url;
  }
}
