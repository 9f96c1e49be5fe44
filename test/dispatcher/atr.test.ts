import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { Dec } from "../../src/indicators/decimal.js";
import { atrReference } from "../../src/indicators/atr.js";
import { atrFunction } from "../../src/dispatcher/atr.js";
import { runChunked } from "../../src/dispatcher/chunked.js";
import { parseInput } from "../../src/dispatcher/inputs.js";
import { inputsDigest } from "../../src/dispatcher/inputsDigest.js";
import { MAX_POINTS_PER_CALL } from "../../src/dispatcher/limits.js";
import { packDoubles } from "../../src/core/units.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { barSeries } from "../support/arbitraries.js";
import { expectClose } from "../support/compare.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";
import { sharedRedisUrl } from "../support/redis.js";

const dispatcher = sharedDispatcher();
const redis = new Redis(sharedRedisUrl(), { db: 10 });
beforeAll(() => dispatcher.load());
afterAll(async () => {
  redis.disconnect();
  await dispatcher.close();
});

// Hand-derived, period 3:
//  bar1 TR = max(10.5 - 9.6, |10.5 - 9.5|, |9.6 - 9.5|) = 1.0 (a gap up: the close-to-high term wins)
//  bar2 TR = max(0.6, 0.2, 0.4) = 0.6; bar3 TR = max(0.9, 1.0, 0.1) = 1.0
//  ATR3 = (1.0 + 0.6 + 1.0) / 3 = 13/15
//  bar4 TR = max(1.2, 0.3, 0.9) = 1.2 -> ATR4 = (13/15 * 2 + 1.2) / 3 = 44/45
//  bar5 TR = max(0.2, 0.3, 0.1) = 0.3 -> ATR5 = (44/45 * 2 + 0.3) / 3 = 203/270; NATR = ATR5 / 10.7 * 100
const KNOWN_BARS = [
  { high: 10, low: 9, close: 9.5 },
  { high: 10.5, low: 9.6, close: 10.2 },
  { high: 10.4, low: 9.8, close: 10 },
  { high: 11, low: 10.1, close: 10.9 },
  { high: 11.2, low: 10, close: 10.5 },
  { high: 10.8, low: 10.6, close: 10.7 },
];

describe("atr", () => {
  it("matches the hand-derived known answer", async () => {
    const result = await dispatcher.atr({ symbol: "KNOWNATR", period: 3, bars: KNOWN_BARS, series: true });
    const atr5 = new Dec(203).div(270);
    expectClose(result.atr, atr5, "atr", 1e-15);
    expectClose(result.natr, atr5.div("10.7").times(100), "natr", 1e-15);
    expect(result.series).toHaveLength(3);
    [new Dec(13).div(15), new Dec(44).div(45), atr5].forEach((v, i) => expectClose(result.series![i]!, v, `series[${i}]`, 1e-15));
    expect(result.bars).toBe(6);
    expect(result.scriptVersion).toBe(SCRIPTS.find((s) => s.name === "atr")!.version);
  });

  it("equals the decimal.js reference within 1e-12 relative on random series", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }).chain((period) =>
          fc
            .constantFrom(80, 400, 5_000)
            .chain((maxLength) => barSeries(period + 1, maxLength))
            .map((bars) => [period, bars] as const),
        ),
        async ([period, bars]) => {
          // up to 5,000 bars: past MAX_POINTS_PER_CALL this runs in chunks
          const result = await dispatcher.atr({ symbol: "PROPATR", period, bars, series: true });
          const reference = atrReference(bars, period);
          expectClose(result.atr, reference.atr, "atr");
          expectClose(result.natr, reference.natr, "natr");
          expect(result.series).toHaveLength(reference.series.length);
          reference.series.forEach((v, i) => expectClose(result.series![i]!, v, `series[${i}]`));
        },
      ),
      { numRuns: 120 },
    );
  });

  it("in chunks of any size carrying the state, equals one call bit for bit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }).chain((period) => barSeries(period + 1, 300).map((bars) => [period, bars] as const)),
        fc.integer({ min: 1, max: 80 }),
        async ([period, bars], pointsPerCall) => {
          const input = { symbol: "CHUNKATR", period, bars, series: true };
          const { cache: _c, ...whole } = await dispatcher.atr(input);
          const { cache: _d, ...chunked } = await runChunked(dispatcher.runner, atrFunction, parseInput(atrFunction.schema, input), { pointsPerCall });
          expect(chunked).toEqual(whole);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("takes 100,000 bars in chunks of at most MAX_POINTS_PER_CALL", async () => {
    const bars = Array.from({ length: 100_000 }, (_, i) => ({ high: 100 + (i % 13) * 0.05, low: 99 - (i % 7) * 0.05, close: 99.5 }));
    const result = await dispatcher.atr({ symbol: "LONGATR", period: 14, bars });
    expect(result.bars).toBe(100_000);
    const reference = atrReference(bars, 14);
    expectClose(result.atr, reference.atr, "atr");
    expectClose(result.natr, reference.natr, "natr");
  });

  it("accepts the largest period, 500", async () => {
    const bars = Array.from({ length: 501 }, (_, i) => ({ high: 100 + (i % 7), low: 99, close: 99.5 }));
    const result = await dispatcher.atr({ symbol: "P500", period: 500, bars });
    expectClose(result.atr, atrReference(bars, 500).atr, "atr");
  });
});

describe("atr's fast path (a whole series without the series list)", () => {
  const script = SCRIPTS.find((s) => s.name === "atr")!;
  /** A raw call, its key written out for its arguments (`symbol` as the key spells it: bare, a {hash tag}, or malformed). */
  const call = async (symbol: string, args: (string | Buffer)[]) => {
    const key = `pattern_cache:atr:v${script.version}:${symbol}:${inputsDigest(args)}`;
    const reply = await redis.evalsha(script.sha1, 1, key, ...args).catch((error: unknown) => error);
    return { key, reply };
  };
  /** An entry's parts (lua/includes/cache_entry.lua): the tag, the lengths, the reply text, each argument. */
  const entryParts = (entry: Buffer) => {
    const tag = entry.subarray(0, entry.indexOf(";") + 1).toString();
    const [count, ...lengths] = Array.from({ length: 6 }, (_, i) => entry.readUInt32LE(tag.length + 4 * i));
    let at = tag.length + 24 + (lengths[4] as number);
    const args = lengths.slice(0, 4).map((length) => entry.subarray(at, (at += length)).toString("hex"));
    return { tag, count, reply: entry.subarray(tag.length + 24, tag.length + 24 + (lengths[4] as number)).toString(), args };
  };

  // The general path takes a period written with a leading zero, the same number; the fast path
  // takes canonical digits only. Everything else about the two calls is the same. That the fast
  // path runs at all is the instruction gate's to show (npm run bench:instructions: with the fast
  // path compiled out, the ATR miss's ratios fell to 1.68 and 0.65, under today's floors of 2.09 and 0.81).
  it("answers as the general path does, bit for bit, and writes the same entry, hit included", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((period) => barSeries(period + 1, MAX_POINTS_PER_CALL).map((bars) => [period, bars] as const)),
        fc.constantFrom("FASTATR", "{FASTATR}"),
        async ([period, bars], symbol) => {
          const packed = packDoubles(bars.map((b) => [b.high, b.low, b.close].map((p) => Math.round(p * 10_000))), 3);
          const fast = await call(symbol, [String(period), "0", "", packed]);
          const general = await call(symbol, [`0${period}`, "0", "", packed]);
          expect(typeof fast.reply).toBe("string");
          expect(fast.reply).toBe(general.reply);
          const [fastEntry, generalEntry] = [entryParts((await redis.getBuffer(fast.key))!), entryParts((await redis.getBuffer(general.key))!)];
          expect(fastEntry.args[0]).toBe(Buffer.from(String(period)).toString("hex"));
          expect({ ...fastEntry, args: fastEntry.args.slice(1) }).toEqual({ ...generalEntry, args: generalEntry.args.slice(1) });
          expect(await redis.ttl(fast.key)).toBeGreaterThan(57_000);
          const hit = await call(symbol, [String(period), "0", "", packed]);
          expect(hit.reply).toBe((general.reply as string).replace(/^cache\nmiss\n/, "cache\nhit\n"));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("leaves to the general path what it cannot take, which names the fault and writes nothing", async () => {
    const bars = (n: number, bad?: number) => packDoubles(Array.from({ length: n }, (_, i) => (i === bad ? [99, 100, 99] : [101, 99, 100]).map((p) => p * 10_000)), 3);
    const refusals: [string, string[], (string | Buffer)[], RegExp][] = [
      ["a bar with high below low", ["FASTBAD"], ["3", "0", "", bars(20, 9)], /^MATHD_INVALID bars\[9\]\.high: is below low/],
      ["too few bars for the period", ["FASTBAD"], ["20", "0", "", bars(20)], /^MATHD_INVALID bars: needs at least period \+ 1 = 21 bars, got 20/],
      ["a period past its bound", ["FASTBAD"], ["501", "0", "", bars(600)], /^MATHD_INVALID (period|bars): /],
      ["a 41-character symbol", ["A".repeat(41)], ["3", "0", "", bars(20)], /^MATHD_INVALID cache_key: the symbol/],
      ["an unbalanced hash tag", ["{FASTBAD"], ["3", "0", "", bars(20)], /^MATHD_INVALID cache_key: the symbol/],
    ];
    for (const [what, [symbol], args, message] of refusals) {
      const { key, reply } = await call(symbol as string, args);
      expect((reply as Error).message, what).toMatch(message);
      expect(await redis.exists(key), what).toBe(0);
    }
  });
});

describe("atr input validation (before any Redis call)", () => {
  const good = { symbol: "NIFTY", period: 2, bars: KNOWN_BARS };
  const bar = (patch: object) => [{ ...KNOWN_BARS[0], ...patch }, ...KNOWN_BARS.slice(1)];
  const cases: [string, object, string][] = [
    ["NaN price", { bars: bar({ high: Number.NaN }) }, "bars[0].high"],
    ["+Infinity price", { bars: bar({ low: Number.POSITIVE_INFINITY }) }, "bars[0].low"],
    ["-Infinity price", { bars: bar({ close: Number.NEGATIVE_INFINITY }) }, "bars[0].close"],
    ["zero price", { bars: bar({ low: 0 }) }, "bars[0].low"],
    ["negative price", { bars: bar({ low: -1 }) }, "bars[0].low"],
    ["more than 4 decimals", { bars: bar({ high: 10.00001 }) }, "bars[0].high"],
    ["high below low", { bars: bar({ high: 8.5, close: 8.6 }) }, "bars[0].high"],
    ["close outside the range", { bars: bar({ close: 12 }) }, "bars[0].close"],
    ["too few bars", { period: 6 }, "bars"],
    ["period 0", { period: 0 }, "period"],
    ["period 501", { period: 501 }, "period"],
    ["fractional period", { period: 2.5 }, "period"],
    ["more than the maximum of bars", { period: 1, bars: Array.from({ length: 100_001 }, () => KNOWN_BARS[0]) }, "bars"],
    ["lower-case symbol", { symbol: "nifty" }, "symbol"],
    ["symbol with a colon", { symbol: "NIFTY:X" }, "symbol"],
    ["symbol too long", { symbol: "A".repeat(41) }, "symbol"],
    ["empty symbol", { symbol: "" }, "symbol"],
  ];
  it.each(cases)("rejects %s naming %s", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.atr({ ...good, ...patch } as never), field);
  });
});
