import { type AddressInfo, createServer } from "node:net";
import { Redis } from "ioredis";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, InvalidInputError, ScriptExecutionError, ScriptIntegrityError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { callBudget, checkCallOptions, ScriptRunner } from "../../src/dispatcher/scriptRunner.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { ownRedis } from "../support/redis.js";
import { waitUntil } from "../support/waitUntil.js";

// These tests flush the script cache and restart the server, so they use a server of their own.
let server: LocalRedisServer;
let redis: Redis;
let dispatcher: MathDispatcher;
const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 }));
const ticks = [{ price: 100, volume: 5 }];

beforeAll(async () => {
  server = await ownRedis();
  redis = new Redis(server.url, { db: 10 });
  dispatcher = new MathDispatcher(redis);
});
afterAll(async () => {
  await dispatcher.close();
  await server.stop();
});

describe("script runtime", () => {
  it("loads every script with SCRIPT LOAD and finds them by SHA1", async () => {
    await dispatcher.load();
    const exists = (await redis.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))) as number[];
    expect(exists).toEqual(SCRIPTS.map(() => 1));
  });

  it("sends EVALSHA, never EVAL, once loaded", async () => {
    await dispatcher.load();
    await redis.config("RESETSTAT");
    await dispatcher.atr({ symbol: "EVALSHA", period: 14, bars });
    const stats = (await redis.info("commandstats")) as string;
    expect(stats).toMatch(/cmdstat_evalsha:calls=1,/);
    expect(stats).not.toMatch(/cmdstat_eval:/);
  });

  it("reloads after SCRIPT FLUSH and retries a single call once", async () => {
    await dispatcher.atr({ symbol: "FLUSH1", period: 14, bars });
    await redis.script("FLUSH");
    const result = await dispatcher.atr({ symbol: "FLUSH2", period: 14, bars });
    expect(result.cache).toBe("miss");
    expect((await redis.script("EXISTS", SCRIPTS[0]!.sha1)) as number[]).toEqual([1]);
  });

  it("reloads after SCRIPT FLUSH for calls queued in a pipeline", async () => {
    await dispatcher.load();
    await redis.script("FLUSH");
    const outcomes = await dispatcher.batch([
      { fn: "atr", input: { symbol: "PIPE1", period: 5, bars } },
      { fn: "vwap", input: { symbol: "PIPE1", ticks } },
      { fn: "atr", input: { symbol: "PIPE2", period: 0, bars } },
      { fn: "atr", input: { symbol: "PIPE3", period: 7, bars } },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false, true]);
    expect(outcomes[0]).toMatchObject({ ok: true, value: { cache: "miss" } });
    expect(outcomes[1]).toMatchObject({ ok: true, value: { vwap: 100 } });
  });

  it("survives a server restart (empty script cache, new connection)", async () => {
    await dispatcher.atr({ symbol: "RESTART", period: 14, bars });
    await server.stop();
    await server.start();
    await waitUntil(() => redis.status === "ready", "the connection is back"); // not a test of the outage grace
    const result = await dispatcher.atr({ symbol: "RESTART", period: 14, bars });
    expect(result.cache).toBe("miss"); // the restarted server is empty, so this was computed again
  });

  it("refuses a call whose KEYS or ARGV count differs from the header's, before Redis", async () => {
    const runner = new ScriptRunner(new ResilientRedis({ connection: redis }));
    const entry = SCRIPTS.find((s) => s.name === "stop_loss")!;
    const calls = await redis.info("commandstats");
    for (const args of [entry.args.slice(1).map(() => ""), [...entry.args.map(() => ""), "extra"]]) {
      const error = await runner.run({ script: "stop_loss", keys: ["k"], args }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScriptExecutionError);
      expect((error as Error).message).toMatch(new RegExp(`takes ${entry.args.length} arguments \\(side, entry`));
    }
    expect((await redis.info("commandstats")).match(/cmdstat_evalsha:calls=(\d+)/)?.[1]).toBe(calls.match(/cmdstat_evalsha:calls=(\d+)/)?.[1]);
  });

  it("turns a script's MATHD_INVALID reply into an InvalidInputError naming the field, with the reply as its cause", async () => {
    const runner = new ScriptRunner(new ResilientRedis({ connection: redis }));
    const entry = SCRIPTS.find((s) => s.name === "stop_loss")!;
    const error = await runner.run({ script: "stop_loss", keys: ["not a cache key"], args: entry.args.map(() => "") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("cache_key");
    expect(((error as Error).cause as Error).message).toMatch(/^MATHD_INVALID cache_key: /);
  });

  it("refuses a server whose SCRIPT LOAD answers another SHA1", async () => {
    const forged = SCRIPTS.map((s) => (s.name === "atr" ? { ...s, sha1: "0".repeat(40) } : s));
    const error = await new ScriptRunner(new ResilientRedis({ connection: redis }), forged).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptIntegrityError);
    expect((error as ScriptIntegrityError).script).toBe("atr");
  });
});

describe("one deadline for the whole call", () => {
  it("callBudget gives each step what is left of one budget, then a CommandTimeoutError", async () => {
    const step = callBudget({ deadlineMs: 60, store: false }, 2000);
    const first = step();
    expect(first.store).toBe(false);
    expect(first.deadlineMs).toBeLessThanOrEqual(60);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(() => step()).toThrow(CommandTimeoutError);
    expect(callBudget(undefined, 2000)().deadlineMs).toBeLessThanOrEqual(2000); // the client's, when the call has none
  });

  it("names a bad option even when it cannot be turned into text (an InvalidInputError, never a TypeError)", () => {
    const unprintable = { toString: null }; // String() throws for it (fast-check found it)
    for (const [options, field] of [[{ deadlineMs: unprintable }, "deadlineMs"], [{ store: unprintable }, "store"]] as const) {
      const error = (() => {
        try {
          return checkCallOptions(options as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe(field);
      expect((error as Error).message).toContain("got an object");
    }
  });

  it("a first call, and load(), wait for the scripts no longer than their own deadlineMs", async () => {
    // accepts connections and never answers: the load would wait for the client's 2,000 ms
    const silent = createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const math = MathDispatcher.connect(`redis://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    try {
      for (const call of [() => math.load({ deadlineMs: 250 }), () => math.stopLoss({ symbol: "SILENT", side: "long", entry: 100, atr: 2 }, { deadlineMs: 250 })]) {
        const started = Date.now();
        await expect(call()).rejects.toBeInstanceOf(CommandTimeoutError);
        expect(Date.now() - started).toBeLessThan(1500); // its own 250 ms (generous for a loaded machine), not the client's 2,000
      }
    } finally {
      await math.close();
      silent.close();
    }
  });
});
