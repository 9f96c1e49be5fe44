import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidInputError } from "../../src/core/errors.js";
import { epochMsSchema, finiteSchema, integerSchema, parseInput, rangeSchema } from "../../src/dispatcher/inputs.js";
import { MAX_EPOCH_MS, MIN_EPOCH_MS } from "../../src/dispatcher/limits.js";
import { LIMITS } from "../../src/generated/scripts.js";

/** The message parseInput gives `value` under `schema`, or undefined when it passes. */
function refusal(schema: z.ZodType, value: unknown): string | undefined {
  try {
    parseInput(z.object({ x: schema }), { x: value });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).message;
  }
}

describe("parseInput", () => {
  it("turns an error thrown while reading the input (a getter, a Proxy) into an InvalidInputError with it as the cause", () => {
    const boom = new Error("boom");
    const inputs = [
      { x: 1, get y(): number { throw boom; } },
      new Proxy({}, { get: () => { throw boom; } }),
      { x: new Proxy([1, 2], { get: () => { throw boom; } }) },
    ];
    const schema = z.object({ x: z.unknown().transform((v) => (Array.isArray(v) ? v.map(Number) : v)), y: z.number().optional() });
    for (const input of inputs) {
      const error = (() => { try { parseInput(schema, input); } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).message).toBe("input: could not be read: boom");
      expect((error as InvalidInputError).cause).toBe(boom);
    }
  });
});

describe("number schemas", () => {
  it("name NaN, the infinities and non-numbers as not finite", () => {
    for (const value of [Number.NaN, Infinity, -Infinity, "1", undefined]) {
      // text is quoted, so that "1" is not taken for the number 1
      expect(refusal(finiteSchema, value)).toBe(`x: must be a finite number, got ${typeof value === "string" ? `"${value}"` : String(value)}`);
    }
    expect(refusal(finiteSchema, -1.5)).toBeUndefined();
  });

  it("word every failure of an integer field the same way, bounds included", () => {
    const schema = integerSchema(1, 500);
    for (const value of [0, 501, 2.5, Number.NaN]) expect(refusal(schema, value)).toBe(`x: must be an integer in 1..500, got ${String(value)}`);
    expect(refusal(schema, "7")).toBe('x: must be an integer in 1..500, got "7"');
    expect(refusal(schema, 1)).toBeUndefined();
    expect(refusal(schema, 500)).toBeUndefined();
  });

  it("keep a range's open and closed ends", () => {
    const schema = rangeSchema(0, 1, { min: true });
    expect(refusal(schema, 0)).toBe("x: must be in (0, 1]");
    expect(refusal(schema, 1.01)).toBe("x: must be in (0, 1]");
    expect(refusal(schema, Infinity)).toBe("x: must be a finite number, got Infinity");
    expect(refusal(schema, 1)).toBeUndefined();
    expect(refusal(rangeSchema(0, 1, { max: true }), 1)).toBe("x: must be in [0, 1)");
  });

  it("take times as epoch milliseconds between a time in seconds and one in microseconds, and say which it looks like", () => {
    expect([MIN_EPOCH_MS, MAX_EPOCH_MS]).toEqual([LIMITS.MIN_EPOCH_MS, LIMITS.MAX_EPOCH_MS]); // the scripts' own bounds (lua/includes/epoch.lua)
    expect(new Date(MIN_EPOCH_MS).toISOString().slice(0, 10)).toBe("1970-04-26");
    expect(new Date(MAX_EPOCH_MS).toISOString().slice(0, 10)).toBe("2286-11-20");
    const ms = Date.UTC(2026, 10, 27, 3, 45); // 09:15 IST
    const range = `must be whole epoch milliseconds in ${MIN_EPOCH_MS}..${MAX_EPOCH_MS}`;
    expect(refusal(epochMsSchema, ms / 1000)).toBe(`x: ${range}, got ${ms / 1000} (a time in seconds?)`);
    expect(refusal(epochMsSchema, ms * 1000)).toBe(`x: ${range}, got ${ms * 1000} (a time in microseconds?)`);
    expect(refusal(epochMsSchema, -1)).toBe(`x: ${range}, got -1`);
    expect(refusal(epochMsSchema, ms + 0.5)).toMatch(/^x: must be whole epoch milliseconds/);
    expect(refusal(epochMsSchema, Infinity)).toBe(`x: ${range}, got Infinity`);
    expect(refusal(epochMsSchema, MIN_EPOCH_MS)).toBeUndefined();
    expect(refusal(epochMsSchema, MAX_EPOCH_MS)).toBeUndefined();
    expect(refusal(epochMsSchema, Date.UTC(1996, 3, 22))).toBeUndefined(); // history in ms, from NIFTY's first day on
    expect(refusal(epochMsSchema, ms)).toBeUndefined();
  });
});
