import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { _digest, _keccakJs, _keccakWasm, keyHasher, keyHashRowId, nestedRowId, randomRowId } from "../../src/normalize/row_id.ts";

/** dlt's `digest128(text, 10)`, computed with node:crypto instead of our SHAKE-128. */
function reference(text: string): string {
  return createHash("shake128", { outputLength: 10 }).update(text, "utf8").digest("base64").replace(/=+$/, "");
}

describe("randomRowId", () => {
  test("is 14 base64 characters, like dlt's generate_dlt_id", () => {
    for (let i = 0; i < 100; i++) assert.match(randomRowId(), /^[A-Za-z0-9+/]{14}$/);
  });

  test("does not repeat across more ids than one random pool holds", () => {
    const ids = new Set(Array.from({ length: 10000 }, randomRowId));
    assert.equal(ids.size, 10000);
  });
});

describe("nestedRowId", () => {
  // Expected values computed with Python's hashlib.shake_128, which dlt's digest128 uses.
  const cases: [string, string, number, string][] = [
    ["n7NSwwC4b0ha/g", "chat_messages__attachments", 0, "usB6ZfDQAsEG2w"],
    ["n7NSwwC4b0ha/g", "chat_messages__reactions__users", 1, "kDHkCShZGXynsw"],
    ["ünïcode", "t", 3, "peFllIU//NNsYg"],
  ];
  for (const [parent, table, index, expected] of cases) {
    test(`hashes ${parent}_${table}_${index} as dlt does`, () => assert.equal(nestedRowId(parent, table, index), expected));
  }

  test("matches dlt's digest of the joined string for non-ASCII and long parts", () => {
    const cases: [string, string, number][] = [
      ["p", "täble", 0],
      ["x".repeat(300), "t", 12],
      ["id", "t".repeat(170), 1234567],
    ];
    for (const [parent, table, index] of cases) assert.equal(nestedRowId(parent, table, index), reference(`${parent}_${table}_${index}`));
  });

  test("is deterministic and differs by position", () => {
    assert.equal(nestedRowId("p", "t", 0), nestedRowId("p", "t", 0));
    assert.notEqual(nestedRowId("p", "t", 0), nestedRowId("p", "t", 1));
  });
});

describe("keyHashRowId", () => {
  test("hashes the primary key as sorted compact JSON, as dlt does for upsert", () => {
    assert.equal(keyHashRowId({ id: 1 }), "z5jIxXIbUnmbKw");
    assert.equal(keyHashRowId({ b: "x", a: 2 }), "UTWQ8a64Qg5wGQ");
  });

  test("does not depend on key order", () => {
    assert.equal(keyHashRowId({ a: 1, b: 2 }), keyHashRowId({ b: 2, a: 1 }));
  });

  test("writes bigint values as digits", () => {
    assert.equal(keyHashRowId({ id: 2n ** 64n }), reference('{"id":18446744073709551616}'));
  });
});

describe("SHAKE-128", () => {
  const lengths = [0, 1, 3, 4, 5, 163, 164, 166, 167, 168, 169, 335, 336, 337, 1000];
  for (const length of lengths) {
    test(`matches node:crypto for ${length} ASCII characters`, () => {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90))).join("");
      assert.equal(_digest(text), reference(text));
    });
  }

  test("matches node:crypto for multi-byte UTF-8 and surrogate pairs", () => {
    for (const text of ["é", "💰 price", "ü".repeat(100), "日本語".repeat(40), "a\u0000b"]) assert.equal(_digest(text), reference(text));
  });

  test("the JavaScript permutation gives the FIPS 202 digest of the empty message", () => {
    const state = new Int32Array(50);
    state[0] = 0x1f;
    state[41] = 0x80000000 | 0;
    _keccakJs(state);
    assert.equal(Buffer.from(state.buffer, 0, 16).toString("hex"), "7f9c2ba4e88f827d616045507605853e");
  });

  test("the WebAssembly and JavaScript permutations agree on arbitrary states", () => {
    const wasm = _keccakWasm();
    for (let round = 0; round < 20; round++) {
      const state = Int32Array.from({ length: 50 }, () => (Math.random() * 2 ** 32) | 0);
      wasm.state.set(state);
      wasm.permute();
      _keccakJs(state);
      assert.deepEqual([...wasm.state], [...state]);
    }
  });
});

describe("keyHasher", () => {
  test("gives keyHashRowId's id for one key, several keys in any order, a repeated key, a missing value and odd values", () => {
    const rows: Record<string, unknown>[] = [
      { id: 1, a: "x", b: 2n ** 64n, c: null },
      { id: "é\u{1F600}\"\\", a: 1.5, b: [1, { z: 1, a: [2n] }], c: true },
      { id: -0, a: { y: 1, x: 2 } },
      { a: 1e21, b: 10n ** 30n, constructor: 1 },
    ];
    const keySets = [["id"], ["b", "a"], ["a", "b", "id"], ["id", "id"], ["c"], ["constructor", "id"], []];
    for (const names of keySets) {
      const hash = keyHasher(names);
      for (const row of rows) assert.equal(hash(row), keyHashRowId(Object.fromEntries(names.map((n) => [n, row[n]]))), `${names.join(",")} of ${Object.keys(row).join(",")}`);
    }
  });
});
