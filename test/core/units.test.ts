import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { packFields } from "../../src/core/units.js";

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
