/**
 * A tick stream that vanishes under the consumer (deleted, evicted under an evicting maxmemory
 * policy, expired, or a server restarted empty) takes its unconsumed entries with it. The
 * consumer made its group again without a word, and `mathd consume` then showed `lag 0`: now the
 * loss is an event, `streamLost`, naming the last entry known applied, and a line of the log.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consume } from "../../src/cli/consume.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { type StreamLostEvent, TickConsumer, type TickConsumerOptions } from "../../src/streaming/tickConsumer.js";
import { ownRedis } from "../support/redis.js";
import { groupCaughtUp } from "../support/streams.js";
import { waitUntil } from "../support/waitUntil.js";

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
let server: LocalRedisServer;
let ticks: Redis;
beforeAll(async () => {
  server = await ownRedis(); // streams are deleted under a running consumer
  ticks = new Redis(server.url, { db: 4 });
});
afterAll(async () => {
  ticks.disconnect();
  await server.stop();
});

/** Writes ticks `from`..`to - 1` of `symbol`; resolves to their IDs. */
async function add(symbol: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < to; i++) ids.push((await ticks.xadd(tickStreamKey(symbol), "*", "price", "99.5", "volume", "1", "ts", String(OPEN + i * 1000))) as string);
  return ids;
}

/** A consumer of `symbol`'s stream alone, recording its streamLost events and errors; `close` stops and closes it all. */
function watched(symbol: string, options: Partial<TickConsumerOptions> = {}) {
  const math = MathDispatcher.connect(server.url);
  const connection = new Redis(server.url, { db: 4 });
  const consumer = new TickConsumer(connection, math.streaming(), { symbols: [symbol], consumer: "c", ...options });
  const lost: StreamLostEvent[] = [];
  const errors: unknown[] = [];
  consumer.on("streamLost", (l: StreamLostEvent) => lost.push(l));
  consumer.on("error", (error) => errors.push(error));
  let running: Promise<void> | undefined;
  return {
    stream: tickStreamKey(symbol),
    connection,
    consumer,
    lost,
    errors,
    run: () => (running = consumer.run()),
    close: async () => {
      consumer.stop();
      await running;
      connection.disconnect();
      await math.close();
    },
  };
}

describe("a stream lost under the consumer", () => {
  it("while it is behind: streamLost names the last entry applied, once, and the new entries are applied", async () => {
    const symbol = "LOSTBEHIND";
    const { stream, connection, consumer, lost, errors, run, close } = watched(symbol, { count: 4, blockMs: 50, retryDelayMs: 50 });
    try {
      const ids = await add(symbol, 0, 10);
      await connection.ping(); // connected: a connection not yet ready is no place to write
      await consumer.ensureGroups();
      expect(await consumer.runOnce()).toBe(4); // 6 entries left behind
      await ticks.del(stream); // evicted, say; the feed writes it anew with the next ticks
      await add(symbol, 10, 13);
      run();
      await waitUntil(() => consumer.totals.applied === 7, "the new entries were applied");
      expect(await groupCaughtUp(ticks, stream)).toBe(true);
      expect(lost).toEqual([{ stream, symbol, lastAckedId: ids[3], lastDeliveredId: ids[3] }]);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it("while its read waits on it (UNBLOCKED): one streamLost, no error, and the group made again", async () => {
    const symbol = "LOSTBLOCKED";
    // stop() waits out the read it is in
    const { stream, connection, consumer, lost, errors, run, close } = watched(symbol, { blockMs: 2000, retryDelayMs: 50 });
    try {
      const ids = await add(symbol, 0, 3);
      await connection.ping();
      run();
      await waitUntil(() => groupCaughtUp(ticks, stream), "the first entries were applied");
      await waitUntil(async () => Number((await ticks.info("clients")).match(/blocked_clients:(\d+)/)![1]) === 1, "the consumer waits on its stream");
      await ticks.del(stream);
      await waitUntil(async () => (await ticks.exists(stream)) === 1, "the consumer made the stream and its group again");
      await add(symbol, 3, 5);
      await waitUntil(() => consumer.totals.applied === 5, "the new entries were applied");
      expect(lost).toEqual([{ stream, symbol, lastAckedId: ids[2], lastDeliveredId: ids[2] }]);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it("not when it had read the stream to its end: a quiet stream's expiry, every night, loses nothing", async () => {
    const symbol = "LOSTQUIET";
    const { stream, connection, consumer, lost, run, close } = watched(symbol, { blockMs: 50, retryDelayMs: 50 });
    try {
      await add(symbol, 0, 3);
      await connection.ping();
      await consumer.ensureGroups();
      expect(await consumer.runOnce()).toBe(3);
      expect(await consumer.runOnce()).toBe(0); // read to its end: nothing new
      await ticks.del(stream); // its TTL, 16 hours after the last tick
      run();
      await add(symbol, 3, 5); // the next session's ticks
      await waitUntil(() => consumer.totals.applied === 5, "the next session's entries were applied");
      expect(lost).toEqual([]);
    } finally {
      await close();
    }
  });

  it("found at start with its group and nothing pending: the group's last entry is the one named", async () => {
    const symbol = "LOSTSTART";
    const { stream, connection, consumer, lost, close } = watched(symbol);
    try {
      const ids = await add(symbol, 0, 2);
      await ticks.xgroup("CREATE", stream, "mathd", "$"); // an earlier run read and acknowledged them
      await connection.ping();
      await consumer.ensureGroups();
      await ticks.del(stream);
      await consumer.ensureGroups();
      await consumer.ensureGroups(); // the group is there again: nothing more was lost
      expect(lost).toEqual([{ stream, symbol, lastAckedId: ids[1], lastDeliveredId: ids[1] }]);
    } finally {
      await close();
    }
  });
});

describe("mathd consume", () => {
  it.each([false, true])("logs a lost stream once, with the last entry applied (json: %s)", async (json) => {
    const symbol = json ? "LOSTJSON" : "LOSTTEXT";
    const stream = tickStreamKey(symbol);
    const lines: string[] = [];
    const abort = new AbortController();
    const done = consume({ url: server.url, symbols: [symbol], consumer: "cli", json, statsIntervalMs: 60_000, log: (line) => lines.push(line), signal: abort.signal });
    try {
      const ids = await add(symbol, 0, 5);
      await waitUntil(() => groupCaughtUp(ticks, stream), "the first entries were applied");
      await ticks.del(stream);
      await add(symbol, 5, 8);
      await waitUntil(() => groupCaughtUp(ticks, stream), "the new entries were applied");
      const reported = lines.filter((l) => l.includes("streamLost") || l.includes("lost group"));
      expect(reported).toHaveLength(1);
      if (json) {
        expect(JSON.parse(reported[0] as string)).toMatchObject({ event: "streamLost", stream, symbol, lastAckedId: ids[4], lastDeliveredId: ids[4] });
      } else {
        expect(reported[0]).toBe(
          `stream ${stream} lost group mathd (deleted, evicted, expired, or the server came back empty): entries after ${ids[4]} it held were never applied; the group is made again`,
        );
      }
    } finally {
      abort.abort();
      await done;
    }
  });
});
