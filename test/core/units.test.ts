import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Decimal } from "decimal.js";
import { packFields, PRICE_SNAP, PRICE_UNITS, priceToUnits, unitsToText } from "../../src/core/units.js";

/** The layout the scripts unpack, written the slow, obvious way. */
function reference(points: readonly Record<string, number>[], fields: readonly string[]): Buffer {
  const buffer = Buffer.alloc(points.length * fields.length * 8);
  let at = 0;
  for (const point of points) for (const field of fields) at = buffer.writeDoubleLE(point[field] as number, at);
  return buffer;
}

describe("packFields", () => {
  it("writes each point's fields in their order as little-endian doubles, at every width", () => {
    const names = ["high", "low", "close", "volume", "open", "extra"];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.array(fc.double(), { minLength: 6, maxLength: 6 }), { maxLength: 20 }), (width, rows) => {
        const fields = names.slice(0, width);
        const points = rows.map((row) => Object.fromEntries(names.map((name, j) => [name, row[j] as number])));
        expect(packFields(points, fields).equals(reference(points, fields))).toBe(true);
      }),
    );
  });
});

describe("unitsToText", () => {
  it("writes whole units as decimal.js writes them divided by 10^4, for any safe whole number and beyond", () => {
    const exact = (units: number) => new Decimal(units).div(PRICE_UNITS).toFixed();
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 10_000_000_000 }), fc.maxSafeInteger(), fc.double({ min: 0, max: 1e20, noNaN: true })), (units) => {
        expect(unitsToText(units)).toBe(exact(units));
      }),
      { numRuns: 2000 },
    );
    for (const units of [0, 1, 10, 500, 1_000, 10_000, 519_800_500, 519_800_050, Number.MAX_SAFE_INTEGER, 2 ** 53]) expect(unitsToText(units)).toBe(exact(units));
  });
});

describe("priceToUnits", () => {
  const MAX = 100_000_000;
  it("takes a number that JS arithmetic left a few units in the last place off a price of four decimals as that price", () => {
    // stops and targets computed in doubles: entry plus k ticks of 0.05, a bar's close plus one
    for (let k = 0; k <= 2_000; k++) expect(priceToUnits(24_000 + k * 0.05, MAX)).toBe(240_000_000 + 500 * k);
    expect(priceToUnits(24_000.350000000002, MAX)).toBe(240_003_500);
    expect(priceToUnits(51_980.05 + 1, MAX)).toBe(519_810_500);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX * PRICE_UNITS }), fc.integer({ min: -16, max: 16 }), (units, ulps) => {
        const price = units / PRICE_UNITS;
        const nudged = price + ulps * Number.EPSILON * price;
        fc.pre(nudged <= MAX); // above the largest price is out of range, nudged or not
        expect(priceToUnits(nudged, MAX)).toBe(units);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses a fifth decimal, however small the price or large, and text that is not exact", () => {
    for (const value of [24_000.35001, 0.00005, 99_999_999.99991, 1.00001]) expect(priceToUnits(value, MAX)).toMatch(/must have at most 4 decimals/);
    expect(priceToUnits("24000.350000000002", MAX)).toMatch(/must have at most 4 decimals/); // text says what it means
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX * PRICE_UNITS - 1 }), fc.integer({ min: 1, max: 9 }), (units, tenths) => {
        const value = (units + tenths / 10) / PRICE_UNITS; // a fifth decimal of 1 to 9
        expect(Math.abs(value - Math.round(value * PRICE_UNITS) / PRICE_UNITS)).toBeGreaterThan(value * PRICE_SNAP);
        expect(priceToUnits(value, MAX)).toMatch(/must have at most 4 decimals/);
      }),
      { numRuns: 2000 },
    );
  });
});
