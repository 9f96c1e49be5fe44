import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/core/errors.js";
import { Dec } from "../../src/indicators/decimal.js";
import { stopLossReference } from "../../src/indicators/stopLoss.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";
import { expectGridEqual } from "../support/tieBand.js";

const dispatcher = sharedDispatcher();

/** The exact distances a stop's ticks were rounded from: k * ATR's, and the bounds' where given. */
const exactDistances = (reference: ReturnType<typeof stopLossReference>): Dec[] =>
  [reference.exact.distanceTicks, reference.exact.minTicks, reference.exact.capTicks].filter((d): d is Dec => d !== undefined);
afterAll(() => dispatcher.close());

describe("stopLoss known answers", () => {
  it("long: entry 100, ATR 2, k 1.5, tick 0.05 -> stop 97, 60 ticks; target at 2R -> 106", async () => {
    const r = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 100, atr: 2, rewardRatio: 2 });
    expect(r).toMatchObject({ stop: 97, target: 106, distance: 3, distanceTicks: 60, clamped: "none" });
  });

  it("short mirrors it: stop 103, target 94", async () => {
    const r = await dispatcher.stopLoss({ symbol: "SL", side: "short", entry: 100, atr: 2, rewardRatio: 2 });
    expect(r).toMatchObject({ stop: 103, target: 94, distanceTicks: 60 });
  });

  it("rounds the stop away from the entry and the target toward it", async () => {
    // d = 1.5 * 0.37 = 0.555 -> 11.1 ticks -> 12 ticks (0.60); target 1.5R = 18 ticks (0.90)
    const long = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 250, atr: 0.37, rewardRatio: 1.55 });
    // 1.55 * 12 = 18.6 ticks -> 18 toward the entry
    expect(long).toMatchObject({ stop: 249.4, distanceTicks: 12, target: 250.9 });
    const short = await dispatcher.stopLoss({ symbol: "SL", side: "short", entry: 250, atr: 0.37, rewardRatio: 1.55 });
    expect(short).toMatchObject({ stop: 250.6, distanceTicks: 12, target: 249.1 });
  });

  it("counts 1.5 * 0.1 as exactly 3 ticks of 0.05 (the grid snap)", async () => {
    const r = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 100, atr: 0.1 });
    expect(r).toMatchObject({ stop: 99.85, distanceTicks: 3 });
  });

  it("reads an entry a double's rounding away from the grid as the SDK does, in the reference too (245.3 * 3 is 735.9)", async () => {
    const input = { side: "long" as const, entry: 245.3 * 3, atr: 0.5, rewardRatio: 2 }; // 735.9000000000001
    const reference = stopLossReference(input);
    expect(await dispatcher.stopLoss({ symbol: "SL", ...input })).toMatchObject({
      stop: reference.stop.toNumber(),
      target: reference.target!.toNumber(),
      distanceTicks: reference.distanceTicks,
    });
    expect(reference.stop.toNumber()).toBe(735.15);
  });

  it("takes the tick size as an input (0.01 for cash stocks under Rs 250)", async () => {
    const r = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 123.45, atr: 0.333, tick: 0.01 });
    // d = 0.4995 -> 49.95 ticks -> 50 ticks
    expect(r).toMatchObject({ stop: 122.95, distanceTicks: 50 });
  });

  it("clamps to the minimum and maximum distance", async () => {
    const min = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 1000, atr: 1, minFraction: 0.01 });
    expect(min).toMatchObject({ stop: 990, clamped: "min" });
    const max = await dispatcher.stopLoss({ symbol: "SL", side: "short", entry: 1000, atr: 100, maxFraction: 0.02 });
    expect(max).toMatchObject({ stop: 1020, clamped: "max" });
  });

  // a cap of Rs 1.01 is 20.2 ticks: 20 keep the stop within it, 21 (rounding away) passed it
  it("rounds a capped distance toward the entry: the stop never lies beyond the max fraction", async () => {
    for (const side of ["long", "short"] as const) {
      const input = { side, entry: 100, atr: 10, maxFraction: 0.0101 };
      const capped = await dispatcher.stopLoss({ symbol: "SLCAP", ...input });
      expect(capped).toMatchObject({ stop: side === "long" ? 99 : 101, distance: 1, distanceTicks: 20, clamped: "max" });
      expect(stopLossReference(input)).toMatchObject({ distanceTicks: 20, clamped: "max" });
    }
    // a distance just under the cap (20.1 ticks of a 20.2 cap) is held to it too; and one that
    // equals the cap in decimal (10.1 ticks of 0.01), where doubles and exact values part, alike in both
    const cases = [
      { input: { side: "long" as const, entry: 100, atr: 0.67, maxFraction: 0.0101 }, ticks: 20 },
      { input: { side: "long" as const, entry: 10, atr: 0.101, multiplier: 1, tick: 0.01, maxFraction: 0.0101 }, ticks: 10 },
    ];
    for (const { input, ticks } of cases) {
      expect(await dispatcher.stopLoss({ symbol: "SLCAP", ...input })).toMatchObject({ distanceTicks: ticks, clamped: "max" });
      expect(stopLossReference(input)).toMatchObject({ distanceTicks: ticks, clamped: "max" });
    }
    // a cap of Rs 0.01 leaves no tick of 0.05: refused, where it gave a stop five times the cap away
    const error = await dispatcher.stopLoss({ symbol: "SLCAP", side: "long", entry: 100, atr: 10, maxFraction: 0.0001 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("max_fraction"); // the script's name: the check needs the entry and the tick together
    // refused whatever the ATR (an ATR of 0 is one tick, past a cap under one), and with no whole tick between the fractions
    for (const input of [
      { side: "long" as const, entry: 100, atr: 0, maxFraction: 0.0001 },
      { side: "long" as const, entry: 100, atr: 0.01, minFraction: 0.0101, maxFraction: 0.0102 },
    ]) {
      expect(await dispatcher.stopLoss({ symbol: "SLCAP", ...input }).catch((e: unknown) => (e as InvalidInputError).field)).toBe("max_fraction");
      expect(() => stopLossReference(input)).toThrow(/maxFraction/);
    }
  });

  it("keeps the stop at least a tick away: an ATR whose distance snaps to no tick; a max fraction that allows none is refused", async () => {
    // 1.5 * 1e-12 / 0.05 = 3e-11 ticks, within the grid's snap of 0: the stop sat at the entry
    for (const side of ["long", "short"] as const) {
      const tiny = await dispatcher.stopLoss({ symbol: "SL", side, entry: 24350.05, atr: 1e-12, rewardRatio: 2 });
      expect(tiny).toMatchObject({ stop: side === "long" ? 24350 : 24350.1, distanceTicks: 1, distance: 0.05, target: side === "long" ? 24350.15 : 24349.95 });
      expect(stopLossReference({ side, entry: 24350.05, atr: 1e-12, rewardRatio: 2 }).distanceTicks).toBe(1);
      // a flat series (an option parked at one tick) has an ATR of 0: one tick too
      const flat = await dispatcher.stopLoss({ symbol: "SL", side, entry: 0.1, atr: 0 });
      expect(flat).toMatchObject({ stop: side === "long" ? 0.05 : 0.15, distanceTicks: 1, clamped: "none" });
    }
    const error = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 24350.05, atr: 45, maxFraction: 1e-300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).message).toContain("leaves less than one tick between the stop and the entry");
    expect(() => stopLossReference({ side: "long", entry: 24350.05, atr: 45, maxFraction: 1e-300 })).toThrow(/maxFraction.*less than one tick/);
  });

  it("refuses a long stop at or below zero", async () => {
    const error = await dispatcher.stopLoss({ symbol: "SL", side: "long", entry: 1, atr: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("stop");
  });
});

describe("stopLoss against the decimal.js reference", () => {
  it("stop, target and ticks are exactly equal, outside the documented tie band", async () => {
    let ties = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          side: fc.constantFrom("long" as const, "short" as const),
          tickUnits: fc.constantFrom(100, 500, 1000, 5000), // 0.01, 0.05, 0.10, 0.50
          entryTicks: fc.integer({ min: 2_000, max: 2_000_000 }),
          atr: fc.oneof(fc.double({ min: 0.01, max: 500, noNaN: true }), fc.integer({ min: 1, max: 2000 }).map((t) => t * 0.05)),
          multiplier: fc.oneof(fc.constantFrom(1, 1.5, 2, 2.5, 3), fc.double({ min: 0.1, max: 5, noNaN: true })),
          minFraction: fc.option(fc.double({ min: 0.0001, max: 0.01, noNaN: true }), { nil: undefined }),
          maxFraction: fc.option(fc.double({ min: 0.01, max: 0.2, noNaN: true }), { nil: undefined }),
          rewardRatio: fc.option(fc.oneof(fc.constantFrom(1, 1.5, 2, 3), fc.double({ min: 0.5, max: 5, noNaN: true })), { nil: undefined }),
        }),
        async (p) => {
          const tick = p.tickUnits / 10_000;
          const entry = (p.entryTicks * p.tickUnits) / 10_000;
          const input = { symbol: "PROPSL", side: p.side, entry, atr: p.atr, multiplier: p.multiplier, tick, minFraction: p.minFraction, maxFraction: p.maxFraction, rewardRatio: p.rewardRatio };
          let reference;
          try {
            reference = stopLossReference(input);
          } catch {
            return; // the reference refuses (stop or target <= 0); covered by the known-answer test
          }
          const lua = await dispatcher.stopLoss(input);
          if (expectGridEqual(lua.distanceTicks, reference.distanceTicks, exactDistances(reference), "distanceTicks")) {
            ties++;
            return;
          }
          expect(lua.stop).toBe(reference.stop.toNumber());
          expect(new Dec(lua.stop).div(tick).isInteger()).toBe(true);
          expect(lua.distance).toBe(reference.distance.toNumber());
          if (reference.target) {
            const targetTicks = new Dec(lua.target!).minus(entry).div(tick).abs().toNumber();
            const refTicks = reference.target.minus(entry).div(tick).abs().toNumber();
            if (expectGridEqual(targetTicks, refTicks, reference.exact.targetTicks!, "target")) ties++;
            else expect(lua.target).toBe(reference.target.toNumber());
          }
          expect(lua.clamped).toBe(reference.clamped);
        },
      ),
      { numRuns: 400 },
    );
    expect(ties).toBeLessThan(5); // a tie needs an exact value within 2e-9 ticks of the grid: rare
  });
});

describe("stopLoss at its bounds", () => {
  // k * ATR at the max or min fraction's distance in decimal (a cap of 0.0101 at entry 10 and an
  // ATR of 0.101): the doubles land a hair above or below the exact value, and deciding a bound on
  // that comparison gave Lua and the reference different stops (the cap) or labels (the min);
  // decided on whole ticks, they agree
  it("Lua and the reference give the same ticks and bound for distances at a bound in decimal", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          tickUnits: fc.constantFrom(100, 500, 1000),
          entryTicks: fc.integer({ min: 100, max: 200_000 }),
          capBasisPoints: fc.integer({ min: 10, max: 300 }),
          multiplier: fc.constantFrom(1, 1.5, 2),
          minBasisPoints: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
          atBound: fc.constantFrom("max" as const, "min" as const),
        }),
        async (p) => {
          const tick = p.tickUnits / 10_000;
          const entry = Number(((p.entryTicks * p.tickUnits) / 10_000).toFixed(4));
          const maxFraction = p.capBasisPoints / 10_000;
          const minFraction = p.minBasisPoints !== undefined && p.minBasisPoints <= p.capBasisPoints ? p.minBasisPoints / 10_000 : undefined;
          const atr = Number((((p.atBound === "min" && minFraction !== undefined ? minFraction : maxFraction) * entry) / p.multiplier).toFixed(6));
          if (atr <= 0) return;
          const input = { side: "long" as const, entry, atr, multiplier: p.multiplier, tick, maxFraction, minFraction };
          let reference;
          try {
            reference = stopLossReference(input);
          } catch {
            expect(await dispatcher.stopLoss({ symbol: "CAPTIE", ...input }).catch((e: unknown) => e)).toBeInstanceOf(InvalidInputError);
            return;
          }
          const lua = await dispatcher.stopLoss({ symbol: "CAPTIE", ...input });
          if (!expectGridEqual(lua.distanceTicks, reference.distanceTicks, exactDistances(reference), "distanceTicks")) {
            expect(lua.clamped).toBe(reference.clamped);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("stopLoss input validation (before any Redis call)", () => {
  const good = { symbol: "NIFTY", side: "long", entry: 100, atr: 2 };
  const cases: [string, object, string][] = [
    ["a side other than long or short", { side: "buy" }, "side"],
    ["NaN ATR", { atr: Number.NaN }, "atr"],
    ["negative ATR", { atr: -0.05 }, "atr"],
    ["infinite entry", { entry: Number.POSITIVE_INFINITY }, "entry"],
    ["entry off the tick grid", { entry: 100.02 }, "entry"],
    ["negative tick", { tick: -0.05 }, "tick"],
    ["multiplier 0", { multiplier: 0 }, "multiplier"],
    ["minFraction above maxFraction", { minFraction: 0.1, maxFraction: 0.05 }, "minFraction"],
    ["maxFraction 1", { maxFraction: 1 }, "maxFraction"],
    ["negative reward ratio", { rewardRatio: -1 }, "rewardRatio"],
  ];
  it.each(cases)("rejects %s naming %s", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.stopLoss({ ...good, ...patch } as never), field);
  });
});
