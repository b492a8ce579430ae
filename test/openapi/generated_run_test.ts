/**
 * A generated config runs: GitHub-shaped repositories → issues → comments, where the comments' path needs
 * the repository's owner and name that an issue record does not carry (they come down the chain with
 * include_from_parent), and Stripe-shaped keyset pages (`starting_after=<last id>` until `has_more` is
 * false). A real HTTP server on 127.0.0.1, a real DuckDB file.
 */
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { testEnv } from "../helpers/index.ts";

const json = (body: unknown) => ({ "application/json": { schema: body } });
const array = (properties: Record<string, unknown>) => ({ type: "array", items: { type: "object", properties } });
const param = (name: string, description: string, type = "string") => ({ name, in: "path", required: true, description, schema: { type } });
const perPage = { name: "per_page", in: "query", description: "The number of results per page (max 100).", schema: { type: "integer", default: 30 } };
const page = { name: "page", in: "query", schema: { type: "integer", default: 1 } };
const linked = (schema: unknown) => ({ 200: { description: "ok", headers: { Link: { schema: { type: "string" } } }, content: json(schema) } });
const user = { type: "object", properties: { login: { type: "string" }, id: { type: "integer" }, name: { type: "string", nullable: true } } };

const SPEC = {
  openapi: "3.0.3",
  info: { title: "Forge API", version: "1" },
  servers: [{ url: "http://127.0.0.1:0" }],
  components: { securitySchemes: { token: { type: "http", scheme: "bearer" } } },
  security: [{ token: [] }],
  paths: {
    "/user/repos": { get: { parameters: [perPage, page], responses: linked(array({ id: { type: "integer" }, name: { type: "string" }, owner: user })) } },
    "/repos/{owner}/{repo}/issues": {
      get: {
        parameters: [param("owner", "The account owner of the repository. The name is not case sensitive."), param("repo", "The name of the repository. The name is not case sensitive."), perPage, page],
        responses: linked(array({ id: { type: "integer" }, number: { type: "integer" }, title: { type: "string" }, user })),
      },
    },
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": {
      get: {
        parameters: [param("owner", "The account owner of the repository."), param("repo", "The name of the repository."), param("issue_number", "The number that identifies the issue.", "integer"), perPage, page],
        responses: linked(array({ id: { type: "integer" }, body: { type: "string" } })),
      },
    },
    "/v1/customers": {
      get: {
        parameters: [
          { name: "limit", in: "query", schema: { type: "integer", maximum: 10 } },
          { name: "starting_after", in: "query", schema: { type: "string" } },
          { name: "ending_before", in: "query", schema: { type: "string" } },
        ],
        responses: { 200: { description: "ok", content: json({ type: "object", properties: { object: { type: "string" }, data: array({ id: { type: "string" }, email: { type: "string" } }), has_more: { type: "boolean" }, url: { type: "string" } } }) } },
      },
    },
  },
};

/** The API the document describes (a mock API script handler): GitHub-style Link pages and Stripe-style keyset pages. */
function forge() {
  const requests: string[] = [];
  const repos = [1, 2, 3].map((i) => ({ id: 100 + i, name: `repo-${i}`, owner: { login: i === 3 ? "acme" : "octo", id: i === 3 ? 9 : 8, name: null } }));
  const customers = Array.from({ length: 25 }, (_, i) => ({ id: `cus_${String(i + 1).padStart(3, "0")}`, email: `c${i + 1}@example.com` }));
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const pageOf = <T>(req: IncomingMessage, url: URL, res: ServerResponse, items: T[]) => {
    const size = Number(url.searchParams.get("per_page") ?? 30);
    const n = Number(url.searchParams.get("page") ?? 1);
    const next = new URL(url);
    next.searchParams.set("page", String(n + 1));
    const more = n * size < items.length;
    send(res, 200, items.slice((n - 1) * size, n * size), more ? { link: `<${next}>; rel="next"` } : {});
  };
  const answer = (res: ServerResponse, req: IncomingMessage) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    requests.push(`${url.pathname}${url.search}`);
    if (req.headers.authorization !== "Bearer t0ken") return send(res, 401, { message: "Bad credentials" });
    let m: RegExpMatchArray | null;
    if (url.pathname === "/user/repos") return pageOf(req, url, res, repos);
    if ((m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues$/))) {
      const repo = repos.find((r) => r.owner.login === m![1] && r.name === m![2]);
      if (!repo) return send(res, 404, { message: "Not Found" });
      return pageOf(req, url, res, [1, 2].map((n) => ({ id: repo.id * 10 + n, number: n, title: `issue ${n}`, user: repo.owner })));
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/))) {
      const repo = repos.find((r) => r.owner.login === m![1] && r.name === m![2]);
      if (!repo || !["1", "2"].includes(m[3])) return send(res, 404, { message: "Not Found" });
      return pageOf(req, url, res, [1, 2, 3].map((c) => ({ id: repo.id * 100 + Number(m![3]) * 10 + c, body: `comment ${c}` })));
    }
    if (url.pathname === "/v1/customers") {
      const limit = Number(url.searchParams.get("limit") ?? 10);
      const after = url.searchParams.get("starting_after");
      const start = after ? customers.findIndex((c) => c.id === after) + 1 : 0;
      const data = customers.slice(start, start + limit);
      return send(res, 200, { object: "list", data, has_more: start + limit < customers.length, url: "/v1/customers" });
    }
    send(res, 404, { message: "Not Found" });
  };
  return { answer, requests };
}

test("a config generated from a GitHub- and Stripe-shaped document loads every comment through the chain and every customer by keyset", async () => {
  const { answer, requests } = forge();
  await using env = await testEnv({ api: { script: [answer] } });
  const base = env.api.url;
  writeFileSync(env.path("forge.json"), JSON.stringify({ ...SPEC, servers: [{ url: base }] }));
  const init = await env.cli(["init", "--openapi", "forge.json", "forge.yaml"]);
  assert.equal(init.code, 0, init.stderr + init.stdout);
  assert.match(init.stdout, /comments: GET \/repos\/\{resources\.issues\._repos_owner\.login\}\/\{resources\.issues\._repos_name\}\/issues\/\{resources\.issues\.number\}\/comments, paginator header_link/);
  assert.match(init.stdout, /customers: GET \/v1\/customers, paginator cursor/);
  const run = await env.cli(["run", "forge.yaml", "--db", "forge.duckdb"], { env: { TOKEN: "t0ken" } });
  assert.equal(run.code, 0, run.stderr);
  const count = async (table: string) => (await env.query<{ n: number }>(`select count(distinct id)::INT as n from ${table}`, env.path("forge.duckdb")))[0].n;
  assert.equal(await count("repos"), 3);
  assert.equal(await count("issues"), 6);
  assert.equal(await count("comments"), 18);
  assert.equal(await count("customers"), 25);
  // Owner logins and repository names in the paths, never ids or whole objects.
  assert.ok(requests.includes("/repos/acme/repo-3/issues/2/comments?per_page=100"), requests.join("\n"));
  // Keyset pages: the last id of each page, until has_more is false.
  assert.deepEqual(requests.filter((r) => r.startsWith("/v1/customers")), [
    "/v1/customers?limit=10",
    "/v1/customers?limit=10&starting_after=cus_010",
    "/v1/customers?limit=10&starting_after=cus_020",
  ]);
});
