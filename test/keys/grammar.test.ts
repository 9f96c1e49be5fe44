import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildKey, KEY_FAMILIES, KeyGrammarError, parseKey } from "../../src/keys/grammar.js";
import { indicatorKey } from "../../src/keys/indicator.js";
import { patternCacheKey } from "../../src/keys/patternCache.js";
import { SYMBOL_PATTERN } from "../../src/keys/symbol.js";
import { LIMITS } from "../../src/generated/scripts.js";
import { thrown } from "../support/thrown.js";

const symbol = fc.stringMatching(/^[A-Z0-9][A-Z0-9&_.-]{0,39}$/);
const FIELD_ARBITRARIES: Record<string, fc.Arbitrary<string>> = {
  symbol,
  name: fc.stringMatching(/^[a-z][a-z0-9_]{0,39}$/),
  pattern: fc.stringMatching(/^[a-z][a-z0-9_]{0,39}$/),
  concept: fc.stringMatching(/^[a-z][a-z0-9_]{0,39}$/),
  metric: fc.stringMatching(/^[a-z][a-z0-9_]{0,39}$/),
  function: fc.stringMatching(/^[a-z][a-z0-9_]{0,39}$/),
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  version: fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99)).map((v) => `v${v.join(".")}`),
  digest: fc.stringMatching(/^[0-9a-f]{40}$/),
  hour: fc.integer({ min: 0, max: 23 }).map((h) => String(h).padStart(2, "0")),
  minute: fc.integer({ min: 0, max: 59 }).map((m) => String(m).padStart(2, "0")),
  date: fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
};

function fieldsOf(familyName: string) {
  const spec = KEY_FAMILIES.find((k) => k.family === familyName)!;
  const record: Record<string, fc.Arbitrary<string>> = {};
  for (const s of spec.segments) if (typeof s !== "string") record[s.field] = FIELD_ARBITRARIES[s.field]!;
  return fc.record(record);
}

describe("key grammar", () => {
  it("build then parse gives back the family and fields, for every family, with and without hash tags", () => {
    for (const spec of KEY_FAMILIES) {
      fc.assert(
        fc.property(fieldsOf(spec.family), fc.boolean(), (fields, hashTag) => {
          const key = buildKey(spec.family, fields, { hashTag });
          const hasSymbol = "symbol" in fields;
          expect(parseKey(key)).toEqual({ family: spec.family, fields, hashTag: hashTag && hasSymbol });
        }),
        { numRuns: 60 },
      );
    }
  });

  it("builds the documented shapes", () => {
    expect(indicatorKey("atr14", "BANKNIFTY")).toBe("indicator:atr14:BANKNIFTY");
    expect(indicatorKey("vwap", "BANKNIFTY", { hashTag: true })).toBe("indicator:vwap:{BANKNIFTY}");
    expect(buildKey("volume_baseline", { symbol: "NIFTY", hour: "09", minute: "15" })).toBe("volume:baseline:NIFTY:09:15");
    expect(buildKey("alert_validation_queue", {})).toBe("alerts:pending:validation");
    expect(patternCacheKey("atr", "1.0.0", "M&M", "a".repeat(40))).toBe(`pattern_cache:atr:v1.0.0:M&M:${"a".repeat(40)}`);
    expect(parseKey("alerts:meta:abc-1")).toEqual({ family: "alert_metadata", fields: { id: "abc-1" }, hashTag: false });
    expect(parseKey("alerts:NIFTY:abc-1")).toEqual({ family: "alerts", fields: { symbol: "NIFTY", id: "abc-1" }, hashTag: false });
  });

  it.each([
    ["a colon", "NIFTY:50"],
    ["a brace", "NIFTY}"],
    ["a space", "BANK NIFTY"],
    ["a star", "NIFTY*"],
    ["an empty symbol", ""],
    ["a symbol of 41 characters", "A".repeat(41)],
    ["lower case", "nifty"],
  ])("refuses a symbol with %s", (_, bad) => {
    const error = thrown(() => indicatorKey("atr14", bad));
    expect(error).toBeInstanceOf(KeyGrammarError);
    expect((error as KeyGrammarError).field).toBe("symbol");
  });

  it("takes symbols as long as the scripts do (MAX_SYMBOL_LENGTH of lua/includes/keys.lua), and no longer", () => {
    expect(SYMBOL_PATTERN.test("A".repeat(LIMITS.MAX_SYMBOL_LENGTH))).toBe(true);
    expect(SYMBOL_PATTERN.test("A".repeat(LIMITS.MAX_SYMBOL_LENGTH + 1))).toBe(false);
  });

  it("refuses other fields that would break the grammar", () => {
    expect(() => buildKey("indicator", { name: "atr:14", symbol: "NIFTY" })).toThrow(KeyGrammarError);
    expect(() => buildKey("volume_baseline", { symbol: "NIFTY", hour: "24", minute: "00" })).toThrow(/hour/);
    expect(() => buildKey("no_such_family", {})).toThrow(/unknown key family/);
  });

  it("takes a date only for a day that exists, built or parsed", () => {
    for (const date of ["2026-02-29", "2026-02-31", "2026-04-31", "2100-02-29"]) {
      expect(thrown(() => buildKey("metrics", { metric: "ticks_applied", date }))).toMatchObject({ field: "date" });
      expect(() => parseKey(`metrics:ticks_applied:${date}`)).toThrow(KeyGrammarError);
    }
    for (const date of ["2024-02-29", "2000-02-29", "2026-12-31"]) {
      expect(parseKey(buildKey("metrics", { metric: "ticks_applied", date })).fields.date).toBe(date);
    }
  });

  it("parses no key outside the grammar", () => {
    for (const key of ["", "ticks", "ticks:nifty", "indicator:atr14", "pattern_cache:atr:1.0.0:NIFTY:abc", "foo:bar:BAZ", "ticks:{NIFTY"]) {
      expect(() => parseKey(key)).toThrow(KeyGrammarError);
    }
  });
});
