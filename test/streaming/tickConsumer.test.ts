import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { ClientClosedError, ConnectionError, InvalidInputError, RedisCommandError } from "../../src/core/errors.js";
import { MAX_STREAM_UPDATES_PER_CALL } from "../../src/dispatcher/limits.js";
import { StreamingReference } from "../../src/indicators/streaming.js";
import { deadLetterKey, tickStreamKey } from "../../src/keys/marketData.js";
import { freePort } from "../../src/redis/localServer.js";
import { READ_GROUP_PAGE } from "../../src/redis/pageSizes.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { ownRedis, sharedRedisUrl } from "../support/redis.js";
import { entryToUpdate, MAX_CONSUMER_WAIT_MS, TickConsumer } from "../../src/streaming/tickConsumer.js";
import { expectClose } from "../support/compare.js";
import { sharedDispatcher } from "../support/dispatcher.js";
import { waitUntil } from "../support/waitUntil.js";

const url = sharedRedisUrl();
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
  it("reads many streams' backlogs in commands of at most READ_GROUP_PAGE entries, and applies every entry in order", async () => {
    const server = await ownRedis();
    onTestFinished(() => server.stop());
    const admin = new Redis(server.url);
    const math = MathDispatcher.connect(server.url);
    onTestFinished(async () => {
      admin.disconnect();
      await math.close();
    });
    const symbols = Array.from({ length: 40 }, (_, i) => `MANY${i}`);
    const perSymbol = 40;
    const writer = admin.duplicate({ db: 4 });
    const pipeline = writer.pipeline();
    for (let n = 0; n < perSymbol; n++) {
      for (const symbol of symbols) pipeline.xadd(tickStreamKey(symbol), "*", "price", (100 + n * 0.05).toFixed(2), "volume", "10", "ts", String(OPEN + 1000 * n));
    }
    await pipeline.exec();
    writer.disconnect();
    const consumer = new TickConsumer(new Redis(server.url, { db: 4 }), math.streaming(), { symbols, consumer: "many", blockMs: 50 });
    await consumer.ensureGroups();
    // every XREADGROUP as the server runs it (MONITOR): how many streams, how many entries each
    const reads: { streams: number; count: number }[] = [];
    const monitor = await admin.monitor();
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (String(args[0]).toLowerCase() !== "xreadgroup") return;
      const at = args.findIndex((a) => a.toUpperCase() === "STREAMS");
      reads.push({ streams: (args.length - at - 1) / 2, count: Number(args[args.findIndex((a) => a.toUpperCase() === "COUNT") + 1]) });
    });
    onTestFinished(() => void monitor.disconnect());
    while (consumer.totals.applied < symbols.length * perSymbol) if ((await consumer.runOnce()) === 0) break;
    expect(consumer.totals).toMatchObject({ applied: symbols.length * perSymbol, duplicates: 0, deadLetters: 0 });
    expect(await consumer.runOnce()).toBe(0); // nothing left: it waits on every stream
    const snapshots = await math.streaming().snapshots(symbols);
    for (const s of snapshots) expect(s.ok && s.value.vwap?.points).toBe(perSymbol);
    await waitUntil(() => reads.some((r) => r.streams === symbols.length), "MONITOR to show the reads");
    for (const read of reads) expect(read.streams * read.count).toBeLessThanOrEqual(READ_GROUP_PAGE);
    expect(Math.max(...reads.map((r) => r.streams))).toBe(symbols.length); // the blocking read waits on all of them
  });

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
    const ttl = await ticks.ttl(deadLetterKey(symbol)); // the family's TTL, so health finds no violation
    expect(ttl).toBeGreaterThan(57_000);
    expect(ttl).toBeLessThanOrEqual(57_600);
    const pending = (await ticks.xpending(stream, "mathd")) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    const snapshot = await dispatcher.streaming().snapshot(symbol);
    // (100.05 * 10 + 101.05 * 30 + 101 * 5) / 45
    expect(snapshot.vwap!.points).toBe(3);
    expectClose(snapshot.vwap!.vwap, (await referenceOf(symbol)).vwap!.vwap, "vwap");
  });

  it("dead-letters an entry whose ts is in seconds, saying so, and applies the next one", async () => {
    const symbol = "SECONDS";
    const stream = tickStreamKey(symbol);
    await ticks.xadd(stream, "*", "price", "100.05", "volume", "10", "ts", String(Math.floor(OPEN / 1000)));
    await ticks.xadd(stream, "*", "price", "100.10", "volume", "10", "ts", String(OPEN + 1000));
    const consumer = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "t1", blockMs: 100 });
    await consumer.ensureGroups();
    expect(await consumer.runOnce()).toBe(1);
    const dead = (await ticks.xrange(deadLetterKey(symbol), "-", "+")) as [string, string[]][];
    expect(dead.map(([, f]) => f[3])).toEqual([expect.stringMatching(/^ts: must be whole epoch milliseconds in .*\(a time in seconds\?\)$/)]);
    expect((await dispatcher.streaming().snapshot(symbol)).vwap!.points).toBe(1);
  });

  it("dead-letters an entry stamped hours ahead of the clock (IST read as UTC), and applies the ticks after it", async () => {
    const symbol = "AHEAD";
    const stream = tickStreamKey(symbol);
    const now = Date.now();
    await ticks.xadd(stream, "*", "price", "100.05", "volume", "10", "ts", String(now + 330 * 60_000));
    for (let i = 1; i <= 3; i++) await ticks.xadd(stream, "*", "price", "100.10", "volume", "10", "ts", String(now + i));
    const consumer = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "t1", blockMs: 100 });
    await consumer.ensureGroups();
    await consumer.runOnce();
    const dead = (await ticks.xrange(deadLetterKey(symbol), "-", "+")) as [string, string[]][];
    expect(dead.map(([, f]) => f[3])).toEqual([expect.stringMatching(/^ts: is 330\.0 min ahead of this machine's clock/)]);
    expect(consumer.totals).toMatchObject({ deadLetters: 1, duplicates: 0 });
  });

  it("claims what a vanished consumer left pending, after its idle time and before any newer entry", async () => {
    const symbol = "ORPHAN";
    const stream = tickStreamKey(symbol);
    const add = async (from: number, to: number) => {
      const pipeline = ticks.pipeline();
      for (let j = from; j < to; j++) pipeline.xadd(stream, "*", "price", (100 + (j % 7) * 0.05).toFixed(2), "volume", String(1 + (j % 5)), "ts", String(OPEN + j * 1000));
      await pipeline.exec();
    };
    await add(0, 150);
    await ticks.xgroup("CREATE", stream, "mathd", "0");
    // a consumer of another name reads 150 entries and dies before acknowledging them
    await ticks.xreadgroup("GROUP", "mathd", "gone-host-1234", "COUNT", 150, "STREAMS", stream, ">");
    await add(150, 300);
    const heir = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "heir", blockMs: 50, claimIdleMs: 300 });
    const claimed = new Promise((resolve) => heir.once("claimed", resolve));
    const running = heir.run();
    expect(await claimed).toEqual({ stream, count: 150 });
    await waitUntil(async () => heir.totals.applied === 300, "the heir applied every entry");
    heir.stop();
    await running;
    expect(heir.totals).toEqual({ applied: 300, duplicates: 0, deadLetters: 0, claimed: 150, trimmed: 0 });
    expect((await dispatcher.streaming().snapshot(symbol)).vwap!.points).toBe(300); // the old entries were not dropped as out of order
    expect(((await ticks.xpending(stream, "mathd")) as [number])[0]).toBe(0);
  });

  it("a second consumer on a live one's stream waits as a standby, and takes over once it stops: no tick is lost as a duplicate", async () => {
    const symbol = "STANDBY";
    const stream = tickStreamKey(symbol);
    let next = 0;
    const add = async (count: number) => {
      const pipeline = ticks.pipeline();
      for (let k = 0; k < count; k++, next++) pipeline.xadd(stream, "*", "price", (100 + (next % 7) * 0.05).toFixed(2), "volume", "1", "ts", String(OPEN + next * 1000));
      await pipeline.exec();
    };
    const first = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "old-pod", blockMs: 50 });
    const firstRun = first.run();
    await add(100);
    await waitUntil(() => first.totals.applied === 100, "the first consumer applied its ticks");
    // a rolling deploy: the new consumer starts while the old one still reads
    const second = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "new-pod", blockMs: 50, claimIdleMs: 500 });
    const waits: unknown[] = [];
    second.on("waiting", (w) => waits.push(w));
    let ready = false;
    second.once("ready", () => (ready = true));
    const secondRun = second.run();
    await waitUntil(() => waits.length > 0, "the second consumer waits");
    expect(waits[0]).toMatchObject({ stream, consumer: "old-pod", reason: "live" });
    await add(100); // the old one still applies them
    await waitUntil(() => first.totals.applied === 200, "the first consumer applied the next ticks");
    expect(ready).toBe(false);
    first.stop();
    await firstRun;
    await waitUntil(() => ready, "the second consumer takes over once the first has been idle claimIdleMs");
    await add(100);
    await waitUntil(() => second.totals.applied === 100, "the second consumer applied the last ticks");
    second.stop();
    await secondRun;
    expect(first.totals.duplicates + second.totals.duplicates).toBe(0);
    expect((await dispatcher.streaming().snapshot(symbol)).vwap!.points).toBe(300);
  });

  it("waits for a live consumer blocked on a quiet stream too, which Redis shows idle for up to its blockMs", async () => {
    const symbol = "QUIETSTANDBY";
    const stream = tickStreamKey(symbol);
    await ticks.xadd(stream, "*", "price", "100", "volume", "1", "ts", String(OPEN));
    const first = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "old-quiet", blockMs: 1000 });
    const firstRun = first.run();
    await waitUntil(() => first.totals.applied === 1, "the first consumer applied the tick");
    // the stream is quiet from now on: the first consumer blocks a second at a time
    const second = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: [symbol], consumer: "new-quiet", blockMs: 1000, claimIdleMs: 500 });
    let ready = false;
    let waited = 0;
    second.on("waiting", () => waited++);
    second.once("ready", () => (ready = true));
    const secondRun = second.run();
    await new Promise((resolve) => setTimeout(resolve, 3000)); // three of the first one's blocking reads
    expect({ ready, waited }).toEqual({ ready: false, waited: 1 });
    first.stop();
    await firstRun;
    await waitUntil(() => ready, "the second consumer takes over once the first has stopped");
    second.stop();
    await secondRun;
  });

  it("fails typed: a connection failure is a ConnectionError naming the server, a Redis error a RedisCommandError, each with its cause", async () => {
    const port = await freePort(); // nothing listens there
    const down = new Redis({ port, host: "127.0.0.1", db: 4, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    down.on("error", () => undefined);
    const offline = await new TickConsumer(down, dispatcher.streaming(), { symbols: ["TYPED"], consumer: "t" }).runOnce().catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(ConnectionError);
    expect(offline).toMatchObject({ address: `127.0.0.1:${port}`, cause: expect.any(Error) });
    await ticks.set(tickStreamKey("WRONGTYPE"), "not a stream");
    const wrong = await new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: ["WRONGTYPE"], consumer: "t" }).ensureGroups().catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(RedisCommandError);
    expect((wrong as RedisCommandError).message).toMatch(/WRONGTYPE|key holding the wrong kind/);
    expect((wrong as RedisCommandError).cause).toBeInstanceOf(Error);
  });

  it("ends its run with ClientClosedError once its dispatcher is closed under it, keeping the entries it could not apply pending", async () => {
    const symbol = "CLOSEDUNDER";
    for (let j = 0; j < 5; j++) await ticks.xadd(tickStreamKey(symbol), "*", "price", "100.05", "volume", "1", "ts", String(OPEN + j * 1000));
    const math = MathDispatcher.connect(url);
    const connection = new Redis(url, { db: 4 });
    onTestFinished(() => connection.disconnect());
    const consumer = new TickConsumer(connection, math.streaming(), { symbols: [symbol], consumer: "closed-under", blockMs: 50, retryDelayMs: 20 });
    let errors = 0;
    consumer.on("error", () => errors++);
    await math.close();
    const run = consumer.run();
    // a run that went on would emit an error every retryDelayMs for ever: give it 2 s at most
    const outcome = await Promise.race([run.then(() => "ended", (e: unknown) => e), new Promise((resolve) => setTimeout(() => resolve("still running"), 2_000))]);
    consumer.stop();
    await run.catch(() => undefined);
    expect(outcome).toBeInstanceOf(ClientClosedError);
    expect(errors).toBe(0);
    const pending = (await ticks.xpending(tickStreamKey(symbol), "mathd")) as [number, ...unknown[]];
    expect(pending[0]).toBe(5);
  });

  it("runs one loop however often run() is called, and says 'stopping' once however often stop() is", async () => {
    const symbol = "RUNTWICE";
    for (let j = 0; j < 40; j++) await ticks.xadd(tickStreamKey(symbol), "*", "price", "100.05", "volume", "1", "ts", String(OPEN + j * 1000));
    const connection = new Redis(url, { db: 4 });
    onTestFinished(() => connection.disconnect());
    const consumer = new TickConsumer(connection, dispatcher.streaming(), { symbols: [symbol], consumer: "run-twice", blockMs: 50 });
    let stopping = 0;
    consumer.on("stopping", () => stopping++);
    const first = consumer.run();
    expect(consumer.run()).toBe(first);
    await waitUntil(() => consumer.totals.applied === 40, "the entries applied");
    consumer.stop();
    consumer.stop();
    await first;
    // two loops under one name read the same entries: the second one's were counted as duplicates
    expect(consumer.totals).toMatchObject({ applied: 40, duplicates: 0 });
    expect(stopping).toBe(1);
  });

  it("refuses a connection on another database than the tick streams' (it would read nothing and make empty streams there)", async () => {
    const onDb0 = new Redis(url, { lazyConnect: true });
    onTestFinished(() => onDb0.disconnect());
    expect(() => new TickConsumer(onDb0, dispatcher.streaming(), { symbols: ["DB"] })).toThrow(
      expect.objectContaining({ name: "ConfigurationError", setting: "databases.continuous_market", message: expect.stringContaining("the ticks connection is on DB 0, the tick streams are in DB 4") }),
    );
    // the streams moved to DB 7 (MATHD_DB_CONTINUOUS_MARKET=7): the consumer is told so
    const onDb7 = new Redis(url, { db: 7, lazyConnect: true });
    onTestFinished(() => onDb7.disconnect());
    expect(() => new TickConsumer(onDb7, dispatcher.streaming(), { symbols: ["DB"], database: 7 })).not.toThrow();
  });

  // count: a read's entries of a stream must fit one script call; a BLOCK of 0 waits for ever, so
  // stop() is never heard; a retry delay of 0 spins against a failing server
  it.each([
    ["count", 0],
    ["count", MAX_STREAM_UPDATES_PER_CALL + 1],
    ["count", 2.5],
    ["blockMs", 0],
    ["blockMs", -1],
    ["claimIdleMs", -1],
    ["claimIdleMs", Number.NaN],
    ["retryDelayMs", 0],
    ["retryDelayMs", MAX_CONSUMER_WAIT_MS + 1],
  ] as const)("refuses %s %s", (option, value) => {
    const lazy = new Redis(url, { db: 4, lazyConnect: true });
    onTestFinished(() => lazy.disconnect());
    const error = (() => {
      try {
        new TickConsumer(lazy, dispatcher.streaming(), { symbols: ["COUNT"], [option]: value });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe(option);
  });

  it("acknowledges a pending entry that was trimmed from the stream, and counts it", async () => {
    const stream = tickStreamKey("TRIMMED");
    const id = (await ticks.xadd(stream, "*", "price", "100", "volume", "1", "ts", String(OPEN + 1000))) as string;
    await ticks.xgroup("CREATE", stream, "mathd", "0");
    await ticks.xreadgroup("GROUP", "mathd", "trim", "STREAMS", stream, ">");
    await ticks.xdel(stream, id);
    const consumer = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: ["TRIMMED"], consumer: "trim", blockMs: 50 });
    expect(await consumer.runOnce()).toBe(0);
    expect(consumer.totals.trimmed).toBe(1);
    expect(((await ticks.xpending(stream, "mathd")) as [number])[0]).toBe(0);
  });

  it("killed with SIGKILL 5 times at random points under the default name: 0 lost, 0 twice, the snapshot of a clean pass", async () => {
    const symbols = ["KILLA", "KILLB"];
    const clean = ["CLEANA", "CLEANB"];
    const total = 5000;
    const kills = 5;
    const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
    // node itself with the tsx loader: SIGKILL must hit the consumer, not a wrapper that orphans it;
    // no --consumer: the default name must be stable across restarts
    const start = (): ChildProcess =>
      spawn(process.execPath, ["--import", "tsx", cli, "consume", "--url", url, "--symbols", symbols.join(",")], { stdio: "ignore" });
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    // every 10th entry a bar, so ATR is exercised too; the same entries go to the clean streams
    const entries: string[][] = [];
    for (let j = 0; j < total; j++) {
      const price = 20_000 + Math.floor(random() * 400) * 0.05;
      const volume = String(1 + Math.floor(random() * 500));
      const ts = String(OPEN + j * 250);
      entries.push(
        Math.floor(j / 2) % 10 === 9
          ? ["high", (price + 3).toFixed(2), "low", (price - 2.5).toFixed(2), "close", price.toFixed(2), "volume", volume, "ts", ts]
          : ["price", price.toFixed(2), "volume", volume, "ts", ts],
      );
    }
    const write = async (names: string[], from: number, to: number) => {
      const pipeline = ticks.pipeline();
      for (let j = from; j < to; j++) pipeline.xadd(tickStreamKey(names[j % 2] as string), "*", ...(entries[j] as string[]));
      await pipeline.exec();
    };
    const entriesRead = async () => {
      let read = 0;
      for (const symbol of symbols) {
        const groups = (await ticks.xinfo("GROUPS", tickStreamKey(symbol)).catch(() => [])) as unknown[][];
        read += Number(Object.fromEntries(chunk((groups[0] ?? []) as unknown[]))["entries-read"] ?? 0);
      }
      return read;
    };
    const pendingNow = async () => {
      let pending = 0;
      for (const symbol of symbols) pending += Number(((await ticks.xpending(tickStreamKey(symbol), "mathd").catch(() => [0])) as [number])[0]);
      return pending;
    };

    // the producer writes batches of 100 while the consumer runs; after 5 random batches it waits
    // until the consumer has read new entries since it started, then kills it
    const batches = total / 100;
    const killAfter = new Set<number>();
    while (killAfter.size < kills) killAfter.add(2 + Math.floor(random() * (batches - 4)));
    let child = start();
    onTestFinished(() => void child.kill("SIGKILL")); // never leave a consumer behind, even on failure
    let readAtStart = 0;
    const pendingAtKill: number[] = [];
    for (let b = 0; b < batches; b++) {
      await write(symbols, b * 100, (b + 1) * 100);
      await new Promise((r) => setTimeout(r, 20 + random() * 100));
      if (killAfter.has(b)) {
        await waitUntil(async () => (await entriesRead()) > readAtStart, "the restarted consumer reads", 30_000);
        // kill at a random moment within 0-300 ms, earlier if entries are in flight (read, not acknowledged)
        const deadline = Date.now() + random() * 300;
        while (Date.now() < deadline && (await pendingNow()) === 0) await new Promise((r) => setTimeout(r, 2));
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
        pendingAtKill.push(await pendingNow());
        readAtStart = await entriesRead();
        child = start();
      }
    }
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
    console.log(`kill test: ${kills} SIGKILLs, entries pending at each kill: ${pendingAtKill.join(", ")}`);
    expect(pendingAtKill).toHaveLength(kills);

    // the clean pass: the same entries, one consumer, no kill
    await write(clean, 0, total);
    const single = new TickConsumer(new Redis(url, { db: 4 }), dispatcher.streaming(), { symbols: clean, consumer: "clean", blockMs: 50 });
    await single.ensureGroups();
    while ((await single.runOnce()) > 0);
    expect(single.totals).toEqual({ applied: total, duplicates: 0, deadLetters: 0, claimed: 0, trimmed: 0 });

    for (const [i, symbol] of symbols.entries()) {
      expect(await ticks.xlen(deadLetterKey(symbol))).toBe(0);
      const snapshot = await dispatcher.streaming().snapshot(symbol);
      expect(snapshot.vwap!.points).toBe(total / 2); // every entry once: none lost, none twice
      expect(snapshot.atrBars).toBe(total / 20);
      expect(snapshot).toEqual(await dispatcher.streaming().snapshot(clean[i] as string));
      const reference = await referenceOf(symbol);
      expect(snapshot.vwap!.volume).toBe(reference.vwap!.volume.toNumber());
      expectClose(snapshot.vwap!.vwap, reference.vwap!.vwap, `${symbol} vwap`);
    }
  }, 180_000);
});

function chunk(flat: unknown[]): [string, unknown][] {
  const pairs: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([String(flat[i]), flat[i + 1]]);
  return pairs;
}
