import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";

// A connection cut while a batch's pipeline is half answered: ioredis 6 rejects the unanswered
// rest with an AbortError ("Command aborted due to connection close"), which must count as a lost
// connection, so the batch is sent again once connected, not failed call by call.
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a connection cut in the middle of a pipeline", () => {
  it("answers every call of every batch, none failed", async () => {
    const math = MathDispatcher.connect(server.url, { deadlineMs: 10_000 });
    const killer = new Redis(server.url);
    try {
      await math.load();
      const ticks = Array.from({ length: 300 }, (_, j) => ({ price: 100 + (j % 13), volume: 1 + (j % 5) }));
      const calls = Array.from({ length: 300 }, (_, i) => ({ fn: "vwap" as const, input: { symbol: `CUT${i}`, ticks } }));
      const failures: string[] = [];
      for (let round = 0; round < 10; round++) {
        const batch = math.batch(calls, { store: false });
        await sleep(1 + (round % 5));
        await killer.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        for (const outcome of await batch) if (!outcome.ok) failures.push(`${outcome.error.name}: ${outcome.error.message}`);
      }
      expect(failures).toEqual([]);
    } finally {
      killer.disconnect();
      await math.close();
    }
  }, 60_000);
});
