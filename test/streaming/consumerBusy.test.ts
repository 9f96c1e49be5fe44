/**
 * `mathd consume` started while another client's long script holds Redis (BUSY). ioredis's own
 * SELECT on connecting is turned away then, which only emits an error and leaves the connection
 * on DB 0: the consumer made an empty stream and group there and applied nothing, for good, while
 * its statistics said all was well. It must confirm the streams' database itself.
 */
import { Redis, ReplyError } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consume } from "../../src/cli/consume.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { type ConsumerCounters, TickConsumer } from "../../src/streaming/tickConsumer.js";
import { ServerBusyError } from "../../src/core/errors.js";
import { deadLetterKey, tickStreamKey } from "../../src/keys/marketData.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { holdServer, ownRedis } from "../support/redis.js";
import { groupCaughtUp } from "../support/streams.js";
import { waitUntil } from "../support/waitUntil.js";

// BUSY reaches every client of a server: a server of its own
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST

describe("the consumer's own SELECT", () => {
  it("is not sent for streams in DB 0, where every connection starts: a user without +select consumes as before", async () => {
    const admin = new Redis(server.url);
    const math = MathDispatcher.connect(server.url);
    const symbol = "DBZERO";
    try {
      await admin.call("ACL", "SETUSER", "noselect", "on", ">pw", "~*", "+@all", "-select");
      for (let i = 0; i < 5; i++) await admin.xadd(tickStreamKey(symbol), "*", "price", String(100 + i), "volume", "5", "ts", String(OPEN + i * 1000));
      const ticks = new Redis(server.url, { username: "noselect", password: "pw", db: 0 });
      const consumer = new TickConsumer(ticks, math.streaming(), { symbols: [symbol], database: 0, blockMs: 50 });
      try {
        await consumer.ensureGroups();
        expect(await consumer.runOnce()).toBe(5);
      } finally {
        ticks.disconnect();
      }
    } finally {
      await admin.call("ACL", "DELUSER", "noselect");
      await admin.del(tickStreamKey(symbol));
      admin.disconnect();
      await math.close();
    }
  });
});

describe("the consumer started during another client's long script", () => {
  it("reads the streams' database once the script ends, and applies every entry; DB 0 is left alone", async () => {
    const symbol = "BUSYSTART";
    const stream = tickStreamKey(symbol);
    const [ticks, db0, blocker] = [new Redis(server.url, { db: 4 }), new Redis(server.url, { db: 0 }), new Redis(server.url)];
    const stop = new AbortController();
    try {
      for (let i = 0; i < 20; i++) await ticks.xadd(stream, "*", "price", String(100 + i), "volume", "5", "ts", String(OPEN + i * 1000));
      await blocker.config("SET", "busy-reply-threshold", "50");
      // 2 s of a script: every other command, ioredis's SELECT on connecting included, is turned away with BUSY
      const blocking = holdServer(blocker, 2_000);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const done = consume({ url: server.url, symbols: [symbol], signal: stop.signal, log: () => undefined });
      await blocking;
      await waitUntil(() => groupCaughtUp(ticks, stream), "the consumer read the stream in DB 4", 15_000);
      stop.abort();
      expect(await done).toMatchObject({ applied: 20, deadLetters: 0 });
      expect(await db0.exists(stream)).toBe(0);
    } finally {
      stop.abort();
      await blocker.config("SET", "busy-reply-threshold", "5000");
      for (const connection of [ticks, db0, blocker]) connection.disconnect();
    }
  });
});

describe("a reconnect in the middle of a step", () => {
  // The connection is lost after a step's updates and made again before its dead letters and acks,
  // and the new connection is on DB 0, as when its own SELECT was turned away (BUSY, as above: the
  // ioredis race that does that is a matter of microseconds, so here it is put there by hand).
  async function interruptedStep(symbol: string, afterReconnect: (ticks: Redis) => Promise<unknown>) {
    const stream = tickStreamKey(symbol);
    // the consumer's connection, and two of the test's own to look at DB 4 and DB 0
    const [ticks, db4, db0] = [new Redis(server.url, { db: 4 }), new Redis(server.url, { db: 4 }), new Redis(server.url, { db: 0 })];
    const math = MathDispatcher.connect(server.url);
    const live = math.streaming();
    const updateMany = live.updateMany.bind(live);
    let reconnected = false;
    live.updateMany = async (updates) => {
      const outcomes = await updateMany(updates);
      if (!reconnected) {
        reconnected = true;
        const lost = ticks.stream;
        lost.destroy();
        await waitUntil(() => ticks.status === "ready" && ticks.stream !== lost, "ioredis connected again", 5_000);
        await ticks.select(0);
        await afterReconnect(ticks);
      }
      return outcomes;
    };
    await db4.xadd(stream, "*", "price", "100", "volume", "5", "ts", String(OPEN));
    await db4.xadd(stream, "*", "price", "not a price", "volume", "5", "ts", String(OPEN + 1000)); // a dead letter
    const consumer = new TickConsumer(ticks, live, { symbols: [symbol], blockMs: 50 });
    await consumer.ensureGroups();
    const inDb0 = () => db0.exists(deadLetterKey(symbol), stream);
    const close = async () => {
      for (const connection of [ticks, db4, db0]) connection.disconnect();
      await math.close();
    };
    /** Both entries settled in DB 4, none left pending, nothing in DB 0; the counters as given. */
    const expectSettledInDb4 = async (totals: Partial<ConsumerCounters>) => {
      expect(consumer.totals).toMatchObject(totals);
      expect(await db4.xlen(deadLetterKey(symbol))).toBe(1);
      expect(await consumer.stats()).toMatchObject({ pending: 0 });
      expect(await inDb0()).toBe(0);
    };
    return { consumer, inDb0, expectSettledInDb4, close };
  }

  it("selects DB 4 again before the step's writes: the dead letter and the acks land there, nothing in DB 0", async () => {
    const { consumer, expectSettledInDb4, close } = await interruptedStep("MIDSTEP", async () => undefined);
    try {
      expect(await consumer.runOnce()).toBe(1);
      await expectSettledInDb4({ applied: 1, deadLetters: 1, duplicates: 0 });
    } finally {
      await close();
    }
  });

  it("a SELECT turned away again (BUSY) fails the step, typed: no write goes out on DB 0, and the next step settles the entries in DB 4", async () => {
    // The server is free here, so a write sent without the SELECT's answer would land in DB 0; the
    // BUSY is that one SELECT's reply, given in place of the server's (a long script holding the
    // server would turn the writes away too, and the test could not tell).
    const { consumer, inDb0, expectSettledInDb4, close } = await interruptedStep("MIDSTEPBUSY", async (ticks) => {
      const select = ticks.select.bind(ticks);
      ticks.select = (async () => {
        ticks.select = select;
        throw new ReplyError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
      }) as typeof ticks.select;
    });
    try {
      await expect(consumer.runOnce()).rejects.toBeInstanceOf(ServerBusyError);
      expect(await inDb0()).toBe(0);
      // the entries stayed pending: read again, the tick is a duplicate now, the bad one a dead letter
      expect(await consumer.runOnce()).toBe(0);
      await expectSettledInDb4({ applied: 0, deadLetters: 1, duplicates: 1 });
    } finally {
      await close();
    }
  });
});
