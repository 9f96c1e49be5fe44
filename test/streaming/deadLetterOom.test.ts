import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { deadLetterKey, tickStreamKey } from "../../src/keys/marketData.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { ownRedis } from "../support/redis.js";

// A bad tick is acknowledged only once its dead letter is written: a server out of memory refuses
// the XADD, and the entry must then stay pending (read again later), not be acked and lost.
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis(); // its memory limit is changed below
});
afterAll(() => server.stop());

describe("dead letters when the server is out of memory", () => {
  it("leaves the bad entry pending, then dead-letters it once memory is back", async () => {
    const math = MathDispatcher.connect(server.url);
    const ticks = new Redis(server.url, { db: 4 });
    const admin = new Redis(server.url);
    const symbol = "OOMDEAD";
    try {
      await math.load();
      await ticks.xadd(tickStreamKey(symbol), "*", "price", "not-a-price", "volume", "10", "ts", String(Date.UTC(2026, 10, 26, 4, 30)));
      const consumer = new TickConsumer(ticks, math.streaming(), { symbols: [symbol], consumer: "oom", blockMs: 100 });
      await consumer.ensureGroups();
      await admin.config("SET", "maxmemory-policy", "noeviction");
      await admin.config("SET", "maxmemory", "1");
      const underOom = await consumer.runOnce().catch((error: unknown) => error);
      expect((underOom as Error).message).toMatch(/OOM/);
      expect((await consumer.stats()).pending).toBe(1); // not acked
      expect(await ticks.xlen(deadLetterKey(symbol))).toBe(0);
      await admin.config("SET", "maxmemory", "0");
      expect(await consumer.runOnce()).toBe(0);
      expect(await ticks.xlen(deadLetterKey(symbol))).toBe(1);
      expect((await consumer.stats()).pending).toBe(0);
    } finally {
      await admin.config("SET", "maxmemory", "0");
      admin.disconnect();
      ticks.disconnect();
      await math.close();
    }
  });
});
