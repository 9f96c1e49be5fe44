import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Command, exec } from "../../src/cluster/pipeline.js";
import { orderKeyOf } from "../../src/core/manifest.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { streamTickCall } from "../cluster/calls.js";
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
  // the pipeline closes its own connection after its third command (CLIENT KILL of itself is
  // answered, then the connection closes): the two updates before it were answered, the two after
  // it were not. Only those are sent again; sent again, the first two came back duplicates
  it("keeps the replies that came before the cut and sends only the rest again", async () => {
    const client = new ResilientRedis({ config: { url: server.url }, deadlineMs: 5000 });
    try {
      const redis = client.connection("patterns");
      const update = SCRIPTS.find((s) => s.name === "stream_update")!;
      const ownId = await client.run("patterns", async (r) => (await r.script("LOAD", update.source), String(await r.client("ID"))));
      const calls = [0, 1, 2, 3].map((k) => streamTickCall(`KEPT${k}`, 1));
      const commands: Command[] = calls.map((c) => ["evalsha", update.sha1, c.keys.length, ...c.keys, ...c.args]);
      commands.splice(2, 0, ["client", "kill", "id", ownId, "skipme", "no"]);
      const order = [...calls.slice(0, 2), undefined, ...calls.slice(2)].map((c) => (c ? orderKeyOf(c) : undefined));
      const outcomes = await exec(redis, commands, (command) => client.run("patterns", () => command()), order);
      const statuses = outcomes.map((o) => (o.ok && Array.isArray(o.reply) ? o.reply[1] : o.ok ? o.reply : o.error.message));
      expect(statuses).toEqual(["applied", "applied", 1, "applied", "applied"]);
    } finally {
      await client.close();
    }
  });

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
