import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcherError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { ScriptMode } from "../../src/cluster/transport.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";
import { comparable, mixedCall } from "./workload.js";

// 20,000 mixed calls from 8 workers while 100 SCRIPT FLUSHes and 3 crashes (kill -9, 300 ms down)
// hit the server. Every call must succeed with the value a healthy server gives. The calls ride
// out the restarts because their deadline (3 s) and the outage grace exceed the outage. In
// Functions mode, 2,000 calls through 100 FUNCTION FLUSHes about 10 ms apart: a heal that loaded
// every library (27 ms) lost the race with the next flush, and its calls failed.
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

/** What a fault run sends and what it does to the server meanwhile. */
interface FaultRun {
  scriptMode: ScriptMode;
  calls: number;
  /** The flush, sent FLUSHES times at random gaps of 0 to `flushGapMs`. */
  flush: (admin: Redis) => Promise<unknown>;
  flushGapMs: number;
  crashes: number;
}

/** Runs `calls` mixed calls through the run's flushes and crashes; resolves to the calls that failed and those answered wrong. */
async function faultRun({ scriptMode, calls, flush, flushGapMs, crashes }: FaultRun) {
  const math = MathDispatcher.connect(server.url, { deadlineMs: 3000, outageGraceMs: 3000, scriptMode });
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
    while (next < calls) {
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
    for (let n = 0; n < FLUSHES && done < calls; ) {
      await sleep(Math.random() * flushGapMs);
      if (admin.status !== "ready") continue;
      await flush(admin).then(() => n++, () => undefined);
    }
    admin.disconnect();
  };
  const crasher = async () => {
    for (let n = 0; n < crashes; n++) {
      const at = ((n + 1) * calls) / (crashes + 1);
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
    `fault run (${scriptMode}): ${calls} calls in ${seconds.toFixed(1)} s, ${failures.length} failed (${untyped.length} untyped), ${wrong.length} wrong`,
    failures.slice(0, 3).map((f) => `${(f.error as Error).name}: ${(f.error as Error).message}`),
  );
  await math.close();
  return { failed: failures.map((f) => `${(f.error as Error).name}: ${(f.error as Error).message}`), wrong };
}

describe("faults under load", () => {
  it(`${CALLS} mixed calls through ${FLUSHES} SCRIPT FLUSHes and ${CRASHES} kill -9 restarts: 0 failed, 0 wrong`, async () => {
    const { failed, wrong } = await faultRun({ scriptMode: "evalsha", calls: CALLS, flush: (admin) => admin.script("FLUSH"), flushGapMs: 60, crashes: CRASHES });
    expect(wrong).toEqual([]);
    expect(failed.slice(0, 5)).toEqual([]);
  });

  it(`2,000 mixed calls in Functions mode through ${FLUSHES} FUNCTION FLUSHes about 10 ms apart: 0 failed, 0 wrong`, async () => {
    const { failed, wrong } = await faultRun({ scriptMode: "functions", calls: 2_000, flush: (admin) => admin.call("FUNCTION", "FLUSH"), flushGapMs: 20, crashes: 0 });
    expect(wrong).toEqual([]);
    expect(failed.slice(0, 5)).toEqual([]);
  });
});
