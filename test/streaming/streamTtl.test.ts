/**
 * The tick consumer never leaves a key without a TTL (mathd health flags those): a stream it has
 * to create for its group (MKSTREAM, before the ingester wrote anything) gets the `ticks`
 * family's TTL; a stream that exists keeps whatever TTL its writer gave it. And a consumer
 * stopped while it waits for another consumer (live, or its entries not idle enough to claim)
 * reads nothing newer than that consumer's entries.
 */
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { keyFamily } from "../../src/keys/grammar.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { sharedDispatcher } from "../support/dispatcher.js";
import { waitUntil } from "../support/waitUntil.js";
import { sharedRedisUrl } from "../support/redis.js";

const url = sharedRedisUrl();
const ticks = new Redis(url, { db: 4 });
const connections: Redis[] = [];
const dispatcher = sharedDispatcher();
afterAll(async () => {
  ticks.disconnect();
  connections.forEach((c) => c.disconnect());
  await dispatcher.close();
});
const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
const TTL = keyFamily("ticks").ttlSeconds;

function consumerOf(symbols: string[], options: { consumer?: string; claimIdleMs?: number } = {}, connection = new Redis(url, { db: 4 })) {
  connections.push(connection);
  return new TickConsumer(connection, dispatcher.streaming(), { symbols, consumer: "ttl-test", blockMs: 100, ...options });
}

describe("streams the consumer creates", () => {
  it("a missing stream is created with its group and the family's TTL", async () => {
    const stream = tickStreamKey("TTLNEW");
    await ticks.del(stream);
    await consumerOf(["TTLNEW"]).ensureGroups();
    expect(await ticks.type(stream)).toBe("stream");
    const ttl = await ticks.ttl(stream);
    expect(ttl).toBeGreaterThan(TTL - 60);
    expect(ttl).toBeLessThanOrEqual(TTL);
    const groups = (await ticks.xinfo("GROUPS", stream)) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual(["mathd"]);
    // a second start finds the group (BUSYGROUP) and leaves the stream as it is
    await consumerOf(["TTLNEW"]).ensureGroups();
    expect(await ticks.ttl(stream)).toBeGreaterThan(TTL - 60);
  });

  it("an existing stream keeps its writer's TTL, or its lack of one", async () => {
    const withTtl = tickStreamKey("TTLOWN");
    const without = tickStreamKey("TTLNONE");
    await ticks.del(withTtl, without);
    await ticks.xadd(withTtl, "*", "price", "100", "volume", "1", "ts", String(OPEN));
    await ticks.expire(withTtl, 300);
    await ticks.xadd(without, "*", "price", "100", "volume", "1", "ts", String(OPEN));
    await consumerOf(["TTLOWN", "TTLNONE"]).ensureGroups();
    const own = await ticks.ttl(withTtl);
    expect(own).toBeGreaterThan(0);
    expect(own).toBeLessThanOrEqual(300);
    expect(await ticks.ttl(without)).toBe(-1); // not the consumer's key to change
    expect(await ticks.xlen(withTtl)).toBe(1);
  });

  it("a stream that expired while the consumer ran is made again with the TTL (NOGROUP path)", async () => {
    const symbol = "TTLGONE";
    const stream = tickStreamKey(symbol);
    await ticks.del(stream);
    const consumer = consumerOf([symbol]);
    await consumer.ensureGroups();
    await ticks.del(stream); // as if its TTL ran out on a quiet night
    const running = consumer.run();
    await waitUntil(async () => (await ticks.exists(stream)) === 1, "the consumer made the stream again");
    consumer.stop();
    await running;
    expect(await ticks.ttl(stream)).toBeGreaterThan(TTL - 60);
  });
});

describe("stopped while waiting for another consumer", () => {
  it("reads nothing newer than the entries it waits for", async () => {
    const symbol = "TTLWAIT";
    const stream = tickStreamKey(symbol);
    await ticks.del(stream);
    for (let i = 0; i < 3; i++) await ticks.xadd(stream, "*", "price", "100", "volume", "5", "ts", String(OPEN + i * 1000));
    await ticks.xgroup("CREATE", stream, "mathd", "0");
    await ticks.xreadgroup("GROUP", "mathd", "gone", "COUNT", 1, "STREAMS", stream, ">"); // the first entry, left pending by "gone"
    // "gone" read a moment ago: live for claimIdleMs, so the consumer waits for it (and then for its entry to go idle)
    const consumer = consumerOf([symbol], { consumer: "waiter", claimIdleMs: 3_600_000 }, new Redis(url, { db: 4 }));
    let waiting = false;
    consumer.once("waiting", () => (waiting = true));
    const running = consumer.run();
    await waitUntil(() => waiting, "the consumer waits for the other one");
    consumer.stop();
    await running;
    expect(consumer.totals).toMatchObject({ applied: 0, claimed: 0 });
    const groups = (await ticks.xinfo("GROUPS", stream)) as unknown[][];
    const group = Object.fromEntries(Array.from({ length: groups[0]!.length / 2 }, (_, i) => [groups[0]![2 * i], groups[0]![2 * i + 1]]));
    expect(group).toMatchObject({ pending: 1, lag: 2 }); // the two newer entries were never delivered
  });
});
