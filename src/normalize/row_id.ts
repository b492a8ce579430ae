/**
 * Row keys (`_dlt_id`) made the way dlt makes them, so a merge replaces nested rows cleanly and
 * ids look the same as in a dlt-loaded dataset.
 *
 * Verified against dlt/common/normalizers/json/{relational,helpers}.py, dlt/common/normalizers/utils.py
 * and dlt/common/utils.py, and the docs (https://dlthub.com/docs/general-usage/schema#nested-references-root-and-nested-tables):
 *
 * - Every id is 10 bytes (`DLT_ID_LENGTH_BYTES`), standard base64 without `=` padding: 14 characters.
 * - Root rows get random bytes (`generate_dlt_id`), except for the `upsert` and `insert-only` merge
 *   strategies, where the id is a hash of the primary key (`get_row_hash(row, subset=primary_key)`),
 *   so the same key always gets the same row.
 * - Nested rows get SHAKE-128 of `"{parent _dlt_id}_{nested table name}_{list index}"`
 *   (`get_nested_row_hash`), so re-loading a parent re-creates its children with the same ids.
 *
 * SHAKE-128 is implemented here (FIPS 202, https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.202.pdf)
 * because `node:crypto`'s `createHash` costs ~3 µs per call, more than everything else a nested row
 * needs. An id hashes one short block, so the cost is one Keccak permutation: ~0.4 µs as the small
 * WebAssembly function built below (64-bit lanes), ~6 µs as the plain JavaScript fallback.
 * Tests check both against `node:crypto`. Randomness comes from Web Crypto.
 */
import { ExactNumber } from "../exact_json.ts";

/** Bytes in a row id before base64 (dlt's `DLT_ID_LENGTH_BYTES`). */
export const ROW_ID_BYTES = 10;

const BASE64_CODES = Uint8Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", (ch) => ch.charCodeAt(0));
// One getRandomValues call fills ids for this many rows; the call is the expensive part.
const POOL_IDS = 4096;
const pool = new Uint8Array(ROW_ID_BYTES * POOL_IDS);
let poolOffset = pool.length;

/**
 * Returns a random row id, as dlt gives root rows.
 *
 * @returns 14 base64 characters from 10 random bytes.
 */
export function randomRowId(): string {
  if (poolOffset >= pool.length) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const id = _base64(pool, poolOffset);
  poolOffset += ROW_ID_BYTES;
  return id;
}

/**
 * Returns the id of a nested row, derived from its parent's id, its table and its list position.
 *
 * @param parentId `_dlt_id` of the parent row.
 * @param table Normalized name of the nested table.
 * @param listIndex Position of the item in its list (`_dlt_list_idx`).
 * @returns 14 base64 characters, the same for the same inputs.
 */
export function nestedRowId(parentId: string, table: string, listIndex: number): string {
  // Writes the ASCII parts straight into the hash input: building the string first costs as much as hashing.
  const index = String(listIndex);
  const length = parentId.length + table.length + index.length + 2;
  if (INPUT.length < length + 4) INPUT = new Uint8Array(length * 3 + RATE);
  let at = _ascii(parentId, 0);
  if (at >= 0) {
    INPUT[at++] = 95; // _
    at = _ascii(table, at);
  }
  if (at < 0) return _digest(`${parentId}_${table}_${listIndex}`);
  INPUT[at++] = 95;
  _ascii(index, at);
  return _shake(length);
}

/**
 * Returns the id of a root row derived from its primary key, as dlt does for `upsert` and `insert-only`.
 *
 * The key values are written as compact JSON with sorted keys (dlt's `json.dumpb(..., sort_keys=True)`);
 * a float with an integer value prints as `1` here and `1.0` in Python, the only known difference.
 *
 * @param key Primary key column name → value.
 * @returns 14 base64 characters, the same for the same key.
 */
export function keyHashRowId(key: Readonly<Record<string, unknown>>): string {
  return _digest(_sortedJson(key));
}

/**
 * Returns {@link keyHashRowId} as a function of a row, for the primary key columns `names`: the
 * sorted keys and their JSON are worked out once, so a row costs one string and its hash instead of
 * an object, three arrays and a sort (a root row of an upsert resource pays it).
 *
 * @param names Primary key column names, in any order.
 * @returns `(row) => keyHashRowId({ [name]: row[name], … })`.
 */
export function keyHasher(names: readonly string[]): (row: Readonly<Record<string, unknown>>) => string {
  const sorted = [...new Set(names)].sort();
  const prefixes = sorted.map((name, i) => `${i === 0 ? "{" : ","}${JSON.stringify(name)}:`);
  if (sorted.length === 1) {
    const [name] = sorted;
    const prefix = prefixes[0];
    return (row) => _digest(`${prefix}${_sortedJson(row[name])}}`);
  }
  return (row) => {
    let json = sorted.length === 0 ? "{" : "";
    for (let i = 0; i < sorted.length; i++) json += prefixes[i] + _sortedJson(row[sorted[i]]);
    return _digest(`${json}}`);
  };
}

// SHAKE-128 absorbs 168 bytes per permutation. The state is 25 64-bit lanes, seen from JavaScript
// as (low, high) 32-bit halves; WebAssembly memory and every platform we run on are little-endian.
const RATE = 168;
const ROUNDS = 24;
// For lane i = x + 5y: the rotation ρ applies to it.
const RHO = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
// Round constants of ι.
const RC = [
  0x0000000000000001n, 0x0000000000008082n, 0x800000000000808an, 0x8000000080008000n, 0x000000000000808bn, 0x0000000080000001n,
  0x8000000080008081n, 0x8000000000008009n, 0x000000000000008an, 0x0000000000000088n, 0x0000000080008009n, 0x000000008000000an,
  0x000000008000808bn, 0x800000000000008bn, 0x8000000000008089n, 0x8000000000008003n, 0x8000000000008002n, 0x8000000000000080n,
  0x000000000000800an, 0x800000008000000an, 0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n,
];

/** The lane π moves lane i = x + 5y to: (x, y) → (y, 2x + 3y). */
function _pi(i: number): number {
  const x = i % 5;
  const y = (i - x) / 5;
  return y + 5 * ((2 * x + 3 * y) % 5);
}

/** Keccak-f[1600] on 50 32-bit halves, plain JavaScript: the reference and the fallback. */
export function _keccakJs(s: Int32Array): void {
  const b = new Int32Array(50);
  const c = new Int32Array(10);
  const rc = new Int32Array(new BigUint64Array(RC).buffer);
  for (let round = 0; round < ROUNDS; round++) {
    // θ: xor each lane with the parities of the columns to its left and (rotated by 1) right.
    for (let x = 0; x < 10; x++) c[x] = s[x] ^ s[x + 10] ^ s[x + 20] ^ s[x + 30] ^ s[x + 40];
    for (let x = 0; x < 10; x += 2) {
      const lo = c[(x + 2) % 10];
      const hi = c[(x + 3) % 10];
      const dLo = c[(x + 8) % 10] ^ ((lo << 1) | (hi >>> 31));
      const dHi = c[(x + 9) % 10] ^ ((hi << 1) | (lo >>> 31));
      for (let y = 0; y < 50; y += 10) {
        s[x + y] ^= dLo;
        s[x + y + 1] ^= dHi;
      }
    }
    // ρ and π: rotate each lane and move it.
    for (let i = 0; i < 25; i++) {
      let lo = s[2 * i];
      let hi = s[2 * i + 1];
      let r = RHO[i];
      if (r >= 32) [lo, hi, r] = [hi, lo, r - 32];
      const to = 2 * _pi(i);
      b[to] = r === 0 ? lo : (lo << r) | (hi >>> (32 - r));
      b[to + 1] = r === 0 ? hi : (hi << r) | (lo >>> (32 - r));
    }
    // χ: combine each lane with the next two in its row.
    for (let y = 0; y < 50; y += 10) {
      for (let x = 0; x < 10; x++) s[y + x] = b[y + x] ^ (~b[y + ((x + 2) % 10)] & b[y + ((x + 4) % 10)]);
    }
    // ι
    s[0] ^= rc[2 * round];
    s[1] ^= rc[2 * round + 1];
  }
}

/**
 * Builds a WebAssembly module exporting memory `m` and function `f`, which applies Keccak-f[1600]
 * to the 25 lanes at address 0, reading round constants from address 200.
 */
export function _keccakWasmModule(): Uint8Array<ArrayBuffer> {
  // Locals: lanes a, the ρπ output b, column parities c, θ offsets d, and the round's byte offset r.
  const A = 0;
  const B = 25;
  const C = 50;
  const D = 55;
  const R = 60;
  const code: number[] = [];
  const get = (local: number) => code.push(0x20, ...uleb(local));
  const set = (local: number) => code.push(0x21, ...uleb(local));
  const XOR = 0x85;
  const ROTL = 0x89;
  for (let i = 0; i < 25; i++) code.push(0x41, 0, 0x29, 3, ...uleb(8 * i), 0x21, A + i); // a[i] = load(8i)
  code.push(0x03, 0x40); // loop
  for (let x = 0; x < 5; x++) {
    get(A + x);
    for (let y = 1; y < 5; y++) code.push(0x20, A + x + 5 * y, XOR);
    set(C + x);
  }
  for (let x = 0; x < 5; x++) {
    get(C + ((x + 4) % 5));
    get(C + ((x + 1) % 5));
    code.push(0x42, 1, ROTL, XOR);
    set(D + x);
  }
  for (let i = 0; i < 25; i++) {
    get(A + i);
    get(D + (i % 5));
    code.push(XOR);
    if (RHO[i] !== 0) code.push(0x42, ...sleb(RHO[i]), ROTL);
    set(B + _pi(i));
  }
  for (let y = 0; y < 25; y += 5) {
    for (let x = 0; x < 5; x++) {
      get(B + y + x);
      get(B + y + ((x + 1) % 5));
      code.push(0x42, 0x7f, XOR); // not
      get(B + y + ((x + 2) % 5));
      code.push(0x83, XOR); // and, xor
      set(A + y + x);
    }
  }
  get(A);
  get(R);
  code.push(0x29, 3, ...uleb(200), XOR); // a[0] ^= load(200 + r)
  set(A);
  get(R);
  code.push(0x41, 8, 0x6a, 0x22, R, 0x41, ...sleb(8 * ROUNDS), 0x49, 0x0d, 0); // r += 8; continue while r < 192
  code.push(0x0b); // end loop
  for (let i = 0; i < 25; i++) code.push(0x41, 0, 0x20, A + i, 0x37, 3, ...uleb(8 * i)); // store(8i, a[i])
  code.push(0x0b);
  const body = [2, 60, 0x7e, 1, 0x7f, ...code]; // 60 i64 locals, 1 i32 local
  const name = (text: string) => [text.length, ...Array.from(text, (ch) => ch.charCodeAt(0))];
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, 0x60, 0, 0]), // type () → ()
    ...section(3, [1, 0]), // one function
    ...section(5, [1, 0, 1]), // one page of memory
    ...section(7, [2, ...name("m"), 2, 0, ...name("f"), 0, 0]), // exports
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n & 127;
    n >>>= 7;
    out.push(n === 0 ? byte : byte | 128);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 127;
    n >>= 7;
    if ((n === 0 && (byte & 64) === 0) || (n === -1 && (byte & 64) !== 0)) return [...out, byte];
    out.push(byte | 128);
  }
}

/** Instantiates the WebAssembly permutation, round constants loaded; `permute` works on `state` in place. */
export function _keccakWasm(): { state: Int32Array; permute: () => void } {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(_keccakWasmModule()));
  const memory = (instance.exports.m as WebAssembly.Memory).buffer;
  new BigUint64Array(memory, 200, ROUNDS).set(RC);
  return { state: new Int32Array(memory, 0, 50), permute: instance.exports.f as () => void };
}

/** The permutation and the state it works on: WebAssembly when the runtime allows it. */
const { state: STATE, permute } = ((): { state: Int32Array; permute: () => void } => {
  try {
    return _keccakWasm();
  } catch {
    // A runtime without WebAssembly (e.g. a V8 started with --jitless).
    const state = new Int32Array(50);
    return { state, permute: () => _keccakJs(state) };
  }
})();
let INPUT = new Uint8Array(RATE * 2);
const OUTPUT = new Uint8Array(ROW_ID_BYTES);
const ENCODER = new TextEncoder();

/** First {@link ROW_ID_BYTES} bytes of SHAKE-128 of the UTF-8 of `text`, in base64. */
export function _digest(text: string): string {
  return _shake(_utf8(text));
}

/** First {@link ROW_ID_BYTES} bytes of SHAKE-128 of the first `length` bytes of INPUT, in base64. */
function _shake(length: number): string {
  const state = STATE;
  state.fill(0);
  let offset = 0;
  for (; length - offset >= RATE; offset += RATE) {
    _absorb(state, offset, RATE);
    permute();
  }
  // Pad the last block with SHAKE's 0x1F … 0x80, absorbing only the words that hold data or padding.
  INPUT[length] = 0x1f;
  INPUT[length + 1] = INPUT[length + 2] = INPUT[length + 3] = 0;
  _absorb(state, offset, (length - offset + 4) & ~3);
  state[RATE / 4 - 1] ^= 0x80000000;
  permute();
  for (let i = 0; i < ROW_ID_BYTES; i++) OUTPUT[i] = state[i >> 2] >>> ((i & 3) << 3);
  return _base64(OUTPUT, 0);
}

/** Writes the UTF-8 of `text` to INPUT, growing it as needed, with room for the padding. */
function _utf8(text: string): number {
  if (INPUT.length < text.length * 3 + 4) INPUT = new Uint8Array(text.length * 3 + RATE);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return ENCODER.encodeInto(text, INPUT).written;
    INPUT[i] = code;
  }
  return text.length;
}

/** Copies ASCII `text` to INPUT at `at`; returns the end, or -1 at the first non-ASCII character. */
function _ascii(text: string, at: number): number {
  const input = INPUT;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return -1;
    input[at++] = code;
  }
  return at;
}

function _absorb(state: Int32Array, offset: number, count: number): void {
  const input = INPUT;
  for (let i = 0; i < count; i += 4) {
    const at = offset + i;
    state[i >> 2] ^= input[at] | (input[at + 1] << 8) | (input[at + 2] << 16) | (input[at + 3] << 24);
  }
}

/**
 * Base64 of the 10 bytes at `offset`, without the two padding characters. One `fromCharCode` makes
 * the 14 characters as one flat string: built by `+=`, an id was 4–10× slower (every row has one),
 * and on JavaScriptCore it stayed a rope that DuckDB's Appender then had to flatten (issue #15).
 */
function _base64(bytes: Uint8Array, offset: number): string {
  const c = BASE64_CODES;
  const a = (bytes[offset] << 16) | (bytes[offset + 1] << 8) | bytes[offset + 2];
  const b = (bytes[offset + 3] << 16) | (bytes[offset + 4] << 8) | bytes[offset + 5];
  const d = (bytes[offset + 6] << 16) | (bytes[offset + 7] << 8) | bytes[offset + 8];
  const last = bytes[offset + 9];
  return String.fromCharCode(
    c[a >> 18], c[(a >> 12) & 63], c[(a >> 6) & 63], c[a & 63],
    c[b >> 18], c[(b >> 12) & 63], c[(b >> 6) & 63], c[b & 63],
    c[d >> 18], c[(d >> 12) & 63], c[(d >> 6) & 63], c[d & 63],
    c[last >> 2], c[(last & 3) << 4],
  );
}

function _sortedJson(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof ExactNumber) return value.text;
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(_sortedJson).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${_sortedJson(record[key])}`).join(",")}}`;
}
