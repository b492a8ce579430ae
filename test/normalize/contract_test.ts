import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveContract } from "../../src/normalize/contract.ts";
import { type ContractMode, Normalizer, type NormalizerOptions, type SchemaContract, SchemaContractError } from "../../src/normalize/normalizer.ts";
import type { RowsByTable, Schema } from "../../src/normalize/types.ts";

function options(schemaContract: SchemaContract | ContractMode | undefined, loadId = "load_2"): NormalizerOptions {
  return { loadId, table: "messages", resource: "messages", primaryKey: ["id"], writeDisposition: "append", schemaContract };
}

/** A schema after a first, evolving run loaded `{id, amount}` records with `tags` lists. */
function loadedSchema(): Schema {
  const schema: Schema = { name: "chat", version: 1, tables: {} };
  new Normalizer(schema, options(undefined, "load_1")).normalize([{ id: 1, amount: 1, tags: ["a"] }]);
  return schema;
}

function run(schema: Schema, contract: SchemaContract | ContractMode, records: unknown[]): RowsByTable {
  return new Normalizer(schema, options(contract)).normalize(records);
}

function ids(rows: RowsByTable, table = "messages"): unknown[] {
  return (rows.get(table) ?? []).map((row) => row.id ?? row.value);
}

function contractError(entity: string, pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof SchemaContractError, String(error));
    assert.equal(error.code, "SCHEMA_CONTRACT");
    assert.equal(error.exitCode, 1);
    assert.equal(error.violation.entity, entity);
    assert.match(error.message, pattern);
    assert.match(error.hint ?? "", /evolve/);
    return true;
  };
}

describe("resolveContract", () => {
  const cases: [string, SchemaContract | ContractMode | undefined, object][] = [
    ["no contract evolves everything", undefined, { tables: "evolve", columns: "evolve", data_type: "evolve" }],
    ["a shorthand mode applies to every entity", "freeze", { tables: "freeze", columns: "freeze", data_type: "freeze" }],
    ["unset entities evolve", { columns: "discard_row" }, { tables: "evolve", columns: "discard_row", data_type: "evolve" }],
  ];
  for (const [name, contract, expected] of cases) test(name, () => assert.deepEqual(resolveContract(contract), expected));
});

describe("tables", () => {
  test("freeze fails the first run, because the root table is new, as in dlt", () => {
    const schema: Schema = { name: "chat", version: 1, tables: {} };
    assert.throws(() => run(schema, { tables: "freeze" }, [{ id: 1 }]), contractError("tables", /Cannot create table messages for resource messages: schema_contract\.tables is freeze/));
    assert.deepEqual(schema.tables, {});
  });

  test("freeze allows rows of existing tables and fails on a new nested table", () => {
    const schema = loadedSchema();
    assert.deepEqual(ids(run(schema, { tables: "freeze" }, [{ id: 2, tags: ["b"] }])), [2]);
    assert.throws(() => run(schema, { tables: "freeze" }, [{ id: 3, links: ["x"] }]), contractError("tables", /messages__links/));
  });

  for (const mode of ["discard_row", "discard_value"] as const) {
    test(`${mode} skips the rows of a new nested table and keeps their parents`, () => {
      const schema = loadedSchema();
      const rows = run(schema, { tables: mode }, [{ id: 2, links: [{ url: "x", parts: ["p"] }] }]);
      assert.deepEqual([...rows.keys()], ["messages"]);
      assert.deepEqual(Object.keys(schema.tables), ["messages", "messages__tags"]);
    });
  }
});

describe("columns", () => {
  test("freeze fails on a new column of an existing table, naming table, column and value type", () => {
    const schema = loadedSchema();
    assert.throws(
      () => run(schema, { columns: "freeze" }, [{ id: 2, note: "x" }]),
      contractError("columns", /Cannot add column note for a text value to table messages \(resource messages\): schema_contract\.columns is freeze/),
    );
  });

  test("freeze lets a table created in this run take new columns for the rest of the run", () => {
    const schema: Schema = { name: "chat", version: 1, tables: {} };
    const rows = run(schema, { columns: "freeze" }, [{ id: 1 }, { id: 2, note: "x" }, { id: 3, items: [{ a: 1 }, { a: 2, b: 3 }] }]);
    assert.deepEqual(ids(rows), [1, 2, 3]);
    assert.ok("b" in schema.tables.messages__items.columns);
  });

  test("freeze still allows the _dlt columns a new write disposition needs", () => {
    const schema = loadedSchema();
    const rows = new Normalizer(schema, { ...options({ columns: "freeze" }), writeDisposition: "merge" }).normalize([{ id: 2, tags: ["b"] }]);
    assert.equal(rows.get("messages__tags")?.[0]._dlt_root_id, rows.get("messages")?.[0]._dlt_id);
  });

  test("discard_row drops a record with a new column, nested rows included, and keeps the others", () => {
    const schema = loadedSchema();
    const rows = run(schema, { columns: "discard_row" }, [{ id: 2, tags: ["b"] }, { id: 3, note: "x", tags: ["c"] }, { id: 4 }]);
    assert.deepEqual(ids(rows), [2, 4]);
    assert.deepEqual(ids(rows, "messages__tags"), ["b"]);
    assert.equal("note" in schema.tables.messages.columns, false);
  });

  test("discard_row on a nested table drops only the nested row", () => {
    const schema: Schema = { name: "chat", version: 1, tables: {} };
    run(schema, "evolve", [{ id: 1, items: [{ a: 1 }] }]);
    const rows = run(schema, { columns: "discard_row" }, [{ id: 2, items: [{ a: 2 }, { a: 3, b: 4 }] }]);
    assert.deepEqual(ids(rows), [2]);
    assert.deepEqual(
      rows.get("messages__items")?.map((row) => row.a),
      [2],
    );
  });

  test("discard_value drops the new value and keeps the row", () => {
    const schema = loadedSchema();
    const rows = run(schema, { columns: "discard_value" }, [{ id: 2, note: "x", amount: 5 }]);
    assert.deepEqual(
      rows.get("messages")?.map((row) => [row.id, row.note, row.amount]),
      [[2, undefined, 5]],
    );
    assert.equal("note" in schema.tables.messages.columns, false);
  });
});

describe("data_type", () => {
  test("freeze fails where a variant column would be created, naming both columns and the value type", () => {
    const schema = loadedSchema();
    assert.throws(
      () => run(schema, { data_type: "freeze" }, [{ id: 2, amount: "many" }]),
      contractError("data_type", /Cannot store a text value into column amount \(bigint\) of table messages .*variant column amount__v_text/),
    );
  });

  test("freeze allows values that coerce into the existing type", () => {
    const schema = loadedSchema();
    assert.deepEqual(
      run(schema, { data_type: "freeze" }, [{ id: 2, amount: "7" }]).get("messages")?.map((row) => row.amount),
      [7],
    );
  });

  test("freeze applies even to a table created in this run", () => {
    const schema: Schema = { name: "chat", version: 1, tables: {} };
    assert.throws(() => run(schema, { data_type: "freeze" }, [{ id: 1, amount: 1 }, { id: 2, amount: "x" }]), SchemaContractError);
  });

  test("discard_row drops the record whose value does not fit", () => {
    const schema = loadedSchema();
    assert.deepEqual(ids(run(schema, { data_type: "discard_row" }, [{ id: 2, amount: "x" }, { id: 3, amount: 3 }])), [3]);
    assert.equal("amount__v_text" in schema.tables.messages.columns, false);
  });

  test("discard_value drops only the value that does not fit", () => {
    const schema = loadedSchema();
    const rows = run(schema, { data_type: "discard_value" }, [{ id: 2, amount: "x" }]);
    assert.deepEqual(
      rows.get("messages")?.map((row) => [row.id, row.amount, row.amount__v_text]),
      [[2, undefined, undefined]],
    );
  });
});
