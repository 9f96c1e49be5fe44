import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { StreamingReference } from "../../src/indicators/streaming.js";
import { deadLetterKey, tickStreamKey } from "../../src/keys/marketData.js";
import { entryToUpdate, TickConsumer } from "../../src/streaming/tickConsumer.js";
import { expectClose } from "../support/compare.js";
import { sharedDispatcher } from "../support/dispatcher.js";
import { waitUntil } from "../support/waitUntil.js";

const url = inject("redisUrl");
const ticks = new Redis(url, { db: 4 });
const dispatcher = sharedDispatcher();
afterAll(async () => {
  ticks.disconnect();
  await dispatcher.close();
});

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST

/** Replays a stream's entries through the reference, skipping those the consumer dead-letters. */
async function referenceOf(symbol: string) {
  const reference = new StreamingReference(14);
  const entries = (await ticks.xrange(tickStreamKey(symbol), "-", "+")) as [string, string[]][];
  for (const [id, fields] of entries) {
    try {
      const u = entryToUpdate(symbol, id, fields);
      if (!(Number(u.price) > 0) && u.high === undefined) continue;
      reference.update(u as Parameters<StreamingReference["update"]>[0]);
    } catch {
      // dead-lettered by the consumer too
    }
  }
  return reference;
}

describe("tick consumer", () => {
  it("applies valid entries, dead-letters bad ones with the reason, and acknowledges all", async () => {
    const symbol = "CONSUME1";
    const stream = tickStreamKey(symbol);
    await ticks.xadd(stream, "*", "price", "100.05", "volume", "10", "ts", String(OPEN + 1000));
    await ticks.xadd(stream, "*", "price", "nan", "volume", "10", "ts", String(OPEN + 2000));
    await ticks.xadd(stream, "*", "price", "-5", "volume", "10", "ts", String(OPEN + 3000));
    await ticks.xadd(stream, "*", "volume", "10", "ts", String(OPEN + 4000));
    await ticks.xadd(stream, "*", "price", "101.05", "volume", "30", "ts", String(OPEN + 5000));
    await ticks.xadd(stream, "*", "high", "102", "low", "100", "close", "101", "volume", "5", "ts", String(OPEN + 6000));
    const consumer = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "t1", blockMs: 100 });
    await consumer.ensureGroups();
    expect(await consumer.runOnce()).toBe(3);
    const dead = (await ticks.xrange(deadLetterKey(symbol), "-", "+")) as [string, string[]][];
    expect(dead.map(([, f]) => f[3])).toEqual([
      expect.stringMatching(/^price: must be decimal text/),
      expect.stringMatching(/^price: must be decimal text.*"-5"/),
      expect.stringMatching(/^price: a tick needs a price/),
    ]);
    const pending = (await ticks.xpending(stream, "mathd")) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    const snapshot = await dispatcher.streaming().snapshot(symbol);
    // (100.05 * 10 + 101.05 * 30 + 101 * 5) / 45
    expect(snapshot.vwap!.points).toBe(3);
    expectClose(snapshot.vwap!.vwap, (await referenceOf(symbol)).vwap!.vwap, "vwap");
  });

  it("killed at random points and restarted, loses no tick and double counts none", async () => {
    const symbols = ["KILLA", "KILLB"];
    const total = 1500;
    const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
    // node itself with the tsx loader: SIGKILL must hit the consumer, not a wrapper that orphans it
    const start = (): ChildProcess =>
      spawn(process.execPath, ["--import", "tsx", cli, "consume", "--url", url, "--symbols", symbols.join(","), "--consumer", "killme"], {
        stdio: "ignore",
      });

    // the producer writes ticks in batches while the consumer is killed (SIGKILL) and restarted
    let child = start();
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const kills: number[] = [];
    for (let i = 0; i < total; i += 100) {
      const pipeline = ticks.pipeline();
      for (let j = i; j < i + 100; j++) {
        const symbol = symbols[j % 2] as string;
        const price = (20_000 + Math.floor(random() * 400) * 0.05).toFixed(2);
        pipeline.xadd(tickStreamKey(symbol), "*", "price", price, "volume", String(1 + Math.floor(random() * 500)), "ts", String(OPEN + j * 250));
      }
      await pipeline.exec();
      await new Promise((r) => setTimeout(r, 50 + random() * 400));
      if (random() < 0.35) {
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
        kills.push(i);
        child = start();
      }
    }
    // let it drain: every entry read by the group and none pending
    await waitUntil(async () => {
      for (const symbol of symbols) {
        const pending = (await ticks.xpending(tickStreamKey(symbol), "mathd")) as [number];
        const groups = (await ticks.xinfo("GROUPS", tickStreamKey(symbol))) as unknown[][];
        const group = Object.fromEntries(chunk(groups[0] as unknown[]));
        if (pending[0] !== 0 || group.lag !== 0) return false;
      }
      return true;
    }, "the consumer drained the streams", 60_000);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    expect(kills.length).toBeGreaterThan(0);

    for (const symbol of symbols) {
      expect(await ticks.xlen(deadLetterKey(symbol))).toBe(0);
      const snapshot = await dispatcher.streaming().snapshot(symbol);
      const reference = await referenceOf(symbol);
      expect(snapshot.vwap!.points).toBe(total / 2); // every tick once: none lost, none twice
      expect(snapshot.vwap!.volume).toBe(reference.vwap!.volume.toNumber());
      expectClose(snapshot.vwap!.vwap, reference.vwap!.vwap, `${symbol} vwap`);
      expectClose(snapshot.vwap!.sigma, reference.vwap!.sigma, `${symbol} sigma`);
    }
  }, 120_000);
});

function chunk(flat: unknown[]): [string, unknown][] {
  const pairs: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([String(flat[i]), flat[i + 1]]);
  return pairs;
}
