import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { Signal } from "../../src/dispatcher/dispatch.js";
import type { BatchCall } from "../../src/dispatcher/MathDispatcher.js";
import { InvalidInputError, StoredDataError } from "../../src/core/errors.js";
import { MAX_DISPATCH_BARS } from "../../src/dispatcher/limits.js";
import { newsLatestKey, volumeBaselineKey } from "../../src/keys/marketData.js";
import { barSeries } from "../support/arbitraries.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";
import { sharedRedisUrl } from "../support/redis.js";

const dispatcher = sharedDispatcher();
const url = sharedRedisUrl();
const newsDb = new Redis(url, { db: 11 });
const volumeDb = new Redis(url, { db: 5 });
afterAll(async () => {
  await dispatcher.close();
  newsDb.disconnect();
  volumeDb.disconnect();
});

const TIME = Date.UTC(2026, 10, 25, 4, 5); // 09:35 IST
const account = { capital: 2_000_000, risk: 0.01, lotSize: 35 };

/** The same decision computed by calling the four functions (and ATR) one by one. */
async function oneByOne(signal: Signal & { news: NonNullable<Signal["news"]> }) {
  const atr = signal.atr ?? (await dispatcher.atr({ symbol: signal.symbol, ...signal.atrBars! })).atr;
  const stop = await dispatcher.stopLoss({ symbol: signal.symbol, side: signal.side, entry: signal.entry, atr, ...signal.stop });
  const news = await dispatcher.newsBoost({ symbol: signal.symbol, side: signal.side, items: signal.news, now: signal.time!, ...signal.newsSettings });
  const confidence = await dispatcher.confidence({
    symbol: signal.symbol,
    base: signal.baseConfidence,
    volumeRatio: signal.volumeRatio,
    boost: news.boost,
    maxBoost: signal.newsSettings?.maxBoost,
    ...signal.confidenceSettings,
  });
  const size = await dispatcher.positionSize({ symbol: signal.symbol, entry: signal.entry, stop: stop.stop, confidence: confidence.confidence, ...signal.account });
  const strip = <T extends object>({ cache: _c, scriptVersion: _v, ...rest }: T & { cache: unknown; scriptVersion: unknown }) => rest;
  return { atr, stop: strip(stop), news: strip(news), confidence: strip(confidence), size: strip(size) };
}

describe("dispatch", () => {
  it("gives in one call exactly what the functions give one by one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          side: fc.constantFrom("long" as const, "short" as const),
          entryTicks: fc.integer({ min: 20_000, max: 1_200_000 }),
          atr: fc.option(fc.double({ min: 0.5, max: 300, noNaN: true }), { nil: undefined }),
          bars: barSeries(15, 60),
          baseConfidence: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
          volumeRatio: fc.option(fc.double({ min: 0.05, max: 20, noNaN: true }), { nil: undefined }),
          news: fc.array(
            fc.record({ sentiment: fc.double({ min: -1, max: 1, noNaN: true }), relevance: fc.double({ min: 0, max: 1, noNaN: true }), age: fc.integer({ min: 0, max: 20 * 3_600_000 }) }),
            { maxLength: 8 },
          ),
          multiplier: fc.constantFrom(1, 1.5, 2),
          rewardRatio: fc.option(fc.constantFrom(1.5, 2, 3), { nil: undefined }),
          maxBoost: fc.constantFrom(0.1, 0.15, 0.3),
          confidenceFloor: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        async (p) => {
          const signal = {
            symbol: "CHAIN",
            side: p.side,
            entry: (p.entryTicks * 500) / 10_000,
            time: TIME,
            baseConfidence: p.baseConfidence,
            ...(p.atr === undefined ? { atrBars: { period: 14, bars: p.bars } } : { atr: p.atr }),
            volumeRatio: p.volumeRatio,
            news: p.news.map((n) => ({ sentiment: n.sentiment, relevance: n.relevance, publishedAt: TIME - n.age })),
            stop: { multiplier: p.multiplier, rewardRatio: p.rewardRatio },
            newsSettings: { maxBoost: p.maxBoost },
            account: { ...account, confidenceFloor: p.confidenceFloor },
          };
          const chained = await dispatcher.dispatch(signal).catch((e: unknown) => e);
          const separate = await oneByOne(signal).catch((e: unknown) => e);
          if (separate instanceof Error) {
            // e.g. flat bars give ATR 0: the chain must refuse it the same way
            expect(chained).toBeInstanceOf(InvalidInputError);
            expect((chained as InvalidInputError).field).toBe((separate as InvalidInputError).field);
            return;
          }
          const { cache: _c, scriptVersion: _v, sources: _s, ...decision } = chained as Awaited<ReturnType<typeof dispatcher.dispatch>>;
          expect(decision).toEqual(separate);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reads news from DB 11 and the volume baseline of the IST minute from DB 5", async () => {
    await newsDb.set(newsLatestKey("READS"), JSON.stringify([{ sentiment: 0.9, relevance: 1, published_at: TIME - 60_000 }]), "EX", 57_600);
    await volumeDb.hset(volumeBaselineKey("READS", 9, 35), "average", "40000");
    const decision = await dispatcher.dispatch({ symbol: "READS", side: "long", entry: 24_350.05, time: TIME, baseConfidence: 0.6, atr: 45, currentVolume: 80_000, account });
    expect(decision.sources).toEqual({ news: "redis", volumeRatio: "redis", volumeRatioUsed: 2 });
    expect(decision.news.count).toBe(1);
    expect(decision.news.boost).toBeGreaterThan(0);
    expect(decision.confidence.volumeTerm).toBeCloseTo(0.5 * Math.log(2), 15);
    expect(decision.stop).toMatchObject({ stop: 24_282.55, distanceTicks: 1350 }); // 1.5 * 45 = 67.5
    expect(decision.size.lots).toBeGreaterThan(0);
  });

  it("answers an identical second dispatch from the DB 10 cache", async () => {
    const signal: Signal = { symbol: "DCACHE", side: "short", entry: 512.4, time: TIME, baseConfidence: 0.7, atr: 3.2, news: [], account };
    const first = await dispatcher.dispatch(signal);
    const second = await dispatcher.dispatch(signal);
    expect([first.cache, second.cache]).toEqual(["miss", "hit"]);
    expect(second.size).toEqual(first.size);
  });

  it("evaluates many signals in one pipeline, each failing on its own", async () => {
    await newsDb.set(newsLatestKey("BADNEWS"), "not json");
    const base: Signal = { symbol: "BATCH", side: "long", entry: 100, time: TIME, baseConfidence: 0.6, atr: 2, news: [], account: { ...account, lotSize: 1 } };
    const outcomes = await dispatcher.dispatchMany([
      base,
      { ...base, side: "sideways" as never },
      { ...base, symbol: "BADNEWS", news: undefined },
      { ...base, entry: 101 },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, true]);
    expect(!outcomes[1]!.ok && outcomes[1]!.error).toBeInstanceOf(InvalidInputError);
    expect(!outcomes[2]!.ok && outcomes[2]!.error).toBeInstanceOf(StoredDataError);
    expect(outcomes[3]!.ok && outcomes[3]!.value.stop.stop).toBe(98);
  });

  it("answers every index of a sparse calls or signals array: a hole gets an InvalidInputError naming it, in place", async () => {
    const base: Signal = { symbol: "SPARSE", side: "long", entry: 100, time: TIME, baseConfidence: 0.6, atr: 2, news: [], account: { ...account, lotSize: 1 } };
    const signals: Signal[] = [];
    signals[1] = base; // signals[0] and signals[2] are holes
    signals.length = 3;
    const decisions = await dispatcher.dispatchMany(signals);
    expect(decisions).toHaveLength(3);
    expect(decisions.map((o) => o.ok)).toEqual([false, true, false]);
    for (const i of [0, 2]) {
      expect(decisions[i]).toMatchObject({ ok: false, error: { field: `signals[${i}]` } });
      expect(!decisions[i]!.ok && decisions[i]!.error).toBeInstanceOf(InvalidInputError);
    }
    const calls: BatchCall[] = [];
    calls[2] = { fn: "stopLoss", input: { symbol: "SPARSE", side: "long", entry: 100, atr: 2 } }; // calls[0], calls[1] are holes
    const outcomes = await dispatcher.batch(calls);
    expect(Object.keys(outcomes)).toEqual(["0", "1", "2"]);
    expect(outcomes.map((o) => (o.ok ? "ok" : o.error instanceof InvalidInputError && o.error.field))).toEqual(["calls[0]", "calls[1]", "ok"]);
  });

  it("says why stored news is refused: a published_at in seconds is named, with the range", async () => {
    await newsDb.set(newsLatestKey("SECNEWS"), JSON.stringify([{ sentiment: 0.5, relevance: 1, published_at: Math.floor(TIME / 1000) }]));
    const signal: Signal = { symbol: "SECNEWS", side: "long", entry: 100, time: TIME, baseConfidence: 0.6, atr: 2, account: { ...account, lotSize: 1 } };
    const error = await dispatcher.dispatch(signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoredDataError);
    expect((error as Error).message).toMatch(/item 0 is not .*: published_at must be whole epoch milliseconds in 10000000000\.\.10000000000000, got \d+ \(a time in seconds\?\)$/);
  });

  const validation: [string, object, string][] = [
    ["a side other than long or short", { side: "buy" }, "side"],
    ["both atr and atrBars", { atrBars: { period: 2, bars: [] } }, "atrBars.bars"],
    ["neither atr nor atrBars", { atr: undefined }, "atr"],
    ["entry off the grid", { entry: 100.01 }, "entry"],
    ["non-finite time", { time: Number.NaN }, "time"],
    ["base confidence 1", { baseConfidence: 1 }, "baseConfidence"],
    ["a news item from the future", { news: [{ sentiment: 0, relevance: 1, publishedAt: TIME + 60_000 }] }, "news[0].publishedAt"],
    ["a lot size of 0", { account: { ...account, lotSize: 0 } }, "account.lotSize"],
    ["negative risk", { account: { ...account, risk: -0.01 } }, "account.risk"],
    ["a risk of 1 (1 % is 0.01)", { account: { ...account, risk: 1 } }, "account.risk"],
  ];
  it.each(validation)("rejects %s naming %s before Redis", async (_, patch, field) => {
    const signal = { symbol: "NIFTY", side: "long", entry: 100, time: TIME, baseConfidence: 0.6, atr: 2, news: [], account, ...patch };
    await expectRejectedBeforeRedis((offline) => offline.dispatch(signal as never), field);
  });
});

describe("series longer than one call carries", () => {
  const walk = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const price = (ticks: number) => (2_400_000 + ticks * 5) / 100; // on the 0.05 grid, exact to 4 decimals
      const low = ((i * 37) % 400);
      return { high: price(low + 40 + (i % 7) * 7), low: price(low), close: price(low + 20 + (i % 3) * 2), volume: 100 + (i % 13) };
    });

  it.each([MAX_DISPATCH_BARS + 1, 3000])("dispatch over %i ATR bars computes the ATR with atr first (in chunks past one call): the decision of the ATR given", async (count) => {
    const bars = walk(count);
    const base = { symbol: `LONGDISPATCH${count}`, side: "long" as const, entry: 24100, time: TIME, baseConfidence: 0.6, volumeRatio: 1.2, news: [], account };
    const { atr } = await dispatcher.atr({ symbol: base.symbol, period: 14, bars });
    const fromBars = await dispatcher.dispatch({ ...base, atrBars: { period: 14, bars } });
    const given = await dispatcher.dispatch({ ...base, atr });
    const strip = ({ cache: _c, sources: _s, ...rest }: typeof given) => rest;
    expect(strip(fromBars)).toEqual(strip(given));
  });

  // an option parked at one tick all day: its ATR is 0, computed inside dispatch up to
  // MAX_DISPATCH_BARS bars and by atr first beyond, which then sends it as `atr`
  it.each([MAX_DISPATCH_BARS, MAX_DISPATCH_BARS + 1])("dispatch over %i flat bars (ATR 0) puts the stop one tick away", async (count) => {
    const bars = Array.from({ length: count }, () => ({ high: 0.05, low: 0.05, close: 0.05 }));
    const decision = await dispatcher.dispatch({ symbol: `FLAT${count}`, side: "long", entry: 0.1, time: TIME, baseConfidence: 0.6, news: [], account, atrBars: { period: 14, bars } });
    expect(decision.atr).toBe(0);
    expect(decision.stop).toMatchObject({ stop: 0.05, distanceTicks: 1 });
    expect(decision.size.lots).toBeGreaterThan(0);
  });

  it("batch runs a long series in chunks next to its pipeline, in the callers' order", async () => {
    const bars = walk(2500);
    const outcomes = await dispatcher.batch([
      { fn: "stopLoss", input: { symbol: "LONGBATCH", side: "long", entry: 100, atr: 2 } },
      { fn: "vwap", input: { symbol: "LONGBATCH", bars } },
      { fn: "atr", input: { symbol: "LONGBATCH", period: 0, bars } },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]);
    const { cache: _c, ...whole } = await dispatcher.vwap({ symbol: "LONGBATCH", bars });
    expect(outcomes[1]).toMatchObject({ ok: true, value: whole });
  });
});
