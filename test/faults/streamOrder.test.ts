import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { StreamUpdateInput } from "../../src/dispatcher/streaming.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { ownRedis } from "../support/redis.js";

// Another client flushing the script cache and loading it again, over and over: a pipeline of
// single updates then meets NOSCRIPT on some calls while later calls of the same symbol, sent
// after the reload, get through. Those turned away could no longer be applied in order (an
// UpdateOvertakenError each: 1,633 of these 20,000 ticks when updateMany sent a
// pipeline of single updates). A symbol's updates in one atomic call are turned
// away or applied together, so the retry applies every one of them, in order.
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

// reloading only the streaming scripts keeps each cycle short: many cycles per pipeline
const STREAM_SCRIPTS = SCRIPTS.filter((script) => script.name.startsWith("stream_"));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
const SYMBOLS = ["ORDA", "ORDB", "ORDC"];
const BATCHES = 20;
// a pipeline of 1,000 single updates spans many of Redis's reads (16 KB each), between which the
// flusher gets in; as one call per symbol and round (333 updates each: two calls, one after the other)
const PER_BATCH = 1000;

describe("updateMany while another client flushes and reloads the scripts", () => {
  it("applies every update, in order: none turned away, the state as one clean pass leaves it", async () => {
    const math = MathDispatcher.connect(server.url, { deadlineMs: 10_000 });
    const flusher = new Redis(server.url);
    let flushing = true;
    let flushes = 0;
    const flushLoop = (async () => {
      while (flushing) {
        await flusher.script("FLUSH");
        const reload = flusher.pipeline();
        for (const script of STREAM_SCRIPTS) reload.script("LOAD", script.source);
        await reload.exec();
        flushes++;
        await sleep(5); // a flush every few milliseconds: a call's heal-and-resend rounds (10) outlast each one
      }
    })();
    try {
      const streaming = math.streaming();
      await math.load();
      const feed: StreamUpdateInput[] = [];
      for (let i = 0; i < BATCHES * PER_BATCH; i++) {
        const symbol = SYMBOLS[i % SYMBOLS.length] as string;
        feed.push({ symbol, ts: OPEN + i, seq: i, price: 100 + (i % 17) * 0.05, volume: 1 + (i % 9) });
      }
      const failures: string[] = [];
      const statuses = new Map<string, number>();
      for (let b = 0; b < BATCHES; b++) {
        for (const outcome of await streaming.updateMany(feed.slice(b * PER_BATCH, (b + 1) * PER_BATCH))) {
          if (!outcome.ok) failures.push(`${outcome.error.name}: ${outcome.error.message}`);
          else statuses.set(outcome.value.vwapStatus, (statuses.get(outcome.value.vwapStatus) ?? 0) + 1);
        }
      }
      flushing = false;
      await flushLoop;
      expect(flushes).toBeGreaterThan(10); // the fault really ran alongside
      expect(failures.length, failures[0]).toBe(0);
      expect(Object.fromEntries(statuses)).toEqual({ applied: BATCHES * PER_BATCH });
      // one clean pass over the same ticks, one at a time, on symbols of its own
      for (const u of feed) await streaming.update({ ...u, symbol: `CLEAN${u.symbol}` });
      for (const symbol of SYMBOLS) expect(await streaming.snapshot(symbol)).toEqual(await streaming.snapshot(`CLEAN${symbol}`));
    } finally {
      flushing = false;
      await flushLoop.catch(() => undefined);
      flusher.disconnect();
      await math.close();
    }
  }, 120_000);
});
