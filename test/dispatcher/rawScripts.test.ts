/**
 * The scripts defend themselves: a raw EVALSHA with garbage ARGV, bypassing the TypeScript
 * validation, gets a clean MATHD_INVALID error reply naming the field and writes no key.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidInputError } from "../../src/core/errors.js";
import { epochMsSchema, parseInput } from "../../src/dispatcher/inputs.js";
import { inputsDigest } from "../../src/dispatcher/inputsDigest.js";
import { packDoubles } from "../../src/core/units.js";
import { MAX_POINTS_PER_CALL, MAX_SERIES_POINTS_PER_CALL, MAX_STREAM_UPDATES_PER_CALL } from "../../src/dispatcher/limits.js";
import { patternCacheKey } from "../../src/keys/patternCache.js";
import { indicatorKey } from "../../src/keys/indicator.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ARG_NAMES, SCRIPTS } from "../../src/generated/scripts.js";
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
    ? [indicatorKey("atr14", "RAW"), indicatorKey("vwap", "RAW"), indicatorKey("rsi14", "RAW")]
    : [patternCacheKey(script.name, script.version, "RAW", inputsDigest(args))];
  return redis.evalsha(script.sha1, keys.length, ...keys, ...args);
}

const UNIT = 10_000;
const TS = 1_764_000_000_000;

/** One update of stream_update_many: ts, seq, volume, price, high, low, close (a tick unless changed). */
interface RawUpdate { ts: number; seq: number; volume: number; price: number; high: number; low: number; close: number }
const goodTick: Partial<RawUpdate> = {};
const goodBar: Partial<RawUpdate> = { price: 0, high: 101 * UNIT, low: 99 * UNIT, close: 100 * UNIT };
/** stream_update_many's `updates`: each row a good tick with `changed` fields. */
function updates(rows: Partial<RawUpdate>[]): Buffer {
  return packDoubles(
    rows.map((changed, i) => {
      const u = { ts: TS + i, seq: i, volume: 5, price: 100 * UNIT, high: 0, low: 0, close: 0, ...changed };
      return [u.ts, u.seq, u.volume, u.price, u.high, u.low, u.close];
    }),
    7,
  );
}
const goodBars = packDoubles(
  Array.from({ length: 3 }, () => [101 * UNIT, 99 * UNIT, 100 * UNIT]),
  3,
);

describe("raw EVALSHA with bad arguments", () => {
  const cases: [string, string, (string | Buffer)[], string][] = [
    ["atr", "inf period", ["inf", "0", "", goodBars], "period"],
    ["atr", "nan period", ["nan", "0", "", goodBars], "period"],
    ["atr", "hex period", ["0x10", "0", "", goodBars], "period"],
    ["atr", "padded period", [" 5 ", "0", "", goodBars], "period"],
    ["atr", "word period", ["abc", "0", "", goodBars], "period"],
    ["atr", "period 0", ["0", "0", "", goodBars], "period"],
    ["atr", "missing bars", ["2", "0", ""], "bars"],
    ["atr", "missing series flag", ["2"], "series"],
    ["atr", "missing state", ["2", "0"], "state"],
    ["atr", "no arguments", [], "period"],
    ["atr", "truncated bars", ["2", "0", "", goodBars.subarray(0, 20)], "bars"],
    ["atr", "too few bars", ["5", "0", "", goodBars], "bars"],
    ["atr", "NaN inside the bars", ["1", "0", "", packDoubles([[NaN, 1, 1], [2, 1, 1]], 3)], "bars[0].high"],
    ["atr", "infinite price", ["1", "0", "", packDoubles([[1, 1, 1], [Infinity, 1, 1]], 3)], "bars[1].high"],
    ["atr", "negative price", ["1", "0", "", packDoubles([[1, -1, 1], [2, 1, 1]], 3)], "bars[0].low"],
    ["atr", "fractional price units", ["1", "0", "", packDoubles([[1.5, 1, 1], [2, 1, 1]], 3)], "bars[0].high"],
    ["atr", "high below low", ["1", "0", "", packDoubles([[1, 2, 1], [2, 1, 1]], 3)], "bars[0].high"],
    ["atr", "more bars than one call takes", ["1", "0", "", packDoubles(Array.from({ length: MAX_POINTS_PER_CALL + 1 }, () => [UNIT, UNIT, UNIT]), 3)], "bars"],
    ["atr", "more bars than one call with the series takes", ["1", "1", "", packDoubles(Array.from({ length: MAX_SERIES_POINTS_PER_CALL + 1 }, () => [UNIT, UNIT, UNIT]), 3)], "bars"],
    ["atr", "a state that is not one", ["1", "0", "12", goodBars], "state"],
    ["atr", "a state with an infinite ATR", ["1", "0", "5,10000,10000,inf", goodBars], "state.atr"],
    ["atr", "a state with a fractional bar count", ["1", "0", "5.5,10000,10000,1", goodBars], "state.bars"],
    ["atr", "a seeded state without its ATR", ["1", "0", "5,10000,10000,", goodBars], "state.atr"],
    ["vwap", "a state with too few values", ["ticks", "1", "1,30000,1", packDoubles([[UNIT, 1]], 2)], "state"],
    ["vwap", "a state with a negative M2", ["ticks", "1", "1,30000,1,0,0,0,-1", packDoubles([[UNIT, 1]], 2)], "state.m2"],
    ["vwap", "a state with a NaN sum", ["ticks", "1", "1,30000,1,nan,0,0,0", packDoubles([[UNIT, 1]], 2)], "state.sum"],
    ["vwap", "unknown mode", ["minutes", "1", "", packDoubles([[1, 1]], 2)], "mode"],
    ["vwap", "negative volume", ["ticks", "1", "", packDoubles([[UNIT, -1]], 2)], "points[0].volume"],
    ["vwap", "zero total volume", ["ticks", "1", "", packDoubles([[UNIT, 0]], 2)], "points"],
    ["vwap", "inf band", ["ticks", "inf", "", packDoubles([[UNIT, 1]], 2)], "bands[0]"],
    ["vwap", "empty band list", ["ticks", "", "", packDoubles([[UNIT, 1]], 2)], "bands[0]"],
    ["vwap", "a bad second band", ["ticks", "1,0x2", "", packDoubles([[UNIT, 1]], 2)], "bands[1]"],
    ["vwap", "a band above 10", ["ticks", "1,2,10.5", "", packDoubles([[UNIT, 1]], 2)], "bands[2]"],
    ["vwap", "six bands", ["ticks", "1,2,3,4,5,6", "", packDoubles([[UNIT, 1]], 2)], "bands"],
    ["stop_loss", "inf atr", ["long", "100", "inf", "1.5", "0.05", "", "", ""], "atr"],
    ["stop_loss", "a side other than long or short", ["buy", "100", "2", "1.5", "0.05", "", "", ""], "side"],
    ["stop_loss", "hex entry", ["long", "0x10", "2", "1.5", "0.05", "", "", ""], "entry"],
    ["stop_loss", "entry off the grid", ["long", "100.02", "2", "1.5", "0.05", "", "", ""], "entry"],
    ["stop_loss", "a stop below zero", ["long", "1", "2", "1.5", "0.05", "", "", ""], "stop"],
    ["position_size", "nan risk", ["100000", "nan", "100", "97", "1", "", "", "", "0.5"], "risk"],
    ["position_size", "a risk of 1 (all the capital; 1 % is 0.01)", ["100000", "1", "100", "97", "1", "", "", "", "0.5"], "risk"],
    ["position_size", "entry equal to stop", ["100000", "0.01", "100", "100", "1", "", "", "", "0.5"], "stop"],
    ["position_size", "fractional lot size", ["100000", "0.01", "100", "97", "7.5", "", "", "", "0.5"], "lot_size"],
    ["news_boost", "sentiment above 1", ["long", `${TS}`, "60", "1440", "0.15", "5000", packDoubles([[2, 1, TS]], 3)], "items[0].sentiment"],
    ["news_boost", "item from the future", ["long", `${TS}`, "60", "1440", "0.15", "5000", packDoubles([[0.5, 1, TS + 99_000]], 3)], "items[0].published_at"],
    // a time in seconds would read as January 1970 (every news item decades old, every session one day)
    ["news_boost", "now in seconds", ["long", `${TS / 1000}`, "60", "1440", "0.15", "5000", ""], "now"],
    ["news_boost", "an item published in seconds", ["long", `${TS}`, "60", "1440", "0.15", "5000", packDoubles([[0.5, 1, TS / 1000]], 3)], "items[0].published_at"],
    ["stream_update", "a tick's ts in seconds (the fast path's form)", ["14", "14", `${TS / 1000}`, "1", "100", "5", "", "", "", ""], "ts"],
    ["stream_update", "a bar's ts in seconds", ["14", "14", `${TS / 1000}`, "1", "", "5", "101", "99", "100", ""], "ts"],
    ["stream_update_many", "a ts in seconds", ["14", "14", updates([goodTick, { ts: TS / 1000 }])], "updates[1].ts"],
    // and one in microseconds would put the state in a far future: every real tick after it a duplicate
    ["stream_update", "a tick's ts in microseconds (the fast path's form)", ["14", "14", `${TS * 1000}`, "1", "100", "5", "", "", "", ""], "ts"],
    ["stream_update_many", "a ts in microseconds", ["14", "14", updates([{ ts: TS * 1000 }])], "updates[0].ts"],
    ["news_boost", "now in microseconds", ["long", `${TS * 1000}`, "60", "1440", "0.15", "5000", ""], "now"],
    ["news_boost", "padded now", ["long", " 5 ", "60", "1440", "0.15", "5000", ""], "now"],
    ["confidence", "base 1", ["1", "", "0", "0.15", "0.5", "0.75", "0.05", "0.95"], "base_confidence"],
    ["confidence", "boost beyond max", ["0.5", "", "0.3", "0.15", "0.5", "0.75", "0.05", "0.95"], "boost"],
    ["stream_update", "inf ts", ["14", "14", "inf", "1", "100", "5", "", "", "", "1,2"], "ts"],
    ["stream_update", "ts with a fraction", ["14", "14", "1764000000000.5", "1", "100", "5", "", "", "", "1,2"], "ts"],
    ["stream_update", "negative price", ["14", "14", "1764000000000", "1", "-100", "5", "", "", "", "1,2"], "price"],
    ["stream_update", "nan volume", ["14", "14", "1764000000000", "1", "100", "nan", "", "", "", "1,2"], "volume"],
    ["stream_update", "half a bar", ["14", "14", "1764000000000", "1", "", "5", "101", "", "", "1,2"], "low"],
    ["stream_update", "missing bands", ["14", "14", "1764000000000", "1", "100", "5", "", "", ""], "bands"],
    // arguments left out: the first of them is named
    ["stream_update", "five arguments", ["14", "14", "1764000000000", "1", "100"], "volume"],
    ["stream_update", "a tick's first seven arguments", ["14", "14", "1764000000000", "1", "100", "5", ""], "low"],
    ["stream_update", "a tick's first eight arguments", ["14", "14", "1764000000000", "1", "100", "5", "", ""], "close"],
    ["stream_update", "missing rsi_period (the 1.2.0 ARGV)", ["14", "1764000000000", "1", "100", "5", "", "", "", ""], "rsi_period"],
    ["stream_update", "rsi_period 1", ["14", "1", "1764000000000", "1", "100", "5", "", "", "", ""], "rsi_period"],
    ["stream_update", "rsi_period 501", ["14", "501", "1764000000000", "1", "100", "5", "", "", "", ""], "rsi_period"],
    ["stream_update", "hex rsi_period", ["14", "0xE", "1764000000000", "1", "100", "5", "", "", "", ""], "rsi_period"],
    ["stream_update", "a bar with rsi_period 0", ["14", "0", "1764000000000", "1", "", "5", "101", "99", "100", ""], "rsi_period"],
    ["stream_update", "an empty rsi_period", ["14", "", "1764000000000", "1", "100", "5", "", "", "", ""], "rsi_period"],
    ["stream_snapshot", "period 0", ["0", "14", "1,2"], "atr_period"],
    ["stream_snapshot", "rsi_period 1", ["14", "1", "1,2"], "rsi_period"],
    ["dispatch", "neither an ATR nor bars", dispatchArgs({}), "atr"],
    ["dispatch", "an ATR period without bars", dispatchArgs({ atr_period: "14" }), "bars"],
    ["dispatch", "an ATR and bars", dispatchArgs({ atr: "2", bars: goodBars }), "bars"],
    ["dispatch", "now in seconds", dispatchArgs({ atr: "2", now: `${TS / 1000}` }), "now"],
    ["dispatch", "an ATR and an ATR period", dispatchArgs({ atr: "2", atr_period: "2", bars: goodBars }), "atr_period"],
    // longer than MAX_ARG_TEXT: refused before any pattern reads it (a megabyte of zeros took 15-90 ms)
    ["stop_loss", "an ATR of 300 digits", ["long", "100", `2.${"0".repeat(300)}`, "1.5", "0.05", "", "", ""], "atr"],
    ["position_size", "a capital of 300 digits", [`${"0".repeat(294)}100000`, "0.01", "100", "97", "1", "", "", "", "0.5"], "capital"],
    ["atr", "a period of 300 digits", [`${"0".repeat(299)}2`, "0", "", goodBars], "period"],
    ["atr", "a state of 300 bytes", ["1", "0", `${"0".repeat(280)}2,1000000,10000,10000`, goodBars], "state"],
    ["vwap", "bands of 300 bytes", ["ticks", `${"0".repeat(299)}1`, "", packDoubles([[UNIT, 1]], 2)], "bands"],
    ["stream_update", "a ts of 300 digits", ["14", "14", `${"0".repeat(287)}1764000000000`, "1", "100", "5", "", "", "", ""], "ts"],
    ["stream_snapshot", "bands of 300 bytes", ["14", "14", `${"0".repeat(299)}1`], "bands"],
    // a short's stop, or a long's target, beyond the largest price
    ["stop_loss", "a short's stop above the largest price", ["short", "100", "1000000000", "1.5", "0.05", "", "", ""], "stop"],
    ["stop_loss", "a long's target above the largest price", ["long", "5000000", "2000000", "2", "0.05", "", "", "100"], "target"],
    ["dispatch", "a short's stop above the largest price", dispatchArgs({ side: "short", atr: "1000000000" }), "stop"],
    // chunk states hold only what a run could have written
    ["atr", "a state past the longest history", ["1", "0", "100000,1000000,10000,10000", goodBars], "bars"],
    ["rsi", "a state with a negative gain sum", ["2", "0", "2,1000000,-500,0,,", packDoubles([[UNIT]], 1)], "state.gain_sum"],
    ["rsi", "a state with a negative average", ["2", "0", "3,1000000,100,100,-5,1", packDoubles([[UNIT]], 1)], "state.avg_gain"],
    ["rsi", "a state with a huge average loss", ["2", "0", "3,1000000,100,100,1,1e308", packDoubles([[UNIT]], 1)], "state.avg_loss"],
    ["rsi", "a state past the longest history", ["2", "0", "100000,1000000,100,100,1,1", packDoubles([[UNIT]], 1)], "closes"],
    ["vwap", "a state whose sums give a negative VWAP", ["ticks", "1", "1,3000000,1,-1e20,0,0,0", packDoubles([[UNIT, 1]], 2)], "state.sum"],
    ["vwap", "a state with sums but no volume", ["ticks", "1", "1,3000000,0,1e300,0,0,0", packDoubles([[UNIT, 1]], 2)], "state.sum"],
    ["vwap", "a state whose mean is off the price range", ["ticks", "1", "1,3000000,1,0,0,-1e13,0", packDoubles([[UNIT, 1]], 2)], "state.mean"],
    ["vwap", "a state with a huge M2", ["ticks", "1", "1,3000000,1,0,0,0,1e300", packDoubles([[UNIT, 1]], 2)], "state.m2"],
    ["vwap", "a state past the longest history", ["ticks", "1", "100000,3000000,1,0,0,0,0", packDoubles([[UNIT, 1]], 2)], "points"],
    // each field in range, the fields at odds: what no run writes, and whose next state was refused
    ["atr", "a state with a true range before its second bar", ["2", "0", "1,10000,2000000000000,", packDoubles([[1e12, 1, 1], [1e12, 1, 1]], 3)], "state.tr_sum"],
    ["rsi", "a state with a gain before its second close", ["2", "0", "1,1,2000000000000,0,,", packDoubles([[UNIT]], 1)], "state.gain_sum"],
    ["rsi", "a state whose sums hold more changes than its closes", ["2", "0", "2,1,1000000000000,1000000000000,,", packDoubles([[UNIT]], 1)], "state.gain_sum"],
    ["rsi", "a state whose averages add past the largest price", ["2", "0", "3,1,0,0,1000000000000,1000000000000", packDoubles([[UNIT]], 1)], "state.avg_gain"],
    ["vwap", "a state with more volume than its points take", ["ticks", "1", "1,300000,1000000000000000,0,0,0,0", packDoubles([[UNIT, 1]], 2)], "state.weight"],
    ["vwap", "a state whose mean is not its sums' mean", ["ticks", "1", "1,300000,1,0,0,2999999700000,0", packDoubles([[UNIT, 1]], 2)], "state.mean"],
    // stream_update_many: each update's doubles checked, its field named by position; a good
    // update before a bad one is not written either
    ["stream_update_many", "a ts with a fraction", ["14", "14", updates([goodTick, { ts: TS + 0.5 }])], "updates[1].ts"],
    ["stream_update_many", "a NaN ts", ["14", "14", updates([{ ts: Number.NaN }])], "updates[0].ts"],
    ["stream_update_many", "a negative seq", ["14", "14", updates([goodTick, goodTick, { seq: -1 }])], "updates[2].seq"],
    ["stream_update_many", "a volume with a fraction", ["14", "14", updates([{ volume: 1.5 }])], "updates[0].volume"],
    ["stream_update_many", "an infinite volume", ["14", "14", updates([{ volume: Number.POSITIVE_INFINITY }])], "updates[0].volume"],
    ["stream_update_many", "a price off the 0.0001 grid", ["14", "14", updates([{ price: 100.5 }])], "updates[0].price"],
    ["stream_update_many", "a price above the largest", ["14", "14", updates([{ price: 1e13 }])], "updates[0].price"],
    ["stream_update_many", "a NaN price", ["14", "14", updates([{ price: Number.NaN }])], "updates[0].price"],
    ["stream_update_many", "a tick with a high", ["14", "14", updates([{ high: 101 * UNIT }])], "updates[0].high"],
    ["stream_update_many", "a bar with no prices", ["14", "14", updates([goodTick, { price: 0 }])], "updates[1].high"],
    ["stream_update_many", "a bar whose close lies above it", ["14", "14", updates([{ ...goodBar, close: 102 * UNIT }])], "updates[0].close"],
    ["stream_update_many", "a bar whose high is below its low", ["14", "14", updates([{ ...goodBar, high: 98 * UNIT }])], "updates[0].high"],
    ["stream_update_many", "misaligned updates", ["14", "14", updates([goodTick]).subarray(1)], "updates"],
    ["stream_update_many", "no updates", ["14", "14", Buffer.alloc(0)], "updates"],
    ["stream_update_many", "one update more than a call takes", ["14", "14", updates(Array.from({ length: MAX_STREAM_UPDATES_PER_CALL + 1 }, (_, i) => ({ seq: i })))], "updates"],
    ["stream_update_many", "rsi_period 1", ["14", "1", updates([goodTick])], "rsi_period"],
    ["stream_update_many", "a hex atr_period", ["0xE", "14", updates([goodTick])], "atr_period"],
  ];
  it.each(cases)("%s: %s -> MATHD_INVALID %s", async (name, _, args, field) => {
    const error = await rawCall(name, args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`^MATHD_INVALID ${field.replace(/[[\].]/g, "\\$&")}: `));
    expect(await keyCount()).toBe(0);
  });

  it("words a time out of range as the SDK does, with the unit it looks like", async () => {
    for (const ts of [TS / 1000, TS * 1000, 1.5e15 + 0.5]) {
      const lua = (await rawCall("stream_update", ["14", "14", `${ts}`, "1", "100", "5", "", "", "", ""]).catch((e: unknown) => e)) as Error;
      const sdk = (() => {
        try {
          parseInput(z.object({ ts: epochMsSchema }), { ts });
        } catch (error) {
          return error as InvalidInputError;
        }
      })();
      expect(sdk).toBeInstanceOf(InvalidInputError);
      expect(lua.message.replace(/ script: .*$/s, "")).toBe(`MATHD_INVALID ${sdk!.message}`);
    }
  });

  it("stream_update stores a seq of '-0' as 0, the bytes stream_update_many stores", async () => {
    const bar = (ts: string, seq: string) => [ts, seq, "", "5", "101", "99", "100", ""];
    const stateOf = async (symbol: string, args: string[]) => {
      const script = SCRIPTS.find((s) => s.name === "stream_update")!;
      const keys = [indicatorKey("atr14", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi14", symbol)];
      await redis.evalsha(script.sha1, 3, ...keys, "14", "14", ...args);
      return redis.getBuffer(keys[0] as string);
    };
    expect(await stateOf("NEGZERO", bar(`${TS}`, "-0"))).toEqual(await stateOf("ZERO", bar(`${TS}`, "0")));
    await redis.flushall();
  });

  it("writes exactly the cache key for good arguments", async () => {
    const before = await keyCount();
    const reply = await rawCall("atr", ["2", "0", "", goodBars]);
    expect(reply).toBe("cache\nmiss\natr\n2\nnatr\n2\nbars\n3"); // one text, a field or a value per line
    expect(await keyCount()).toBe(before + 1);
  });

  it("reads band multipliers in plain and exponent form alike, and at most five", async () => {
    const points = packDoubles([[UNIT, 1], [2 * UNIT, 3]], 2);
    const bandK = async (bands: string) => /\nband_k\n([^\n]*)\n/.exec(String(await rawCall("vwap", ["ticks", bands, "", points])))?.[1];
    expect(await bandK("0.25,1")).toBe("0.25,1");
    expect(await bandK("2.5e-1,1E0")).toBe("0.25,1");
    expect(await bandK("1,2,3,4,5")).toBe("1,2,3,4,5");
  });

  it("refuses more arguments than the header declares, naming the first extra one", async () => {
    for (const script of SCRIPTS) {
      const args = Array.from({ length: script.args.length + 1 }, () => "");
      const keys = script.name.startsWith("stream_")
        ? [indicatorKey("atr14", "RAW"), indicatorKey("vwap", "RAW"), indicatorKey("rsi14", "RAW")]
        : [patternCacheKey(script.name.replace(/_ro$/, ""), script.version, "RAW", inputsDigest(args))]; // a variant reads its script's entries
      args[0] = script.name.startsWith("stream_") ? "14" : args[0]!;
      const error = await redis.evalsha(script.sha1, keys.length, ...keys, ...args).catch((e: unknown) => e);
      expect((error as Error).message, script.name).toMatch(new RegExp(`^MATHD_INVALID ARGV\\[${script.args.length + 1}\\]: `));
    }
  });
});

/** A raw dispatch ARGV: good values by name, in the order the manifest gives, with `changed`. */
function dispatchArgs(changed: Record<string, string | Buffer>): (string | Buffer)[] {
  const good: Record<string, string> = {
    side: "long", entry: "100", atr: "", multiplier: "1.5", tick: "0.05", min_fraction: "", max_fraction: "", reward_ratio: "",
    base_confidence: "0.6", volume_ratio: "", max_boost: "0.15", volume_weight: "0.5", news_weight: "0.75", min_confidence: "0.05", max_confidence: "0.95",
    capital: "100000", risk: "0.01", lot_size: "1", max_lots: "", max_exposure: "", confidence_floor: "0.5",
    now: `${TS}`, half_life_minutes: "60", window_minutes: "1440", clock_skew_ms: "5000", items: "", atr_period: "", bars: "",
  };
  return ARG_NAMES.dispatch.map((name) => changed[name] ?? (good[name] as string));
}

describe("raw EVALSHA with bad KEYS", () => {
  const atr = SCRIPTS.find((s) => s.name === "atr")!;
  const update = SCRIPTS.find((s) => s.name === "stream_update")!;
  const args = ["2", "0", "", goodBars];
  const digest = inputsDigest(args);
  const prefix = `pattern_cache:atr:v${atr.version}:`;
  const tick = ["14", "14", "1764000000000", "1", "100", "5", "", "", "", "1,2"];
  const fastTick = ["14", "14", "1764000000000", "1", "100", "5", "", "", "", ""]; // the fast path's form
  const bar = ["14", "14", "1764000000000", "1", "", "5", "101", "99", "100", ""];
  const [atrKey, vwapKey, rsiKey] = [indicatorKey("atr14", "RAW"), indicatorKey("vwap", "RAW"), indicatorKey("rsi14", "RAW")];
  const cases: [string, string, string, string[], (string | Buffer)[]][] = [
    ["atr", "no key", "cache_key", [], args],
    ["atr", "two keys", "KEYS[2]", [`${prefix}RAW:${digest}`, "other"], args],
    ["atr", "another family", "cache_key", [`foo`], args],
    ["atr", "another script's key", "cache_key", [`pattern_cache:vwap:v${atr.version}:RAW:${digest}`], args],
    ["atr", "an older version's key", "cache_key", [`pattern_cache:atr:v1.0.0:RAW:${digest}`], args],
    ["atr", "a 10,000-character symbol", "cache_key", [`${prefix}${"A".repeat(10_000)}:${digest}`], args],
    ["atr", "a 41-character symbol", "cache_key", [`${prefix}${"A".repeat(41)}:${digest}`], args],
    ["atr", "an unbalanced hash tag", "cache_key", [`${prefix}{NIFTY:${digest}`], args],
    ["atr", "a lower-case symbol", "cache_key", [`${prefix}nifty:${digest}`], args],
    ["atr", "an empty symbol", "cache_key", [`${prefix}:${digest}`], args],
    ["atr", "a digest that is not 40 hex digits", "cache_key", [`${prefix}RAW:${"g".repeat(40)}`], args],
    ["atr", "a key of 300 bytes", "cache_key", [`${prefix}RAW${"A".repeat(300)}:${digest}`], args],
    ["stream_update", "an ATR key of 300 bytes (fast-path tick)", "atr_state", [`indicator:atr14:${"A".repeat(290)}`, vwapKey, rsiKey], fastTick],
    ["stream_update", "keys of another family", "atr_state", ["foo", "bar", "baz"], tick],
    ["stream_update", "one key", "vwap_state", [atrKey], tick],
    ["stream_update", "no keys", "atr_state", [], tick],
    ["stream_update", "two keys (the 1.2.0 KEYS)", "rsi_state", [atrKey, vwapKey], tick],
    ["stream_update", "four keys", "KEYS[4]", [atrKey, vwapKey, rsiKey, "x"], tick],
    ["stream_update", "an ATR key of another period", "atr_state", [indicatorKey("atr5", "RAW"), vwapKey, rsiKey], tick],
    ["stream_update", "keys of two symbols", "vwap_state", [atrKey, indicatorKey("vwap", "OTHER"), rsiKey], tick],
    ["stream_update", "an unbalanced hash tag", "atr_state", ["indicator:atr14:{RAW", "indicator:vwap:{RAW", "indicator:rsi14:{RAW"], tick],
    ["stream_update", "an RSI key of another family", "rsi_state", [atrKey, vwapKey, "pattern_cache:rsi:v1.1.0:RAW:x"], tick],
    ["stream_update", "an RSI key of another family (fast-path tick)", "rsi_state", [atrKey, vwapKey, indicatorKey("ema14", "RAW")], fastTick],
    ["stream_update", "an RSI key of another family (bar)", "rsi_state", [atrKey, vwapKey, indicatorKey("atr14", "RAW")], bar],
    ["stream_update", "an RSI key of another period", "rsi_state", [atrKey, vwapKey, indicatorKey("rsi5", "RAW")], fastTick],
    ["stream_update", "an RSI key of another symbol", "rsi_state", [atrKey, vwapKey, indicatorKey("rsi14", "OTHER")], bar],
    ["stream_update", "an RSI key of another hash tag", "rsi_state", [indicatorKey("atr14", "RAW", { hashTag: true }), indicatorKey("vwap", "RAW", { hashTag: true }), rsiKey], bar],
    ["stream_update_many", "keys of two symbols", "vwap_state", [atrKey, indicatorKey("vwap", "OTHER"), rsiKey], ["14", "14", updates([goodTick])]],
    ["stream_update_many", "an ATR key of another period", "atr_state", [indicatorKey("atr5", "RAW"), vwapKey, rsiKey], ["14", "14", updates([goodTick])]],
    ["stream_update_many", "four keys", "KEYS[4]", [atrKey, vwapKey, rsiKey, "x"], ["14", "14", updates([goodTick])]],
    ["stream_update_many", "an ATR period sent as '014' and a key that says atr014", "atr_state", ["indicator:atr014:RAW", vwapKey, rsiKey], ["014", "14", updates([goodTick])]],
    ["stream_update_many", "an RSI period sent as '02' and a key that says rsi02", "rsi_state", [atrKey, vwapKey, "indicator:rsi02:RAW"], ["14", "02", updates([goodTick])]],
    ["stream_snapshot", "an ATR period sent as '014' and a key that says atr014", "atr_state", ["indicator:atr014:RAW", vwapKey, rsiKey], ["014", "14", "1,2"]],
    ["stream_snapshot", "keys of another family", "atr_state", ["foo", "bar", "baz"], ["14", "14", "1,2"]],
    ["stream_snapshot", "an RSI key of another family", "rsi_state", [atrKey, vwapKey, "foo"], ["14", "14", "1,2"]],
  ];
  it.each(cases)("%s: %s -> MATHD_INVALID %s, writing nothing", async (name, _, field, keys, argv) => {
    const script = name === "atr" ? atr : name === "stream_update" ? update : SCRIPTS.find((s) => s.name === name)!;
    const before = await keyCount();
    const error = await redis.evalsha(script.sha1, keys.length, ...keys, ...argv).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`^MATHD_INVALID ${field.replace(/[[\].]/g, "\\$&")}: `));
    expect(await keyCount()).toBe(before);
  });

  it("refuses a key that holds another type, and leaves it as it is", async () => {
    const key = `${prefix}HASHED:${digest}`;
    await redis.hset(key, "someone", "else's");
    const error = await redis.evalsha(atr.sha1, 1, key, ...args).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^MATHD_INVALID cache_key: holds a value of another type/);
    expect(await redis.hgetall(key)).toEqual({ someone: "else's" });
    await redis.del(key);
  });

  it("accepts a symbol wrapped whole in a hash tag", async () => {
    const reply = await redis.evalsha(atr.sha1, 1, `${prefix}{NIFTY}:${digest}`, ...args);
    expect(reply).toMatch(/^cache\nmiss\n/);
  });
});

describe("the cache never answers one call's arguments with another's result", () => {
  const atr = SCRIPTS.find((s) => s.name === "atr")!;
  const bars = packDoubles(
    [
      [101 * UNIT, 99 * UNIT, 100 * UNIT],
      [103 * UNIT, 100 * UNIT, 102 * UNIT],
      [104 * UNIT, 98 * UNIT, 99 * UNIT],
    ],
    3,
  );
  const a = ["1", "0", "", bars];
  const b = ["2", "0", "", bars];
  const keyOf = (args: (string | Buffer)[]) => patternCacheKey("atr", atr.version, "PAIRED", inputsDigest(args));
  /** The reply's lines: field, value, field, value, ... */
  const call = async (key: string, args: (string | Buffer)[]) => ((await redis.evalsha(atr.sha1, 1, key, ...args)) as string).split("\n");

  it("computes for the arguments given when a key is paired with other arguments", async () => {
    const resultA = await call(keyOf(a), a);
    const resultB = await call(keyOf(b), b);
    expect(resultA[3]).not.toBe(resultB[3]);
    expect((await call(keyOf(a), a))[1]).toBe("hit");
    // A's key, B's arguments: B's result, computed (a miss), never A's stored one
    expect(await call(keyOf(a), b)).toEqual(resultB);
    // and the entry now holds B's arguments, so A's own call is a miss again with A's result
    expect(await call(keyOf(a), a)).toEqual(resultA);
    // arguments that differ only in a trailing byte of the binary argument are other arguments
    const longer = ["1", "0", "", Buffer.concat([bars, packDoubles([[105 * UNIT, 100 * UNIT, 104 * UNIT]], 3)])];
    expect((await call(keyOf(a), longer))[1]).toBe("miss");
  });

  it("pairs a long last argument just as strictly", async () => {
    // 100 bars = 2,400 bytes, compared in place by the hit check
    const rows = Array.from({ length: 100 }, (_, i) => [(101 + (i % 7)) * UNIT, (99 - (i % 5)) * UNIT, 100 * UNIT]);
    const long = ["3", "0", "", packDoubles(rows, 3)];
    const other = ["3", "0", "", packDoubles(rows.map((r, i) => (i === 99 ? [r[0]! + UNIT, r[1]!, r[2]!] : r)), 3)];
    const result = await call(keyOf(long), long);
    expect(result[1]).toBe("miss");
    expect(await call(keyOf(long), long)).toEqual(["cache", "hit", ...result.slice(2)]);
    // the same key with a last argument that differs in its last bar only: a miss with its own result
    const otherResult = await call(keyOf(long), other);
    expect(otherResult[1]).toBe("miss");
    expect(otherResult[3]).not.toBe(result[3]);
    expect((await call(keyOf(long), other))[1]).toBe("hit");
  });

  it("tells arguments apart by their boundaries, not only their bytes", async () => {
    await call(keyOf(a), a);
    expect((await call(keyOf(a), a))[1]).toBe("hit");
    // the same bytes back to back ('1' '0' '' bars against '10' '' '' bars): a miss, which then
    // validates the arguments it was given
    const error = await call(keyOf(a), ["10", "", "", bars]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^MATHD_INVALID series: /);
  });
});
