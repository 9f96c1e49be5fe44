import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";
import { mixedCall } from "./workload.js";

// A fresh connect() and 1,000 calls at once, as a risk manager does at 09:15: every connection a
// call uses (DB 10, and DB 5 and DB 11 for dispatch's inputs) must be ready before its command.
const SESSION_TS = Date.UTC(2025, 10, 24, 4, 40); // 10:10 IST
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
  const seed = new Redis(server.url);
  await seed.select(11);
  await seed.set("news:latest:BURST", JSON.stringify([{ sentiment: 0.4, relevance: 0.9, published_at: SESSION_TS - 60_000 }]));
  await seed.select(5);
  await seed.hset("volume:baseline:BURST:10:10", "average", "1000");
  seed.disconnect();
});
afterAll(() => server.stop());

const signal = (i: number) => ({
  symbol: "BURST",
  side: "long" as const,
  entry: 24000 + (i % 50) * 0.05,
  time: SESSION_TS,
  baseConfidence: 0.6,
  atr: 30,
  currentVolume: 1500,
  account: { capital: 2_000_000, risk: 0.01, lotSize: 75 },
});

describe("a burst on a fresh connection", () => {
  it("1,000 concurrent calls of every kind all succeed", async () => {
    const math = MathDispatcher.connect(server.url);
    const live = math.streaming();
    const calls: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 1000; i++) {
      switch (i % 8) {
        case 0:
        case 1:
          calls.push(() => mixedCall(i).run(math)); // atr, vwap, stopLoss, dispatch, batch in turn
          break;
        case 2:
          calls.push(() => math.dispatch(signal(i))); // reads DB 5 and DB 11
          break;
        case 3:
          calls.push(() => math.dispatchMany([signal(i), signal(i + 1)])); // its outcomes, a failed one among the batch failures below
          break;
        case 4:
          calls.push(() => live.update({ symbol: `B${i % 10}`, ts: SESSION_TS + i, seq: i, price: 24000 + (i % 7) * 0.05, volume: 10 }));
          break;
        case 5:
          calls.push(() => live.updateMany([{ symbol: `M${i % 10}`, ts: SESSION_TS + i, seq: i, high: 24010, low: 24000, close: 24005, volume: 10 }]));
          break;
        case 6:
          calls.push(() => live.snapshots(["B1", "M1"]));
          break;
        default:
          calls.push(() => math.positionSize({ symbol: "BURST", capital: 2_000_000, risk: 0.01, entry: 24000, stop: 23950, lotSize: 75 }));
      }
    }
    const outcomes = await Promise.allSettled(calls.map((call) => call()));
    const failed = outcomes.filter((o) => o.status === "rejected");
    const batchFailures = outcomes.flatMap((o) =>
      o.status === "fulfilled" && Array.isArray(o.value) ? o.value.filter((x: { ok?: boolean }) => x?.ok === false) : [],
    );
    console.log(`burst: ${outcomes.length} calls, ${failed.length} failed, ${batchFailures.length} failed batch entries`);
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
    expect(batchFailures).toEqual([]);
    const decisions = await math.dispatch(signal(1));
    expect(decisions.sources).toEqual({ news: "redis", volumeRatio: "redis", volumeRatioUsed: 1.5 });
    await math.close();
  });
});
