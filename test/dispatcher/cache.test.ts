import { Redis } from "ioredis";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildScript } from "../../src/build/luaBuild.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { ScriptRunner } from "../../src/dispatcher/scriptRunner.js";
import { decodeReply, textField } from "../../src/dispatcher/reply.js";
import { prepareCall } from "../../src/dispatcher/scriptFunction.js";
import { atrFunction } from "../../src/dispatcher/atr.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { MAX_POINTS_PER_CALL } from "../../src/dispatcher/limits.js";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { sharedRedisUrl } from "../support/redis.js";

const ATR_VERSION = SCRIPTS.find((s) => s.name === "atr")!.version;
let redis: Redis;
let dispatcher: MathDispatcher;
const bars = Array.from({ length: 30 }, (_, i) => ({ high: 250 + (i % 5) * 0.05, low: 249, close: 249.5 }));

beforeAll(() => {
  redis = new Redis(sharedRedisUrl(), { db: 10 });
  dispatcher = new MathDispatcher(redis);
});
afterAll(() => dispatcher.close());

/** The atr script as it would build with another version in its header. */
function atrWithVersion(version: string) {
  const luaDir = join(import.meta.dirname, "../../lua");
  return buildScript(join(luaDir, "atr.lua"), luaDir, (path) => {
    const text = readFileSync(path, "utf8")
      .replace(/^-- @version .*$/m, `-- @version ${version}`)
      .replace(/^(-- @key cache_key .*:v)\d+\.\d+\.\d+:/m, `$1${version}:`); // the key spells it too
    return text.split("\n");
  });
}

describe("result cache in DB 10", () => {
  it("answers an identical second call from the cache, in one round trip", async () => {
    const input = { symbol: "CACHEHIT", period: 14, bars, series: true };
    const first = await dispatcher.atr(input);
    await redis.config("RESETSTAT");
    const second = await dispatcher.atr(input);
    expect(first.cache).toBe("miss");
    expect(second.cache).toBe("hit");
    expect(second).toEqual({ ...first, cache: "hit" });
    const stats = (await redis.info("commandstats")) as string;
    expect(stats).toMatch(/cmdstat_evalsha:calls=1,/); // the hit is the one EVALSHA, nothing else
  });

  it("stores under pattern_cache:{function}:v{version}:{SYMBOL}:{digest} with TTL 57,600 s", async () => {
    await dispatcher.atr({ symbol: "CACHEKEY", period: 10, bars });
    const keys = await redis.keys(`pattern_cache:atr:v${ATR_VERSION}:CACHEKEY:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^pattern_cache:atr:v${ATR_VERSION.replace(/\./g, "\\.")}:CACHEKEY:[0-9a-f]{40}$`));
    const ttl = await redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(57_000);
    expect(ttl).toBeLessThanOrEqual(57_600);
  });

  it("holds an entry in about its length of memory, the packed points of a long series too", async () => {
    // 500 ticks: 8,000 bytes of packed points in the entry. An APPEND of them would leave Redis
    // holding the entry in over twice its length (its strings grow greedily and are never trimmed);
    // one SET holds it in its length rounded up to the allocator's size class (a quarter apart)
    const ticks = Array.from({ length: 500 }, (_, i) => ({ price: 250 + (i % 9) * 0.05, volume: 10 + i }));
    await dispatcher.vwap({ symbol: "CACHEMEMORY", ticks });
    const [key] = await redis.keys("pattern_cache:vwap:*:CACHEMEMORY:*");
    const length = await redis.strlen(key!);
    expect(length).toBeGreaterThan(8_000);
    expect(Number(await redis.memory("USAGE", key!))).toBeLessThan(1.5 * length);
    expect((await dispatcher.vwap({ symbol: "CACHEMEMORY", ticks })).cache).toBe("hit");
  });

  it("wraps the symbol in a cluster hash tag when asked", async () => {
    const tagged = new MathDispatcher(new Redis(sharedRedisUrl(), { db: 10 }), { hashTag: true });
    const result = await tagged.atr({ symbol: "TAGGED", period: 10, bars });
    expect(result.atr).toBeGreaterThan(0);
    expect(await redis.keys(`pattern_cache:atr:v${ATR_VERSION}:{TAGGED}:*`)).toHaveLength(1);
    await tagged.close();
  });

  it("different inputs get different entries", async () => {
    const a = await dispatcher.atr({ symbol: "CACHEDIFF", period: 10, bars });
    const b = await dispatcher.atr({ symbol: "CACHEDIFF", period: 11, bars });
    expect(a.cache).toBe("miss");
    expect(b.cache).toBe("miss");
    expect(a.atr).not.toBe(b.atr);
  });

  it("never serves an older version's result after a version bump", async () => {
    const input = { symbol: "BUMP", period: 14, bars };
    expect((await dispatcher.atr(input)).cache).toBe("miss");
    const bumped = atrWithVersion("1.0.1");
    const runner = new ScriptRunner(new ResilientRedis({ connection: redis }), [...SCRIPTS.filter((s) => s.name !== "atr"), bumped]);
    const newCall = prepareCall(atrFunction, bumped, input, {});
    expect(textField(decodeReply(await runner.run(newCall)), "cache")).toBe("miss");
    expect(newCall.keys[0]).toContain(":v1.0.1:");
    // Even handed the old version's key, the new script refuses it instead of reading it.
    const oldCall = prepareCall(atrFunction, SCRIPTS.find((s) => s.name === "atr")!, input, {});
    const error = await runner.run(oldCall).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("cache_key");
  });
});

describe("a call with store: false", () => {
  const countKeys = async (symbol: string) => (await redis.keys(`pattern_cache:*:${symbol}:*`)).length;
  const account = { capital: 2_000_000, risk: 0.01, lotSize: 35 };

  for (const scriptMode of ["evalsha", "functions"] as const) {
    it(`computes a miss without writing DB 10, and still answers from an entry that exists (${scriptMode})`, async () => {
      const math = new MathDispatcher(new Redis(sharedRedisUrl(), { db: 10 }), { scriptMode });
      try {
        const symbol = `NOSTORE${scriptMode.toUpperCase()}`;
        const input = { symbol, period: 14, bars, series: true };
        const unstored = await math.atr(input, { store: false });
        expect(unstored.cache).toBe("miss");
        expect(await countKeys(symbol)).toBe(0);
        const stored = await math.atr(input);
        expect(stored).toEqual(unstored); // the same math, bit for bit
        expect(await countKeys(symbol)).toBe(1);
        expect(await math.atr(input, { store: false })).toEqual({ ...stored, cache: "hit" });
      } finally {
        await math.close();
      }
    });
  }

  it("writes nothing for a batch, a dispatch or a series run in chunks, and keeps nothing in the in-process tier", async () => {
    const math = new MathDispatcher(new Redis(sharedRedisUrl(), { db: 10 }), { resultCache: { maxEntries: 10, maxBytes: 1 << 20 } });
    try {
      const long = Array.from({ length: MAX_POINTS_PER_CALL + 20 }, (_, i) => ({ high: 250 + (i % 7) * 0.05, low: 249, close: 249.5 }));
      const outcomes = await math.batch([{ fn: "atr", input: { symbol: "NOSTOREBATCH", period: 14, bars } }], { store: false });
      expect(outcomes[0]?.ok && outcomes[0].value.cache).toBe("miss");
      const chunked = await math.atr({ symbol: "NOSTORECHUNKS", period: 14, bars: long }, { store: false });
      const decision = await math.dispatch({ symbol: "NOSTOREDISPATCH", side: "long", entry: 250, time: 1_764_000_000_000, baseConfidence: 0.6, atr: 2, news: [], account }, { store: false });
      for (const symbol of ["NOSTOREBATCH", "NOSTORECHUNKS", "NOSTOREDISPATCH"]) expect(await countKeys(symbol)).toBe(0);
      expect(decision.cache).toBe("miss");
      expect((await math.atr({ symbol: "NOSTOREBATCH", period: 14, bars })).cache).toBe("miss"); // not from memory either
      expect((await math.atr({ symbol: "NOSTORECHUNKS", period: 14, bars: long })).atr).toBe(chunked.atr);
    } finally {
      await math.close();
    }
  });
});
