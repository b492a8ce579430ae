/**
 * Configs for real APIs' response shapes, run against ports of those shapes
 * in the mock API: record keys, cursor locations and rate-limit signals.
 * Each config is what a dlt user would write for that API.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startMockApi, type MockApi } from "../helpers/mock_api.ts";
import { harness } from "./helpers.ts";

let api: MockApi;
before(async () => {
  api = await startMockApi({ items: 23 });
});
after(() => api.close());

interface Case {
  api: string;
  resource: Record<string, unknown>;
  /** Column holding the record id, and how to read it as a number. */
  idSql: string;
  requests: number;
  detected?: string;
}

const cases: Case[] = [
  {
    api: "Slack (cursor in response_metadata.next_cursor, empty string at the end)",
    resource: {
      name: "slack_messages",
      endpoint: { path: "/slack/conversations.history", params: { channel: "C1", limit: 10 }, data_selector: "messages", paginator: { type: "cursor", cursor_path: "response_metadata.next_cursor", cursor_param: "cursor" } },
    },
    idSql: "cast(substr(\"user\", 2) as int)",
    requests: 3,
  },
  {
    api: "Slack with the auto paginator",
    resource: { name: "slack_auto", endpoint: { path: "/slack/conversations.history", params: { channel: "C1", limit: 10 }, data_selector: "messages" } },
    idSql: "cast(substr(\"user\", 2) as int)",
    requests: 3,
    detected: "cursor (response_metadata.next_cursor)",
  },
  {
    api: "Discord (root array, newest first, the last id as the `before` cursor)",
    resource: {
      name: "discord_messages",
      primary_key: "id",
      endpoint: { path: "/discord/channels/1/messages", params: { limit: 10 }, paginator: { type: "cursor", cursor_path: "$[-1].id", cursor_param: "before" } },
    },
    idSql: "cast(id as int)",
    requests: 4,
  },
  {
    api: "Microsoft Graph (value + @odata.nextLink, detected by auto)",
    resource: { name: "graph_items", endpoint: { path: "/odata" } },
    idSql: "cast(id as int)",
    requests: 3,
    detected: "json_link ($['@odata.nextLink'])",
  },
  {
    api: "Intercom (data + pages.next.starting_after)",
    resource: {
      name: "intercom_contacts",
      endpoint: { path: "/intercom/contacts", params: { per_page: 10 }, data_selector: "data", paginator: { type: "cursor", cursor_path: "pages.next.starting_after", cursor_param: "starting_after" } },
    },
    idSql: "cast(id as int)",
    requests: 3,
  },
  {
    api: "Zendesk (tickets + meta.has_more + meta.after_cursor)",
    resource: {
      name: "zendesk_tickets",
      endpoint: {
        path: "/zendesk/api/v2/tickets",
        params: { "page[size]": 10 },
        data_selector: "tickets",
        paginator: { type: "cursor", cursor_path: "meta.after_cursor", cursor_param: "page[after]", has_more_path: "meta.has_more" },
      },
    },
    idSql: "cast(id as int)",
    requests: 3,
  },
  {
    api: "Zendesk via links.next (json_link)",
    resource: { name: "zendesk_links", endpoint: { path: "/zendesk/api/v2/tickets", params: { "page[size]": 10 }, data_selector: "tickets", paginator: { type: "json_link", next_url_path: "links.next" } } },
    idSql: "cast(id as int)",
    requests: 3,
  },
  {
    api: "Twilio (messages + next_page_uri relative to the host)",
    resource: {
      name: "twilio_messages",
      endpoint: { path: "/twilio/2010-04-01/Accounts/AC1/Messages.json", params: { PageSize: 10 }, data_selector: "messages", paginator: { type: "json_link", next_url_path: "next_page_uri" } },
    },
    idSql: "cast(substr(sid, 3) as int)",
    requests: 3,
  },
  {
    api: "Twilio with the auto paginator",
    resource: { name: "twilio_auto", endpoint: { path: "/twilio/2010-04-01/Accounts/AC1/Messages.json", params: { PageSize: 10 } } },
    idSql: "cast(substr(sid, 3) as int)",
    requests: 3,
    detected: "json_link (next_page_uri)",
  },
  {
    api: "Intercom with the auto paginator",
    resource: { name: "intercom_auto", endpoint: { path: "/intercom/contacts", params: { per_page: 10 } } },
    idSql: "cast(id as int)",
    requests: 3,
    detected: "cursor (pages.next.starting_after)",
  },
  {
    api: "Mattermost (root array, 0-based page, an empty page at the end)",
    resource: {
      name: "mattermost_users",
      endpoint: { path: "/mattermost/api/v4/users", params: { per_page: 10 }, paginator: { type: "page_number", base_page: 0, page_param: "page", total_path: null } },
    },
    idSql: "cast(substr(id, 2) as int)",
    requests: 4,
  },
  {
    api: "Zulip (result envelope, anchor = last message id, stops at the empty page)",
    resource: {
      name: "zulip_messages",
      endpoint: {
        path: "/zulip/api/v1/messages",
        params: { anchor: "oldest", num_after: 10, num_before: 0 },
        data_selector: "messages",
        paginator: { type: "cursor", cursor_path: "messages[-1].id", cursor_param: "anchor", stop_after_empty_page: true },
      },
    },
    idSql: "cast(id as int)",
    requests: 4,
  },
  {
    api: "GitHub (root array + Link header, detected by auto)",
    resource: { name: "github_issues", endpoint: { path: "/link" } },
    idSql: "cast(id as int)",
    requests: 3,
    detected: "header_link",
  },
];

for (const c of cases) {
  test(`${c.api}: every record lands once`, async () => {
    await using h = harness();
    const before = api.requests.length;
    const summary = await h.run({ client: { base_url: api.url }, resources: [c.resource] });
    const name = c.resource.name as string;
    const rows = await h.query<{ id: number }>(`select ${c.idSql} as id from vocab_dataset.${name} order by 1`);
    assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 23 }, (_, i) => i + 1));
    assert.equal(api.requests.length - before, c.requests);
    if (c.detected) assert.ok(summary.events.some((e) => e.type === "paginator_detected" && e.paginator === c.detected), JSON.stringify(summary.events.filter((e) => e.type === "paginator_detected")));
  });
}

test("Discord's 429 with retry_after is waited out via Retry-After, then the run completes", async () => {
  await using h = harness();
  api.queue("/discord/channels/1/messages", { status: 429, body: { message: "You are being rate limited.", retry_after: 1.5, global: false }, headers: { "retry-after": "2" } });
  const summary = await h.run({ client: { base_url: api.url }, resources: [cases[2].resource] });
  assert.equal(summary.resources[0].rows, 23);
  assert.ok(h.waits.includes(2000), `waits: ${h.waits}`);
});
