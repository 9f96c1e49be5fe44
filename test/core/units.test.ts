import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Decimal } from "decimal.js";
import { packFields, PRICE_UNITS, unitsToText } from "../../src/core/units.js";

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
