/**
 * Plain http to a non-loopback host (issue 5): credentials would travel
 * unencrypted, so the run warns — for the base_url and for an OAuth2 token
 * URL alike. The network is a fetch that answers in-process: nothing leaves
 * the machine.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareConfig } from "../../src/config/index.ts";
import type { PipelineEvent } from "../../src/pipeline/run.ts";
import { testEnv } from "../helpers/index.ts";

/** Answers the token endpoint and one page of records, whatever the host. */
const fakeFetch: typeof fetch = async (input) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const body = url.pathname.endsWith("/token") ? { access_token: "tok-fake-123", expires_in: 3600 } : { items: [{ id: 1 }] };
  return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
};

async function warningsFor(client: Record<string, unknown>): Promise<string[]> {
  await using env = await testEnv({ prefix: "restduck-insecure-" });
  const events: PipelineEvent[] = [];
  const config = { client, resources: [{ name: "things", endpoint: { path: "/things", data_selector: "items", paginator: "single_page" } }] };
  await env.run(prepareConfig(config, { env: { CLIENT_ID: "id", CLIENT_SECRET: "secret-value" } }), {
    pipelineName: "insecure",
    fetch: fakeFetch,
    onEvent: (e) => events.push(e),
  });
  return events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
}

const oauth2 = (tokenUrl: string) => ({ type: "oauth2", client_id: { $secret: "client_id" }, client_secret: { $secret: "client_secret" }, token_url: tokenUrl });

test("a base_url with plain http to another host gets a warning", async () => {
  const warnings = await warningsFor({ base_url: "http://api.example.com" });
  assert.ok(warnings.some((w) => /client\.base_url uses plain http to api\.example\.com/.test(w)), warnings.join("\n"));
});

test("https and plain http to loopback get no warning", async () => {
  assert.deepEqual(await warningsFor({ base_url: "https://api.example.com", auth: oauth2("https://auth.example.com/token") }), []);
  assert.deepEqual(await warningsFor({ base_url: "http://127.0.0.1:9", auth: oauth2("http://localhost:9/token") }), []);
});

test(
  "an OAuth2 token URL with plain http to another host gets a warning, even when the base_url is https",
  async () => {
    const warnings = await warningsFor({ base_url: "https://api.example.com", auth: oauth2("http://auth.example.com/token") });
    assert.ok(warnings.some((w) => /plain http to auth\.example\.com/.test(w)), warnings.join("\n") || "no warning");
  },
);
