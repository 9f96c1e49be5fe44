import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, MathDispatcherError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { freePort, type LocalRedisServer, startLocalRedis } from "../../src/redis/localServer.js";
import { waitUntil } from "../support/waitUntil.js";

// Fail fast, recover fast. The promise itself is a time here, so times are asserted, with bounds
// well above the promise (250 ms first failure, 50 ms while down, 1 s back) for a noisy machine.
const input = { symbol: "FAST", side: "long" as const, entry: 100, atr: 2 };

async function timed(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: performance.now() - started, error };
}

let server: LocalRedisServer | undefined;
afterAll(() => server?.stop());

describe("fail fast, recover fast", () => {
  let port: number;
  beforeAll(async () => {
    port = await freePort();
  });

  it("fails a call on a server that is down with a typed error naming the address and the cause", async () => {
    const math = MathDispatcher.connect(`redis://127.0.0.1:${port}`);
    const first = await timed(() => math.stopLoss(input));
    const steady: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await timed(() => math.stopLoss(input));
      expect(r.error).toBeInstanceOf(ConnectionError);
      steady.push(r.ms);
    }
    console.log(`fail fast: first ${first.ms.toFixed(1)} ms, steady max ${Math.max(...steady).toFixed(1)} ms`);
    expect(first.error).toBeInstanceOf(ConnectionError);
    expect((first.error as ConnectionError).address).toBe(`127.0.0.1:${port}`);
    expect((first.error as ConnectionError).failure).toBe("refused");
    expect((first.error as Error).message).toMatch(/ECONNREFUSED/);
    expect(first.ms).toBeLessThan(750);
    expect(Math.max(...steady)).toBeLessThan(150);

    server = await startLocalRedis(port);
    const back = performance.now();
    let recovered = -1;
    await waitUntil(async () => {
      const r = await timed(() => math.stopLoss(input));
      if (r.error && !(r.error instanceof MathDispatcherError)) throw r.error;
      if (!r.error) recovered = performance.now() - back;
      return !r.error;
    }, "calls succeed again", 5000);
    console.log(`recovery: calls succeed ${recovered.toFixed(0)} ms after the server is back`);
    expect(recovered).toBeLessThan(3000);
    await math.close();
  });
});

describe("a refused login", () => {
  it("fails at once with a ConnectionError of kind auth, naming the address", async () => {
    const own = await startLocalRedis();
    const admin = new Redis(own.url);
    try {
      await admin.config("SET", "requirepass", "right");
      const math = MathDispatcher.connect({ url: own.url, password: "wrong" });
      const first = await timed(() => math.stopLoss(input));
      console.log(`auth failure: ${first.ms.toFixed(1)} ms`);
      expect(first.error).toBeInstanceOf(ConnectionError);
      expect((first.error as ConnectionError).failure).toBe("auth");
      expect((first.error as ConnectionError).address).toBe(`127.0.0.1:${own.port}`);
      expect(first.ms).toBeLessThan(750);
      await math.close();
    } finally {
      admin.disconnect();
      await own.stop();
    }
  });
});
