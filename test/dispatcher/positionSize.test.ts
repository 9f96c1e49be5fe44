import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/core/errors.js";
import { positionSizeReference } from "../../src/indicators/positionSize.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";
import { distanceToGrid } from "../../src/indicators/grid.js";
import { expectGridEqual, TIE_BAND } from "../support/tieBand.js";
import { MAX_RISK } from "../../src/dispatcher/limits.js";

const dispatcher = sharedDispatcher();
afterAll(() => dispatcher.close());

describe("positionSize known answers", () => {
  it("cash equity: Rs 10,00,000 at 1 % with a Rs 3 stop -> 3333 shares", async () => {
    // 10,000 / 3 = 3333.33 -> 3333; at risk 3333 * 3 = 9999; notional 3333 * 100
    const r = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 1 });
    expect(r).toMatchObject({ lots: 3333, quantity: 3333, moneyAtRisk: 9999, notional: 333_300, boundBy: "risk", riskMultiplier: 1 });
  });

  it("F&O lots of 75: 3333.33 units -> 44 lots, 3300 quantity", async () => {
    const r = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 75 });
    expect(r).toMatchObject({ lots: 44, quantity: 3300, moneyAtRisk: 9900, boundBy: "risk" });
  });

  it("caps by maximum lots and by maximum exposure, and says which bound", async () => {
    const byLots = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 75, maxLots: 10 });
    expect(byLots).toMatchObject({ lots: 10, boundBy: "max_lots" });
    // 25 % of 10,00,000 / (100 * 75) = 33.3 -> 33 lots
    const byExposure = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 75, maxExposure: 0.25 });
    expect(byExposure).toMatchObject({ lots: 33, boundBy: "max_exposure", notional: 247_500 });
  });

  // 280,598,738,317 units of 321 price units: exactly 2^53 + 1, which doubles round to 2^53
  it("refuses a notional of 2^53 price units or more, never one rounded down to it", async () => {
    const input = { symbol: "PSEXACT", capital: 1e11, risk: 0.1, entry: 0.0321, stop: 0.032, lotSize: 1, maxExposure: 9.007199254741154, confidenceFloor: 0.5 };
    expect(positionSizeReference(input).notional.times(10_000).toString()).toBe(String(2n ** 53n + 1n));
    await expect(dispatcher.positionSize(input)).rejects.toMatchObject({ name: InvalidInputError.name, field: "capital" });
  });

  it("scales risk by confidence from the floor (0.5 at confidence 0) to 1", async () => {
    const zero = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 75, confidence: 0 });
    expect(zero).toMatchObject({ lots: 22, riskMultiplier: 0.5 }); // 1666.67 / 75 = 22.2
    const half = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 75, confidence: 0.5, confidenceFloor: 0.2 });
    expect(half.lots).toBe(26); // 2000 / 75 = 26.7
    expect(half.riskMultiplier).toBeCloseTo(0.6, 15); // 0.2 + 0.8 * 0.5 in doubles
  });

  it("takes a risk of MAX_RISK (10 %), the most one trade may stake", async () => {
    // 100,000 at risk / Rs 3 = 33,333.3 -> 33,333 shares
    const r = await dispatcher.positionSize({ symbol: "PS", capital: 1_000_000, risk: MAX_RISK, entry: 100, stop: 97, lotSize: 1 });
    expect(r).toMatchObject({ lots: 33_333, moneyAtRisk: 99_999, boundBy: "risk" });
  });

  it("lands exactly on a lot boundary: 9,000 at risk / Rs 3 / 1000 = 3 lots", async () => {
    const r = await dispatcher.positionSize({ symbol: "PS", capital: 900_000, risk: 0.01, entry: 100, stop: 97, lotSize: 1000 });
    expect(r.lots).toBe(3);
  });
});

describe("positionSize against the decimal.js reference", () => {
  it("a count near 10^14 lots (the largest accepted inputs) may round apart only within the band's relative part", async () => {
    // first found by an audit (at a risk of 0.96, before MAX_RISK); this one by a search at risks
    // up to MAX_RISK: the exact count is ...414.9963, 0.0037 from a whole number, which the
    // doubles' own error (about 1e-15 of 7.2e13) crosses (Lua says ...415); the fixed 2e-9 alone would not cover it
    const input = { symbol: "HUGEPS", capital: 72410506025.5379, risk: 0.099832, entry: 0.0002, stop: 0.0001, lotSize: 1, confidenceFloor: 0.5 };
    const reference = positionSizeReference(input);
    const lua = await dispatcher.positionSize(input);
    expect(distanceToGrid(reference.exact.riskLots).gt(TIE_BAND)).toBe(true);
    expect(lua.lots).toBe(reference.lots + 1); // they do round apart here: the band is what is tested
    expectGridEqual(lua.lots, reference.lots, reference.exact.riskLots, "lots"); // throws outside the band
  });

  it("lots and quantity exactly equal outside the tie band; money exact", async () => {
    let ties = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          capital: fc.oneof(fc.integer({ min: 10_000, max: 100_000_000 }), fc.double({ min: 1e4, max: 1e9, noNaN: true })),
          risk: fc.oneof(fc.constantFrom(0.005, 0.01, 0.02), fc.double({ min: 0.0001, max: 0.05, noNaN: true })),
          entryTicks: fc.integer({ min: 20, max: 1_000_000 }),
          stopOffset: fc.integer({ min: -2_000, max: 2_000 }).filter((o) => o !== 0),
          lotSize: fc.constantFrom(1, 15, 25, 30, 35, 50, 65, 75, 1800),
          maxLots: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
          maxExposure: fc.option(fc.double({ min: 0.05, max: 5, noNaN: true }), { nil: undefined }),
          confidence: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          confidenceFloor: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        async (p) => {
          const entry = (p.entryTicks * 500) / 10_000;
          const stopTicks = p.entryTicks + p.stopOffset;
          if (stopTicks <= 0) return;
          const stop = (stopTicks * 500) / 10_000;
          const input = { symbol: "PROPPS", ...p, entry, stop };
          const reference = positionSizeReference(input);
          // a notional of 2^53 price units or more may not be exact: the script refuses it by name
          if (reference.notional.times(10_000).gte(2 ** 53)) {
            await expect(dispatcher.positionSize(input)).rejects.toMatchObject({ name: InvalidInputError.name, field: "capital" });
            return;
          }
          const lua = await dispatcher.positionSize(input);
          const exact = reference.boundBy === "max_exposure" ? reference.exact.exposureLots! : reference.exact.riskLots;
          if (expectGridEqual(lua.lots, reference.lots, exact, "lots")) {
            ties++;
            return;
          }
          expect(lua).toMatchObject({
            lots: reference.lots,
            quantity: reference.quantity,
            moneyAtRisk: reference.moneyAtRisk.toNumber(),
            notional: reference.notional.toNumber(),
            boundBy: reference.boundBy,
          });
          expect(Number.isInteger(lua.lots) && Number.isInteger(lua.quantity)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
    expect(ties).toBeLessThan(5);
  });
});

describe("positionSize input validation (before any Redis call)", () => {
  const good = { symbol: "NIFTY", capital: 1_000_000, risk: 0.01, entry: 100, stop: 97, lotSize: 75 };
  const cases: [string, object, string][] = [
    ["entry equal to stop", { stop: 100 }, "stop"],
    ["zero capital", { capital: 0 }, "capital"],
    ["negative capital", { capital: -5 }, "capital"],
    ["risk 0", { risk: 0 }, "risk"],
    ["risk above 1", { risk: 1.5 }, "risk"],
    // 1 meant as 1 % would stake the whole capital on one trade: a position 100 times too large
    ["a risk of 1", { risk: 1 }, "risk"],
    ["risk just above MAX_RISK", { risk: MAX_RISK * 1.000001 }, "risk"],
    ["NaN risk", { risk: Number.NaN }, "risk"],
    ["fractional lot size", { lotSize: 7.5 }, "lotSize"],
    ["zero lot size", { lotSize: 0 }, "lotSize"],
    ["confidence above 1", { confidence: 1.2 }, "confidence"],
    ["negative max lots", { maxLots: -1 }, "maxLots"],
  ];
  it.each(cases)("rejects %s naming %s", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.positionSize({ ...good, ...patch } as never), field);
  });
});
