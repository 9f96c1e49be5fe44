import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, ServerBusyError } from "../../src/core/errors.js";
import { ScriptRunner } from "../../src/dispatcher/scriptRunner.js";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { BatchOutcome } from "../../src/dispatcher/batch.js";
import { StreamingIndicators, type StreamUpdateInput, type StreamUpdateResult } from "../../src/dispatcher/streaming.js";
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
// flusher gets in; as calls of up to 32 updates of a symbol (333 each: 11 calls, one after another)
const PER_BATCH = 1000;

/** Another client flushing the script cache and loading the streaming scripts again, every few milliseconds, until stopped. */
function flushLoop(url: string) {
  const flusher = new Redis(url);
  let flushing = true;
  let flushes = 0;
  const done = (async () => {
    while (flushing) {
      await flusher.script("FLUSH");
      const reload = flusher.pipeline();
      for (const script of STREAM_SCRIPTS) reload.script("LOAD", script.source);
      await reload.exec();
      flushes++;
      await sleep(5); // a flush every few milliseconds: a call's heal-and-resend rounds (10) outlast each one
    }
  })();
  return {
    async stop(): Promise<number> {
      flushing = false;
      await done.finally(() => flusher.disconnect());
      return flushes;
    },
  };
}

/** Counts outcomes: each status, and each failure's text. */
function tally(outcomes: readonly BatchOutcome<StreamUpdateResult>[], statuses: Map<string, number>, failures: string[]) {
  for (const outcome of outcomes) {
    if (!outcome.ok) failures.push(`${outcome.error.name}: ${outcome.error.message}`);
    else statuses.set(outcome.value.vwapStatus, (statuses.get(outcome.value.vwapStatus) ?? 0) + 1);
  }
}

/** The ticks of the test: `count` over SYMBOLS in turn, one a millisecond. */
function feedOf(count: number, symbols: readonly string[]): StreamUpdateInput[] {
  return Array.from({ length: count }, (_, i) => ({ symbol: symbols[i % symbols.length] as string, ts: OPEN + i, seq: i, price: 100 + (i % 17) * 0.05, volume: 1 + (i % 9) }));
}

/**
 * Sends `feed` with `send` while another client flushes and reloads the scripts, then checks that
 * every update was applied (none failed, none a duplicate) and that the state equals one clean pass.
 */
async function expectAllAppliedUnderFlushes(
  feed: readonly StreamUpdateInput[],
  symbols: readonly string[],
  send: (streaming: StreamingIndicators) => Promise<BatchOutcome<StreamUpdateResult>[]>,
) {
  const math = MathDispatcher.connect(server.url, { deadlineMs: 10_000 });
  const flusher = flushLoop(server.url);
  try {
    const streaming = math.streaming();
    await math.load();
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    tally(await send(streaming), statuses, failures);
    expect(await flusher.stop()).toBeGreaterThan(10); // the fault really ran alongside
    expect(failures.length, failures[0]).toBe(0);
    expect(Object.fromEntries(statuses)).toEqual({ applied: feed.length });
    // one clean pass over the same ticks, one call at a time, on symbols of its own
    for (const u of feed) await streaming.update({ ...u, symbol: `CLEAN${u.symbol}` });
    for (const symbol of symbols) expect(await streaming.snapshot(symbol)).toEqual(await streaming.snapshot(`CLEAN${symbol}`));
  } finally {
    await flusher.stop();
    await math.close();
  }
}

describe("streaming updates while another client flushes and reloads the scripts", () => {
  it("updateMany applies every update, in order: none turned away, the state as one clean pass leaves it", async () => {
    const feed = feedOf(BATCHES * PER_BATCH, SYMBOLS);
    await expectAllAppliedUnderFlushes(feed, SYMBOLS, async (streaming) => {
      const outcomes: BatchOutcome<StreamUpdateResult>[] = [];
      for (let b = 0; b < BATCHES; b++) outcomes.push(...(await streaming.updateMany(feed.slice(b * PER_BATCH, (b + 1) * PER_BATCH))));
      return outcomes;
    });
  }, 120_000);

  // 300 update() calls of one symbol at once, not awaited one by one: a call resent after its
  // NOSCRIPT landed behind a later one that got through, and was counted a duplicate (129-195 of
  // 12,000 ticks) until a symbol's calls waited for its earlier ones
  it("update() calls made at once apply in the order they were made: none counted a duplicate", async () => {
    const feed = feedOf(40 * 300, ["ATONCE"]);
    await expectAllAppliedUnderFlushes(feed, ["ATONCE"], async (streaming) => {
      const outcomes: BatchOutcome<StreamUpdateResult>[] = [];
      for (let b = 0; b < 40; b++) {
        const calls = await Promise.allSettled(feed.slice(b * 300, (b + 1) * 300).map((u) => streaming.update(u)));
        outcomes.push(...calls.map((r): BatchOutcome<StreamUpdateResult> => (r.status === "fulfilled" ? { ok: true, value: r.value } : { ok: false, error: r.reason })));
      }
      return outcomes;
    });
  }, 120_000);
});

describe("updates fired in overlapping batches, one of them turned away", () => {
  it("a caller that resends every update of the symbol from the failed one on loses none: each is applied, in order", async () => {
    const client = new ResilientRedis({ config: { url: server.url } });
    const real = new ScriptRunner(client);
    // round trips slowed to 40 ms, a batch made every 15 ms: each batch waits behind the last;
    // the first call of AAA is turned away as a busy server would
    let turnAway = true;
    const runner = Object.create(real) as ScriptRunner;
    runner.runMany = async (calls, options) => {
      await new Promise((resolve) => setTimeout(resolve, 40));
      const away = turnAway ? calls.findIndex((call) => String(call.keys[0]).includes("AAA")) : -1;
      if (away >= 0) turnAway = false;
      const settled = await real.runMany(calls.filter((_, k) => k !== away), options);
      if (away >= 0) settled.splice(away, 0, { ok: false, error: new ServerBusyError("BUSY turned away by the test") });
      return settled;
    };
    const streaming = new StreamingIndicators(runner);
    type Made = StreamUpdateInput & { applied?: boolean };
    const made: Made[] = [];
    let resend = false;
    const batches: Promise<void>[] = [];
    try {
      for (let n = 1; n <= 60; n++) {
        const tick: Made = { symbol: "AAA", ts: OPEN + n * 1000, seq: 0, price: 100 + (n % 7), volume: 1 };
        made.push(tick);
        // after a failure: every update from the failed one on not yet seen applied, in order
        const sent = resend ? made.filter((u) => !u.applied) : [tick];
        resend = false;
        batches.push(
          streaming.updateMany([...sent, { symbol: "BBB", ts: OPEN + n * 1000, seq: 0, price: 100, volume: 1 }]).then((outcomes) =>
            sent.forEach((u, k) => {
              const outcome = outcomes[k] as BatchOutcome<StreamUpdateResult>;
              if (outcome.ok) u.applied = true;
              else resend = true;
            }),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      await Promise.all(batches);
      for (const u of made.filter((m) => !m.applied)) await streaming.update(u);
      expect(turnAway).toBe(false);
      expect((await streaming.snapshot("AAA")).vwap).toMatchObject({ points: made.length, volume: made.length });
    } finally {
      await client.close();
    }
  }, 30_000);
});

/** `body` with a streaming object on the test's server and a tick of `symbol` by its number; the server is thawed after. */
async function withStreaming(symbol: string, body: (streaming: StreamingIndicators, tick: (i: number) => StreamUpdateInput) => Promise<void>): Promise<void> {
  const math = MathDispatcher.connect(server.url, { deadlineMs: 10_000 });
  try {
    await math.load();
    await body(math.streaming(), (i) => ({ symbol, ts: OPEN + i, seq: i, price: 100 + i, volume: 1 }));
  } finally {
    server.thaw();
    await math.close();
  }
}

describe("a symbol's call waiting for an earlier one", () => {
  it("gives up at its own deadline, while the earlier call and a later one still apply in order", async () => {
    await withStreaming("WAITER", async (streaming, tick) => {
      server.freeze(); // the first call hangs until thawed
      const first = streaming.update(tick(0), { deadlineMs: 8_000 });
      const started = Date.now();
      const second = await streaming.update(tick(1), { deadlineMs: 300 }).catch((e: unknown) => e);
      const waited = Date.now() - started;
      const [snapshot] = await streaming.snapshots(["WAITER"], { deadlineMs: 300 }); // waits for the first too
      const third = streaming.updateMany([tick(2)], { deadlineMs: 8_000 }); // waits for the first, not only the second
      server.thaw();
      expect(second).toBeInstanceOf(CommandTimeoutError);
      expect(waited).toBeLessThan(3_000); // its own 300 ms, not the first call's 8 s
      expect(!snapshot?.ok && snapshot?.error).toBeInstanceOf(CommandTimeoutError);
      expect((await first).vwapStatus).toBe("applied");
      const [outcome] = await third;
      expect(outcome?.ok && outcome.value.vwapStatus).toBe("applied");
      expect((await streaming.snapshot("WAITER")).vwap?.points).toBe(2); // ticks 0 and 2, in that order
    });
  }, 30_000);

  it("a call that gives up while waiting holds back none made before it: those apply, and so does its resend", async () => {
    await withStreaming("WAITED", async (streaming, tick) => {
      server.freeze();
      const [first, second] = [0, 1].map((i) => streaming.update(tick(i), { deadlineMs: 8_000 })) as [Promise<StreamUpdateResult>, Promise<StreamUpdateResult>];
      const third = await streaming.update(tick(2), { deadlineMs: 300 }).catch((e: unknown) => e);
      server.thaw();
      expect(third).toBeInstanceOf(CommandTimeoutError);
      expect([(await first).vwapStatus, (await second).vwapStatus]).toEqual(["applied", "applied"]);
      expect((await streaming.update(tick(2))).vwapStatus).toBe("applied");
      expect((await streaming.snapshot("WAITED")).vwap?.points).toBe(3);
    });
  }, 30_000);
});
