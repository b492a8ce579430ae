import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RestduckError } from "../../src/errors.ts";
import { Normalizer, type NormalizerOptions } from "../../src/normalize/normalizer.ts";
import { keyHashRowId, nestedRowId } from "../../src/normalize/row_id.ts";
import type { Row, RowsByTable, Schema } from "../../src/normalize/types.ts";

const LOAD_ID = "1714555800.123456";

function newSchema(): Schema {
  return { name: "chat", version: 1, tables: {} };
}

function options(overrides: Partial<NormalizerOptions> = {}): NormalizerOptions {
  return { loadId: LOAD_ID, table: "chat_messages", resource: "messages", primaryKey: [], writeDisposition: "append", ...overrides };
}

/** Normalizes records with a fresh normalizer; returns the rows and the evolved schema. */
function run(records: unknown[], overrides: Partial<NormalizerOptions> = {}, schema = newSchema()): { rows: RowsByTable; schema: Schema } {
  return { rows: new Normalizer(schema, options(overrides)).normalize(records), schema };
}

/** Tables in schema order, each with its columns as "name type" in column order. */
function layout(schema: Schema): [string, string[]][] {
  return Object.values(schema.tables).map((table) => [table.name, Object.values(table.columns).map((c) => `${c.name} ${c.data_type}`)]);
}

function rowsOf(rows: RowsByTable, table: string): Row[] {
  const found = rows.get(table);
  assert.ok(found, `no rows for ${table}; tables: ${[...rows.keys()].join(", ")}`);
  return found;
}

/** A row without the _dlt_ columns, for comparing data. */
function data(row: Row): Row {
  return Object.fromEntries(Object.entries(row).filter(([key]) => !key.startsWith("_dlt_")));
}

const ROOT_DLT = ["_dlt_load_id text", "_dlt_id text"];
const NESTED_DLT = ["_dlt_parent_id text", "_dlt_list_idx bigint", "_dlt_id text"];
const MERGED_DLT = ["_dlt_root_id text", ...NESTED_DLT];

const chatMessage = {
  id: 1,
  timestamp: "2024-05-01T09:30:00Z",
  content: "hello",
  sender_id: "u1",
  attachments: [
    { id: 10, url: "https://files.example/a.png", size: 2048 },
    { id: 11, url: "https://files.example/b.png", size: 10 },
  ],
  reactions: [{ emoji: "👍", users: ["u1", "u2"] }],
  thread: { id: 100, reply_count: 3 },
};

describe("the chat message shape", () => {
  test("makes the root table, flattened thread columns and one nested table per list", () => {
    const { schema } = run([chatMessage], { primaryKey: ["id"] });
    assert.deepEqual(layout(schema), [
      [
        "chat_messages",
        ["id bigint", "timestamp timestamp", "content text", "sender_id text", "thread__id bigint", "thread__reply_count bigint", ...ROOT_DLT],
      ],
      ["chat_messages__attachments", ["id bigint", "url text", "size bigint", ...NESTED_DLT]],
      ["chat_messages__reactions", ["emoji text", ...NESTED_DLT]],
      ["chat_messages__reactions__users", ["value text", ...NESTED_DLT]],
    ]);
  });

  test("returns rows by table, root first and every nested table after its parent", () => {
    const { rows } = run([chatMessage]);
    assert.deepEqual([...rows.keys()], ["chat_messages", "chat_messages__attachments", "chat_messages__reactions", "chat_messages__reactions__users"]);
    assert.deepEqual(data(rowsOf(rows, "chat_messages")[0]), {
      id: 1,
      timestamp: "2024-05-01T09:30:00Z",
      content: "hello",
      sender_id: "u1",
      thread__id: 100,
      thread__reply_count: 3,
    });
    assert.deepEqual(rowsOf(rows, "chat_messages__attachments").map(data), chatMessage.attachments);
    assert.deepEqual(rowsOf(rows, "chat_messages__reactions__users").map(data), [{ value: "u1" }, { value: "u2" }]);
  });

  test("links nested rows to their parent by _dlt_parent_id, _dlt_list_idx and a derived _dlt_id", () => {
    const { rows } = run([chatMessage]);
    const [message] = rowsOf(rows, "chat_messages");
    assert.equal(message._dlt_load_id, LOAD_ID);
    assert.match(String(message._dlt_id), /^[A-Za-z0-9+/]{14}$/);
    const attachments = rowsOf(rows, "chat_messages__attachments");
    attachments.forEach((row, index) => {
      assert.equal(row._dlt_parent_id, message._dlt_id);
      assert.equal(row._dlt_list_idx, index);
      assert.equal(row._dlt_id, nestedRowId(String(message._dlt_id), "chat_messages__attachments", index));
      assert.equal(row._dlt_root_id, undefined);
    });
    const [reaction] = rowsOf(rows, "chat_messages__reactions");
    const users = rowsOf(rows, "chat_messages__reactions__users");
    assert.deepEqual(
      users.map((u) => [u._dlt_parent_id, u._dlt_list_idx]),
      [
        [reaction._dlt_id, 0],
        [reaction._dlt_id, 1],
      ],
    );
  });

  test("adds _dlt_root_id at every nesting level when the root is merged", () => {
    const { rows, schema } = run([chatMessage], { primaryKey: ["id"], writeDisposition: "merge" });
    const rootId = rowsOf(rows, "chat_messages")[0]._dlt_id;
    for (const table of ["chat_messages__attachments", "chat_messages__reactions", "chat_messages__reactions__users"]) {
      for (const row of rowsOf(rows, table)) assert.equal(row._dlt_root_id, rootId);
      assert.deepEqual(Object.keys(schema.tables[table].columns).slice(-4), ["_dlt_root_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
      assert.equal(schema.tables[table].write_disposition, "merge");
      assert.equal(schema.tables[table].parent, table.slice(0, table.lastIndexOf("__")));
    }
  });

  test("marks the dlt columns and the primary key not null", () => {
    const { schema } = run([chatMessage], { primaryKey: ["id"] });
    const root = schema.tables.chat_messages;
    assert.deepEqual(root.columns.id, { name: "id", data_type: "bigint", nullable: false, primary_key: true, x_added_in: LOAD_ID });
    assert.equal(root.columns._dlt_id.nullable, false);
    assert.equal(root.columns.content.nullable, true);
    assert.equal(root.resource, "messages");
    assert.equal(root.x_added_in, LOAD_ID);
  });
});

describe("nesting", () => {
  test("flattens deep objects and unnests deep lists recursively", () => {
    const { schema, rows } = run([{ a: { b: { c: { d: 1 } } }, l1: [{ name: "x", l2: [{ l3: [true, false] }] }] }]);
    assert.deepEqual(layout(schema), [
      ["chat_messages", ["a__b__c__d bigint", ...ROOT_DLT]],
      ["chat_messages__l1", ["name text", ...NESTED_DLT]],
      ["chat_messages__l1__l2", NESTED_DLT],
      ["chat_messages__l1__l2__l3", ["value bool", ...NESTED_DLT]],
    ]);
    assert.deepEqual(rowsOf(rows, "chat_messages__l1__l2__l3").map(data), [{ value: true }, { value: false }]);
  });

  test("turns a list of lists into an intermediate table and a nested list table, as dlt does", () => {
    const { schema, rows } = run([{ matrix: [[1, 2], [3]], grid: [[{ x: 1 }]] }]);
    assert.deepEqual(layout(schema), [
      ["chat_messages", ROOT_DLT],
      ["chat_messages__matrix", NESTED_DLT],
      ["chat_messages__matrix__list", ["value bigint", ...NESTED_DLT]],
      ["chat_messages__grid", NESTED_DLT],
      ["chat_messages__grid__list", ["x bigint", ...NESTED_DLT]],
    ]);
    const outer = rowsOf(rows, "chat_messages__matrix");
    const inner = rowsOf(rows, "chat_messages__matrix__list");
    assert.deepEqual(
      inner.map((row) => [row.value, outer.findIndex((o) => o._dlt_id === row._dlt_parent_id), row._dlt_list_idx]),
      [
        [1, 0, 0],
        [2, 0, 1],
        [3, 1, 0],
      ],
    );
  });

  test("makes a value row for each scalar item, with no value column for a null item", () => {
    const { rows } = run([{ tags: ["a", null, "b"] }]);
    assert.deepEqual(
      rowsOf(rows, "chat_messages__tags").map((row) => [row.value, row._dlt_list_idx]),
      [
        ["a", 0],
        [undefined, 1],
        ["b", 2],
      ],
    );
  });

  test("adds nothing for empty lists and empty objects until they hold something", () => {
    const schema = newSchema();
    const first = run([{ id: 1, tags: [], meta: {} }], {}, schema);
    assert.deepEqual(layout(schema), [["chat_messages", ["id bigint", ...ROOT_DLT]]]);
    assert.deepEqual([...first.rows.keys()], ["chat_messages"]);
    run([{ id: 2, tags: ["x"], meta: { a: 1 } }], {}, schema);
    assert.deepEqual(layout(schema), [
      ["chat_messages", ["id bigint", ...ROOT_DLT, "meta__a bigint"]],
      ["chat_messages__tags", ["value text", ...NESTED_DLT]],
    ]);
  });

  test("wraps records that are not objects in a value column, as dlt does", () => {
    const { schema, rows } = run(["a", ["x", "y"]]);
    assert.deepEqual(layout(schema), [
      ["chat_messages", ["value text", ...ROOT_DLT]],
      ["chat_messages__value", ["value text", ...NESTED_DLT]],
    ]);
    assert.deepEqual(rowsOf(rows, "chat_messages").map(data), [{ value: "a" }, {}]);
  });
});

describe("max_table_nesting", () => {
  const record = { id: 1, thread: { id: 7, meta: { a: 1 } }, attachments: [{ id: 2, meta: { b: 2 }, tags: ["x"] }], matrix: [[1]] };
  const cases: [string, number | undefined, [string, string[]][]][] = [
    [
      "0 keeps every nested value of the root as JSON and makes no nested table",
      0,
      [["chat_messages", ["id bigint", "thread json", "attachments json", "matrix json", ...ROOT_DLT]]],
    ],
    [
      "1 flattens the root's objects once and keeps what is nested in first-level tables as JSON",
      1,
      [
        ["chat_messages", ["id bigint", "thread__id bigint", "thread__meta json", ...ROOT_DLT]],
        ["chat_messages__attachments", ["id bigint", "meta json", "tags json", ...NESTED_DLT]],
        ["chat_messages__matrix", ["list json", ...NESTED_DLT]],
      ],
    ],
    [
      "2 unnests two levels; a list inside a list uses two",
      2,
      [
        ["chat_messages", ["id bigint", "thread__id bigint", "thread__meta__a bigint", ...ROOT_DLT]],
        ["chat_messages__attachments", ["id bigint", "meta__b bigint", ...NESTED_DLT]],
        ["chat_messages__attachments__tags", ["value text", ...NESTED_DLT]],
        ["chat_messages__matrix", ["list json", ...NESTED_DLT]],
      ],
    ],
    [
      "unset means dlt's 1000: everything unnested",
      undefined,
      [
        ["chat_messages", ["id bigint", "thread__id bigint", "thread__meta__a bigint", ...ROOT_DLT]],
        ["chat_messages__attachments", ["id bigint", "meta__b bigint", ...NESTED_DLT]],
        ["chat_messages__attachments__tags", ["value text", ...NESTED_DLT]],
        ["chat_messages__matrix", NESTED_DLT],
        ["chat_messages__matrix__list", ["value bigint", ...NESTED_DLT]],
      ],
    ],
  ];
  for (const [name, maxTableNesting, expected] of cases) {
    test(name, () => assert.deepEqual(layout(run([record], { maxTableNesting }).schema), expected));
  }

  test("puts the JSON-kept value in the row as the JavaScript value", () => {
    const { rows } = run([record], { maxTableNesting: 0 });
    assert.deepEqual(rowsOf(rows, "chat_messages")[0].attachments, record.attachments);
  });

  test("keeps a value as JSON once its column is json, even when nesting would allow more", () => {
    const schema = newSchema();
    run([record], { maxTableNesting: 0 }, schema);
    run([record], {}, schema);
    assert.deepEqual(layout(schema)[0], ["chat_messages", ["id bigint", "thread json", "attachments json", "matrix json", ...ROOT_DLT]]);
    assert.equal(Object.keys(schema.tables).length, 1);
  });
});

describe("names", () => {
  const cases: [string, string, string][] = [
    ["spaces become underscores", "first name", "first_name"],
    ["dots become underscores", "user.email", "user_email"],
    ["an emoji becomes x", "price 💰", "pricex"],
    ["an SQL keyword stays as it is (DuckDB quotes it)", "select", "select"],
    ["an injection attempt becomes a harmless identifier", 'id"; drop table x; --', "id_drop_table_xxxx"],
    ["camelCase is split", "senderId", "sender_id"],
    ["a leading digit gets an underscore", "1st", "_1st"],
    ["an empty key becomes _empty", "", "_empty"],
    ["a 200-character key keeps all 200 characters (DuckDB allows 65536)", "K".repeat(200), "k".repeat(200)],
    ["a key named like an Object.prototype member is an ordinary column", "constructor", "constructor"],
  ];
  for (const [name, key, column] of cases) {
    test(name, () => {
      const { rows, schema } = run([{ [key]: "v" }]);
      assert.equal(rowsOf(rows, "chat_messages")[0][column], "v");
      assert.equal(schema.tables.chat_messages.columns[column].data_type, "text");
    });
  }

  test("keys named like Object.prototype members are ordinary columns and tables in every batch, and with a schema read back from JSON", () => {
    const keys = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"];
    const columns = ["constructor", "to_string", "value_of", "has_own_property", "proto"];
    // JSON.parse makes `__proto__` an own key, as a page from an API would have it.
    const record = JSON.parse(`{${keys.map((k) => `"${k}": "v", "${k}_list": [1]`).join(", ")}}`) as Record<string, unknown>;
    const later = JSON.parse('{"constructor": 2, "__proto__": 3}') as Record<string, unknown>;
    const schema = newSchema();
    const normalizer = new Normalizer(schema, options());
    const first = normalizer.normalize([record]);
    assert.deepEqual(layout(schema), [
      ["chat_messages", [...columns.map((c) => `${c} text`), ...ROOT_DLT]],
      ...columns.map((c): [string, string[]] => [`chat_messages__${c === "proto" ? "proto__" : c}_list`, ["value bigint", ...NESTED_DLT]]),
    ]);
    assert.deepEqual(Object.keys(rowsOf(first, "chat_messages")[0]).slice(0, columns.length), columns);
    // Later batches find the same columns (and tables), as does a normalizer over the schema stored as JSON.
    const version = schema.version;
    const second = normalizer.normalize([record, later]);
    const reread = new Normalizer(JSON.parse(JSON.stringify(schema)) as Schema, options()).normalize([record, later]);
    for (const rows of [second, reread]) {
      assert.equal(rows.size, 1 + columns.length);
      assert.deepEqual(rowsOf(rows, "chat_messages").map((r) => [r.constructor, r.proto, r.to_string]), [["v", "v", "v"], ["2", "3", undefined]]);
    }
    assert.equal(schema.version, version);
  });

  test("normalizes the names of nested tables and their columns", () => {
    const { schema } = run([{ "Reactions List": [{ "User ID": 1, "Meta Data": { "Is Bot": false } }] }]);
    assert.deepEqual(layout(schema)[1], ["chat_messages__reactions_list", ["user_id bigint", "meta_data__is_bot bool", ...NESTED_DLT]]);
  });

  test("normalizes the configured table name", () => {
    assert.equal(new Normalizer(newSchema(), options({ table: "ChatMessages" })).rootTable, "chat_messages");
  });

  const collisions: [string, Record<string, unknown>][] = [
    ["lowercase first", { id: 2, Id: 1 }],
    ["lowercase second", { Id: 1, id: 2 }],
  ];
  for (const [order, record] of collisions) {
    test(`keys that differ only in case get distinct columns, the normal-form key the plain name (${order})`, () => {
      const { rows, schema } = run([record]);
      assert.deepEqual(data(rowsOf(rows, "chat_messages")[0]), { id: 2, id_2: 1 });
      assert.deepEqual(Object.keys(schema.tables.chat_messages.columns).slice(0, 2).sort(), ["id", "id_2"]);
    });
  }

  test("a flattened path and a key spelled with the separator get distinct columns", () => {
    const { rows } = run([{ a: { b: 1 }, a__b: 2 }]);
    assert.deepEqual(data(rowsOf(rows, "chat_messages")[0]), { a__b: 1, a__b_2: 2 });
  });

  test("lists whose keys normalize alike get distinct nested tables", () => {
    const { schema } = run([{ Tags: ["a"], tags: ["b"] }]);
    assert.deepEqual(Object.keys(schema.tables), ["chat_messages", "chat_messages__tags", "chat_messages__tags_2"]);
  });

  test("keeps names stable across batches of one run", () => {
    const normalizer = new Normalizer(newSchema(), options());
    normalizer.normalize([{ Id: 1 }]);
    const rows = normalizer.normalize([{ id: 2, Id: 3 }]);
    assert.deepEqual(data(rowsOf(rows, "chat_messages")[0]), { id_2: 2, id: 3 });
  });
});

describe("null and missing fields", () => {
  test("a column seen only with nulls is not created until a value arrives", () => {
    const schema = newSchema();
    const first = run([{ id: 1, note: null }, { id: 2 }], {}, schema);
    assert.equal("note" in schema.tables.chat_messages.columns, false);
    assert.deepEqual(rowsOf(first.rows, "chat_messages").map(data), [{ id: 1 }, { id: 2 }]);
    const second = run([{ id: 3, note: "x" }, { id: 4, note: null }], {}, schema);
    assert.equal(schema.tables.chat_messages.columns.note.data_type, "text");
    assert.deepEqual(rowsOf(second.rows, "chat_messages").map(data), [{ id: 3, note: "x" }, { id: 4 }]);
  });

  test("a null nested object or list adds nothing", () => {
    const { schema } = run([{ id: 1, thread: null, tags: null }]);
    assert.deepEqual(layout(schema), [["chat_messages", ["id bigint", ...ROOT_DLT]]]);
  });
});

describe("types", () => {
  test("infers each column's type from its first value", () => {
    const { rows, schema } = run([
      {
        text: "hi",
        at: "2024-05-01T09:30:00+02:00",
        naive_at: "2024-05-01T09:30:00",
        day: "2024-05-01",
        count: 3,
        ratio: 0.5,
        ok: true,
        big: 2 ** 60,
        exact: 9007199254740993n,
        huge: 10n ** 30n,
      },
    ]);
    assert.deepEqual(layout(schema)[0][1], [
      "text text",
      "at timestamp",
      "naive_at timestamp",
      "day date",
      "count bigint",
      "ratio double",
      "ok bool",
      "big double",
      "exact bigint",
      "huge wei",
      ...ROOT_DLT,
    ]);
    assert.deepEqual(data(rowsOf(rows, "chat_messages")[0]), {
      text: "hi",
      at: "2024-05-01T09:30:00+02:00",
      naive_at: "2024-05-01T09:30:00Z",
      day: "2024-05-01",
      count: 3,
      ratio: 0.5,
      ok: true,
      big: 2 ** 60,
      exact: 9007199254740993n,
      huge: "1000000000000000000000000000000",
    });
  });

  test("with dlt's default detections a date string stays text", () => {
    const { schema } = run([{ day: "2024-05-01" }], { detections: ["iso_timestamp"] });
    assert.equal(schema.tables.chat_messages.columns.day.data_type, "text");
  });

  const later: [string, unknown, unknown, string, unknown][] = [
    ["an integer goes into a double column", 2.5, 3, "amount", 3],
    ["a fraction goes to a double variant of a bigint column", 10, 2.5, "amount__v_double", 2.5],
    ["a number goes into a text column as text", "x", 5, "amount", "5"],
    ["a boolean goes into a text column as dlt writes it", "x", true, "amount", "True"],
    ["an integer string goes into a bigint column", 10, "42", "amount", 42],
    ["a zero-padded string goes to a text variant rather than lose its zero", 10, "042", "amount__v_text", "042"],
    ["a large integral double goes into a bigint column exactly", 10, 2 ** 60, "amount", 2n ** 60n],
    ["a double beyond int64 goes to a double variant", 10, 2 ** 64, "amount__v_double", 2 ** 64],
    ["the string false goes into a bool column", true, "false", "amount", false],
    ["1 goes to a bigint variant of a bool column", true, 1, "amount__v_bigint", 1],
    ["a date goes into a timestamp column as midnight UTC", "2024-01-01T00:00:00Z", "2024-02-01", "amount", "2024-02-01T00:00:00Z"],
    ["free text goes to a text variant of a timestamp column", "2024-01-01T00:00:00Z", "soon", "amount__v_text", "soon"],
    ["a number goes to a bigint variant of a timestamp column", "2024-01-01T00:00:00Z", 1700000000, "amount__v_bigint", 1700000000],
    ["a date-time goes to a text variant of a date column", "2024-01-01", "2024-01-01T10:00:00Z", "amount__v_text", "2024-01-01T10:00:00Z"],
  ];
  for (const [name, first, second, column, stored] of later) {
    test(name, () => {
      const { rows, schema } = run([{ amount: first }, { amount: second }]);
      assert.deepEqual(data(rowsOf(rows, "chat_messages")[1]), { [column]: stored });
      const created = schema.tables.chat_messages.columns[column];
      if (column !== "amount") assert.deepEqual([created.variant, created.data_type], [true, column.slice("amount__v_".length)]);
    });
  }

  test("a variant column keeps taking values of its type without more columns", () => {
    const { schema } = run([{ amount: 1 }, { amount: "one" }, { amount: "two" }, { amount: 2 }]);
    assert.deepEqual(layout(schema)[0][1], ["amount bigint", ...ROOT_DLT, "amount__v_text text"]);
  });

  test("variants work in nested tables too", () => {
    const { schema } = run([{ items: [{ size: 1 }, { size: "big" }] }]);
    assert.deepEqual(layout(schema)[1][1], ["size bigint", ...NESTED_DLT, "size__v_text text"]);
  });
});

describe("evolution across runs", () => {
  test("adds a column, then a nested table, then a variant, each marked with its load and a new version", () => {
    const schema = newSchema();
    const normalize = (loadId: string, records: unknown[]) =>
      new Normalizer(schema, options({ loadId, primaryKey: ["id"] })).normalize(records);

    normalize("load_1", [{ id: 1, name: "a", amount: 10 }]);
    assert.equal(schema.version, 2);
    normalize("load_2", [{ id: 2, name: "b", amount: 20, email: "b@example.com", tags: ["x", "y"] }]);
    assert.equal(schema.version, 3);
    const third = normalize("load_3", [
      { id: 3, name: 5, amount: "ten" },
      { id: 4, amount: 2.5 },
    ]);
    assert.equal(schema.version, 4);

    const added = (table: string) => Object.values(schema.tables[table].columns).map((c) => [c.name, c.data_type, c.x_added_in, c.variant ?? false]);
    assert.deepEqual(added("chat_messages"), [
      ["id", "bigint", "load_1", false],
      ["name", "text", "load_1", false],
      ["amount", "bigint", "load_1", false],
      ["_dlt_load_id", "text", "load_1", false],
      ["_dlt_id", "text", "load_1", false],
      ["email", "text", "load_2", false],
      ["amount__v_text", "text", "load_3", true],
      ["amount__v_double", "double", "load_3", true],
    ]);
    assert.equal(schema.tables.chat_messages__tags.x_added_in, "load_2");
    assert.deepEqual(rowsOf(third, "chat_messages").map(data), [
      { id: 3, name: "5", amount__v_text: "ten" },
      { id: 4, amount__v_double: 2.5 },
    ]);

    normalize("load_4", [{ id: 5, name: "c", amount: 1 }]);
    assert.equal(schema.version, 4, "a run that changes nothing keeps the version");
  });

  test("switching the root to merge updates write dispositions and adds _dlt_root_id to nested tables", () => {
    const schema = newSchema();
    run([chatMessage], { primaryKey: ["id"] }, schema);
    const { rows } = run([chatMessage], { primaryKey: ["id"], writeDisposition: "merge" }, schema);
    assert.equal(schema.tables.chat_messages.write_disposition, "merge");
    assert.equal(schema.tables.chat_messages__attachments.write_disposition, "merge");
    assert.ok("_dlt_root_id" in schema.tables.chat_messages__attachments.columns);
    assert.equal(rowsOf(rows, "chat_messages__attachments")[0]._dlt_root_id, rowsOf(rows, "chat_messages")[0]._dlt_id);
  });
});

describe("row keys", () => {
  test("root rows get a new random _dlt_id each time, as dlt's delete-insert merge does", () => {
    const first = run([chatMessage], { primaryKey: ["id"], writeDisposition: "merge" });
    const second = run([chatMessage], { primaryKey: ["id"], writeDisposition: "merge" });
    assert.notEqual(rowsOf(first.rows, "chat_messages")[0]._dlt_id, rowsOf(second.rows, "chat_messages")[0]._dlt_id);
  });

  test("with the upsert strategy every row of a record keeps its _dlt_id across runs", () => {
    const settings: Partial<NormalizerOptions> = { primaryKey: ["id"], writeDisposition: "merge", mergeStrategy: "upsert" };
    const first = run([chatMessage], settings);
    const second = run([chatMessage], settings);
    assert.equal(rowsOf(first.rows, "chat_messages")[0]._dlt_id, keyHashRowId({ id: 1 }));
    for (const table of first.rows.keys()) {
      assert.deepEqual(
        rowsOf(first.rows, table).map((r) => r._dlt_id),
        rowsOf(second.rows, table).map((r) => r._dlt_id),
      );
    }
  });

  test("a record's own _dlt_id is kept as its row key", () => {
    const { rows } = run([{ _dlt_id: "mine", tags: ["a"] }]);
    assert.equal(rowsOf(rows, "chat_messages")[0]._dlt_id, "mine");
    assert.equal(rowsOf(rows, "chat_messages__tags")[0]._dlt_parent_id, "mine");
  });
});

describe("hints", () => {
  test("a json hint keeps a nested object and a list whole instead of unnesting them", () => {
    const { rows, schema } = run([chatMessage], { columns: { thread: { data_type: "json" }, attachments: { data_type: "json" } } });
    assert.deepEqual(Object.keys(schema.tables), ["chat_messages", "chat_messages__reactions", "chat_messages__reactions__users"]);
    const [row] = rowsOf(rows, "chat_messages");
    assert.deepEqual([row.thread, row.attachments], [chatMessage.thread, chatMessage.attachments]);
  });

  test("a hint with a data type creates its column with the table, before any value", () => {
    const { schema } = run([{ id: 1 }], { columns: { archived_at: { data_type: "timestamp" } } });
    assert.deepEqual(layout(schema)[0][1], ["archived_at timestamp", "id bigint", ...ROOT_DLT]);
  });

  test("a data type hint overrides inference, by source or normalized name", () => {
    const { rows, schema } = run([{ id: 1, createdAt: "2024-01-01" }], { columns: { id: { data_type: "text" }, createdAt: { data_type: "timestamp" } } });
    assert.deepEqual(data(rowsOf(rows, "chat_messages")[0]), { id: "1", created_at: "2024-01-01T00:00:00Z" });
    assert.equal(schema.tables.chat_messages.columns.created_at.data_type, "timestamp");
  });

  test("precision and scale are kept, and a value they cannot hold goes to a variant", () => {
    const { rows, schema } = run([{ price: 12.5 }, { price: 12.345 }], { columns: { price: { data_type: "decimal", precision: 10, scale: 2 } } });
    assert.deepEqual(schema.tables.chat_messages.columns.price, {
      name: "price",
      data_type: "decimal",
      nullable: true,
      precision: 10,
      scale: 2,
      x_added_in: LOAD_ID,
    });
    assert.deepEqual(rowsOf(rows, "chat_messages").map(data), [{ price: "12.5" }, { price__v_double: 12.345 }]);
  });

  test("primary and merge keys are matched by normalized name", () => {
    const normalizer = new Normalizer(newSchema(), options({ primaryKey: ["messageId"], mergeKey: ["channelId"] }));
    assert.deepEqual(normalizer.primaryKeyColumns, ["message_id"]);
    normalizer.normalize([{ messageId: "m1", channelId: "c1" }]);
  });

  const missing: [string, Partial<NormalizerOptions>, Record<string, unknown>][] = [
    ["a missing primary key", { primaryKey: ["id"] }, { text: "x" }],
    ["a null primary key", { primaryKey: ["id"] }, { id: null }],
    ["a primary key value that went to a variant", { primaryKey: ["id"], columns: { id: { data_type: "bigint" } } }, { id: "abc" }],
    ["a null in a nullable: false column", { columns: { text: { nullable: false } } }, { text: null }],
  ];
  for (const [name, settings, record] of missing) {
    test(`${name} fails the batch with REQUIRED_VALUE_MISSING`, () => {
      assert.throws(
        () => run([record], settings),
        (error) => error instanceof RestduckError && error.code === "REQUIRED_VALUE_MISSING" && /resource messages/.test(error.message),
      );
    });
  }
});

describe("failed batches", () => {
  test("can be retried on the same normalizer, which brings the root table in line again", () => {
    const schema = newSchema();
    run([{ id: 1 }], {}, schema);
    const normalizer = new Normalizer(schema, options({ primaryKey: ["id"], writeDisposition: "merge" }));
    assert.throws(() => normalizer.normalize([{ text: "no id" }]));
    assert.equal(schema.tables.chat_messages.write_disposition, "append");
    normalizer.normalize([{ id: 2 }]);
    assert.equal(schema.tables.chat_messages.write_disposition, "merge");
    assert.equal(schema.tables.chat_messages.columns.id.primary_key, true);
  });

  test("leave the schema exactly as it was", () => {
    const schema = newSchema();
    run([{ id: 1, amount: 1 }], {}, schema);
    const before = structuredClone(schema);
    assert.throws(() => run([{ id: 2, note: "adds a column" }, { id: 3, tags: ["adds a table"] }, {}], { primaryKey: ["id"] }, schema));
    assert.deepEqual(schema, before);
  });
});
