import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError, ScriptExecutionError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { deadLetterKey, tickStreamKey } from "../../src/keys/marketData.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { ownRedis } from "../support/redis.js";
import { waitUntil } from "../support/waitUntil.js";

// One read applies every stream's entries in one updateMany. When one symbol's call meets Redis
// trouble (here an ACL that refuses its keys: NOPERM), that stream stays pending and the error
// reaches the caller, while the other streams' entries, applied, are acknowledged.
let server: LocalRedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await ownRedis(); // its own server: the test adds an ACL user
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST

describe("a read whose update fails for one stream", () => {
  it("leaves that stream pending, throws its error, and acknowledges the others", async () => {
    await admin.call("ACL", "SETUSER", "onlyok", "on", ">secret", "+@all", "~indicator:*OK*");
    const url = new URL(server.url);
    const math = MathDispatcher.connect(`redis://onlyok:secret@${url.host}`);
    const ticks = new Redis(server.url, { db: 4 });
    try {
      for (const symbol of ["BAD", "OK"]) {
        for (let i = 0; i < 5; i++) await ticks.xadd(tickStreamKey(symbol), "*", "price", String(100 + i), "volume", "10", "ts", String(OPEN + i));
      }
      // BAD first: a consumer that stopped at the first failing stream would leave OK unacknowledged
      const consumer = new TickConsumer(ticks, math.streaming(), { symbols: ["BAD", "OK"], consumer: "c", blockMs: 10 });
      await consumer.ensureGroups();
      const error = await consumer.runOnce().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScriptExecutionError);
      expect(String((error as Error).cause)).toMatch(/NOPERM/);
      const pending = async (symbol: string) => Number(((await ticks.xpending(tickStreamKey(symbol), "mathd")) as [number])[0]);
      expect(await pending("BAD")).toBe(5);
      expect(await pending("OK")).toBe(0);
      expect((await math.streaming().snapshot("OK")).vwap?.points).toBe(5);
    } finally {
      ticks.disconnect();
      await math.close();
    }
  }, 30_000);
});

describe("a stored state the script refuses", () => {
  it("leaves the symbol's entries pending, not dead-lettered, while the other symbols go on, and applies them once the state is mended", async () => {
    const math = MathDispatcher.connect(server.url);
    const ticks = new Redis(server.url, { db: 4 });
    const patterns = new Redis(server.url, { db: 10 });
    const add = async (symbol: string, from: number, to: number) => {
      for (let i = from; i < to; i++) await ticks.xadd(tickStreamKey(symbol), "*", "price", String(100 + i), "volume", "10", "ts", String(OPEN + i));
    };
    const pending = async (symbol: string) => Number(((await ticks.xpending(tickStreamKey(symbol), "mathd")) as [number])[0]);
    try {
      const [damaged, healthy] = ["DAMAGED", "HEALTHY"];
      await patterns.set(`indicator:vwap:${damaged}`, "not a state"); // written by hand, say
      await add(damaged, 0, 5);
      await add(healthy, 0, 5);
      const consumer = new TickConsumer(ticks, math.streaming(), { symbols: [damaged, healthy], consumer: "c", blockMs: 10 });
      await consumer.ensureGroups();
      const error = await consumer.runOnce().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe("vwap_state");
      expect(consumer.totals).toMatchObject({ applied: 5, deadLetters: 0 });
      expect(await ticks.exists(deadLetterKey(damaged))).toBe(0);
      expect(await pending(damaged)).toBe(5);
      // the next passes: the damaged symbol's entries are read again; the healthy one's new ticks
      // are applied meanwhile (they waited behind the damaged symbol's pending entries)
      await add(healthy, 5, 8);
      await consumer.runOnce().catch(() => undefined);
      expect((await math.streaming().snapshot(healthy)).vwap?.points).toBe(8);
      expect(await pending(damaged)).toBe(5);
      await patterns.del(`indicator:vwap:${damaged}`);
      expect(await consumer.runOnce()).toBe(5); // its pending entries, in order
      expect((await math.streaming().snapshot(damaged)).vwap?.points).toBe(5);
      expect(consumer.totals).toMatchObject({ applied: 13, deadLetters: 0 });
    } finally {
      ticks.disconnect();
      patterns.disconnect();
      await math.close();
    }
  }, 30_000);

  it("hears stop() given while a pass is under way: a pass that then fails does not pause before run() ends", async () => {
    const math = MathDispatcher.connect(server.url);
    const ticks = new Redis(server.url, { db: 4 });
    const patterns = new Redis(server.url, { db: 10 });
    try {
      const damaged = "DAMAGEDSTOP";
      await patterns.set(`indicator:vwap:${damaged}`, "not a state");
      await ticks.xadd(tickStreamKey(damaged), "*", "price", "100", "volume", "10", "ts", String(OPEN));
      // a pause of a minute after a pass that settled nothing
      const consumer = new TickConsumer(ticks, math.streaming(), { symbols: [damaged], consumer: "c", blockMs: 10, retryDelayMs: 60_000 });
      // the error event comes before the pause: a stop() there is a stop() during the pass
      consumer.on("error", () => consumer.stop());
      const ended = consumer.run().then(() => "ended");
      const pausing = new Promise((resolve) => setTimeout(resolve, 10_000, "still pausing"));
      expect(await Promise.race([ended, pausing])).toBe("ended");
    } finally {
      ticks.disconnect();
      patterns.disconnect();
      await math.close();
    }
  }, 30_000);

  it("lets the other symbols through at full speed meanwhile: the pause after a failed pass is for passes that settled nothing", async () => {
    const math = MathDispatcher.connect(server.url);
    const ticks = new Redis(server.url, { db: 4 });
    const patterns = new Redis(server.url, { db: 10 });
    try {
      const [damaged, busy] = ["DAMAGEDTOO", "BUSY"];
      await patterns.set(`indicator:vwap:${damaged}`, "not a state");
      await ticks.xadd(tickStreamKey(damaged), "*", "price", "100", "volume", "10", "ts", String(OPEN));
      for (let i = 0; i < 200; i++) await ticks.xadd(tickStreamKey(busy), "*", "price", String(100 + (i % 7)), "volume", "10", "ts", String(OPEN + i));
      // a pause of a minute after a failed pass: 200 entries, 32 a pass, would take minutes
      const consumer = new TickConsumer(ticks, math.streaming(), { symbols: [damaged, busy], consumer: "c", blockMs: 10, retryDelayMs: 60_000 });
      const errors: unknown[] = [];
      consumer.on("error", (error: unknown) => errors.push(error));
      const running = consumer.run();
      try {
        await waitUntil(async () => (await math.streaming().snapshot(busy)).vwap?.points === 200, "the busy symbol's 200 ticks are applied", 10_000);
      } finally {
        consumer.stop();
        await running;
      }
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((error) => error instanceof InvalidInputError && error.field === "vwap_state")).toBe(true);
    } finally {
      ticks.disconnect();
      patterns.disconnect();
      await math.close();
    }
  }, 30_000);
});
