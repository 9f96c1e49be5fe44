import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { InvalidInputError } from "../../src/core/errors.js";
import { StreamingReference } from "../../src/indicators/streaming.js";
import { indicatorKey } from "../../src/keys/indicator.js";
import type { StreamUpdateInput } from "../../src/dispatcher/streaming.js";
import type { ResultMeta } from "../../src/dispatcher/scriptFunction.js";
import type { VwapResult } from "../../src/dispatcher/vwap.js";
import { barSeries, type GeneratedBar } from "../support/arbitraries.js";
import { expectClose } from "../support/compare.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";

const dispatcher = sharedDispatcher();
const streaming = dispatcher.streaming({ atrPeriod: 5 });
const redis = new Redis(inject("redisUrl"), { db: 10 });
afterAll(async () => {
  await dispatcher.close();
  redis.disconnect();
});

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
const MINUTE = 60_000;
let symbolCounter = 0;
/** A fresh symbol per property run, so runs never share state. */
const freshSymbol = (prefix: string) => `${prefix}${symbolCounter++}`;

function barUpdates(symbol: string, bars: GeneratedBar[], start = OPEN): StreamUpdateInput[] {
  return bars.map((b, i) => ({ symbol, ts: start + i * MINUTE, seq: i, volume: b.volume, high: b.high, low: b.low, close: b.close }));
}

describe("streaming ATR and VWAP", () => {
  it("after every bar equal the batch scripts to the last digit, and the decimal.js reference", async () => {
    await fc.assert(
      fc.asyncProperty(barSeries(1, 40), async (bars) => {
        const symbol = freshSymbol("STREAM");
        const outcomes = await streaming.updateMany(barUpdates(symbol, bars));
        const reference = new StreamingReference(5);
        const batchAtr = await dispatcher.batch(
          bars.map((_, k) => ({ fn: "atr" as const, input: { symbol, period: 5, bars: bars.slice(0, k + 1) } })),
        );
        const batchVwap = await dispatcher.batch(
          bars.map((_, k) => ({ fn: "vwap" as const, input: { symbol, bars: bars.slice(0, k + 1) } })),
        );
        outcomes.forEach((outcome, k) => {
          if (!outcome.ok) throw outcome.error;
          const r = outcome.value;
          expect(r.atrStatus).toBe("applied");
          reference.update({ ...bars[k]!, ts: OPEN + k * MINUTE, seq: k });
          const batch = batchAtr[k]!;
          if (k + 1 >= 6) {
            expect(batch.ok && (batch.value as { atr: number }).atr).toBe(r.atr); // bit for bit
            expectClose(r.atr!, reference.atr!, `atr after bar ${k}`);
          } else {
            expect(r.atr).toBeUndefined();
          }
          const vwap = batchVwap[k]!;
          if (vwap.ok) {
            const { cache: _c, scriptVersion: _v, ...batchValues } = vwap.value as VwapResult & ResultMeta;
            expect(r.vwap).toEqual(batchValues); // bit for bit: vwap, sigma, bands
            expectClose(r.vwap!.vwap, reference.vwap!.vwap, `vwap after bar ${k}`);
            expectClose(r.vwap!.sigma, reference.vwap!.sigma, `sigma after bar ${k}`);
          } else {
            expect(r.vwap).toBeUndefined(); // no volume yet in the session
          }
        });
      }),
      { numRuns: 40 },
    );
  });

  it("ignores an update at or before the last applied one and reports it as a duplicate", async () => {
    const symbol = freshSymbol("DUP");
    const tick = { symbol, ts: OPEN + MINUTE, seq: 7, price: 100, volume: 10 };
    const first = await streaming.update(tick);
    const again = await streaming.update(tick);
    const older = await streaming.update({ ...tick, seq: 6, price: 200 });
    expect([first.vwapStatus, again.vwapStatus, older.vwapStatus]).toEqual(["applied", "duplicate", "duplicate"]);
    expect(again.vwap).toEqual(first.vwap);
    expect(older.vwap).toEqual(first.vwap);
    expect(first.atrStatus).toBe("skipped"); // a tick is not a bar
  });

  it("resets VWAP at the first tick of a new IST session and ignores pre-open ticks", async () => {
    const symbol = freshSymbol("SESSION");
    await streaming.update({ symbol, ts: OPEN + MINUTE, seq: 1, price: 100, volume: 10 });
    const day1 = await streaming.update({ symbol, ts: OPEN + 2 * MINUTE, seq: 2, price: 110, volume: 10 });
    expect(day1.vwap!.vwap).toBe(105);
    const preopen = await streaming.update({ symbol, ts: OPEN + 86_400_000 - 10 * MINUTE, seq: 3, price: 500, volume: 10 }); // 09:05 next day
    expect(preopen.vwapStatus).toBe("preopen");
    expect(preopen.vwap!.vwap).toBe(105); // still the previous session's
    const day2 = await streaming.update({ symbol, ts: OPEN + 86_400_000, seq: 4, price: 120, volume: 5 }); // 09:15 next day
    expect(day2.vwapStatus).toBe("applied");
    expect(day2.session).toBe(day1.session! + 1);
    expect(day2.vwap).toMatchObject({ vwap: 120, volume: 5, points: 1 });
  });

  it("keeps its state in indicator:{name}:{SYMBOL} hashes with TTL 57,600 s, one hash tag per symbol", async () => {
    const tagged = dispatcher.streaming({ atrPeriod: 14, hashTag: true });
    const symbol = freshSymbol("LAYOUT");
    await tagged.update({ symbol, ts: OPEN, seq: 1, high: 101, low: 99, close: 100, volume: 1 });
    for (const key of [indicatorKey("atr14", symbol, { hashTag: true }), indicatorKey("vwap", symbol, { hashTag: true })]) {
      expect(key).toContain(`{${symbol}}`);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(57_000);
      expect(ttl).toBeLessThanOrEqual(57_600);
    }
    expect(await redis.hget(indicatorKey("atr14", symbol, { hashTag: true }), "prev_close")).toBe("1000000");
  });

  it("reads a snapshot of one symbol and of many in one round trip", async () => {
    const a = freshSymbol("SNAPA");
    const b = freshSymbol("SNAPB");
    await streaming.update({ symbol: a, ts: OPEN, seq: 1, price: 50, volume: 2 });
    await streaming.update({ symbol: b, ts: OPEN, seq: 1, price: 70, volume: 3 });
    expect((await streaming.snapshot(a)).vwap!.vwap).toBe(50);
    const many = await streaming.snapshots([a, b, "NOSUCH", "bad symbol"]);
    expect(many.map((o) => o.ok && o.value.vwap?.vwap)).toEqual([50, 70, undefined, false]);
    expect(!many[3]!.ok && many[3]!.error).toBeInstanceOf(InvalidInputError);
  });

  it("several clients updating the same symbols at once, with duplicates and retries, end where a serial run ends", async () => {
    const symbols = [freshSymbol("CONC"), freshSymbol("CONC"), freshSymbol("CONC")];
    const bars = fc.sample(barSeries(60, 60), { numRuns: 1, seed: 7 })[0]!;
    const feeds = symbols.map((s) => barUpdates(s, bars));
    const clients = Array.from({ length: 4 }, () => sharedDispatcher());
    // every client replays every symbol's feed in order, retrying some updates (a lost reply)
    await Promise.all(
      clients.map(async (client, c) => {
        const s = client.streaming({ atrPeriod: 5 });
        for (let i = 0; i < 60; i++) {
          for (const feed of feeds) {
            await s.update(feed[i]!);
            if ((i + c) % 7 === 0) await s.update(feed[i]!); // retry: must not count twice
          }
        }
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    const serialSymbol = freshSymbol("SERIAL");
    for (const u of barUpdates(serialSymbol, bars)) await streaming.update(u);
    const serial = await streaming.snapshot(serialSymbol);
    for (const symbol of symbols) expect(await streaming.snapshot(symbol)).toEqual(serial);
    expect(serial.atrBars).toBe(60);
  });
});

describe("streaming input validation", () => {
  const tick = { symbol: "NIFTY", ts: OPEN, seq: 1, price: 100, volume: 5 };
  const cases: [string, object, string][] = [
    ["NaN price", { price: Number.NaN }, "price"],
    ["negative price", { price: -1 }, "price"],
    ["negative volume", { volume: -1 }, "volume"],
    ["infinite volume", { volume: Number.POSITIVE_INFINITY }, "volume"],
    ["a timestamp in seconds with a fraction", { ts: 1_764_000_000.5 }, "ts"],
    ["a negative timestamp", { ts: -5 }, "ts"],
    ["a missing price", { price: undefined }, "price"],
    ["a missing sequence number", { seq: undefined }, "seq"],
    ["half a bar", { price: undefined, high: 101 }, "high"],
    ["a bar whose close lies outside it", { price: undefined, high: 101, low: 99, close: 102 }, "close"],
  ];
  it.each(cases)("rejects %s naming %s, before Redis", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.streaming().update({ ...tick, ...patch } as never), field);
  });
});
