import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openDatabase } from "../../src/load/db.ts";
import { coerceValue, inferDataType, isIsoDate, NO_FIT, parseIsoTimestamp, timestampMicros, valueType } from "../../src/normalize/infer.ts";
import type { DataType } from "../../src/normalize/types.ts";

describe("inferDataType", () => {
  const cases: [string, unknown, DataType | undefined][] = [
    ["a plain string is text", "hello", "text"],
    ["an empty string is text", "", "text"],
    ["an ISO date-time with Z is a timestamp", "2024-01-01T10:00:00Z", "timestamp"],
    ["an ISO date-time with an offset is a timestamp", "2024-01-01T10:00:00.123+02:00", "timestamp"],
    ["a naive ISO date-time is a timestamp, as in dlt", "2024-01-01T10:00:00", "timestamp"],
    ["a space instead of T still makes a timestamp", "2024-01-01 10:00:00Z", "timestamp"],
    ["a date-time without seconds is a timestamp", "2024-01-01T10:00", "timestamp"],
    ["a YYYY-MM-DD string is a date", "2024-02-29", "date"],
    ["a date that does not exist is text", "2023-02-29", "text"],
    ["a month 13 is text", "2024-13-01T10:00:00Z", "text"],
    ["hour 24 is text", "2024-01-01T24:00:00Z", "text"],
    ["a lowercase t separator is text", "2024-01-01t10:00:00Z", "text"],
    ["trailing words after a date-time make text", "2024-01-01T10:00:00Z later", "text"],
    ["a basic-format date-time stays text", "20240101T100000Z", "text"],
    ["a time alone is text", "10:00:00", "text"],
    ["a safe integer is bigint", 42, "bigint"],
    ["a negative integer is bigint", -7, "bigint"],
    ["a fraction is double", 4.5, "double"],
    ["an integer beyond 2^53 is double, the value JSON.parse produced", 2 ** 60, "double"],
    ["a bigint inside int64 is bigint", 2n ** 62n, "bigint"],
    ["a bigint beyond int64 is wei", 2n ** 70n, "wei"],
    ["a bigint beyond 38 digits is text", 10n ** 40n, "text"],
    ["true is bool", true, "bool"],
    ["an object is json", { a: 1 }, "json"],
    ["an array is json", [1, 2], "json"],
    ["null has no type yet", null, undefined],
  ];
  for (const [name, value, expected] of cases) {
    test(name, () => assert.equal(inferDataType(value), expected));
  }

  test("without the iso_date detection a date string is text, as dlt's default", () => {
    assert.equal(inferDataType("2024-01-01", ["iso_timestamp"]), "text");
  });

  test("without detections a date-time string is text", () => {
    assert.equal(inferDataType("2024-01-01T10:00:00Z", []), "text");
  });
});

describe("valueType", () => {
  test("names variant columns after the value's own type, ignoring detections", () => {
    assert.equal(valueType("2024-01-01T10:00:00Z"), "text");
    assert.equal(valueType(1.5), "double");
    assert.equal(valueType(new Date(0)), "timestamp");
    assert.equal(valueType(new Uint8Array([1])), "binary");
    assert.equal(valueType(undefined), undefined);
  });
});

describe("parseIsoTimestamp", () => {
  const cases: [string, string, string | undefined][] = [
    ["keeps a date-time with Z as it is", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"],
    ["keeps an offset as it is", "2024-01-01T10:00:00+05:30", "2024-01-01T10:00:00+05:30"],
    ["keeps an offset without colon", "2024-01-01T10:00:00-0800", "2024-01-01T10:00:00-0800"],
    ["keeps an hour-only offset", "2024-01-01T10:00:00+05", "2024-01-01T10:00:00+05"],
    ["keeps nanoseconds for DuckDB to truncate", "2024-01-01T10:00:00.123456789Z", "2024-01-01T10:00:00.123456789Z"],
    ["marks a naive value as UTC, as dlt stores it", "2024-01-01T10:00:00.5", "2024-01-01T10:00:00.5Z"],
    ["adds seconds DuckDB requires before a zone", "2024-01-01T10:00Z", "2024-01-01T10:00:00Z"],
    ["adds seconds and UTC to a naive minute", "2024-01-01 10:00", "2024-01-01 10:00:00Z"],
    ["rejects a fraction of ten digits", "2024-01-01T10:00:00.1234567890Z", undefined],
    ["rejects minute 60", "2024-01-01T10:60:00Z", undefined],
    ["rejects second 60", "2024-01-01T10:00:60Z", undefined],
    ["rejects year 0", "0000-01-01T10:00:00Z", undefined],
    ["rejects a letter in the year", "2O24-01-01T10:00:00Z", undefined],
    ["rejects a dangling offset sign", "2024-01-01T10:00:00+", undefined],
    ["rejects an offset hour 24", "2024-01-01T10:00:00+24:00", undefined],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(parseIsoTimestamp(input), expected));
  }

  test("knows leap years", () => {
    assert.equal(isIsoDate("2000-02-29"), true);
    assert.equal(isIsoDate("1900-02-29"), false);
    assert.equal(isIsoDate("2024-04-31"), false);
  });
});

describe("coerceValue", () => {
  const NO = NO_FIT;
  const cases: [string, DataType, unknown, unknown][] = [
    ["text takes a number as its decimal string", "text", 5, "5"],
    ["text takes a fraction as JavaScript prints it", "text", 2.5, "2.5"],
    ["text takes a boolean as Python's str prints it, as dlt does", "text", true, "True"],
    ["text takes an object as compact JSON", "text", { a: [1, "x"] }, '{"a":[1,"x"]}'],
    ["text takes a bigint inside an object as digits", "text", { a: 2n ** 64n }, '{"a":18446744073709551616}'],
    ["bigint keeps a safe integer", "bigint", 42, 42],
    ["bigint takes a canonical integer string", "bigint", "42", 42],
    ["bigint takes a large integral double exactly, as a bigint", "bigint", 2 ** 60, 2n ** 60n],
    ["bigint returns a safe bigint as a number", "bigint", 7n, 7],
    ["bigint refuses a zero-padded string that would lose its zero", "bigint", "042", NO],
    ["bigint refuses a fraction", "bigint", 2.5, NO],
    ["bigint refuses a double beyond int64", "bigint", 2 ** 63, NO],
    ["bigint refuses a bigint beyond int64", "bigint", 2n ** 63n, NO],
    ["double takes an integer", "double", 3, 3],
    ["double takes a canonical number string", "double", "1.5", 1.5],
    ["double refuses a string with trailing zeros", "double", "1.50", NO],
    ["double refuses a bigint it cannot hold exactly", "double", 2n ** 53n + 1n, NO],
    ["bool takes the string true", "bool", "true", true],
    ["bool refuses 1, which dlt would read as true", "bool", 1, NO],
    ["timestamp takes a date as midnight UTC", "timestamp", "2024-01-02", "2024-01-02T00:00:00Z"],
    ["timestamp takes a Date as ISO", "timestamp", new Date(Date.UTC(2024, 0, 1)), "2024-01-01T00:00:00.000Z"],
    ["timestamp refuses a number, which dlt would read as Unix time", "timestamp", 1700000000, NO],
    ["timestamp refuses free text", "timestamp", "yesterday", NO],
    ["date takes a date", "date", "2024-01-02", "2024-01-02"],
    ["date refuses a date-time, which dlt would truncate", "date", "2024-01-02T10:00:00Z", NO],
    ["time takes HH:MM:SS", "time", "14:01:02", "14:01:02"],
    ["time takes an offset DuckDB ignores", "time", "14:01:02+02:00", "14:01:02+02:00"],
    ["time refuses minute 61", "time", "14:61:02", NO],
    ["json takes an object as it is", "json", { a: 1 }, { a: 1 }],
    ["json takes a scalar as a JSON scalar", "json", "x", "x"],
    ["decimal takes a fraction as a string", "decimal", 12.25, "12.25"],
    ["decimal takes a decimal string as it is", "decimal", "0.000000001", "0.000000001"],
    ["decimal writes a tiny number without exponent", "decimal", 1e-7, "0.0000001"],
    ["decimal refuses digits beyond its scale rather than round", "decimal", "0.0000000001", NO],
    ["wei takes a bigint as digits", "wei", 2n ** 100n, (2n ** 100n).toString()],
    ["wei takes a large integral double as digits", "wei", 1e21, "1000000000000000000000"],
    ["wei refuses a fraction", "wei", 1.5, NO],
    ["binary takes 0x hex", "binary", "0x0aff", new Uint8Array([10, 255])],
    ["binary takes base64", "binary", "AQI=", new Uint8Array([1, 2])],
    ["binary refuses other text", "binary", "hello!", NO],
  ];
  for (const [name, dataType, value, expected] of cases) {
    test(name, () => assert.deepEqual(coerceValue({ data_type: dataType }, value), expected));
  }

  test("decimal checks integer digits against precision minus scale", () => {
    assert.equal(coerceValue({ data_type: "decimal", precision: 5, scale: 2 }, "999.99"), "999.99");
    assert.equal(coerceValue({ data_type: "decimal", precision: 5, scale: 2 }, "1000"), NO_FIT);
  });
});

test("timestampMicros gives the instant DuckDB's CAST to TIMESTAMPTZ gives, for every form parseIsoTimestamp returns", async () => {
  const inputs = [
    "2024-03-01T10:00:00+02:00",
    "2024-03-01T10:00:00-05:30",
    "2024-03-01 10:00",
    "2024-03-01T10:00:00.123456789Z",
    "2024-03-01T10:00:00.5+0100",
    "2024-03-01T23:59:59.999999+14",
    "0005-03-01T10:00:00Z",
    "1969-12-31T23:59:59.000001Z",
    "9999-12-31T23:59:59Z",
    "2024-02-29T00:00:00Z",
  ];
  const stored = inputs.map((text) => parseIsoTimestamp(text)!);
  const db = await openDatabase(":memory:");
  try {
    const values = stored.map((text, i) => `(${i}, '${text}')`).join(", ");
    const rows = await db.all<{ us: bigint }>(`SELECT epoch_us(CAST(v AS TIMESTAMPTZ))::BIGINT AS us FROM (VALUES ${values}) AS t(i, v) ORDER BY i`);
    assert.deepEqual(
      stored.map((text) => timestampMicros(text)),
      rows.map((r) => BigInt(r.us)),
    );
  } finally {
    db.close();
  }
  assert.equal(timestampMicros("2024-03-01"), undefined);
  assert.equal(timestampMicros("2024-03-01T10:00:00 later"), undefined);
});
