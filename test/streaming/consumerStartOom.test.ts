/**
 * A consumer started while Redis is at its maxmemory (noeviction): every XGROUP CREATE is refused
 * there (OOM) before Redis looks for the group, so a start that sent one for a group that exists
 * never got ready, and `mathd consume` exited 2 as "timeout: not connected" from a server that
 * answered. Where the groups exist it starts, and its entries wait pending as they do for a
 * consumer that was running; a group it must make is the server's OOM, reported as such.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consume } from "../../src/cli/consume.js";
import { ConnectionError, ServerOutOfMemoryError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { ownRedis } from "../support/redis.js";
import { waitUntil } from "../support/waitUntil.js";

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
let server: LocalRedisServer;
let admin: Redis;
let ticks: Redis;
beforeAll(async () => {
  server = await ownRedis(); // its memory limit is changed below
  admin = new Redis(server.url);
  ticks = new Redis(server.url, { db: 4 });
  await admin.config("SET", "maxmemory-policy", "noeviction");
});
afterAll(async () => {
  admin.disconnect();
  ticks.disconnect();
  await server.stop();
});

/** Writes `count` ticks of `symbol` and makes the group on its stream, as an earlier run of the consumer did. */
async function streamWithGroup(symbol: string, count: number): Promise<string> {
  const stream = tickStreamKey(symbol);
  for (let i = 0; i < count; i++) await ticks.xadd(stream, "*", "price", "100.5", "volume", "2", "ts", String(OPEN + i * 1000));
  await ticks.xgroup("CREATE", stream, "mathd", "0");
  return stream;
}

async function pendingOf(stream: string): Promise<number> {
  const [group] = (await ticks.xinfo("GROUPS", stream)) as unknown[][];
  return Number(group![group!.indexOf("pending") + 1]);
}

/** Runs `body` with the server at its maxmemory (every write refused), then gives it its memory back. */
async function atMaxmemory(body: () => Promise<void>): Promise<void> {
  await admin.config("SET", "maxmemory", "1");
  try {
    await body();
  } finally {
    await admin.config("SET", "maxmemory", "0");
  }
}

describe("a consumer started at maxmemory", () => {
  it("starts where its groups exist, leaves the entries pending, and applies them once memory is back", async () => {
    const math = MathDispatcher.connect(server.url);
    const connection = new Redis(server.url, { db: 4 });
    const stream = await streamWithGroup("OOMSTART", 10);
    const consumer = new TickConsumer(connection, math.streaming(), { symbols: ["OOMSTART"], consumer: "late", blockMs: 50, retryDelayMs: 50 });
    const errors: unknown[] = [];
    let ready = 0;
    consumer.on("error", (error) => errors.push(error));
    consumer.on("ready", () => ready++);
    let running: Promise<void> | undefined;
    try {
      await math.load();
      await connection.ping(); // connected: a connection not yet ready is no place to write
      await atMaxmemory(async () => {
        await consumer.ensureGroups(); // was: OOM command not allowed
        running = consumer.run();
        await waitUntil(async () => (await pendingOf(stream)) === 10, "the entries were read and left pending");
        expect(ready).toBe(1);
        expect(consumer.totals.applied).toBe(0);
        expect(errors.length).toBeGreaterThan(0);
        for (const error of errors) expect(error).toBeInstanceOf(ServerOutOfMemoryError);
      });
      await waitUntil(() => consumer.totals.applied === 10, "the entries were applied once memory was back");
      expect(await pendingOf(stream)).toBe(0);
    } finally {
      consumer.stop();
      await running;
      connection.disconnect();
      await math.close();
    }
  });

  it("is refused with the server's ServerOutOfMemoryError where it must make a group", async () => {
    const math = MathDispatcher.connect(server.url);
    const connection = new Redis(server.url, { db: 4 });
    await ticks.xadd(tickStreamKey("OOMNOGROUP"), "*", "price", "100.5", "volume", "2", "ts", String(OPEN));
    const consumer = new TickConsumer(connection, math.streaming(), { symbols: ["OOMNOGROUP", "OOMNOSTREAM"], consumer: "late" });
    try {
      await connection.ping(); // connected: a connection not yet ready is no place to write
      await atMaxmemory(async () => {
        expect(await consumer.ensureGroups().catch((e: unknown) => e)).toBeInstanceOf(ServerOutOfMemoryError);
      });
    } finally {
      connection.disconnect();
      await math.close();
    }
  });
});

describe("mathd consume started at maxmemory", () => {
  it("runs where the group exists: its entries wait pending, and the run ends with its summary", async () => {
    const stream = await streamWithGroup("OOMCLI", 5);
    const lines: string[] = [];
    const abort = new AbortController();
    let done: Promise<unknown> | undefined;
    await atMaxmemory(async () => {
      done = consume({ url: server.url, symbols: ["OOMCLI"], consumer: "cli", statsIntervalMs: 60_000, log: (line) => lines.push(line), signal: abort.signal });
      // read by the consumer, so it started: it reads nothing before its groups are made
      await waitUntil(async () => (await pendingOf(stream)) === 5, "the consumer read the entries");
      abort.abort();
      expect(await done).toMatchObject({ applied: 0, pending: 5 });
    });
    expect(lines.filter((l) => /OOM command not allowed/.test(l))).toHaveLength(1); // logged once, as a consumer error
    expect(lines.some((l) => / (unreachable|does not answer in time) /.test(l))).toBe(false);
  });

  it("where it must make its group, fails with the server's OOM, not a connection timeout", async () => {
    const lines: string[] = [];
    await atMaxmemory(async () => {
      const error = await consume({ url: server.url, symbols: ["OOMCLINEW"], consumer: "cli", statsIntervalMs: 60_000, log: (line) => lines.push(line) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServerOutOfMemoryError);
      expect(error).not.toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/^not started within \d+ ms of the start: OOM command not allowed/);
    });
    expect(lines.some((l) => / (unreachable|does not answer in time) /.test(l))).toBe(false);
  }, 20_000);
});
