import { createHash } from "node:crypto";
import v8 from "node:v8";
import vm from "node:vm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError, InvalidInputError } from "../../src/core/errors.js";
import { type BatchCall, type ConnectOptions, MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { MAX_POINTS_PER_CALL } from "../../src/dispatcher/limits.js";
import { ResultTier } from "../../src/dispatcher/resultTier.js";
import { volumeBaselineKey } from "../../src/keys/marketData.js";
import { patternCacheKey } from "../../src/keys/patternCache.js";
import { istTime } from "../../src/market/istClock.js";
import { sharedRedisUrl } from "../support/redis.js";

const bars = Array.from({ length: 30 }, (_, i) => ({ high: 250 + (i % 5) * 0.05, low: 249, close: 249.5 }));
const atrInput = (symbol: string, period = 14) => ({ symbol, period, bars });

let redis: Redis;
beforeAll(() => {
  redis = new Redis(sharedRedisUrl(), { db: 10 });
});
afterAll(() => redis.quit());

/** The EVALSHA calls Redis counted since the last RESETSTAT. */
async function evalshaCalls(): Promise<number> {
  const match = /^cmdstat_evalsha:calls=(\d+),/m.exec((await redis.info("commandstats")) as string);
  return Number(match?.[1] ?? 0);
}

/** Runs `test` with a dispatcher of these options on a connection of its own, closed after. */
async function withDispatcher(options: ConnectOptions, test: (math: MathDispatcher) => Promise<void>): Promise<void> {
  const math = MathDispatcher.connect(sharedRedisUrl(), options);
  try {
    await test(math);
  } finally {
    await math.close();
  }
}

/** The same, with an in-process tier of at most `maxEntries` results. */
const withTier = (maxEntries: number, test: (math: MathDispatcher) => Promise<void>) =>
  withDispatcher({ resultCache: { maxEntries, maxBytes: 1 << 20 } }, test);

describe("in-process result tier", () => {
  it("answers a repeated call from memory, with no round trip, equal to what Redis answered", async () => {
    await withTier(10, async (math) => {
      const first = await math.atr(atrInput("TIERREPEAT"));
      await redis.config("RESETSTAT");
      const second = await math.atr(atrInput("TIERREPEAT"));
      expect(first.cache).toBe("miss");
      expect(second).toEqual({ ...first, cache: "memory" });
      expect(await evalshaCalls()).toBe(0);
    });
  });

  it("is off by default: every call goes to Redis", async () => {
    await withDispatcher({}, async (math) => {
      await math.atr(atrInput("TIEROFF"));
      await redis.config("RESETSTAT");
      expect((await math.atr(atrInput("TIEROFF"))).cache).toBe("hit");
      expect(await evalshaCalls()).toBe(1);
    });
  });

  it("keeps each input's own result: another period, symbol or function is not answered from memory", async () => {
    await withTier(10, async (math) => {
      const p14 = await math.atr(atrInput("TIERDIFF", 14));
      const p10 = await math.atr(atrInput("TIERDIFF", 10));
      const other = await math.atr(atrInput("TIERDIFF2", 14));
      expect([p14.cache, p10.cache, other.cache]).toEqual(["miss", "miss", "miss"]);
      expect(p10.atr).not.toBe(p14.atr);
      expect((await math.atr(atrInput("TIERDIFF", 10))).atr).toBe(p10.atr);
      expect((await math.vwap({ symbol: "TIERDIFF", bars: bars.map((b) => ({ ...b, volume: 100 })) })).cache).not.toBe("memory");
    });
  });

  it("holds at most maxEntries results, the least recently used going first", async () => {
    await withTier(2, async (math) => {
      for (const symbol of ["TIERLRU1", "TIERLRU2"]) await math.atr(atrInput(symbol));
      expect((await math.atr(atrInput("TIERLRU1"))).cache).toBe("memory"); // now the most recently used
      await math.atr(atrInput("TIERLRU3")); // evicts TIERLRU2
      expect((await math.atr(atrInput("TIERLRU1"))).cache).toBe("memory");
      expect((await math.atr(atrInput("TIERLRU2"))).cache).toBe("hit"); // from DB 10 again
    });
  });

  it("holds no result larger than maxBytes, and never more bytes than that in all", () => {
    const tier = new ResultTier({ maxEntries: 100, maxBytes: 1000 });
    tier.set("big", { series: Array.from({ length: 40 }, (_, i) => i + 0.5) }); // 40 boxed numbers: 960 bytes of them alone
    expect(tier.get("big")).toBeUndefined();
    for (let i = 0; i < 20; i++) tier.set(`key${i}`, { atr: i, natr: i / 10, bars: 30 });
    expect(tier.stats.bytes).toBeLessThanOrEqual(1000);
    expect(tier.stats.entries).toBeLessThan(20);
    expect(tier.get("key19")).toEqual({ atr: 19, natr: 1.9, bars: 30 });
    expect(tier.get("key0")).toBeUndefined();
  });

  // V8 boxes each number of a frozen array, and of an object's field: 24 bytes, not 8, and a
  // tier that counted 8 held 2.8 times its maxBytes of RSI series
  it("holds at most about maxBytes of heap, filled with real results with series (ATR, RSI) and VWAP bands", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const closes = (s: number) => Array.from({ length: 250 }, (_, i) => 100 + ((i * 7 + s) % 13) / 10 + s / 1000);
    const candles = (s: number, n: number) => closes(s).slice(0, n).map((close) => ({ high: close + 0.5, low: close - 0.5, close, volume: 100 + s }));
    const calls = Array.from({ length: 20 }, (_, s): BatchCall[] => [
      { fn: "atr", input: { symbol: `TIERHEAP${s}`, period: 14, bars: candles(s, 250), series: true } },
      { fn: "rsi", input: { symbol: `TIERHEAP${s}`, period: 14, closes: closes(s), series: true } },
      { fn: "vwap", input: { symbol: `TIERHEAP${s}`, bars: candles(s, 250), bands: [1, 2, 3] } },
    ]).flat();
    let results: unknown[] = [];
    await withDispatcher({}, async (math) => {
      const outcomes = await math.batch(calls);
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      results = outcomes.map((o) => o.ok && o.value);
    });
    const maxBytes = 4 << 20;
    const tier = new ResultTier({ maxEntries: 1_000_000, maxBytes });
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3000; i++) {
      const fn = calls[i % calls.length]!.fn;
      tier.set(patternCacheKey(fn, "3.0.5", `TIERHEAP${i}`, createHash("sha1").update(String(i)).digest("hex")), results[i % results.length]);
    }
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(tier.stats.entries).toBeLessThan(3000); // filled to the bound, the oldest evicted
    expect(tier.stats.bytes).toBeGreaterThan(0.95 * maxBytes);
    expect(tier.stats.bytes).toBeLessThanOrEqual(maxBytes);
    expect(held).toBeGreaterThan(0.5 * maxBytes); // the measure sees the tier at all
    expect(held).toBeLessThanOrEqual(1.2 * maxBytes);
  });

  it("shares one frozen copy: no caller can change what later calls are answered", async () => {
    await withTier(10, async (math) => {
      const first = await math.atr({ ...atrInput("TIERFROZEN"), series: true });
      const expected = structuredClone(first);
      (first.series as number[]).push(1); // the result a miss returned stays its caller's own
      first.atr = -1;
      const held = await math.atr({ ...atrInput("TIERFROZEN"), series: true });
      expect(() => (held.series as number[]).push(1)).toThrow(TypeError);
      held.atr = -1; // the caller's own copy of the held result
      const again = await math.atr({ ...atrInput("TIERFROZEN"), series: true });
      expect(again).toEqual({ ...expected, cache: "memory" });
    });
  });

  // a signal that gives its volume ratio and one that has the same ratio read from DB 5 send the
  // same arguments: one cache key, one tier entry; each says where its own ratio came from
  it("answers dispatch's sources for each call: a ratio given, then the same ratio read from Redis", async () => {
    const time = Date.UTC(2026, 10, 25, 4, 5); // 09:35 IST
    const { hour, minute } = istTime(time);
    const volume = new Redis(sharedRedisUrl(), { db: 5 });
    try {
      await volume.hset(volumeBaselineKey("TIERSRC", hour, minute), "average", "1000");
      await withTier(10, async (math) => {
        const signal = { symbol: "TIERSRC", side: "long", entry: 100, time, baseConfidence: 0.6, atr: 2, news: [], account: { capital: 1e6, risk: 0.01, lotSize: 1 } } as const;
        const given = await math.dispatch({ ...signal, volumeRatio: 2 });
        const read = await math.dispatch({ ...signal, currentVolume: 2000 });
        expect(read.cache).toBe("memory");
        expect([given.sources, read.sources]).toEqual([
          { news: "given", volumeRatio: "given", volumeRatioUsed: 2 },
          { news: "given", volumeRatio: "redis", volumeRatioUsed: 2 },
        ]);
        expect((await math.dispatch({ ...signal, volumeRatio: 2 })).sources.volumeRatio).toBe("given");
      });
    } finally {
      await volume.del(volumeBaselineKey("TIERSRC", hour, minute));
      volume.disconnect();
    }
  });

  it("answers a repeated dispatch with a long ATR (run in chunks first) from memory, with no script call", async () => {
    const long = Array.from({ length: 1200 }, (_, i) => ({ high: 250 + (i % 7) * 0.05, low: 249, close: 249.5 }));
    expect(long.length).toBeGreaterThan(MAX_POINTS_PER_CALL); // more than one atr call carries, let alone a dispatch
    const signal = { symbol: "TIERLONG", side: "long", entry: 250, time: 1_764_000_000_000, baseConfidence: 0.6, news: [], volumeRatio: 1, atrBars: { period: 14, bars: long }, account: { capital: 1e6, risk: 0.01, lotSize: 1 } } as const;
    await withTier(10, async (math) => {
      await redis.config("RESETSTAT");
      const first = await math.dispatch(signal);
      expect(await evalshaCalls()).toBe(4); // three chunks of the ATR, then the dispatch
      await redis.config("RESETSTAT");
      const again = await math.dispatch(signal);
      const atr = await math.atr({ symbol: "TIERLONG", period: 14, bars: long });
      expect(await evalshaCalls()).toBe(0);
      expect(again).toEqual({ ...first, cache: "memory" });
      expect([atr.cache, atr.atr]).toEqual(["memory", first.atr]);
    });
  });

  it("answers a batch's held entries from memory and sends only the others", async () => {
    await withTier(10, async (math) => {
      await math.atr(atrInput("TIERBATCH1"));
      await redis.config("RESETSTAT");
      const outcomes = await math.batch([
        { fn: "atr", input: atrInput("TIERBATCH1") },
        { fn: "atr", input: atrInput("TIERBATCH2") },
      ]);
      expect(outcomes.map((o) => o.ok && o.value.cache)).toEqual(["memory", "miss"]);
      expect(await evalshaCalls()).toBe(1);
      expect((await math.atr(atrInput("TIERBATCH2"))).cache).toBe("memory");
    });
  });

  it("refuses bad call options, naming them, even for a call the tier could answer", async () => {
    await withTier(10, async (math) => {
      await math.atr(atrInput("TIEROPTIONS"));
      for (const [options, field] of [
        [{ deadlineMs: Number.NaN }, "deadlineMs"],
        [{ deadlineMs: 0 }, "deadlineMs"],
        [{ store: "no" }, "store"],
      ] as const) {
        const calls = [
          math.atr(atrInput("TIEROPTIONS"), options as never),
          math.batch([{ fn: "atr", input: atrInput("TIEROPTIONS") }], options as never),
          math.dispatch({ symbol: "TIEROPTIONS", side: "long", entry: 250, time: 1_764_000_000_000, baseConfidence: 0.6, atr: 2, news: [], account: { capital: 1e6, risk: 0.01, lotSize: 1 } }, options as never),
        ];
        for (const call of calls) {
          const error = await call.then(() => undefined, (e: unknown) => e);
          expect(error, `${field}`).toBeInstanceOf(InvalidInputError);
          expect((error as InvalidInputError).field).toBe(field);
        }
      }
      expect((await math.atr(atrInput("TIEROPTIONS"), { deadlineMs: 500, store: true })).cache).toBe("memory");
    });
  });

  it("refuses bounds that are not positive whole numbers, naming the setting", () => {
    for (const [options, setting] of [
      [{ maxEntries: 0, maxBytes: 1024 }, "resultCache.maxEntries"],
      [{ maxEntries: 10, maxBytes: Number.NaN }, "resultCache.maxBytes"],
      [{ maxEntries: 1.5, maxBytes: 1024 }, "resultCache.maxEntries"],
      [{ maxEntries: 10 } as unknown as { maxEntries: number; maxBytes: number }, "resultCache.maxBytes"],
    ] as const) {
      const error = (() => {
        try {
          return MathDispatcher.connect(sharedRedisUrl(), { resultCache: options });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).setting).toBe(setting);
    }
  });
});
