/**
 * The database side of the benchmark's limit: DuckDB reading the same
 * messages from NDJSON with read_json into a table of a fresh database file
 * (nested attachments/reactions stay LIST/STRUCT columns; no child tables).
 * With `--nested`, the child tables restduck creates are also built with
 * UNNEST, for a like-for-like comparison.
 *
 *   node scripts/bench_duckdb.ts --ndjson FILE --db FILE [--nested]
 *
 * Prints one JSON line: `{ rows, ms }`.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { ndjson: { type: "string" }, db: { type: "string" }, nested: { type: "boolean", default: false } } });
rmSync(values.db!, { force: true });
const started = performance.now();
const instance = await DuckDBInstance.create(values.db!);
const con = await instance.connect();
const file = values.ndjson!.replace(/'/g, "''");
await con.run(`CREATE TABLE messages AS SELECT * FROM read_json('${file}', format = 'newline_delimited')`);
if (values.nested) {
  await con.run(`CREATE TABLE messages__attachments AS SELECT id AS message_id, unnest(attachments, recursive := true) FROM messages`);
  await con.run(`CREATE TABLE messages__reactions AS SELECT id AS message_id, r.emoji, r.users FROM (SELECT id, unnest(reactions) AS r FROM messages)`);
  await con.run(`CREATE TABLE messages__reactions__users AS SELECT message_id, emoji, unnest(users) AS value FROM messages__reactions`);
}
const reader = await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM messages`);
const rows = reader.getRowObjectsJson()[0].n as number;
con.closeSync();
instance.closeSync();
const ms = performance.now() - started;
console.log(JSON.stringify({ rows, ms }));
