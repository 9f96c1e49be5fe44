import { inspect } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { CircuitOpenError, CommandTimeoutError, ConfigurationError, ConnectionError, InvalidInputError, OfflineQueueFullError, RedisCommandError } from "../../src/core/errors.js";
import { isTransient, ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { holdServer, ownRedis } from "../support/redis.js";
import { waitUntil } from "../support/waitUntil.js";

// These tests stop, restart and block a server, so they start their own.
let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

const clients: ResilientRedis[] = [];
function client(options: ConstructorParameters<typeof ResilientRedis>[0] = {}) {
  const c = new ResilientRedis({ ...options, config: { url: server.url, ...options.config } });
  clients.push(c);
  return c;
}
afterAll(() => Promise.all(clients.map((c) => c.close())));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("resilient client", () => {
  it("opens one connection per database, lazily, on the mapped DB", async () => {
    const c = client();
    await c.run("news", (r) => r.set("news:latest:LAZY", "[]"));
    expect(c.connection("news").options.db).toBe(11);
    expect(c.connection("news")).toBe(c.connection("news"));
    const direct = new Redis(server.url, { db: 11 });
    expect(await direct.get("news:latest:LAZY")).toBe("[]");
    direct.disconnect();
  });

  it("uses a given ioredis instance as it is and leaves it open", async () => {
    const given = new Redis(server.url, { db: 3, enableOfflineQueue: true });
    const optionsBefore = JSON.stringify(given.options);
    const c = client({ connection: given });
    await c.run("premarket", (r) => r.set("k", "v"));
    expect(c.connection("premarket")).toBe(given);
    await c.close();
    expect(JSON.stringify(given.options)).toBe(optionsBefore);
    expect(await given.get("k")).toBe("v"); // still open
    given.disconnect();
  });

  it("retries a transient error (BUSY) with backoff and succeeds", async () => {
    const admin = new Redis(server.url);
    await admin.config("SET", "busy-reply-threshold", "100");
    const c = client({ maxRetries: 10, initialDelayMs: 50, breakerThreshold: 100, config: { commandTimeoutMs: 3000 } });
    await c.run("system", (r) => r.ping());
    let retries = 0;
    c.on("retry", () => retries++);
    const busy = new Redis(server.url);
    const script = holdServer(busy, 600);
    await sleep(200);
    expect(await c.run("system", (r) => r.ping())).toBe("PONG");
    await script;
    expect(retries).toBeGreaterThan(0);
    busy.disconnect();
    admin.disconnect();
  });

  it("does not retry an error that is not transient", async () => {
    const c = client();
    let retries = 0;
    c.on("retry", () => retries++);
    await c.run("system", (r) => r.set("str", "x"));
    const error = await c.run("system", (r) => r.hget("str", "f")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisCommandError);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    expect(retries).toBe(0);
  });

  it("times a command out", async () => {
    const c = client({ maxRetries: 0, config: { commandTimeoutMs: 200 } });
    await c.run("system", (r) => r.ping());
    const blocker = new Redis(server.url);
    await blocker.config("SET", "busy-reply-threshold", "5000"); // the server stays silent, not BUSY
    const blocking = holdServer(blocker, 800);
    await sleep(50);
    const started = Date.now();
    const error = await c.run("system", (r) => r.ping()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).address).toBe(server.url.replace("redis://", "")); // where it went, for a log or a page
    expect(Date.now() - started).toBeLessThan(900);
    await blocking;
    blocker.disconnect();
  });

  it("bounds the calls waiting for a connection that is down", async () => {
    const c = client({ maxRetries: 0, offlineQueueLimit: 25, deadlineMs: 10_000, outageGraceMs: 10_000 });
    await c.run("system", (r) => r.ping());
    await server.stop();
    await waitUntil(() => c.connection("system").status !== "ready", "ioredis saw the server go");
    const warnings: Error[] = [];
    process.on("warning", (w) => warnings.push(w));
    const waiting = Array.from({ length: 25 }, () => c.run("system", (r) => r.ping()).catch((e: unknown) => e));
    await sleep(20);
    await expect(c.run("system", (r) => r.ping())).rejects.toBeInstanceOf(OfflineQueueFullError);
    await server.start();
    const results = await Promise.all(waiting);
    expect(results).toEqual(Array(25).fill("PONG")); // the calls that waited got through once Redis was back
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]); // they share one listener
  });

  it("opens the circuit after repeated timeouts, fails fast, and closes when Redis answers", async () => {
    const c = client({ maxRetries: 0, breakerThreshold: 3, halfOpenAfterMs: 300, config: { commandTimeoutMs: 100 } });
    const states: string[] = [];
    c.on("circuit", (s: string) => states.push(s));
    await c.run("system", (r) => r.ping());
    const blocker = new Redis(server.url);
    await blocker.config("SET", "busy-reply-threshold", "5000"); // silent, not BUSY: every call times out
    const blocking = holdServer(blocker, 700);
    await sleep(50);
    for (let i = 0; i < 3; i++) await expect(c.run("system", (r) => r.ping())).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(c.circuit).toBe("open");
    const started = Date.now();
    const open = await c.run("system", (r) => r.ping()).catch((e: unknown) => e);
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect(Date.now() - started).toBeLessThan(50); // fast: Redis was not even asked
    expect(isTransient(open)).toBe(true); // a moment later the breaker lets a call through
    await blocking;
    blocker.disconnect();
    await sleep(350); // past halfOpenAfterMs: calls go through again
    expect(await c.run("system", (r) => r.ping())).toBe("PONG");
    expect(c.circuit).toBe("closed");
    expect(states).toEqual(["open", "half_open", "closed"]);
  });

  it("half open, the circuit lets one trial call through and fails the others at once; opened by BUSY replies, it says so", async () => {
    const c = client({ maxRetries: 0, breakerThreshold: 3, halfOpenAfterMs: 200, config: { commandTimeoutMs: 300 } });
    await c.run("system", (r) => r.ping());
    const blocker = new Redis(server.url);
    try {
      await blocker.config("SET", "busy-reply-threshold", "5000"); // silent, not BUSY: every call times out
      const blocking = holdServer(blocker, 3000); // past the trial below, on a loaded machine too
      await sleep(50);
      for (let i = 0; i < 3; i++) await expect(c.run("system", (r) => r.ping())).rejects.toBeInstanceOf(CommandTimeoutError);
      expect(c.circuit).toBe("open");
      const slow = await c.run("system", (r) => r.ping()).catch((e: unknown) => e);
      expect((slow as Error).message).toMatch(/answers too slowly: the circuit is open$/);
      await sleep(250); // past halfOpenAfterMs, the server still held
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => c.run("system", (r) => r.ping()).catch((e: unknown) => e)));
      // one call is the trial (it meets the held server and times out); the nine others are not sent
      expect(outcomes.filter((o) => o instanceof CommandTimeoutError)).toHaveLength(1);
      const shed = outcomes.filter((o) => o instanceof CircuitOpenError);
      expect(shed).toHaveLength(9);
      expect((shed[0] as Error).message).toMatch(/the circuit is half open, and its one trial call is under way$/);
      expect(c.circuit).toBe("open"); // the trial failed: open again
      await blocking;
      // BUSY replies (a script over busy-reply-threshold): the server answers, and the circuit says what it answered
      await blocker.config("SET", "busy-reply-threshold", "10");
      await sleep(250);
      expect(await c.run("system", (r) => r.ping())).toBe("PONG"); // the trial closes it
      const busy = holdServer(blocker, 800);
      await sleep(50);
      for (let i = 0; i < 3; i++) await c.run("system", (r) => r.ping()).catch(() => undefined);
      const open = await c.run("system", (r) => r.ping()).catch((e: unknown) => e);
      expect(open).toBeInstanceOf(CircuitOpenError);
      expect((open as Error).message).toMatch(/answers "not now" \(BUSY\): the circuit is open$/);
      await busy;
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
    }
  });

  it("a trial whose backoff outlasts halfOpenAfterMs takes the next trial itself, rather than failing as 'under way'", async () => {
    const c = client({ maxRetries: 3, breakerThreshold: 1, halfOpenAfterMs: 20, initialDelayMs: 150, maxDelayMs: 150, deadlineMs: 5000, config: { commandTimeoutMs: 100 } });
    await c.run("system", (r) => r.ping());
    const blocker = new Redis(server.url);
    try {
      await blocker.config("SET", "busy-reply-threshold", "5000"); // silent: every attempt times out
      const blocking = holdServer(blocker, 1200);
      await sleep(50);
      const first = await c.run("system", (r) => r.ping()).catch((e: unknown) => e);
      await blocking;
      // its attempts each time out, the circuit opens after the first, and the call keeps its retries
      expect(first, String(first)).toBeInstanceOf(CommandTimeoutError);
      expect(await c.run("system", (r) => r.ping())).toBe("PONG");
    } finally {
      blocker.disconnect();
    }
  });

  it("a process busy in its own code past the command timeout takes the replies that came meanwhile: no timeout, no retry, the circuit stays closed", async () => {
    const c = client({ breakerThreshold: 3, config: { commandTimeoutMs: 300 } });
    await c.run("system", (r) => r.ping());
    const events: string[] = [];
    c.on("retry", () => events.push("retry"));
    c.on("circuit", (state: string) => events.push(state));
    for (let round = 0; round < 3; round++) {
      const calls = Array.from({ length: 10 }, (_, i) => c.run("system", (r) => r.echo(`busy ${round} ${i}`)).catch((e: unknown) => e));
      // a detector's burst of work at the open: the event loop is held past the command timeout
      const until = Date.now() + 600;
      while (Date.now() < until);
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, (_, i) => `busy ${round} ${i}`));
    }
    expect(events).toEqual([]);
    expect(c.circuit).toBe("closed");
  });

  it("a connection cut just before the process is busy in its own code past the outage grace reconnects, and the calls waiting for it are served", async () => {
    const c = client({ outageGraceMs: 200 });
    const admin = new Redis(server.url);
    try {
      for (let round = 0; round < 3; round++) {
        await c.run("system", (r) => r.ping());
        await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        await sleep(5); // the close is seen: the calls below wait for the reconnect
        const calls = Array.from({ length: 5 }, (_, i) => c.run("system", (r) => r.echo(`grace ${round} ${i}`)).catch((e: unknown) => e));
        const until = Date.now() + 400; // past the grace, before ioredis could reconnect
        while (Date.now() < until);
        expect(await Promise.all(calls)).toEqual(Array.from({ length: 5 }, (_, i) => `grace ${round} ${i}`));
      }
    } finally {
      admin.disconnect();
    }
  });

  it("does not open the circuit for calls whose own deadline is shorter than the command timeout", async () => {
    const c = client({ maxRetries: 0, breakerThreshold: 3, config: { commandTimeoutMs: 1000 } });
    await c.run("system", (r) => r.ping());
    const blocker = new Redis(server.url);
    await blocker.config("SET", "busy-reply-threshold", "5000"); // silent, not BUSY
    const blocking = holdServer(blocker, 300);
    await sleep(50);
    for (let i = 0; i < 5; i++) await expect(c.run("system", (r) => r.ping(), { deadlineMs: 20 })).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(c.circuit).toBe("closed"); // the callers' budgets ran out, not the server's time
    // and the error says so: the attempt had what was left of the call's deadline, not the command timeout
    await expect(c.run("system", (r) => r.ping(), { deadlineMs: 20 })).rejects.toThrow(/did not answer within \d+ ms, all that was left of the call's deadline \(20 ms when this round trip began\)$/);
    await blocking;
    blocker.disconnect();
    expect(await c.run("system", (r) => r.ping())).toBe("PONG");
  });

  it("does not open the circuit for an outage: connection failures fail fast on their own", async () => {
    const c = client({ breakerThreshold: 2 });
    await c.run("system", (r) => r.ping());
    await server.stop();
    const errors = [];
    for (let i = 0; i < 5; i++) errors.push(await c.run("system", (r) => r.ping()).catch((e: unknown) => e));
    expect(errors.every((e) => e instanceof ConnectionError)).toBe(true);
    expect(c.circuit).toBe("closed");
    await server.start();
    await waitUntil(async () => (await c.run("system", (r) => r.ping()).catch(() => "down")) === "PONG", "calls succeed again");
  });

  it("sends a command lost with its connection again once the connection is back", async () => {
    const c = client({ deadlineMs: 10_000, outageGraceMs: 10_000 });
    await c.run("system", (r) => r.set("lost", "0"));
    let sent = 0;
    const call = c.run("system", async (r) => {
      sent++;
      if (sent === 1) {
        const reply = r.blpop("never", 5); // in flight when the server dies
        reply.catch(() => undefined); // its rejection is the policy's to handle, once returned
        await server.kill();
        return reply;
      }
      return r.incr("lost");
    });
    await sleep(100);
    await server.start();
    expect(await call).toBe(1); // the restarted server is empty: INCR of a missing key
    expect(sent).toBe(2);
  });

  it("refuses to fall back to DB 0 when SELECT is denied", async () => {
    const admin = new Redis(server.url);
    await admin.acl("SETUSER", "noselect", "on", ">pw", "~*", "+@all", "-select");
    const c = new ResilientRedis({ config: { url: server.url, username: "noselect", password: "pw" }, deadlineMs: 1000 });
    clients.push(c);
    const error = await c.run("patterns", (r) => r.set("poison", "x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe("databases.patterns");
    expect(await admin.exists("poison")).toBe(0); // nothing was written on DB 0
    admin.disconnect();
  });

  it("given a host and port, logs in without REDIS_URL's credentials: they belong to REDIS_URL's server", async () => {
    const before = process.env.REDIS_URL;
    // a user this server does not have: sent here, its AUTH would be refused (WRONGPASS)
    process.env.REDIS_URL = "rediss://prod:PRODpw@127.0.0.1:1";
    try {
      const c = new ResilientRedis({ config: { host: "127.0.0.1", port: server.port }, deadlineMs: 1000 });
      clients.push(c);
      expect(c.config).toMatchObject({ host: "127.0.0.1", port: server.port, tls: false });
      expect(c.config).not.toHaveProperty("password");
      expect(await c.run("system", (r) => r.ping())).toBe("PONG");
      // a cluster's startup nodes name its servers too
      const cluster = new ResilientRedis({ cluster: [{ host: "127.0.0.1", port: server.port }] });
      clients.push(cluster);
      expect(cluster.config).not.toHaveProperty("password");
      expect(cluster.config.tls).toBe(false);
    } finally {
      if (before === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = before;
    }
  });

  it("a refused login's errors, thrown and emitted, never hold the password (ioredis keeps HELLO's or AUTH's args on its reply error)", async () => {
    const admin = new Redis(server.url);
    await admin.acl("SETUSER", "login-off", "off", ">S3CRETpw", "~*", "+@all");
    await admin.acl("SETUSER", "login-on", "on", ">RIGHTpw", "~*", "+@all");
    admin.disconnect();
    for (const [user, secret] of [["login-off", "S3CRETpw"], ["login-on", "WRONGpw"]]) {
      const c = new ResilientRedis({ config: { host: "127.0.0.1", port: server.port, username: user, password: secret }, deadlineMs: 1000 });
      clients.push(c);
      const downs: unknown[] = [];
      c.on("down", ({ error }) => downs.push(error));
      const error = await c.run("patterns", (r) => r.ping()).catch((e: unknown) => e);
      expect(error, user).toMatchObject({ failure: "auth" });
      expect(error).toBeInstanceOf(ConnectionError);
      expect(downs.length).toBeGreaterThan(0);
      for (const held of [error, ...downs]) expect(inspect(held, { depth: Infinity }), user).not.toContain(secret);
      // the cause is still there, with what its command was (ioredis 6 logs in with HELLO, 5 with AUTH)
      expect((error as Error).cause).toMatchObject({ command: { name: expect.stringMatching(/^(hello|auth)$/), args: expect.arrayContaining(["***"]) } });
    }
  });

  it("a refused login fails as auth, and once the user is turned on again, calls succeed on the same client", async () => {
    const admin = new Redis(server.url);
    await admin.acl("SETUSER", "login-later", "off", ">LATERpw", "~*", "+@all");
    const c = new ResilientRedis({ config: { host: "127.0.0.1", port: server.port, username: "login-later", password: "LATERpw" }, deadlineMs: 1000 });
    clients.push(c);
    try {
      expect(await c.run("patterns", (r) => r.ping()).catch((e: unknown) => e)).toMatchObject({ failure: "auth" });
      await admin.acl("SETUSER", "login-later", "on");
      // the client reconnects on its own (ioredis's retry): a later call is served as that user
      await waitUntil(async () => (await c.run("patterns", (r) => r.ping()).catch(() => "refused")) === "PONG", "served once the user is on");
      expect(await c.run("patterns", (r) => r.call("ACL", "WHOAMI"))).toBe("login-later");
    } finally {
      admin.disconnect();
    }
  });

  it("prints and serializes without the password: its settings, its options as given, the connections it opened", async () => {
    const admin = new Redis(server.url);
    await admin.acl("SETUSER", "shown", "on", ">S3CRETpw", "~*", "+@all");
    admin.disconnect();
    const c = new ResilientRedis({ config: { url: `redis://shown:S3CRETpw@127.0.0.1:${server.port}` } });
    clients.push(c);
    expect(await c.run("patterns", (r) => r.ping())).toBe("PONG");
    const connection = c.connection("patterns");
    for (const shown of [inspect(c, { depth: Infinity }), JSON.stringify(c), inspect(c.config), JSON.stringify(c.config), inspect({ connection }, { depth: Infinity }), JSON.stringify({ connection })]) {
      expect(shown).not.toContain("S3CRETpw");
    }
    expect(JSON.parse(JSON.stringify(c))).toMatchObject({ address: `127.0.0.1:${server.port}`, config: { username: "shown", password: "***" }, connections: { patterns: "ready" } });
    expect(inspect(connection)).toBe(`[Redis 127.0.0.1:${server.port} db 10 ready]`);
    expect(connection.options.password).toBe("S3CRETpw"); // ioredis's own options are as they were
  });

  it("refuses a policy setting that is not a whole number in its range, naming it", () => {
    const refused: [Partial<Record<string, unknown>>, string][] = [
      [{ deadlineMs: 0 }, "deadlineMs"],
      [{ deadlineMs: Number.NaN }, "deadlineMs"],
      [{ deadlineMs: "250ms" }, "deadlineMs"],
      [{ outageGraceMs: -1 }, "outageGraceMs"],
      [{ maxRetries: 1.5 }, "maxRetries"],
      [{ initialDelayMs: Number.POSITIVE_INFINITY }, "initialDelayMs"],
      [{ maxDelayMs: -20 }, "maxDelayMs"],
      [{ offlineQueueLimit: -1 }, "offlineQueueLimit"],
      [{ breakerThreshold: 0 }, "breakerThreshold"],
      [{ halfOpenAfterMs: 7_200_000 }, "halfOpenAfterMs"],
    ];
    for (const [options, setting] of refused) {
      const error = (() => {
        try {
          return client(options as ConstructorParameters<typeof ResilientRedis>[0]);
        } catch (e) {
          return e;
        }
      })();
      expect(error, setting).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).setting).toBe(setting);
    }
    expect(client({ deadlineMs: "250" as unknown as number }).deadlineMs).toBe(250); // digit text, as the environment gives it
  });

  it("refuses a call's own deadline that is not a number of ms above 0, before sending anything", async () => {
    const c = client();
    let sent = 0;
    for (const deadlineMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, "250" as unknown as number]) {
      const error = await c.run("patterns", (r) => (sent++, r.ping()), { deadlineMs }).catch((e: unknown) => e);
      expect(error, String(deadlineMs)).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe("deadlineMs");
    }
    expect(sent).toBe(0);
    expect(await c.run("patterns", (r) => r.ping(), { deadlineMs: 0.5 + 100 })).toBe("PONG");
  });
});
