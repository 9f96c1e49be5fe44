import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RSI_PERIOD } from "../../src/dispatcher/limits.js";
import { runChunked } from "../../src/dispatcher/chunked.js";
import { parseInput } from "../../src/dispatcher/inputs.js";
import { rsiFunction } from "../../src/dispatcher/rsi.js";
import { Dec } from "../../src/indicators/decimal.js";
import { rsiReference } from "../../src/indicators/rsi.js";
import { expectClose } from "../support/compare.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";

const dispatcher = sharedDispatcher();
beforeAll(() => dispatcher.load());
afterAll(() => dispatcher.close());

/** RSI is on a 0..100 scale: near 0 its error is a few ulps of 100, not of the value. */
const expectRsi = (actual: number, expected: Dec, what: string) => expectClose(actual, expected, what, 1e-12, 1e-12);

/** Closes on the 0.05 tick grid, exact to 4 decimals, as a random walk. */
const closes = (min: number, max: number) =>
  fc.array(fc.integer({ min: -40, max: 40 }), { minLength: min, maxLength: max }).map((steps) => {
    let ticks = 480_000;
    return steps.map((s) => {
      ticks = Math.max(1, ticks + s);
      return ticks / 20;
    });
  });

describe("rsi", () => {
  // Hand-derived, period 2, closes 10, 11, 10.5, 12 (TA_RSI):
  //  changes +1, -0.5, +1.5; on close 3 the averages are the means of the first two:
  //  gain (1 + 0) / 2 = 0.5, loss (0 + 0.5) / 2 = 0.25 -> RSI = 100 * 0.5 / 0.75 = 200/3
  //  close 4: gain (0.5 * 1 + 1.5) / 2 = 1, loss (0.25 * 1 + 0) / 2 = 0.125 -> RSI = 100 / 1.125 = 800/9
  it("matches the hand-derived known answer of TA-Lib's definition", async () => {
    const result = await dispatcher.rsi({ symbol: "KNOWNRSI", period: 2, closes: [10, 11, 10.5, 12], series: true });
    expectRsi(result.rsi, new Dec(800).div(9), "rsi");
    expectClose(result.avgGain, new Dec(1), "avgGain");
    expectClose(result.avgLoss, new Dec("0.125"), "avgLoss");
    expect(result.series).toHaveLength(2);
    expectRsi(result.series![0]!, new Dec(200).div(3), "series[0]");
    expect(result.closes).toBe(4);
  });

  it("is 0 on a flat series and 100 on one that only rises (TA-Lib's edge cases)", async () => {
    expect((await dispatcher.rsi({ symbol: "FLATRSI", period: 3, closes: [5, 5, 5, 5, 5] })).rsi).toBe(0);
    expect((await dispatcher.rsi({ symbol: "UPRSI", period: 3, closes: [5, 6, 7, 8, 9] })).rsi).toBe(100);
  });

  it("keeps the last ratio through a long flat run, where TA-Lib's TA_IS_ZERO window gives 0 (docs/FORMULAS.md, RSI)", async () => {
    // one 0.05 rise, then 200 flat closes: both averages shrink by 13/14 a close to about 1e-9,
    // inside TA-Lib 0.4.0's 1e-8 window (0 from the 174th flat close) but never 0
    const closes = [100, 100.05, ...Array<number>(200).fill(100.05)];
    const result = await dispatcher.rsi({ symbol: "FLATRUN", period: 14, closes });
    expect(result.avgGain).toBeGreaterThan(0);
    expect(result.avgGain).toBeLessThan(1e-8);
    expect(result.rsi).toBe(100);
  });

  it("equals the decimal.js reference within 1e-12 on random series, chunked past one call", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 40 }).chain((period) => closes(period + 1, 2_500).map((c) => [period, c] as const)),
        async ([period, c]) => {
          const result = await dispatcher.rsi({ symbol: "PROPRSI", period, closes: c });
          const reference = rsiReference(c, period);
          expectRsi(result.rsi, reference.rsi, "rsi");
          expectClose(result.avgGain, reference.avgGain, "avgGain", 1e-12, 1e-12);
          expectClose(result.avgLoss, reference.avgLoss, "avgLoss", 1e-12, 1e-12);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("in chunks of any size carrying the state, equals one call bit for bit", async () => {
    await fc.assert(
      fc.asyncProperty(closes(20, 400), fc.integer({ min: 1, max: 60 }), async (c, pointsPerCall) => {
        const input = { symbol: "CHUNKRSI", period: 14, closes: c, series: true };
        const { cache: _c, ...whole } = await dispatcher.rsi(input);
        const { cache: _d, ...chunked } = await runChunked(dispatcher.runner, rsiFunction, parseInput(rsiFunction.schema, input), { pointsPerCall });
        expect(chunked).toEqual(whole);
      }),
      { numRuns: 25 },
    );
  });

  it("runs in batch next to the other functions, cached by version", async () => {
    const input = { symbol: "BATCHRSI", period: 5, closes: [10, 10.5, 10.25, 11, 10.75, 11.5, 11.25] };
    const [outcome] = await dispatcher.batch([{ fn: "rsi", input }]);
    expect(outcome).toMatchObject({ ok: true, value: { cache: "miss" } });
    const again = await dispatcher.rsi(input);
    expect(again.cache).toBe("hit");
    expect(again.rsi).toBe((outcome as { value: { rsi: number } }).value.rsi);
  });

  it.each([
    ["period", { symbol: "X", period: 1, closes: [1, 2, 3] }],
    ["period", { symbol: "X", period: MAX_RSI_PERIOD + 1, closes: [1, 2, 3] }],
    ["closes", { symbol: "X", period: 3, closes: [1, 2, 3] }],
    ["closes[1]", { symbol: "X", period: 2, closes: [1, 0.00001, 3] }],
  ])("rejects bad %s before Redis", async (field, input) => {
    await expectRejectedBeforeRedis((math) => math.rsi(input), field);
  });
});
