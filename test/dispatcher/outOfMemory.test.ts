import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisCommandError, ServerOutOfMemoryError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { isTransient } from "../../src/redis/ResilientRedis.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";

// Redis at maxmemory with noeviction refuses every script that may write before it runs: every
// math script, since each caches its result, a hit included. Their read-only variants (no-writes)
// run there, so the SDK sends a refused call once more as its variant: the risk manager still
// sizes a trade from the entries DB 10 holds, or from a result computed and not stored.
let server: LocalRedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await ownRedis(); // its memory limit is changed below
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

const bars = (from: number) => Array.from({ length: 20 }, (_, i) => ({ high: from + i + 2, low: from + i, close: from + i + 1 }));
const SESSION_TS = Date.UTC(2026, 10, 27, 4, 40); // 10:10 IST

describe("a server at maxmemory (noeviction)", () => {
  it("answers a hit and a miss of every cached function from the read-only variants; a streaming update fails as ServerOutOfMemoryError", async () => {
    const math = MathDispatcher.connect(server.url);
    const patterns = new Redis(server.url, { db: 10 });
    try {
      const stored = await math.atr({ symbol: "OOM", period: 14, bars: bars(100) });
      const keys = await patterns.dbsize();
      await admin.config("SET", "maxmemory-policy", "noeviction");
      await admin.config("SET", "maxmemory", "1");

      expect(await math.atr({ symbol: "OOM", period: 14, bars: bars(100) })).toMatchObject({ cache: "hit", atr: stored.atr });
      expect(await math.atr({ symbol: "OOM", period: 14, bars: bars(200) })).toMatchObject({ cache: "miss" });
      const signal = { symbol: "OOM", side: "long" as const, entry: 24000, time: SESSION_TS, baseConfidence: 0.6, atr: 30, news: [], volumeRatio: 1, account: { capital: 2_000_000, risk: 0.01, lotSize: 75 } };
      expect((await math.dispatch(signal)).size.lots).toBeGreaterThan(0);
      const outcomes = await math.batch([
        { fn: "atr", input: { symbol: "OOM", period: 14, bars: bars(100) } },
        { fn: "stopLoss", input: { symbol: "OOM", side: "long", entry: 100, atr: 2 } },
      ]);
      expect(outcomes.map((o) => o.ok && o.value.cache)).toEqual(["hit", "miss"]);
      expect(await patterns.dbsize()).toBe(keys); // nothing was written

      const update = await math
        .streaming()
        .update({ symbol: "OOM", ts: SESSION_TS, seq: 1, price: 100, volume: 10 })
        .catch((error: unknown) => error);
      expect(update).toBeInstanceOf(ServerOutOfMemoryError);
      expect(update).toBeInstanceOf(RedisCommandError);
      expect((update as Error).message).toMatch(/^OOM command not allowed/);
      expect(isTransient(update)).toBe(false); // it lasts until memory is freed: no retries
    } finally {
      await admin.config("SET", "maxmemory", "0");
      patterns.disconnect();
      await math.close();
    }
  });
});
