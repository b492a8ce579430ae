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
  /** A compound key (`[parent id, user_id]`) when the record's own key repeats across parents. */
  primaryKey?: string | string[];
  /** Singular stems this resource answers to, for matching path parameters (`channel` for `channels`). */
  stems: string[];
  config: Json;
  parents: _Resource[];
  /** How each path parameter is filled: from which parent and field (a JSONPath into its record). */
  bindings: Map<string, { parent: _Resource; field: string }>;
}

class _Generator {
  readonly doc: Json;
  readonly options: GenerateOptions;
  readonly notes: string[] = [];
  readonly skipped: string[] = [];
  readonly secrets = new Set<string>();
  /** Most paged lists declare a `Link` header (GitHub): the ones that do not are assumed to send it too. */
  headerLinkConvention = false;
  /** `$ref`s to other files or URLs that reached the generator unresolved (a remote document part). */
  readonly externalRefs = new Set<string>();
  /** Parent fields matched by name or description → the resources using them. */
  readonly guesses = new Map<string, string[]>();

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
      const params = [...((item.parameters ?? []) as Json[]), ...((op.parameters ?? []) as Json[])].map((p) => this.deref(p)).filter(Boolean);
      const list = this.findRecords(found.schema, path, params);
      if (!list) {
        // A record with its own id is one object, whatever maps it holds (Discord's application); a wrapper around a map is a keyed list (Mattermost's posts).
        const map = found.schema.properties?.id ? undefined : this.mapProperty(found.schema);
        this.skipped.push(
          map
            ? `${where}: records come as an object keyed by id ("${map}": {id: record}); data_selector "${map}.*" reads them, but an empty page has no match, so write that resource by hand`
            : typeOf(found.schema) === "object" && Object.keys(found.schema.properties ?? {}).length
              ? `${where}: response has no list of objects: it returns one object (its arrays, if any, are parts of it, not a collection the path names)`
              : `${where}: response has no list of objects (${HTTP_LIST_HINT})`,
        );
        continue;
      }
      endpoints.push({ path, op, params, records: list.items, dataSelector: list.selector, response: found.schema, responseHeaders: found.headers });
    }
    if (!endpoints.length) {
      throw new ConfigError(`No list endpoints found in the OpenAPI document (${paths.length} paths looked at)`, {
        hint: `${HTTP_LIST_HINT}; check the file, or --include a path prefix`,
      });
    }
    // Names go to the shallowest paths first (`/tasks` is `tasks`, `/projects/{gid}/tasks` is `projects_tasks`), so a
    // top-level list never gets a `_2`; ties by path keep names stable.
    endpoints.sort((a, b) => depthOf(a.path) - depthOf(b.path) || a.path.localeCompare(b.path));
    this.headerLinkConvention = this.linkHeaderConvention(endpoints);
    const names = new Set<string>();
    const drafts = endpoints.map((ep) => this.draft(ep, names));
    // Parents are linked before their children, so a child can reach a grandparent's ids through them.
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
    for (const [what, users] of this.guesses) {
      const shown = users.length > 4 ? `${users.slice(0, 4).join(", ")} and ${users.length - 4} more` : users.join(", ");
      this.notes.push(`${what}: a guess, check it (resource${users.length === 1 ? "" : "s"} ${shown})`);
    }
    if (this.externalRefs.size) {
      const some = [...this.externalRefs].slice(0, 3).join(", ");
      this.notes.push(`${this.externalRefs.size} $ref${this.externalRefs.size === 1 ? "" : "s"} to other files or URLs could not be followed (${some}); download them beside the document and refer to them by relative path`);
    }
    return { config, notes: this.notes, skipped: this.skipped, secrets: [...this.secrets] };
  }

  // ------------------------------------------------------------ documents

  /** Resolves local `$ref`s (`#/components/...`), one level at a time. */
  deref(node: any, seen = new Set<string>()): any {
    let current = node;
    while (current && typeof current === "object" && typeof current.$ref === "string") {
      const ref: string = current.$ref;
      if (!ref.startsWith("#")) this.externalRefs.add(ref);
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

  /**
   * Where the records are: the response itself if it is an array; else the array the path names
   * (`audit_log_entries` for `/audit-logs`, `threads` for `/threads/archived/public`) or a generic
   * collection key (`data`, `items`, `entries`) at the top; else, when the endpoint pages, its one
   * top-level array. Anything else is one object (Stripe's `/v1/balance`), not a list.
   */
  findRecords(schema: Json, path: string, params: Json[]): { items: Json; selector: string } | undefined {
    if (typeOf(schema) === "array") {
      const items = this.schema(schema.items);
      return items && typeOf(items) === "object" ? { items, selector: "$" } : undefined;
    }
    if (typeOf(schema) !== "object") return undefined;
    const candidates: { path: string; key: string; items: Json; depth: number }[] = [];
    const visit = (s: Json, prefix: string, depth: number) => {
      for (const [key, raw] of Object.entries((s.properties ?? {}) as Json)) {
        const prop = this.schema(raw);
        if (!prop || !PLAIN_KEY.test(key)) continue;
        const at = prefix ? `${prefix}.${key}` : key;
        if (typeOf(prop) === "array") {
          const items = this.schema(prop.items);
          if (items && typeOf(items) === "object" && Object.keys(items.properties ?? {}).length) candidates.push({ path: at, key, items, depth });
        } else if (typeOf(prop) === "object" && depth < 1) {
          visit(prop, at, depth + 1);
        }
      }
    };
    visit(schema, "", 0);
    // The last word of the path that names something: `threads` in `/threads/archived/public`, `original` in
    // `/messages/@original` (one message, whatever arrays it holds).
    const words = staticSegments(path)
      .reverse()
      .map((seg) => snake(seg).split("_").map(singularize))
      .filter((w) => w.length && !GENERIC_SEGMENT.test(w.join("_")))
      .slice(0, 1);
    const named = candidates.filter((c) => words.some((w) => containsRun(snake(c.key).split("_").map(singularize), w)));
    // The path's last words first: `/threads/archived/public` has no `public` array but a `threads` one.
    const rank = (c: { key: string }) => words.findIndex((w) => containsRun(snake(c.key).split("_").map(singularize), w));
    named.sort((x, y) => rank(x) - rank(y) || x.depth - y.depth);
    if (named[0]) return { items: named[0].items, selector: named[0].path };
    const generic = candidates.filter((c) => c.depth === 0 && COLLECTION_KEY.test(c.key));
    if (generic[0]) return { items: generic[0].items, selector: generic[0].path };
    const top = candidates.filter((c) => c.depth === 0);
    if (top.length === 1 && this.pages(schema, params)) return { items: top[0].items, selector: top[0].path };
    return undefined;
  }

  /** Whether an endpoint looks paged: a paging query parameter, or a next/cursor/total/has_more field in its response. */
  pages(schema: Json, params: Json[]): boolean {
    if (params.some((p) => p.in === "query" && PAGING_PARAM.test(p.name))) return true;
    return flatProps(schema, (x) => this.schema(x)).some((p) => PAGING_FIELD.test(p.key.split(".").at(-1)!));
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
    // `Messages.json` is `messages`: an extension in the path is no part of the name (nor of the parent links).
    const statics = staticSegments(ep.path);
    // `/posts/{id}/files/info` → `files_info`: a generic last word takes its neighbour.
    let last = snake(statics.at(-1) ?? "items") || "items";
    // `/threads/archived/public` → `threads_archived_public`: generic words take their neighbours up to one that names something.
    let from = statics.length - 1;
    for (; from > 0 && (/^(items)$/.test(last) || GENERIC_SEGMENT.test(last.split("_")[0])); from--) last = `${snake(statics[from - 1])}_${last}`;
    let name = last;
    for (let i = from - 1; names.has(name) && i >= 0; i--) name = `${snake(statics[i]) || "x"}_${name}`;
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
    const primaryKey = this.primaryKey(ep.records, snake(statics.at(-1) ?? ""));
    endpoint.paginator = this.paginator(ep, where, params, primaryKey);
    if (Object.keys(params).length) endpoint.params = params;

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
    return { name, path: ep.path, endpoint: ep, primaryKey, stems, config, parents: [], bindings: new Map() };
  }

  /**
   * Parent/child from path parameters. A resource has one parent (dlt's rule, and `validate`'s): the list
   * behind its innermost parameter (`/channels/{channel_id}/messages` → `channels`). Outer parameters come
   * from that parent's records when they carry them (a scheduled event's `guild_id`), else down the chain
   * the parent was bound through (`include_from_parent`: an issue gets its repository's owner and name).
   * A parameter nothing supplies gets a stand-in value, and the resource is off until the user sets it.
   */
  link(r: _Resource, all: _Resource[]): void {
    // A parent needs no more ids than its child, and is never its own descendant (a cycle `validate` rejects).
    const descends = (o: _Resource): boolean => o.parents.some((p) => p === r || descends(p));
    const others = all.filter((o) => o !== r && paramNames(o.path).length <= paramNames(r.path).length && !descends(o));
    const params = paramNames(r.path);
    let parent: _Resource | undefined;
    let own = -1;
    for (let i = params.length - 1; i >= 0 && !parent; i--) {
      parent = this.parentFor(params[i], r.path, others);
      if (parent) own = i;
    }
    const where = `resource ${r.name} (GET ${r.path})`;
    const unresolved: string[] = [];
    params.forEach((param, i) => {
      let field: string | undefined;
      if (parent && i === own) field = this.ownField(param, parent, where, r.endpoint);
      // An outer parameter naming the parent itself (`/webhooks/{webhook_id}/{webhook_token}`) is one of its fields too.
      else if (parent && i < own && parent.stems.includes(paramStem(param))) field = this.ownField(param, parent, where, r.endpoint);
      else if (parent && i < own) field = this.carriedField(param, parent, where);
      if (parent && field !== undefined) {
        r.bindings.set(param, { parent, field });
        const endpoint = r.config.endpoint as Json;
        endpoint.path = endpoint.path.replace(`{${param}}`, `{resources.${parent.name}.${field}}`);
      } else unresolved.push(param);
    });
    if (parent) r.parents.push(parent);
    if (unresolved.length) {
      // dlt fills `{post_id}` from `params.post_id`: a stand-in value the user replaces, and the resource off until then.
      const endpoint = r.config.endpoint as Json;
      for (const param of unresolved) endpoint.params = { ...(endpoint.params ?? {}), [param]: `<${param}>` };
      const { endpoint: ep, ...rest } = r.config;
      r.config = { ...rest, selected: false, endpoint: ep };
      const list = unresolved.map((p) => `{${p}}`).join(", ");
      this.notes.push(`${where}: path parameter${unresolved.length > 1 ? "s" : ""} ${list} ${parent ? `not found in ${parent.name}'s records` : "matches no list resource"}; set ${unresolved.map((p) => `params.${p}`).join(", ")} and remove "selected": false`);
    }
    // A child's rows repeat per parent: a key that is the child's own `<x>_id` is unique only together with the parent's.
    if (parent && typeof r.primaryKey === "string" && r.primaryKey !== "id") {
      const props = Object.keys((r.endpoint.records.properties ?? {}) as Json);
      const parentRef = params.find((p) => props.includes(p) && p !== r.primaryKey && r.bindings.get(p)?.parent === parent);
      if (parentRef && /_(id|sid|gid|uuid)$/.test(r.primaryKey) && !/^(id|sid|gid|uuid|key|sha)$/.test(r.primaryKey)) {
        r.primaryKey = [parentRef, r.primaryKey];
        r.config.primary_key = r.primaryKey;
      }
    }
  }

  parentFor(param: string, path: string, earlier: _Resource[]): _Resource | undefined {
    // 1. The list endpoint right before the parameter: `/channels` for `/channels/{channel_id}/…`.
    const prefix = path.slice(0, path.indexOf(`{${param}}`)).replace(/\/$/, "");
    const exact = earlier.find((r) => r.path === prefix);
    if (exact) {
      // `/tasks?project=…` is `/projects/{project_gid}/tasks`: when the top-level list says it must be
      // filtered ("You must specify a `project`…", Asana's GET /tasks) and a nested list of the same records
      // takes that filter in its path, the nested list is the parent.
      const says = String(exact.endpoint.op.description ?? "");
      const must = /\b(must|required to)\b/i.test(says);
      const filters = new Set(
        exact.endpoint.params.filter((p) => p.in === "query" && must && says.includes(`\`${p.name}\``)).map((p) => snake(p.name)),
      );
      const last = staticSegments(exact.path).at(-1);
      const scoped = earlier.filter(
        (r) => r !== exact && staticSegments(r.path).at(-1) === last && paramNames(r.path).length === 1 && filters.has(paramStem(paramNames(r.path)[0])),
      );
      return scoped.length ? scoped.sort((a, b) => a.path.length - b.path.length || a.path.localeCompare(b.path))[0] : exact;
    }
    // 2. A resource named after the parameter: `channel_id`, `ChannelSid`, `channelId` → `channels`;
    //    the one needing the fewest other ids wins (`/user/repos` over `/orgs/{org}/repos`).
    const stem = paramStem(param);
    const byStem = earlier.filter((r) => r.stems.includes(stem) || r.stems.includes(`${stem}s`));
    const simplest = (list: _Resource[]) => list.sort((a, b) => depthOf(a.path) - depthOf(b.path) || a.path.length - b.path.length || a.path.localeCompare(b.path))[0];
    if (byStem.length) return simplest(byStem);
    // 3. The static segment before the parameter (`/teams/{id}/…` → `teams`, `/repos/{owner}` → `repos`).
    const before = snake(staticSegments(prefix).at(-1) ?? "");
    const bySegment = before ? earlier.filter((r) => r.stems.includes(before)) : [];
    return bySegment.length ? simplest(bySegment) : undefined;
  }

  /** Records a parent-field guess; one note per guess lists every resource that relies on it. */
  guess(what: string, where: string): void {
    const list = this.guesses.get(what) ?? [];
    list.push(where.replace(/^resource (\S+).*/, "$1"));
    this.guesses.set(what, list);
  }

  /** Properties of a resource's records: name → resolved schema. */
  recordProps(r: _Resource): Json {
    const out: Json = {};
    for (const [k, v] of Object.entries((r.endpoint.records.properties ?? {}) as Json)) out[k] = this.schema(v) ?? {};
    return out;
  }

  /**
   * The field of its own parent that fills a parameter: what the parameter's name or description says it is
   * (`issue_number` → `number`, `commit_sha` → `sha`, `project_gid` → `gid`, "the name of the repository" →
   * `name`, an organization's handle → `login`), else the parent's primary key. A match by name or
   * description is a guess, and said so in the notes.
   */
  ownField(param: string, parent: _Resource, where: string, child: _Endpoint): string {
    const props = this.recordProps(parent);
    const scalar = (k: string) => k in props && !["object", "array"].includes(typeOf(props[k]) ?? "");
    const key = typeof parent.primaryKey === "string" ? parent.primaryKey : undefined;
    const s = snake(param);
    const suffix = s.includes("_") ? s.split("_").at(-1)! : "";
    const guess = (field: string, why: string) => {
      if (field !== key) this.guess(`{${param}} is filled from ${parent.name}.${field} (${why})`, where);
      return field;
    };
    // `issue_number` → number, `AccountSid` → sid, `company_id` → id (the record's own id, not a field named company_id).
    if (suffix && suffix !== s && scalar(suffix)) return suffix === key ? suffix : guess(suffix, `the parameter's name ends in "${suffix}"`);
    if (s === "id" || /^(id|sid|gid|uuid)$/.test(suffix)) return key ?? "id";
    const description = String(this.paramOf(child, param)?.description ?? "");
    const text = `${s} ${description}`.toLowerCase();
    // A handle or a name: GitHub's `{org}`, `{username}`, `{repo}` ("the name of the repository").
    if (!suffix || /\b(name|login|handle|slug|username)\b/.test(text)) {
      for (const field of ["login", "slug", "username", "handle", "name", "key"]) {
        if (scalar(field) && (field === "login" || field === "slug" || /\b(name|handle|slug|login|username)\b/.test(text) || s === field)) {
          return guess(field, description ? `its description: "${description.slice(0, 60)}"` : "a name-like parameter");
        }
      }
    }
    if (scalar(s) && s !== key) return guess(s, "the record has a field of that name");
    return key ?? "id";
  }

  /**
   * An outer parameter from the parent's records: a field of the same name (`guild_id`, `account_sid`),
   * else the value the parent itself was given for it, carried down with `include_from_parent`.
   */
  carriedField(param: string, parent: _Resource, where: string): string | undefined {
    const props = this.recordProps(parent);
    for (const name of [param, snake(param)]) {
      if (!(name in props)) continue;
      const type = typeOf(props[name]);
      if (type !== "object" && type !== "array") return name;
      // `{owner}` from a repository's `owner` object: its handle.
      const inner = Object.keys((props[name].properties ?? {}) as Json);
      const handle = ["login", "slug", "username", "name", "id"].find((f) => inner.includes(f));
      if (type === "object" && handle) {
        this.guess(`{${param}} is filled from ${parent.name}.${name}.${handle} (the ${name} object's handle)`, where);
        return `${name}.${handle}`;
      }
    }
    const upstream = parent.bindings.get(param);
    if (!upstream) return undefined;
    const [head, ...rest] = upstream.field.split(".");
    const include = (parent.config.include_from_parent ?? []) as string[];
    if (!include.includes(head)) parent.config.include_from_parent = [...include, head];
    this.notes.push(`${where}: {${param}} comes from ${upstream.parent.name} through ${parent.name} (include_from_parent: ${head})`);
    return [`_${upstream.parent.name}_${head}`, ...rest].join(".");
  }

  paramOf(ep: _Endpoint, name: string): Json | undefined {
    return ep.params.find((p) => p.in === "path" && p.name === name);
  }

  /** The record's own id: `id`, else `gid`/`sid`/`uuid`/…, else `<name>_id`, else the one `…_id` field, else `sha`. */
  primaryKey(items: Json, resourceName: string): string | undefined {
    const props = Object.keys((items.properties ?? {}) as Json);
    const singular = singularize(resourceName);
    for (const candidate of ["id", "gid", "sid", "uuid", "guid", "_id", "key", `${singular}_id`, `${singular}Id`, `${singular}_sid`, `${singular}_gid`, "sha"]) {
      if (props.includes(candidate)) return candidate;
    }
    const ids = props.filter((p) => /(^|_)(id|sid|gid)$|Id$/.test(p) && p !== "node_id");
    return ids.length === 1 ? ids[0] : props.includes("node_id") ? "node_id" : undefined;
  }

  // ------------------------------------------------------------ pagination

  /**
   * The paginator, from the query parameters and the response, most specific first: a next URL in the
   * body; offset + limit with a total; a cursor token sent back as a parameter (Asana's opaque `offset`
   * from `next_page.offset`, Stripe search's `page` from `next_page`, Box's `stream_position`); a `Link`
   * header; offset + limit; page numbers; a cursor whose parameter only the response names (Intercom's
   * `pages.next.starting_after`); keyset paging by the last record's key (Stripe's `starting_after`,
   * Discord's `before`/`after`), which the cursor paginator reads with a JSONPath (`data[-1].id`).
   */
  paginator(ep: _Endpoint, where: string, params: Json, primaryKey: string | undefined): Json | string {
    const query = ep.params.filter((p) => p.in === "query");
    const q = (re: RegExp) => query.find((p) => re.test(p.name));
    const typeOfParam = (p: Json) => typeOf(this.schema(p.schema) ?? {}) ?? "string";
    const responseProps = flatProps(ep.response, (s) => this.schema(s));
    const prop = (re: RegExp, type?: string) => responseProps.find((p) => re.test(p.key) && (!type || p.type === type || p.type === undefined));
    const sizeParam = q(/^(limit|per_page|perPage|page_size|pageSize|PageSize|count|max_results|maxResults|size|page_limit)$/);
    const pageSize = sizeParam ? this.pageSize(sizeParam) : undefined;
    const withSize = () => {
      if (sizeParam && pageSize) params[sizeParam.name] = pageSize;
    };
    const total = prop(/(^|\.)(total|total_count|totalCount|total_results|totalResults|count|total_items|totalItems)$/, "integer");
    // A total some APIs send only when asked (`total=true`, PagerDuty): ask.
    const totalFlag = query.find((p) => p.name === "total" && typeOfParam(p) === "boolean");
    const totalPath = () => {
      if (!total) return {};
      if (totalFlag) params[totalFlag.name] = true;
      return { total_path: total.key };
    };
    const has = prop(/(^|\.)(has_more|hasMore|has_next|hasNext|more)$/, "boolean");

    // 1. A next link in the body (Twilio's `next_page_uri` is relative to the host; json_link resolves it).
    const nextLink = prop(/(^|\.)(next|next_url|nextUrl|next_page_url|nextPageUrl|next_page_uri|nextPageUri|next_link|nextLink|next_href)$|(^|\.)links?\.next$/i, "string");
    if (nextLink) {
      withSize();
      return { type: "json_link", next_url_path: nextLink.key };
    }
    // 2. Numeric offset + limit with a total to stop at.
    const offsetParam = q(/^(offset|skip|start|from)$/);
    const numericOffset = offsetParam && ["integer", "number"].includes(typeOfParam(offsetParam)) ? offsetParam : undefined;
    const offset = () => ({
      type: "offset",
      limit: pageSize ?? 100,
      ...(numericOffset!.name !== "offset" ? { offset_param: numericOffset!.name } : {}),
      ...(sizeParam!.name !== "limit" ? { limit_param: sizeParam!.name } : {}),
      ...totalPath(),
    });
    if (numericOffset && sizeParam && total) return offset();
    // 3. A cursor token from the body, sent back as a declared parameter.
    const cursorish = query.filter(
      (p) => CURSOR_PARAM.test(p.name) || (/^(offset|page|marker|stream_position|position|token)$/.test(p.name) && typeOfParam(p) === "string"),
    );
    for (const param of cursorish) {
      const name = snake(param.name);
      const found = responseProps.find((p) => {
        if (p.type === "array" || p.type === "object") return false;
        const keys = p.key.split(".");
        const last = snake(keys.at(-1)!);
        if (last === `next_${name}`) return true;
        if (last === name && keys.slice(0, -1).some((k) => /^next(_page)?$/i.test(k))) return true;
        return CURSOR_PARAM.test(param.name) && CURSOR_FIELD.test(keys.at(-1)!);
      });
      if (found) {
        withSize();
        return { type: "cursor", cursor_path: found.key, cursor_param: param.name, ...(has ? { has_more_path: has.key } : {}) };
      }
    }
    const pageParam = q(/^(page|page_number|pageNumber|Page|p)$/);
    // 4. Link header, declared, or the document's convention for paged lists.
    const linkDeclared = Object.keys(ep.responseHeaders).some((h) => h.toLowerCase() === "link");
    if (linkDeclared || (this.headerLinkConvention && (pageParam || sizeParam) && ep.dataSelector === "$")) {
      withSize();
      return { type: "header_link" };
    }
    // 5. offset + limit.
    if (numericOffset && sizeParam) return offset();
    // 6. page + page size.
    if (pageParam && typeOfParam(pageParam) !== "string") {
      withSize();
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
    // 7. A cursor under a `next` object whose key is the parameter to send (Intercom: `pages.next.starting_after`).
    const nested = responseProps.find((p) => /(^|\.)next\.(starting_after|cursor|after|page_token|offset|marker)$/.test(p.key) && p.type !== "object" && p.type !== "array");
    if (nested) {
      withSize();
      return { type: "cursor", cursor_path: nested.key, cursor_param: nested.key.split(".").at(-1)!, ...(has ? { has_more_path: has.key } : {}) };
    }
    // 8. Keyset paging by the last record's key: Stripe's `starting_after`, Discord's `before`/`after`.
    const keyset = q(/^(starting_after|startingAfter)$/) ?? q(/^before$/) ?? q(/^after$/) ?? q(/^since_id$/);
    const keysetField = keyset && this.keysetField(ep, keyset, primaryKey);
    if (keyset && keysetField) {
      withSize();
      if (q(/^before$/) && q(/^after$/)) {
        this.notes.push(`${where}: pages with ${keyset.name}=<last record's ${keysetField}>, which assumes newest first; if the API lists oldest first, use cursor_param "after"`);
      }
      const base = ep.dataSelector === "$" ? "$" : ep.dataSelector;
      return { type: "cursor", cursor_path: `${base}[-1].${keysetField}`, cursor_param: keyset.name, ...(has ? { has_more_path: has.key } : {}) };
    }
    if (keyset && sizeParam) {
      params[sizeParam.name] = pageSize ?? 100;
      this.notes.push(`${where}: pages with ${keyset.name}=<last record's key>, but the records have no id-like field to take it from; loads one page of ${sizeParam.name}=${params[sizeParam.name]}`);
      return { type: "single_page" };
    }
    const tokens = [...cursorish, ...(offsetParam && !numericOffset ? [offsetParam] : [])];
    if (!sizeParam && !pageParam && tokens.length && tokens.every((p) => typeOfParam(p) === "string")) {
      // Asana's workspace users take an `offset` token, but the response declares none to send back: one page.
      this.notes.push(`${where}: takes ${tokens.map((p) => `"${p.name}"`).join(", ")} but its response declares no next token; loads one page`);
      return { type: "single_page" };
    }
    if (sizeParam || cursorish.length || offsetParam) {
      this.notes.push(
        `${where}: has paging parameters (${[sizeParam, ...cursorish, offsetParam].filter(Boolean).map((p) => p!.name).join(", ")}) but no recognisable scheme; using "auto"`,
      );
      return { type: "auto" };
    }
    return { type: "single_page" };
  }

  /**
   * The record field a keyset parameter takes from the last record: its primary key, or for a date-time
   * parameter (Discord's archived threads, `before=<timestamp>`) the date-time field the path speaks of
   * (`archive_timestamp` under `/threads/archived/…`), or the only one.
   */
  keysetField(ep: _Endpoint, param: Json, primaryKey: string | undefined): string | undefined {
    const format = this.schema(param.schema)?.format;
    if (format !== "date-time") return primaryKey;
    const times = flatProps(ep.records, (x) => this.schema(x)).filter((p) => {
      const s = this.schema(this.propAt(ep.records, p.key));
      return s?.format === "date-time" && p.key.split(".").length <= 2;
    });
    const segments = staticSegments(ep.path).map((x) => snake(x));
    const spoken = times.filter((t) => snake(t.key.split(".").at(-1)!).split("_").some((w) => w.length >= 5 && segments.some((seg) => seg.startsWith(w))));
    const chosen = spoken.length === 1 ? spoken[0] : times.length === 1 ? times[0] : undefined;
    return chosen?.key;
  }

  /** The schema at a dotted property path. */
  propAt(schema: Json, path: string): Json | undefined {
    let s: Json | undefined = schema;
    for (const key of path.split(".")) s = s ? this.schema(s.properties?.[key]) : undefined;
    return s;
  }

  pageSize(param: Json): number | undefined {
    const s = this.schema(param.schema) ?? {};
    if (typeof s.maximum === "number" && s.maximum <= 1000) return s.maximum;
    // GitHub writes the limit in words: "The number of results per page (max 100)."
    const stated = /\bmax(?:imum)?\b\D{0,12}(\d{1,4})\b/i.exec(String(param.description ?? s.description ?? ""));
    if (stated && Number(stated[1]) > 0 && Number(stated[1]) <= 1000) return Number(stated[1]);
    if (typeof s.default === "number" && s.default > 0) return s.default;
    return 100;
  }

  /** True when most paged list endpoints declare a `Link` response header. */
  linkHeaderConvention(endpoints: _Endpoint[]): boolean {
    const paged = endpoints.filter((e) => e.params.some((p) => p.in === "query" && /^(page|per_page)$/.test(p.name)));
    const linked = paged.filter((e) => Object.keys(e.responseHeaders).some((h) => h.toLowerCase() === "link"));
    return paged.length >= 3 && linked.length * 2 > paged.length;
  }

  // ------------------------------------------------------------ auth

  auth(endpoints: _Endpoint[]): Json | undefined {
    const schemes = (this.doc.components?.securitySchemes ?? {}) as Json;
    const names = Object.keys(schemes);
    if (!names.length) {
      this.notes.push("auth: the document declares no securitySchemes; set client.auth if the API wants a token (GitHub: bearer)");
      return undefined;
    }
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
    let chosen = ranked.find((n) => schemes[n] && usable(n)) ?? ranked.find((n) => schemes[n]) ?? names.find(usable) ?? names[0];
    // Basic and bearer both offered (Stripe): bearer takes the one secret basic would pair with an empty password.
    const isHttp = (n: string, scheme: string) => this.deref(schemes[n])?.type === "http" && new RegExp(`^${scheme}$`, "i").test(this.deref(schemes[n])?.scheme ?? "");
    const bearer = [...ranked, ...names].find((n) => schemes[n] && isHttp(n, "bearer"));
    if (isHttp(chosen, "basic") && bearer) chosen = bearer;
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
          // "base64 of `api_key:`", "leave the password empty": the key is the user name, and the password is empty.
          if (/`[^`:\s]+:`|password[^.]{0,20}\b(empty|blank)\b|\b(empty|blank|no) password/i.test(String(scheme.description ?? ""))) {
            this.notes.push(`auth: ${chosen} takes the API key as the user name and an empty password`);
            return { type: "http_basic", username: { $secret: "username" }, password: "" };
          }
          this.secrets.add("password");
          return { type: "http_basic", username: { $secret: "username" }, password: { $secret: "password" } };
        }
        return { type: "bearer", token: secretName("api_token") };
      case "apiKey": {
        const location = ["header", "query", "cookie"].includes(scheme.in) ? scheme.in : "header";
        // The header's value often starts with a word the API requires: `Token token=<key>` (PagerDuty), `Bot <token>` (Discord).
        const prefix = /(Token token=|Bot |Bearer |Token |Basic )\s*[<{]/.exec(String(scheme.description ?? ""))?.[1];
        if (/^authorization$/i.test(scheme.name ?? "") && prefix) {
          this.notes.push(`auth: ${chosen} goes in the Authorization header as "${prefix.trim()}${prefix.endsWith("=") ? "" : " "}<key>": store the secret with that prefix`);
        } else if (/^authorization$/i.test(scheme.name ?? "") && /bot/i.test(chosen)) {
          this.notes.push(`auth: ${chosen} goes in the Authorization header; its value usually needs a prefix (Discord: "Bot <token>")`);
        } else if (/^authorization$/i.test(scheme.name ?? "")) {
          this.notes.push(`auth: ${chosen} goes in the Authorization header as it is; if the API wants a prefix (e.g. "Token token=<key>"), store the secret with it`);
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

/** Keys a dotted JSONPath spells as they are. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Keys that hold a page's records whatever the collection is called. */
const COLLECTION_KEY = /^(data|items|results|records|entries|elements|values|list|objects|rows|hits|nodes|collection|content)$/i;
/** Path words that name no collection (`/users/@me/guilds`, `/customers/search`). */
const GENERIC_SEGMENT = /^(me|api|v\d+|search|list|all|index|info|details|archived|active|public|private|json)$/;
const CURSOR_PARAM = /^(cursor|after|starting_after|page_token|pageToken|PageToken|next_token|nextToken|continuation|continuation_token|page_after|marker|stream_position)$/;
const CURSOR_FIELD = /^(next_cursor|nextCursor|cursor|next_page_token|nextPageToken|next_token|nextToken|continuation|continuation_token|end_cursor|endCursor)$/;
const PAGING_PARAM = /^(limit|per_page|perPage|page_size|pageSize|PageSize|page|Page|offset|cursor|after|before|starting_after|page_token|pageToken|PageToken|marker|next_token)$/;
const PAGING_FIELD = /^(has_more|hasMore|next|next_page|next_page_uri|next_page_url|next_cursor|nextCursor|next_page_token|nextPageToken|next_marker|total|total_count|totalCount|cursor|pages|paging|pagination)$/;

/** Path parameters first, then static depth: a top-level list names first. */
function depthOf(path: string): number {
  return paramNames(path).length * 100 + staticSegments(path).length;
}

/** The static segments of a path, with a file extension (`Messages.json`) dropped. */
function staticSegments(path: string): string[] {
  return path
    .split("/")
    .filter((s) => s && !s.includes("{"))
    .map((s) => s.replace(/\.(json|xml|csv)$/i, ""));
}

/** Whether `run` appears as consecutive words in `words`. */
function containsRun(words: string[], run: string[]): boolean {
  for (let i = 0; i + run.length <= words.length; i++) if (run.every((w, j) => words[i + j] === w)) return true;
  return false;
}

/** `channel_id`, `ChannelSid`, `project_gid` → `channel`, `channel`, `project`. */
function paramStem(param: string): string {
  return snake(param).replace(/_(id|sid|gid|uuid|key|name|slug|number|sha|login|token)$/, "");
}

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
      // A key a dotted JSONPath cannot spell (`@odata.nextLink`, `a[0]`) is never written into a path.
      if (!prop || !PLAIN_KEY.test(key)) continue;
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
