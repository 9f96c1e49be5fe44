import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { Dec } from "../../src/indicators/decimal.js";
import { vwapOfBars, vwapOfTicks, type VwapReference } from "../../src/indicators/vwap.js";
import { vwapFunction } from "../../src/dispatcher/vwap.js";
import { runChunked } from "../../src/dispatcher/chunked.js";
import { parseInput } from "../../src/dispatcher/inputs.js";
import { MAX_PRICE, MAX_VOLUME } from "../../src/dispatcher/limits.js";
import { barSeries, tickPrice, tickSeries } from "../support/arbitraries.js";
import { expectClose, vwapAllowance, vwapOrigin, westAllowance, type WeightedPrice } from "../support/compare.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";

const dispatcher = sharedDispatcher();
beforeAll(() => dispatcher.load());
afterAll(() => dispatcher.close());

/** `points`: the series' prices (a bar's typical price) and volumes, from which the bounds on rounding count. */
function expectMatchesReference(result: Awaited<ReturnType<MathDispatcher["vwap"]>>, reference: VwapReference, bands: number[], points: readonly WeightedPrice[]) {
  const vwapError = vwapAllowance(points);
  const sigmaError = westAllowance(result.points, result.vwap, vwapOrigin(points));
  expectClose(result.vwap, reference.vwap, "vwap", undefined, vwapError);
  expectClose(result.sigma, reference.sigma, "sigma", undefined, sigmaError);
  expect(result.volume).toBe(reference.volume.toNumber());
  reference.bands(bands).forEach((band, i) => {
    // a band is vwap -/+ k sigma: its error is the vwap's plus k times sigma's
    const k = bands[i]!;
    const allowed = reference.vwap.abs().plus(reference.sigma.times(k)).times(2e-12).toNumber() + vwapError + k * sigmaError;
    expectClose(result.bands[i]!.lower, band.lower, `band ${k} lower`, 0, allowed);
    expectClose(result.bands[i]!.upper, band.upper, `band ${k} upper`, 0, allowed);
  });
}

describe("vwap", () => {
  it("matches the hand-derived known answer over ticks", async () => {
    // VWAP = (100*10 + 101*30 + 103*60) / 100 = 102.1
    // variance = (10*(100-102.1)^2 + 30*(101-102.1)^2 + 60*(103-102.1)^2) / 100
    //          = (44.1 + 36.3 + 48.6) / 100 = 1.29
    const result = await dispatcher.vwap({
      symbol: "KNOWNVWAP",
      ticks: [
        { price: 100, volume: 10 },
        { price: 101, volume: 30 },
        { price: 103, volume: 60 },
      ],
      bands: [1, 2],
    });
    expectClose(result.vwap, new Dec("102.1"), "vwap", 1e-15);
    expectClose(result.sigma, new Dec("1.29").sqrt(), "sigma", 1e-15);
    expect(result.volume).toBe(100);
    expect(result.points).toBe(3);
    expect(result.bands.map((b) => b.k)).toEqual([1, 2]);
    expectClose(result.bands[1]!.upper, new Dec("102.1").plus(new Dec("1.29").sqrt().times(2)), "upper 2", 1e-15);
  });

  it("uses the typical price of bars", async () => {
    // typical prices 10 and 13 (from 11+9+10 and 14+12+13), volumes 1 and 3: VWAP 12.25
    const result = await dispatcher.vwap({
      symbol: "KNOWNVWAPBARS",
      bars: [
        { high: 11, low: 9, close: 10, volume: 1 },
        { high: 14, low: 12, close: 13, volume: 3 },
      ],
    });
    expectClose(result.vwap, new Dec("12.25"), "vwap", 1e-15);
    // variance = (1*2.25^2 + 3*0.75^2) / 4 = 1.6875
    expectClose(result.sigma, new Dec("1.6875").sqrt(), "sigma", 1e-15);
    expect(result.bands.map((b) => b.k)).toEqual([1, 2]);
  });

  it("equals the decimal.js reference within 1e-12 relative over random ticks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(50, 5_000).chain((max) => tickSeries(1, max)), async (ticks) => {
        const result = await dispatcher.vwap({ symbol: "PROPVWAP", ticks, bands: [1, 2.5] }); // chunked past MAX_POINTS_PER_CALL
        expectMatchesReference(result, vwapOfTicks(ticks), [1, 2.5], ticks);
      }),
      { numRuns: 120 },
    );
  });

  it("equals the decimal.js reference within 1e-12 relative over random bars", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(50, 5_000).chain((max) => barSeries(1, max)).filter((bars) => bars.some((b) => b.volume > 0)),
        async (bars) => {
          const result = await dispatcher.vwap({ symbol: "PROPVWAPBARS", bars, bands: [1] }); // chunked past MAX_POINTS_PER_CALL
          expectMatchesReference(result, vwapOfBars(bars), [1], bars.map((b) => ({ price: (b.high + b.low + b.close) / 3, volume: b.volume })));
        },
      ),
      { numRuns: 120 },
    );
  });

  it("stays within its bound when the points lie far apart, a first tick without volume among them", async () => {
    // any accepted price (1e-4 to 1e8, about evenly on a log scale) and volume; the reviewer's
    // cases first: a first tick without volume far above trades that come after it
    const price = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 9_999 })).map(([e, m]) => Math.min(Math.max(Math.round(m * 10 ** (e - 4)), 1), MAX_PRICE * 10_000) / 10_000);
    const tick = fc.record({ price, volume: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: MAX_VOLUME })) });
    const ticks = fc.array(tick, { minLength: 1, maxLength: 40 }).filter((t) => t.some((p) => p.volume > 0));
    await fc.assert(
      fc.asyncProperty(ticks, async (series) => {
        const result = await dispatcher.vwap({ symbol: "FARVWAP", ticks: series }, { store: false });
        expectMatchesReference(result, vwapOfTicks(series), [1], series);
      }),
      {
        numRuns: 200,
        examples: [
          [[{ price: 100_000, volume: 0 }, { price: 1.05, volume: 1_000_000 }, { price: 1.1, volume: 999_999 }]],
          [[{ price: 92_166_586.7887, volume: 0 }, { price: 0.0001, volume: 9_627_074_522 }, { price: 100_000_000, volume: 27 }]],
        ],
      },
    );
  });

  it("in chunks of any size carrying the state, equals one call bit for bit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          tickSeries(1, 300).map((ticks) => ({ ticks })),
          barSeries(1, 300).filter((bars) => bars.some((b) => b.volume > 0)).map((bars) => ({ bars })),
        ),
        fc.integer({ min: 1, max: 80 }),
        async (points, pointsPerCall) => {
          const input = { symbol: "CHUNKVWAP", bands: [1, 2.5], ...points };
          const { cache: _c, ...whole } = await dispatcher.vwap(input);
          const { cache: _d, ...chunked } = await runChunked(dispatcher.runner, vwapFunction, parseInput(vwapFunction.schema, input), { pointsPerCall });
          expect(chunked).toEqual(whole);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps full precision over 100,000 ticks near 50,000 with volumes up to 1e6", async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ticks = Array.from({ length: 100_000 }, () => ({
      price: tickPrice(1_000_000 + Math.floor(random() * 200) - 100),
      volume: Math.floor(random() * 1_000_000),
    }));
    const result = await dispatcher.vwap({ symbol: "LONGSESSION", ticks });
    expect(result.points).toBe(100_000);
    const reference = vwapOfTicks(ticks);
    expectClose(result.vwap, reference.vwap, "vwap");
    expectClose(result.sigma, reference.sigma, "sigma");
  });
});

describe("vwap input validation (before any Redis call)", () => {
  const ticks = [
    { price: 100, volume: 10 },
    { price: 101, volume: 30 },
  ];
  const cases: [string, object, string][] = [
    ["NaN price", { ticks: [{ price: Number.NaN, volume: 1 }] }, "ticks[0].price"],
    ["Infinity volume", { ticks: [{ price: 1, volume: Number.POSITIVE_INFINITY }] }, "ticks[0].volume"],
    ["negative volume", { ticks: [{ price: 1, volume: -5 }] }, "ticks[0].volume"],
    ["fractional volume", { ticks: [{ price: 1, volume: 1.5 }] }, "ticks[0].volume"],
    ["zero total volume", { ticks: [{ price: 1, volume: 0 }] }, "ticks"],
    ["no points", { ticks: [] }, "ticks"],
    ["both ticks and bars", { bars: [{ high: 1, low: 1, close: 1, volume: 1 }] }, "ticks"],
    ["high below low in a bar", { ticks: undefined, bars: [{ high: 1, low: 2, close: 1.5, volume: 1 }] }, "bars[0].high"],
    ["band multiplier 0", { bands: [0] }, "bands[0]"],
    ["band multiplier NaN", { bands: [Number.NaN] }, "bands[0]"],
    ["six band multipliers", { bands: [1, 2, 3, 4, 5, 6] }, "bands"],
    ["bad symbol", { symbol: "BANK NIFTY" }, "symbol"],
  ];
  it.each(cases)("rejects %s naming %s", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.vwap({ symbol: "NIFTY", ticks, ...patch } as never), field);
  });
});
