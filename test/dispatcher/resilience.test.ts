import { spawn, spawnSync } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { StreamingIndicators, StreamUpdateInput } from "../../src/dispatcher/streaming.js";
import { freePort, type LocalRedisServer } from "../../src/redis/localServer.js";
import { ClientClosedError, CommandTimeoutError, ConnectionError, RedisCommandError, ServerBusyError, UpdateHeldBackError } from "../../src/core/errors.js";
import { isTransient, ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { holdServer, ownRedis } from "../support/redis.js";
import { waitUntil } from "../support/waitUntil.js";

// Stops and restarts the server: a server of its own.
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 }));

/**
 * Runs `test` with a dispatcher's streaming object and ticks of `symbol`, while another client's
 * script holds the server for `holdMs` (silent: under the BUSY threshold), begun 100 ms before;
 * `held` settles when the hold ends.
 */
async function whileHeld(
  symbol: string,
  holdMs: number,
  test: (live: StreamingIndicators, tick: (i: number) => StreamUpdateInput, held: Promise<unknown>) => Promise<void>,
): Promise<void> {
  const math = MathDispatcher.connect(server.url, { maxRetries: 100, breakerThreshold: 1000 });
  const blocker = new Redis(server.url);
  const open = Date.UTC(2026, 10, 26, 4, 30);
  try {
    await math.load();
    const held = holdServer(blocker, holdMs);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await test(math.streaming(), (i) => ({ symbol, ts: open + i, seq: i, price: 100 + i, volume: 10 }), held);
  } finally {
    blocker.disconnect();
    await math.close();
  }
}

describe("the dispatcher on a resilient client", () => {
  it("fails fast with ConnectionError while Redis is down and recovers when it is back", async () => {
    const client = new ResilientRedis({ config: { url: server.url } });
    const math = MathDispatcher.withClient(client);
    expect((await math.atr({ symbol: "RES", period: 14, bars })).cache).toBe("miss");
    await server.stop();
    const errors = [];
    for (let i = 0; i < 3; i++) errors.push(await math.atr({ symbol: "RES", period: 14, bars }).catch((e: unknown) => e));
    expect(errors.every((e) => e instanceof ConnectionError)).toBe(true);
    await server.start();
    await waitUntil(() => client.connection("patterns").status === "ready", "ioredis reconnected");
    const back = await math.atr({ symbol: "RES", period: 14, bars });
    expect(back.cache).toBe("miss"); // a new, empty server: the script was reloaded after NOSCRIPT
    expect(client.circuit).toBe("closed");
    await math.close(); // withClient: the client stays open for its owner
    expect(await client.run("system", (r) => r.ping())).toBe("PONG");
    await client.close();
  });

  it("a script call that meets BUSY (another client's long script) is retried, and the batch lands in order", async () => {
    // a breaker that would open only after many BUSY replies: this test is about the retries
    const math = MathDispatcher.connect(server.url, { deadlineMs: 5000, maxRetries: 30, breakerThreshold: 1000 });
    const blocker = new Redis(server.url);
    try {
      await math.load();
      await blocker.config("SET", "busy-reply-threshold", "50"); // BUSY replies from 50 ms into the script
      const blocking = holdServer(blocker, 400);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const open = Date.UTC(2026, 10, 26, 4, 30);
      const live = math.streaming();
      const [one, many] = await Promise.all([
        math.atr({ symbol: "BUSYATR", period: 14, bars }),
        live.updateMany(Array.from({ length: 5 }, (_, i) => ({ symbol: "BUSYLIVE", ts: open + i, seq: i, price: 100 + i, volume: 10 }))),
      ]);
      await blocking;
      expect(one.cache).toBe("miss");
      expect(many.map((o) => o.ok && o.value.vwapStatus)).toEqual(Array(5).fill("applied"));
      expect((await live.snapshot("BUSYLIVE")).vwap?.points).toBe(5);
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await math.close();
    }
  });

  it("a BUSY that outlasts the retries or the deadline is a ServerBusyError, transient, for a call, a batch entry and dispatch's reads; over, every call is served", async () => {
    const math = MathDispatcher.connect(server.url, { deadlineMs: 5000, maxRetries: 1, breakerThreshold: 1000 });
    const blocker = new Redis(server.url);
    const downs: unknown[] = [];
    math.client.on("down", (event: unknown) => downs.push(event));
    try {
      await math.load();
      await blocker.config("SET", "busy-reply-threshold", "50");
      const blocking = holdServer(blocker, 1_500);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const signal = { symbol: "BUSYDSP", side: "long", entry: 100, time: Date.UTC(2026, 10, 26, 4, 30), baseConfidence: 0.6, atr: 2, currentVolume: 5000, account: { capital: 1e6, risk: 0.01, lotSize: 25 } } as const;
      const errors = [
        await math.atr({ symbol: "BUSYATR2", period: 14, bars }).catch((e: unknown) => e),
        ((await math.batch([{ fn: "confidence", input: { symbol: "BUSYB", base: 0.5, volumeRatio: 1, boost: 0 } }]))[0] as { error?: unknown }).error,
        // its first step reads news and the volume baseline, on connections the BUSY met at their SELECT
        await math.dispatch(signal, { deadlineMs: 600 }).catch((e: unknown) => e),
      ];
      await blocking;
      // and the BUSY once over, those connections serve: it was no refusal of the database
      expect((await math.dispatch(signal)).sources).toMatchObject({ news: "redis" });
      for (const error of errors) {
        expect(error).toBeInstanceOf(ServerBusyError);
        expect(error).toBeInstanceOf(RedisCommandError); // as a BUSY on a read was before it had a class of its own
        expect((error as Error).message).toMatch(/^BUSY /);
        expect(isTransient(error)).toBe(true);
      }
      expect(downs).toEqual([]); // a busy server is no outage: no 'down' for the SELECTs it turned away
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await math.close();
    }
  });

  it("dispatchMany whose deadline passes during a long ATR still gives each signal its own outcome", async () => {
    const math = MathDispatcher.connect(server.url, { maxRetries: 100, breakerThreshold: 1000 });
    const blocker = new Redis(server.url);
    try {
      await math.load();
      const held = holdServer(blocker, 800); // silent: the long ATR's first chunk waits out the deadline
      await new Promise((resolve) => setTimeout(resolve, 100));
      const signal = { symbol: "LONGATR", side: "long", entry: 100, time: Date.UTC(2026, 10, 26, 4, 30), baseConfidence: 0.6, news: [], account: { capital: 1e6, risk: 0.01, lotSize: 25 } } as const;
      const longBars = Array.from({ length: 300 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 }));
      const outcomes = await math.dispatchMany([{ ...signal, atrBars: { period: 14, bars: longBars } }, { ...signal, atr: 2 }, { ...signal, atr: -1 }], { deadlineMs: 300 });
      await held;
      expect(outcomes.map((o) => (o.ok ? "ok" : o.error.constructor.name))).toEqual(["CommandTimeoutError", "CommandTimeoutError", "InvalidInputError"]);
      expect(outcomes[2]).toMatchObject({ ok: false, error: { field: "atr" } });
    } finally {
      blocker.disconnect();
      await math.close();
    }
  });

  it("a load that a BUSY holds past the call's deadline is a ServerBusyError saying so, not a bare timeout", async () => {
    // retries enough that the load itself outlasts the call's deadline, as with a long script
    const math = MathDispatcher.connect(server.url, { deadlineMs: 5000, maxRetries: 100, breakerThreshold: 1000 });
    const blocker = new Redis(server.url);
    try {
      expect(await math.client.run("patterns", (r) => r.ping())).toBe("PONG"); // connected, database selected, nothing loaded
      await blocker.config("SET", "busy-reply-threshold", "50");
      const blocking = holdServer(blocker, 1_500);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const error = await math.load({ deadlineMs: 600 }).catch((e: unknown) => e);
      await blocking;
      expect(error).toBeInstanceOf(ServerBusyError);
      expect((error as Error).message).toMatch(/while the scripts were loading .*: Redis answered BUSY /);
      expect(isTransient(error)).toBe(true);
      await math.load(); // over, the load goes through
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await math.close();
    }
  });

  it("a cold call's own deadline, longer than the client's, covers its wait for the first load, even a load begun by a call of a shorter deadline", async () => {
    const math = MathDispatcher.connect(server.url, { deadlineMs: 800, breakerThreshold: 1000 });
    try {
      // nothing sent yet: the first call (and the load it begins) meets the frozen server
      server.freeze();
      setTimeout(() => server.thaw(), 2_500);
      const first = math.atr({ symbol: "COLD", period: 14, bars }, { deadlineMs: 1_000 }).then((r) => r.cache, (e: unknown) => e);
      // calls that join that load, their deadlines past the client's and the first call's
      await new Promise((resolve) => setTimeout(resolve, 300));
      const calls = [0, 1].map((k) => math.atr({ symbol: `COLD${k}`, period: 14, bars }, { deadlineMs: 8_000 }).then((r) => r.cache, (e: unknown) => e));
      const load = math.load({ deadlineMs: 8_000 }).then(() => "loaded", (e: unknown) => e);
      expect(await Promise.all([...calls, load])).toEqual(["miss", "miss", "loaded"]);
      // the first call fails by its own deadline: the load's timeout (not connected), or the wait's
      const firstError = await first;
      expect(firstError instanceof ConnectionError || firstError instanceof CommandTimeoutError, String(firstError)).toBe(true);
    } finally {
      server.thaw();
      await math.close();
    }
  });

  // a listener that drops connects needs python3 (.ci/run installs it); a laptop may not have it
  it.skipIf(spawnSync("python3", ["-c", "import socket"]).status !== 0)("a cold call to a host whose connect times out fails fast with that cause, not at its deadline: only a load out of its own time is tried again", async () => {
    // a listener whose backlog is full: the kernel drops the SYNs, and a connect times out
    const port = await freePort();
    const python = `import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", ${port})); s.listen(0)
fill = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", ${port}))
    except BlockingIOError: pass
    fill.append(c)
print("ready", flush=True)
time.sleep(60)`;
    const listener = spawn("python3", ["-c", python]);
    try {
      await new Promise((resolve) => listener.stdout.once("data", resolve));
      const math = MathDispatcher.connect({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 500 }, { deadlineMs: 6_000 });
      try {
        const started = Date.now();
        const error = await math.atr({ symbol: "ETIMEDOUT", period: 14, bars }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectionError);
        expect(error).toMatchObject({ failure: "timeout", address: `127.0.0.1:${port}` });
        // failed by the connect's own timeout, long before the call's 6 s (a generous bound: the promise is fail fast)
        expect(Date.now() - started).toBeLessThan(4_000);
      } finally {
        await math.close();
      }
    } finally {
      listener.kill();
    }
  });

  it("a cold call and load() on a cluster whose startup node never answers end by their own deadline: the wait's own timeout is never taken for the load's", async () => {
    const silent = createServer(() => undefined); // accepts, never writes: no slot map ever comes
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const math = MathDispatcher.connect({ cluster: [{ host: "127.0.0.1", port: (silent.address() as AddressInfo).port }] });
    try {
      for (const call of [() => math.atr({ symbol: "NOSLOTS", period: 14, bars }, { deadlineMs: 300 }), () => math.load({ deadlineMs: 300 })]) {
        const outcome = await Promise.race([call().catch((e: unknown) => e), new Promise((resolve) => setTimeout(() => resolve("still pending after 5 s"), 5_000))]);
        expect(outcome).toBeInstanceOf(CommandTimeoutError);
      }
    } finally {
      await math.close();
      silent.close();
    }
  });

  it("close() on a frozen server ends the calls not yet sent at once, and those in flight when it cuts the connection, all with ClientClosedError; nothing is retried after it", async () => {
    const math = MathDispatcher.connect(server.url, { breakerThreshold: 1000 });
    try {
      await math.load();
      let retriesAfterClose = 0;
      let closed = false;
      math.client.on("retry", () => (closed ? retriesAfterClose++ : undefined));
      server.freeze();
      let settled = 0;
      const calls = Array.from({ length: 300 }, (_, i) =>
        math.confidence({ symbol: `CLOSE${i}`, base: 0.5, volumeRatio: 1, boost: 0 }, { deadlineMs: 10_000 }).then(
          () => "answered",
          (e: unknown) => e,
        ).finally(() => settled++),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      closed = true;
      const closing = math.close();
      // the calls that waited for their turn (all but the wave in flight) end at once, not when the connection goes
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBeGreaterThanOrEqual(300 - 16);
      await closing;
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => !(o instanceof ClientClosedError))).toEqual([]);
      // a call in flight on the cut connection ends: it is not sent again and again until the socket is gone
      expect(retriesAfterClose).toBeLessThanOrEqual(16);
      // later calls, a load, and a result the in-process tier would have held: all ended the same way
      expect(await math.load().catch((e: unknown) => e)).toBeInstanceOf(ClientClosedError);
    } finally {
      server.thaw();
      await math.close();
    }
  });

  it("a closed dispatcher answers nothing, from its in-process tier neither, and a client it was given stays open", async () => {
    const client = new ResilientRedis({ config: { url: server.url } });
    const math = MathDispatcher.withClient(client, { resultCache: { maxEntries: 10, maxBytes: 1 << 20 } });
    const input = { symbol: "CLOSEDTIER", period: 14, bars };
    await math.atr(input);
    expect((await math.atr(input)).cache).toBe("memory");
    // a call in flight at the close is answered, and keeps nothing in the tier for later
    const other = { symbol: "CLOSEDTIER2", period: 14, bars };
    const inFlight = math.atr(other);
    await math.close();
    await inFlight.catch(() => undefined);
    expect(await math.atr(other).catch((e: unknown) => e)).toBeInstanceOf(ClientClosedError);
    for (const call of [() => math.atr(input), () => math.load(), () => math.batch([{ fn: "atr", input }]).then((r) => (r[0]?.ok === false ? r[0].error : r[0]))]) {
      const outcome = await call().catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(ClientClosedError);
      expect((outcome as Error).message).toContain("the dispatcher was closed");
    }
    expect(await client.run("system", (r) => r.ping())).toBe("PONG");
    await client.close();
  });

  it("close() of a dispatcher on a client it was given ends its calls retrying a BUSY server too: none is sent after the close", async () => {
    const client = new ResilientRedis({ config: { url: server.url }, maxRetries: 100, breakerThreshold: 1000 });
    const math = MathDispatcher.withClient(client);
    const blocker = new Redis(server.url);
    try {
      await math.load();
      await blocker.config("SET", "busy-reply-threshold", "50");
      const blocking = holdServer(blocker, 1_500);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const calls = Array.from({ length: 5 }, (_, i) => math.confidence({ symbol: `BUSYCLOSE${i}`, base: 0.5, volumeRatio: 1, boost: 0 }, { deadlineMs: 5_000 }).catch((e: unknown) => e));
      await new Promise((resolve) => setTimeout(resolve, 300)); // retrying the BUSY replies
      await math.close();
      const outcomes = await Promise.all(calls);
      await blocking;
      expect(outcomes.filter((o) => !(o instanceof ClientClosedError))).toEqual([]);
      expect(await client.run("system", (r) => r.ping())).toBe("PONG"); // the client it was given stays open
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await client.close();
    }
  });

  // 20 calls fill the server's wave budget (src/cluster/pipeline.ts, WaveGate) and the call after
  // them waits for its turn: its deadline still holds, and the error says what kept it
  it.each([
    ["silent (a long script under the BUSY threshold)", "5000", CommandTimeoutError, /before its turn: .* \(not sent\)$/],
    ["answering BUSY", "50", ServerBusyError, /before its turn: .* \(not sent\): Redis answered BUSY /],
  ] as const)("a call waiting its turn behind a full budget fails by its own deadline, the server %s", async (_, threshold, errorClass, message) => {
    const math = MathDispatcher.connect(server.url, { deadlineMs: 5000, maxRetries: 100, breakerThreshold: 1000 });
    const blocker = new Redis(server.url);
    const settled: string[] = [];
    try {
      await math.load();
      await blocker.config("SET", "busy-reply-threshold", threshold);
      const blocking = holdServer(blocker, 1_500);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const ahead = Array.from({ length: 20 }, (_, i) =>
        math.confidence({ symbol: `TURN${i}`, base: 0.5, volumeRatio: 1, boost: 0 }).then(() => settled.push("ahead"), () => settled.push("ahead")),
      );
      const waiting = math.confidence({ symbol: "TURNLATE", base: 0.5, volumeRatio: 1, boost: 0 }, { deadlineMs: 300 }).catch((e: unknown) => e);
      const error = await waiting;
      settled.push("waiting");
      await Promise.all([blocking, ...ahead]);
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toBeInstanceOf(errorClass === ServerBusyError ? RedisCommandError : CommandTimeoutError);
      expect((error as Error).message).toMatch(message);
      expect(isTransient(error)).toBe(true); // not sent: the same call may succeed a moment later
      // answered at its deadline, before any of the calls ahead of it, which outlast the hold
      expect(settled[0]).toBe("waiting");
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await math.close();
    }
  });

  it("an update that failed holds back the updates of its symbol waiting behind it: none gets ahead of it, resent in order all apply", async () => {
    const math = MathDispatcher.connect(server.url, { maxRetries: 100, breakerThreshold: 1000 });
    const blocker = new Redis(server.url);
    const live = math.streaming();
    const open = Date.UTC(2026, 10, 26, 4, 30);
    const tick = (i: number) => ({ symbol: "HELDBACK", ts: open + i, seq: i, price: 100 + i, volume: 10 });
    try {
      await math.load();
      await blocker.config("SET", "busy-reply-threshold", "50");
      const blocking = holdServer(blocker, 1_200);
      await new Promise((resolve) => setTimeout(resolve, 120));
      // the first update's deadline passes during the BUSY; the later ones, made while it is in
      // flight, have time to outlast it
      const first = live.update(tick(0), { deadlineMs: 300 }).catch((e: unknown) => e);
      const later = [1, 2, 3].map((i) => live.update(tick(i), { deadlineMs: 5000 }).catch((e: unknown) => e));
      const firstError = await first;
      expect(isTransient(firstError)).toBe(true);
      for (const error of await Promise.all(later)) {
        expect(error).toBeInstanceOf(UpdateHeldBackError);
        expect((error as Error).cause).toBe(firstError);
        expect(isTransient(error)).toBe(true); // sent again in order, it applies
      }
      await blocking;
      // what the error invites: send them again, in order
      const resent = [];
      for (let i = 0; i < 4; i++) resent.push((await live.update(tick(i))).vwapStatus);
      expect(resent).toEqual(["applied", "applied", "applied", "applied"]);
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await math.close();
    }
  });

  it("a resend made once a failure is known goes, never held back in a group of lone updates opened before it", () =>
    whileHeld("REGROUP", 1_000, async (live, tick, held) => {
      const first = live.update(tick(0), { deadlineMs: 5000 });
      // its deadline passes while the first is in flight: a failure of the symbol, while the
      // group of the update made after it still waits for its turn
      const failing = live.update(tick(1), { deadlineMs: 200 }).catch((e: unknown) => e);
      const grouped = live.update(tick(2), { deadlineMs: 5000 }).catch((e: unknown) => e);
      const failure = await failing;
      expect(failure).toBeInstanceOf(CommandTimeoutError);
      const resent = live.update(tick(1), { deadlineMs: 5000 }); // made once the failure is known
      await held;
      expect((await first).vwapStatus).toBe("applied");
      expect(await grouped).toBeInstanceOf(UpdateHeldBackError); // made before the failure was known
      expect((await resent).vwapStatus).toBe("applied");
      expect((await live.update(tick(2))).vwapStatus).toBe("applied");
    }));

  it("a lone update joins a waiting group only if given the same deadline: another update's deadline does not fail it", () =>
    whileHeld("OWNDEADLINE", 800, async (live, tick, held) => {
      const first = live.update(tick(0), { deadlineMs: 5000 });
      // a group of three: its wait outlasts their deadline, and each gets that one error
      const short = [1, 2, 3].map((i) => live.update(tick(i), { deadlineMs: 200 }).catch((e: unknown) => e));
      const long = live.update(tick(4), { deadlineMs: 5000 }).catch((e: unknown) => e); // its own group, behind
      const shortErrors = await Promise.all(short);
      const shortError = shortErrors[0];
      expect(shortError).toBeInstanceOf(CommandTimeoutError);
      expect(shortErrors).toEqual([shortError, shortError, shortError]);
      await held;
      expect((await first).vwapStatus).toBe("applied");
      // made before that failure was known: held back by it, not failed by the other's deadline
      const longError = await long;
      expect(longError).toBeInstanceOf(UpdateHeldBackError);
      expect((longError as Error).cause).toBe(shortError);
    }));

  it("connect() reads its settings from the environment when given none", async () => {
    const previous = process.env.REDIS_URL;
    process.env.REDIS_URL = server.url;
    try {
      const math = MathDispatcher.connect();
      expect((await math.stopLoss({ symbol: "ENV", side: "long", entry: 100, atr: 2 })).stop).toBe(97);
      await math.close();
    } finally {
      if (previous === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = previous;
    }
  });

  it.each([
    ["RESP2", { protocol: 2 as const }],
    ["RESP3 with ioredis's default reply mapping", { protocol: 3 as const }],
    ["RESP3 with native reply mapping", { protocol: 3 as const, replyMapping: "resp3" as const }],
  ])("decodes replies the same under %s", async (_, protocol) => {
    const math = new MathDispatcher(new Redis(server.url, { db: 10, ...protocol }));
    const result = await math.vwap({ symbol: `PROTO${protocol.protocol}${"replyMapping" in protocol ? "N" : ""}`, ticks: [{ price: 100, volume: 1 }, { price: 100.05, volume: 2 }] });
    expect(result.vwap).toBe(100.03333333333333);
    expect(result.bands.map((b) => b.k)).toEqual([1, 2]);
    await math.close();
  });
});
