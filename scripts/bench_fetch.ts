/**
 * The machine's limit for the benchmark: the plainest concurrent client that
 * fetches every page of the bench server and parses it (JSON.parse), then
 * throws the records away. No retries, no normalising, no database.
 *
 *   node scripts/bench_fetch.ts --url http://127.0.0.1:PORT --messages 100000 [--concurrency 16] [--client http|fetch]
 *
 * Prints one JSON line: `{ rows, requests, bytes, ms }`.
 */
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, PAGE } from "./bench_server.ts";

async function token(url: string): Promise<string> {
  const res = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: BENCH_CLIENT_ID, client_secret: BENCH_CLIENT_SECRET }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

function getHttp(agent: Agent, url: string, auth: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: auth, accept: "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      messages: { type: "string", default: "100000" },
      concurrency: { type: "string", default: "16" },
      client: { type: "string", default: "http" },
    },
  });
  const url = values.url!;
  const pages = Math.ceil(Number(values.messages) / PAGE);
  const concurrency = Number(values.concurrency);
  const auth = `Bearer ${await token(url)}`;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const get =
    values.client === "fetch"
      ? async (u: string) => {
          const res = await fetch(u, { headers: { authorization: auth, accept: "application/json" } });
          return { status: res.status, body: await res.text() };
        }
      : (u: string) => getHttp(agent, u, auth);
  let next = 0;
  let rows = 0;
  let bytes = 0;
  let requests = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < pages) {
      const p = next++;
      // Faults are retried at once: the limit measures the client, not the server's waits.
      for (let attempt = 0; attempt < 10; attempt++) {
        requests++;
        const { status, body } = await get(`${url}/v1/messages?offset=${p * PAGE}&limit=${PAGE}`);
        if (status !== 200) continue;
        bytes += body.length;
        rows += (JSON.parse(body) as { messages: unknown[] }).messages.length;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const ms = performance.now() - started;
  agent.destroy();
  console.log(JSON.stringify({ rows, requests, bytes, ms }));
}

await main();
