/**
 * TLS against `redis-server --tls-port` with a private CA made here (openssl): server
 * verification with a CA and a server name, mutual TLS, and a typed ConnectionError (failure
 * "tls") for an untrusted certificate, a wrong name or a missing client certificate.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { consume } from "../../src/cli/consume.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { collectHealth } from "../../src/health/healthReport.js";
import { connectOnce } from "../../src/cli/connect.js";
import { type RedisConfigInput, resolveRedisConfig, toConnectionError } from "../../src/redis/config.js";
import { makePki, type OwnServer, type Pki, startTlsRedis } from "../support/tls.js";
import { waitUntil } from "../support/waitUntil.js";

let pki: Pki;
let oneWay: OwnServer;
let mutual: OwnServer;
beforeAll(async () => {
  pki = makePki();
  [oneWay, mutual] = await Promise.all([startTlsRedis(pki, false), startTlsRedis(pki, true)]);
});
afterAll(async () => {
  await Promise.all([oneWay?.stop(), mutual?.stop()]);
});

const bars = Array.from({ length: 16 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 + (i % 2) }));

/** Runs one ATR through a dispatcher on `config`; resolves to its result or the error it threw. */
async function atrVia(config: RedisConfigInput): Promise<unknown> {
  const math = MathDispatcher.connect(config);
  try {
    return await math.atr({ symbol: "TLS", period: 14, bars }).catch((error: unknown) => error);
  } finally {
    await math.close();
  }
}

function expectTlsFailure(outcome: unknown, port: number) {
  expect(outcome, String(outcome)).toBeInstanceOf(ConnectionError);
  expect((outcome as ConnectionError).failure).toBe("tls");
  expect((outcome as ConnectionError).address).toBe(`127.0.0.1:${port}`);
  expect((outcome as ConnectionError).cause).toBeDefined();
}

describe("TLS", () => {
  it("connects with the private CA (file or buffer) and the server's name", async () => {
    const url = `rediss://127.0.0.1:${oneWay.port}`;
    expect(await atrVia({ url, tls: { ca: pki.ca, servername: "redis.test" } })).toMatchObject({ bars: 16 });
    expect(await atrVia({ url, tls: { ca: readFileSync(pki.ca), servername: "redis.test" } })).toMatchObject({ cache: "hit" });
    const fromEnv = resolveRedisConfig({ url }, { REDIS_TLS_CA_FILE: pki.ca, REDIS_TLS_SERVERNAME: "redis.test" });
    expect(await atrVia({ url, tls: fromEnv.tls || undefined })).toMatchObject({ cache: "hit" });
  });

  it("an untrusted certificate is a ConnectionError of kind tls", async () => {
    const url = `rediss://127.0.0.1:${oneWay.port}`;
    expectTlsFailure(await atrVia({ url, tls: { servername: "redis.test" } }), oneWay.port); // Node's trust store only
    expectTlsFailure(await atrVia({ url, tls: { ca: pki.otherCa, servername: "redis.test" } }), oneWay.port);
  });

  it("a certificate for another name is a ConnectionError of kind tls", async () => {
    // the certificate names redis.test, not 127.0.0.1
    expectTlsFailure(await atrVia({ url: `rediss://127.0.0.1:${oneWay.port}`, tls: { ca: pki.ca } }), oneWay.port);
  });

  it("mutual TLS: works with the client certificate, and without it is a ConnectionError of kind tls", async () => {
    const url = `rediss://127.0.0.1:${mutual.port}`;
    const tls = { ca: pki.ca, servername: "redis.test" };
    expect(await atrVia({ url, tls: { ...tls, cert: pki.clientCert, key: pki.clientKey } })).toMatchObject({ bars: 16 });
    expectTlsFailure(await atrVia({ url, tls }), mutual.port);
  });

  it("a client key that is encrypted or not the certificate's is a ConnectionError of kind tls with its cause, not 'the client was closed'", async () => {
    const encrypted = join(pki.dir, "client-encrypted.key");
    execFileSync("openssl", ["pkey", "-in", pki.clientKey, "-aes256", "-passout", "pass:secret", "-out", encrypted], { stdio: "ignore" });
    const tls = { ca: pki.ca, servername: "redis.test", cert: pki.clientCert };
    for (const key of [encrypted, pki.serverKey]) {
      const outcome = await atrVia({ url: `rediss://127.0.0.1:${mutual.port}`, tls: { ...tls, key } });
      expectTlsFailure(outcome, mutual.port);
      expect((outcome as Error).message, key).not.toContain("the client was closed");
    }
  });

  it("close() returns after a refused mutual-TLS handshake, every time (it once waited on a QUIT that never got a connection)", async () => {
    const url = `rediss://127.0.0.1:${mutual.port}`;
    for (let i = 0; i < 20; i++) {
      const math = MathDispatcher.connect({ url, tls: { ca: pki.ca, servername: "redis.test" } });
      expectTlsFailure(await math.atr({ symbol: "TLS", period: 14, bars }).catch((error: unknown) => error), mutual.port);
      const closed = await Promise.race([math.close().then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("still open after 10 s"), 10_000))]);
      expect(closed).toBe("closed");
    }
  });

  it("a plain client on a TLS port is a ConnectionError that asks whether the port requires TLS", async () => {
    const outcome = await atrVia({ url: `redis://127.0.0.1:${oneWay.port}` });
    expect(outcome, String(outcome)).toBeInstanceOf(ConnectionError);
    expect(outcome).toMatchObject({ address: `127.0.0.1:${oneWay.port}`, failure: "closed" });
    // the reset (read or write ECONNRESET), then the question
    expect((outcome as Error).message).toMatch(/^Redis at 127\.0\.0\.1:\d+: closed: .+ \(TLS is off: does this port require TLS, rediss:\/\/\? A server at maxclients closes so too\)$/);
    expect((outcome as Error).cause).toBeDefined();
  });

  it("the command line's connections (health, scripts, consume) ask it too, where a plain server that answered and closed is not asked", async () => {
    const url = `redis://127.0.0.1:${oneWay.port}`;
    const hint = "(TLS is off: does this port require TLS, rediss://? A server at maxclients closes so too)";
    const health = await collectHealth({ config: { url } });
    expect(health).toMatchObject({ status: "unreachable", failure: "closed" });
    expect(health.error).toContain(hint);
    const once = await connectOnce(resolveRedisConfig({ url }), "system")
      .then(({ redis }) => redis.get("k").finally(() => redis.disconnect()))
      .catch((error: unknown) => error);
    // the connection is made; its first command meets the reset
    expect(once instanceof ConnectionError ? once.message : String(once)).toContain(hint);
    const consumed = await consume({ url, symbols: ["TLSOFF"], log: () => undefined }).catch((error: unknown) => error);
    expect(consumed, String(consumed)).toBeInstanceOf(ConnectionError);
    expect((consumed as Error).message).toContain(hint);
    // a server that answered, then reset the connection: the same reset, but no TLS question
    // answers every command with a nil, and resets the connection 300 ms after the first
    const answersThenResets = createServer((socket) => {
      socket.on("data", (data) => socket.write("$-1\r\n".repeat(data.toString().split("*").length - 1)));
      socket.once("data", () => setTimeout(() => socket.resetAndDestroy(), 300));
    });
    await new Promise<void>((resolve) => answersThenResets.listen(0, "127.0.0.1", resolve));
    const resetUrl = `redis://127.0.0.1:${(answersThenResets.address() as AddressInfo).port}`;
    try {
      const { redis } = await connectOnce(resolveRedisConfig({ url: resetUrl }), "system");
      let socketError: unknown;
      redis.on("error", (error: unknown) => (socketError = error));
      expect(await redis.get("k")).toBeNull(); // it answered
      await waitUntil(() => socketError !== undefined, "the reset reached the client");
      redis.disconnect();
      const closed = toConnectionError(resolveRedisConfig({ url: resetUrl }), socketError);
      expect(closed.failure).toBe("closed");
      expect(closed.message).not.toContain("TLS is off");
    } finally {
      answersThenResets.close();
    }
  });

  it("health over TLS: reports the server, and an untrusted certificate as unreachable (tls)", async () => {
    const url = `rediss://127.0.0.1:${mutual.port}`;
    const good = await collectHealth({ config: { url, tls: { ca: pki.ca, servername: "redis.test", cert: pki.clientCert, key: pki.clientKey } } });
    expect(good.status).not.toBe("unreachable");
    expect(good.target).toBe(`rediss://127.0.0.1:${mutual.port}`);
    expect(good.redis!.version).toMatch(/^7\./);
    const bad = await collectHealth({ config: { url: `rediss://127.0.0.1:${oneWay.port}`, tls: { ca: pki.otherCa, servername: "redis.test" } } });
    expect(bad).toMatchObject({ status: "unreachable", failure: "tls" });
  });

  it("the consumer over mutual TLS, from the same settings", async () => {
    const tls = { ca: pki.ca, servername: "redis.test", cert: pki.clientCert, key: pki.clientKey };
    const producer = new Redis({ host: "127.0.0.1", port: mutual.port, db: 4, tls: { ...tls, ca: readFileSync(pki.ca), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } });
    for (let j = 0; j < 5; j++) await producer.xadd("ticks:TLSCON", "*", "price", "100", "volume", "1", "ts", String(Date.UTC(2026, 10, 25, 3, 45) + j * 1000));
    producer.disconnect();
    const lines: string[] = [];
    const abort = new AbortController();
    const done = consume({ config: { url: `rediss://127.0.0.1:${mutual.port}`, tls }, symbols: ["TLSCON"], statsIntervalMs: 100, log: (l) => lines.push(l), signal: abort.signal });
    const deadline = Date.now() + 15_000;
    while (!lines.some((l) => /^stats .*pending 0, lag 0$/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    expect(await done).toMatchObject({ applied: 5, pending: 0, lag: 0 });
  });
});
