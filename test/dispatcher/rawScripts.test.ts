/**
 * The scripts defend themselves: a raw EVALSHA with garbage ARGV, bypassing the TypeScript
 * validation, gets a clean MATHD_INVALID error reply naming the field and writes no key.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inputsDigest } from "../../src/dispatcher/inputsDigest.js";
import { packDoubles } from "../../src/core/units.js";
import { patternCacheKey } from "../../src/keys/patternCache.js";
import { indicatorKey } from "../../src/keys/indicator.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { ownRedis } from "../support/redis.js";

let server: LocalRedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await ownRedis(); // an empty server, so "no key written" is checked over every DB
  redis = new Redis(server.url, { db: 10 });
  for (const script of SCRIPTS) await redis.script("LOAD", script.source);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

async function keyCount(): Promise<number> {
  const keyspace = (await redis.info("keyspace")) as string;
  return [...keyspace.matchAll(/keys=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** EVALSHA with a correctly built cache key for these args, so only the args are at fault. */
function rawCall(name: string, args: (string | Buffer)[]) {
  const script = SCRIPTS.find((s) => s.name === name)!;
  const keys = name.startsWith("stream_")
    ? [indicatorKey("atr14", "RAW"), indicatorKey("vwap", "RAW")]
    : [patternCacheKey(script.name, script.version, "RAW", inputsDigest(args))];
  return redis.evalsha(script.sha1, keys.length, ...keys, ...args);
}

const UNIT = 10_000;
const goodBars = packDoubles(
  Array.from({ length: 3 }, () => [101 * UNIT, 99 * UNIT, 100 * UNIT]),
  3,
);

describe("raw EVALSHA with bad arguments", () => {
  const cases: [string, string, (string | Buffer)[], string][] = [
    ["atr", "inf period", ["inf", "0", goodBars], "period"],
    ["atr", "nan period", ["nan", "0", goodBars], "period"],
    ["atr", "hex period", ["0x10", "0", goodBars], "period"],
    ["atr", "padded period", [" 5 ", "0", goodBars], "period"],
    ["atr", "word period", ["abc", "0", goodBars], "period"],
    ["atr", "period 0", ["0", "0", goodBars], "period"],
    ["atr", "missing bars", ["2", "0"], "bars"],
    ["atr", "missing series flag", ["2"], "series"],
    ["atr", "no arguments", [], "period"],
    ["atr", "truncated bars", ["2", "0", goodBars.subarray(0, 20)], "bars"],
    ["atr", "too few bars", ["5", "0", goodBars], "bars"],
    ["atr", "NaN inside the bars", ["1", "0", packDoubles([[NaN, 1, 1], [2, 1, 1]], 3)], "bars[0].high"],
    ["atr", "infinite price", ["1", "0", packDoubles([[1, 1, 1], [Infinity, 1, 1]], 3)], "bars[1].high"],
    ["atr", "negative price", ["1", "0", packDoubles([[1, -1, 1], [2, 1, 1]], 3)], "bars[0].low"],
    ["atr", "fractional price units", ["1", "0", packDoubles([[1.5, 1, 1], [2, 1, 1]], 3)], "bars[0].high"],
    ["atr", "high below low", ["1", "0", packDoubles([[1, 2, 1], [2, 1, 1]], 3)], "bars[0].high"],
    ["vwap", "unknown mode", ["minutes", "1", packDoubles([[1, 1]], 2)], "mode"],
    ["vwap", "negative volume", ["ticks", "1", packDoubles([[UNIT, -1]], 2)], "points[0].volume"],
    ["vwap", "zero total volume", ["ticks", "1", packDoubles([[UNIT, 0]], 2)], "points"],
    ["vwap", "inf band", ["ticks", "inf", packDoubles([[UNIT, 1]], 2)], "bands[0]"],
    ["vwap", "empty band list", ["ticks", "", packDoubles([[UNIT, 1]], 2)], "bands[0]"],
    ["stop_loss", "inf atr", ["long", "100", "inf", "1.5", "0.05", "", "", ""], "atr"],
    ["stop_loss", "a side other than long or short", ["buy", "100", "2", "1.5", "0.05", "", "", ""], "side"],
    ["stop_loss", "hex entry", ["long", "0x10", "2", "1.5", "0.05", "", "", ""], "entry"],
    ["stop_loss", "entry off the grid", ["long", "100.02", "2", "1.5", "0.05", "", "", ""], "entry"],
    ["stop_loss", "a stop below zero", ["long", "1", "2", "1.5", "0.05", "", "", ""], "stop"],
    ["position_size", "nan risk", ["100000", "nan", "100", "97", "1", "", "", "", "0.5"], "risk"],
    ["position_size", "entry equal to stop", ["100000", "0.01", "100", "100", "1", "", "", "", "0.5"], "stop"],
    ["position_size", "fractional lot size", ["100000", "0.01", "100", "97", "7.5", "", "", "", "0.5"], "lot_size"],
    ["news_boost", "sentiment above 1", ["long", "1000", "60", "1440", "0.15", "5000", packDoubles([[2, 1, 0]], 3)], "items[0].sentiment"],
    ["news_boost", "item from the future", ["long", "1000", "60", "1440", "0.15", "5000", packDoubles([[0.5, 1, 99_000]], 3)], "items[0].published_at"],
    ["news_boost", "padded now", ["long", " 5 ", "60", "1440", "0.15", "5000", ""], "now"],
    ["confidence", "base 1", ["1", "", "0", "0.15", "0.5", "0.75", "0.05", "0.95"], "base_confidence"],
    ["confidence", "boost beyond max", ["0.5", "", "0.3", "0.15", "0.5", "0.75", "0.05", "0.95"], "boost"],
    ["stream_update", "inf ts", ["14", "inf", "1", "100", "5", "", "", "", "1,2"], "ts"],
    ["stream_update", "ts with a fraction", ["14", "1764000000000.5", "1", "100", "5", "", "", "", "1,2"], "ts"],
    ["stream_update", "negative price", ["14", "1764000000000", "1", "-100", "5", "", "", "", "1,2"], "price"],
    ["stream_update", "nan volume", ["14", "1764000000000", "1", "100", "nan", "", "", "", "1,2"], "volume"],
    ["stream_update", "half a bar", ["14", "1764000000000", "1", "", "5", "101", "", "", "1,2"], "low"],
    ["stream_update", "missing bands", ["14", "1764000000000", "1", "100", "5", "", "", ""], "bands"],
    ["stream_snapshot", "period 0", ["0", "1,2"], "atr_period"],
    ["dispatch", "a filled chain slot", [
      "long", "100", "2", "1.5", "0.05", "", "", "",
      "0.6", "", "0.1", "", "0.5", "0.75", "0.05", "0.95",
      "100000", "0.01", "", "", "1", "", "", "", "0.5",
      "1000", "60", "1440", "0.15", "5000", "",
      "", "",
    ], "boost"],
  ];
  it.each(cases)("%s: %s -> MATHD_INVALID %s", async (name, _, args, field) => {
    const error = await rawCall(name, args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`^MATHD_INVALID ${field.replace(/[[\].]/g, "\\$&")}: `));
    expect(await keyCount()).toBe(0);
  });

  it("rejects a cache key that does not match the arguments, writing nothing", async () => {
    const script = SCRIPTS.find((s) => s.name === "atr")!;
    const key = patternCacheKey("atr", script.version, "RAW", "f".repeat(40));
    const error = await redis.evalsha(script.sha1, 1, key, "2", "0", goodBars).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^MATHD_INVALID cache_key: /);
    expect(await keyCount()).toBe(0);
  });

  it("writes exactly the cache key for good arguments", async () => {
    const reply = await rawCall("atr", ["2", "0", goodBars]);
    expect(reply).toEqual(["cache", "miss", "atr", "2", "natr", "2", "bars", "3"]);
    expect(await keyCount()).toBe(1);
  });
});
