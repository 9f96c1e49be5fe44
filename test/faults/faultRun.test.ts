import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcherError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";
import { comparable, mixedCall } from "./workload.js";

// 20,000 mixed calls from 8 workers while 100 SCRIPT FLUSHes and 3 crashes (kill -9, 300 ms down)
// hit the server. Every call must succeed with the value a healthy server gives. The calls ride
// out the restarts because their deadline (3 s) and the outage grace exceed the outage.
const CALLS = Number(process.env.MATHD_FAULT_CALLS ?? 20_000);
const WORKERS = 8;
const FLUSHES = 100;
const CRASHES = 3;

let server: LocalRedisServer;
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("faults under load", () => {
  it(`${CALLS} mixed calls through ${FLUSHES} SCRIPT FLUSHes and ${CRASHES} kill -9 restarts: 0 failed, 0 wrong`, async () => {
    const options = { deadlineMs: 3000, outageGraceMs: 3000 };
    const math = MathDispatcher.connect(server.url, options);
    // expected values from a healthy server
    const distinct = 200 * 5;
    const expected = new Map<number, string>();
    for (let i = 0; i < distinct; i++) expected.set(i, JSON.stringify(comparable(await mixedCall(i).run(math))));
    const admin = new Redis(server.url);
    await admin.flushall();
    admin.disconnect();

    let next = 0;
    let done = 0;
    const failures: { i: number; error: unknown }[] = [];
    const wrong: number[] = [];
    const worker = async () => {
      while (next < CALLS) {
        const i = next++;
        try {
          const value = JSON.stringify(comparable(await mixedCall(i).run(math)));
          if (value !== expected.get(i % distinct)) wrong.push(i);
        } catch (error) {
          failures.push({ i, error });
        }
        done++;
      }
    };
    const flusher = async () => {
      const admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => 20, enableOfflineQueue: false });
      admin.on("error", () => undefined);
      for (let n = 0; n < FLUSHES && done < CALLS; ) {
        await sleep(Math.random() * 60);
        if (admin.status !== "ready") continue;
        await admin.script("FLUSH").then(() => n++, () => undefined);
      }
      admin.disconnect();
    };
    const crasher = async () => {
      for (let n = 0; n < CRASHES; n++) {
        const at = ((n + 1) * CALLS) / (CRASHES + 1);
        while (done < at) await sleep(20);
        await server.kill();
        await sleep(300);
        await server.start();
      }
    };
    const started = Date.now();
    await Promise.all([...Array.from({ length: WORKERS }, worker), flusher(), crasher()]);
    const seconds = (Date.now() - started) / 1000;
    const untyped = failures.filter((f) => !(f.error instanceof MathDispatcherError));
    console.log(
      `fault run: ${CALLS} calls in ${seconds.toFixed(1)} s, ${failures.length} failed (${untyped.length} untyped), ${wrong.length} wrong`,
      failures.slice(0, 3).map((f) => `${(f.error as Error).name}: ${(f.error as Error).message}`),
    );
    expect(wrong).toEqual([]);
    expect(failures.map((f) => `${(f.error as Error).name}: ${(f.error as Error).message}`).slice(0, 5)).toEqual([]);
    await math.close();
  });
});
