import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  EMPTY_KEY_IDENTIFIER,
  MAX_IDENTIFIER_LENGTH,
  makePath,
  NameRegistry,
  normalizeIdentifier,
  normalizePath,
  shortenFragments,
} from "../../src/normalize/naming.ts";

// Inputs and outputs copied from dlt's tests/common/normalizers/test_naming_snake_case.py and the
// naming-convention docs (https://dlthub.com/docs/general-usage/naming-convention).
const DLT_IDENTIFIER_CASES: [string, string][] = [
  ["event_value", "event_value"],
  ["event value", "event_value"],
  ["event-.!:*<>value", "event_x_value"],
  ["1event_n'", "_1event_nx"],
  ["123event_n'", "_123event_nx"],
  ["123BaNaNa", "_123_ba_na_na"],
  ["BANANA", "banana"],
  ["BAN_ANA", "ban_ana"],
  ["BANaNA", "ba_na_na"],
  ["Small Love Potion", "small_love_potion"],
  [" Small Love Potion ", "small_love_potion"],
  ["BANANA_", "bananax"],
  ["BANANA____", "bananaxxxx"],
  ["+-!$*@#=|:", "x_xa_lx"],
  ["+-*@|", "x_xal"],
  ["+1", "x1"],
  ["-1", "_1"],
  ["event__value_value2____", "event_value_value2xxxx"],
  ["DealFlow", "deal_flow"],
];

// Outputs that follow from dlt's rules (see the comment atop naming.ts), not copied from dlt.
const RULE_IDENTIFIER_CASES: [string, string, string][] = [
  ["camelCase words split at each capital", "senderId", "sender_id"],
  ["a trailing acronym is one word", "userID", "user_id"],
  ["a leading acronym is one word", "HTTPResponse", "http_response"],
  ["an acronym inside camelCase is one word", "getHTTPResponseCode", "get_http_response_code"],
  ["a single lowercase letter before a capital is its own word", "iPhone", "i_phone"],
  ["a digit before a capitalized word splits", "v2Api", "v2_api"],
  ["spaces become one underscore", "first   name", "first_name"],
  ["dots become underscores", "user.address.city", "user_address_city"],
  ["dashes become underscores", "e-mail", "e_mail"],
  ["an emoji becomes a trailing x", "price 💰", "pricex"],
  ["a name of only an emoji becomes x", "🚀", "x"],
  ["accented letters are outside the alphabet", "ÜberCount", "_ber_count"],
  ["a lowercase SQL keyword is unchanged", "select", "select"],
  ["an uppercase SQL keyword is only lowercased", "ORDER", "order"],
  ["a quoted SQL injection loses every quote and symbol", 'id"; drop table x; --', "id_drop_table_xxxx"],
  ["a leading digit gets an underscore prefix", "1st", "_1st"],
  ["a name of only digits gets an underscore prefix", "2024", "_2024"],
  ["a lone underscore becomes x", "_", "x"],
  ["a double underscore collapses inside an identifier", "a__b", "a_b"],
  ["a dlt column name is unchanged", "_dlt_id", "_dlt_id"],
  ["Python whitespace such as U+001F is trimmed", "\u001fid\u0085", "id"],
  ["a byte order mark is not whitespace to Python", "\ufeffid", "_id"],
];

// Tags from dlt's tests/common/normalizers/test_naming.py::test_tag_generation; with a max length
// equal to the tag length the whole identifier is the tag of the raw name.
const DLT_TAG_CASES: [string, string][] = [
  ["3f17271231504b8cf65690bcdc379df8a3b8aabe12efe1ea82848ec5f497cb69", "gds0iw"],
  ["58e5c351b53ffe1233e0656a532a721ae1d2ac7af71b6cfec8ceb64c63b10721", "uyboiq"],
  ["e3f34629839cedcabba95354e48a78dc80b0cd35c02ddfbbf20196ba7f968866", "51wdcg"],
  ["f0f22b8e8c58389a6c21dbcc1e261ee0354704e24996a0ec541276f58d1f2f52", "bpm7ca"],
  ["0d0de95c7c12ceee919d28d22c970285d80a36dea4fe32dbdd667a888ae6d47f", "doqcuq"],
  ["4973509ea648ddfbaf6c50e1fef33c3b0a3d1c1a82dff543a8255e60b6572567", "cl7rpq"],
  ["877c89f0dcbd24b8c3f787624ddca09deb6a44e4a72f12527209d78e4d9ed247", "xrnycg"],
  ["064df58cd3a51c50dbf30e975e63961a501212ff8e8ca544ab396727f4b8a367", "kgiizq"],
  ["c8f7da1b5c44c1ca10da67c1514c4cf365e4d5912685b25a39206d5c8c1966a1", "dj9zqq"],
  ["222d42333592ea87823fd2e7868d59fb0aded20603f433319691918299513cb6", "futp4w"],
  ["757d64eb242a91b494ec9e2661a7946410d68144d33860d6f4154092d65d5009", "wetlpg"],
  ["3c7348d43478292b4c4e0689d41a536fc8ccabdbd9fb9d0dfbe757a83d34cebe", "avxagg"],
  ["6896fac1546c201d4dc91d2c51bdcd9c820fe92fd0555947e59fdc89ca6f045d", "wbaj3w"],
  ["b4def322a4487dd90fcc4abd2f1efde0cdce81d8e0a580fd1897203ab4ebcebe", "whojmw"],
  ["07d974124b92adafc90473a3968ceb5e8329d815e0e48260473d70a781adb8ae", "aiqcea"],
  ["c67183a762e379290652cc26a786b21eff347643b1cc9012138f460901ce5d53", "zfztpg"],
  ["430976db5adef67d0009aa3cd9a2daca106829b36a7232732c5d694e7197c6d1", "evr7rq"],
  ["c1c8c0ff6933fa4e23fab5605139124b2c6cda0150a412daaea274818ee46e35", "er0nxq"],
  ["0060c538b6ce02b8d8e2c85b4e2810c58b846f4096ed7ab871fc092c45ac09d9", "zh9xgg"],
  ["4d4b99ff5d2a3d5cd076782c9cd088cd85d5c789d7de6bdc19c1d206b687d485", "2vvr5a"],
];

// From dlt's tests/common/normalizers/test_naming_snake_case.py::test_normalize_path.
const DLT_PATH_CASES: [string, string][] = [
  ["small_love_potion", "small_love_potion"],
  ["small__love__potion", "small__love__potion"],
  ["Small_Love_Potion", "small_love_potion"],
  ["Small__Love__Potion", "small__love__potion"],
  ["Small Love Potion", "small_love_potion"],
  ["Small  Love  Potion", "small_love_potion"],
  ["Small___Love____Potion_____x", "small___love__potion___x"],
  ["small___love__potion___x", "small___love__potion___x"],
  ["e_vent__value_value2___", "e_vent__value_value2__x"],
];

// From dlt's tests/common/normalizers/test_naming.py.
const LONG_PATH =
  "prospects_external_data__data365_member__member__feed_activities_created_post__items__comments__items__comments__items__author_details__educations";

describe("normalizeIdentifier", () => {
  for (const [input, expected] of DLT_IDENTIFIER_CASES) {
    test(`normalizes ${JSON.stringify(input)} to ${expected} as dlt does`, () => {
      assert.equal(normalizeIdentifier(input), expected);
    });
  }

  for (const [behaviour, input, expected] of RULE_IDENTIFIER_CASES) {
    test(`${behaviour}: ${JSON.stringify(input)} → ${expected}`, () => {
      assert.equal(normalizeIdentifier(input), expected);
    });
  }

  for (const input of ["", "   ", "\t\n "]) {
    test(`a blank name ${JSON.stringify(input)} becomes ${EMPTY_KEY_IDENTIFIER} as dlt names blank keys`, () => {
      assert.equal(normalizeIdentifier(input), EMPTY_KEY_IDENTIFIER);
    });
  }

  test("keys that differ only in case normalize to the same identifier", () => {
    assert.equal(normalizeIdentifier("Id"), normalizeIdentifier("id"));
    assert.equal(normalizeIdentifier("ID"), "id");
  });

  for (const [content, tag] of DLT_TAG_CASES) {
    test(`shortening ${content.slice(0, 8)}… to 6 characters leaves dlt's tag ${tag}`, () => {
      assert.equal(normalizeIdentifier(content, 6), tag);
    });
  }

  test("a 200-character name is kept whole under the DuckDB limit", () => {
    const name = "a".repeat(200);
    assert.equal(normalizeIdentifier(name), name);
    assert.equal(MAX_IDENTIFIER_LENGTH, 65536);
  });

  test("a 200-character name is shortened to maxLength with a tag between its head and tail", () => {
    const name = "a".repeat(100) + "b".repeat(100);
    const short = normalizeIdentifier(name, 64);
    assert.equal(short.length, 64);
    assert.equal(short.slice(0, 29), "a".repeat(29));
    assert.equal(short.slice(35), "b".repeat(29));
    assert.match(short.slice(29, 35), /^[a-z0-9]{6}$/);
  });

  test("shortening is deterministic", () => {
    const name = "x".repeat(100) + "Y".repeat(100);
    assert.equal(normalizeIdentifier(name, 64), normalizeIdentifier(name, 64));
  });

  test("distinct 200-character names that differ only in the cut middle stay distinct", () => {
    const names = ["0", "1", "2", "3"].map((mid) => `${"p".repeat(100)}${mid}${"s".repeat(99)}`);
    const shortened = new Set(names.map((name) => normalizeIdentifier(name, 64)));
    assert.equal(shortened.size, names.length);
  });

  test("the tag hashes the trimmed raw name, so surrounding spaces do not change it", () => {
    const name = "Some Very Long Column Name ".repeat(8).trim();
    assert.equal(normalizeIdentifier(`  ${name}\t\n`, 40), normalizeIdentifier(name, 40));
  });

  test("a maxLength shorter than the tag is refused", () => {
    assert.throws(() => normalizeIdentifier("abcdefgh", 5), RangeError);
  });
});

describe("makePath", () => {
  // From dlt's test_naming.py::test_normalize_make_path.
  const cases: [string[], string][] = [
    [["A", "B"], "A__B"],
    [["_A", "_B"], "_A___B"],
    [["_A", "", "_B"], "_A___B"],
    [["_A", "\t\n ", "_B"], "_A___B"],
  ];
  for (const [parts, expected] of cases) {
    test(`joins ${JSON.stringify(parts)} into ${expected}, skipping blank parts`, () => {
      assert.equal(makePath(...parts), expected);
    });
  }
});

describe("shortenFragments", () => {
  test("shortens a joined path the way dlt's test_shorten_identifier expects", () => {
    assert.equal(shortenFragments(["she played cello well"], 20), "she plauanpualo well");
  });

  test("leaves a path within the limit unchanged", () => {
    assert.equal(shortenFragments(["orders", "items", "tags"]), "orders__items__tags");
  });
});

describe("normalizePath", () => {
  for (const [input, expected] of DLT_PATH_CASES) {
    test(`normalizes the path ${JSON.stringify(input)} to ${expected} as dlt does`, () => {
      assert.equal(normalizePath(input), expected);
    });
  }

  test("keeps the __ separator of a nested name that normalizeIdentifier would collapse", () => {
    assert.equal(normalizePath("Parent__ChildName"), "parent__child_name");
    assert.equal(normalizeIdentifier("Parent__ChildName"), "parent_child_name");
  });

  for (const input of ["", "  ", "__", "____"]) {
    test(`a path with no non-blank part ${JSON.stringify(input)} becomes ${EMPTY_KEY_IDENTIFIER}`, () => {
      assert.equal(normalizePath(input), EMPTY_KEY_IDENTIFIER);
    });
  }

  test("leaves dlt's long test path intact without a limit", () => {
    assert.equal(normalizePath(LONG_PATH), LONG_PATH);
  });

  for (const maxLength of [64, 127]) {
    test(`shortens dlt's long test path to exactly ${maxLength} characters, idempotently`, () => {
      const short = normalizePath(LONG_PATH, maxLength);
      assert.equal(short.length, maxLength);
      assert.equal(normalizePath(short, maxLength), short);
      for (const part of short.split("__")) assert.ok(part.length <= maxLength);
    });
  }
});

describe("NameRegistry", () => {
  const cases: [string, string[], string[]][] = [
    ["the first key keeps the name and later keys differing in case get suffixes", ["Id", "id", "ID"], ["id", "id_2", "id_3"]],
    ["a space and an underscore collide and the later key gets _2", ["a b", "a_b"], ["a_b", "a_b_2"]],
    ["a key whose own name is a taken suffix moves on to the next free one", ["a b", "a_b", "a_b_2"], ["a_b", "a_b_2", "a_b_2_2"]],
    ["keys that do not collide keep their names", ["senderId", "HTTPResponse"], ["sender_id", "http_response"]],
    ["nested keys keep the path separator as dlt's JSON normalizer does", ["user__Name"], ["user__name"]],
    ["a blank key is named _empty", ["", " "], ["_empty", "_empty_2"]],
  ];
  for (const [behaviour, keys, expected] of cases) {
    test(behaviour, () => {
      const registry = new NameRegistry();
      assert.deepEqual(keys.map((key) => registry.resolve(key)), expected);
    });
  }

  test("the same source key always resolves to the same name", () => {
    const registry = new NameRegistry();
    const first = ["Id", "id", "Id", "id"].map((key) => registry.resolve(key));
    assert.deepEqual(first, ["id", "id_2", "id", "id_2"]);
  });

  test("suffixed names stay within maxLength", () => {
    const registry = new NameRegistry({ maxLength: 8 });
    const keys = ["abcdefgh", "ABCDEFGH", "abcdef_2", "Abcdefgh", "abcde_gh", "ABCDE_GH"];
    assert.deepEqual(keys.map((key) => registry.resolve(key)), [
      "abcdefgh",
      "abcdef_2",
      "abcdef_3",
      "abcdef_4",
      "abcde_gh",
      "abcde_2",
    ]);
  });

  test("a custom normalizer replaces the default one", () => {
    const registry = new NameRegistry({ normalize: normalizeIdentifier });
    assert.equal(registry.resolve("a__b"), "a_b");
  });
});
