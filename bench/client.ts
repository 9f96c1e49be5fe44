/**
 * Client cost: the SDK through `connect()` (deadline, retries, breaker on) against bare ioredis
 * sending the very same prebuilt EVALSHA, one call at a time and pipelined, with the client's CPU
 * per call (process.cpuUsage); and the in-process result tier against a DB 10 hit.
 * Run alone: `npx tsx bench/client.ts [--calls N] [--reps N]`; bench/run.ts runs it too.
 */
import { Redis } from "ioredis";
import { MathDispatcher } from "../src/dispatcher/MathDispatcher.js";
import { SCRIPT_FUNCTIONS } from "../src/dispatcher/functions.js";
import { prepareCall } from "../src/dispatcher/scriptFunction.js";
import { startLocalRedis } from "../src/redis/localServer.js";
import { spread, type Spread } from "./lib/stats.js";
import { BARS_30 } from "./scenarios.js";

export interface ClientFigures {
  /** SDK calls/s / bare ioredis calls/s, one at a time. */
  sequentialRatio: Spread;
  /** The same, pipelined (SDK batch of 50 against a bare pipeline of 50). */
  pipelinedRatio: Spread;
  /** SDK client CPU per call / bare client CPU per call, one at a time (lower is better). */
  cpuRatio: Spread;
  /**
   * Pipelined by 50: the bare pipeline's wall time per call / the SDK's client CPU per call, about
   * the most the pipelined calls/s ratio can reach as batches are sent today: the SDK runs its
   * calls on one thread, so a call takes about its CPU at least (about: `process.cpuUsage` also
   * counts V8's helper threads).
   */
  pipelinedCeiling: Spread;
  sdkCpuUsPerCall: Spread;
  bareCpuUsPerCall: Spread;
  /** In-process tier calls/s / DB 10 hit calls/s, one at a time. */
  tierRatio: Spread;
}

const PIPELINE = 50;

async function measure(calls: number, op: () => Promise<unknown>): Promise<{ perSecond: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await op();
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { perSecond: calls / wall, cpuUs: (used.user + used.system) / calls };
}

/** Measures on a server of its own; `reps` interleaved repetitions of `calls` calls each. */
export async function measureClient(url: string, calls: number, reps: number): Promise<ClientFigures> {
  const input = { symbol: "CLIENT", period: 14, bars: BARS_30 };
  const math = MathDispatcher.connect(url);
  const tiered = MathDispatcher.connect(url, { resultCache: { maxEntries: 1000, maxBytes: 1 << 20 } });
  const bare = new Redis(url, { db: 10 });
  await math.atr(input); // loaded and cached: every measured call is a DB 10 hit
  await tiered.atr(input);
  const fn = SCRIPT_FUNCTIONS.atr;
  const entry = math.runner.entry(fn.script);
  const call = prepareCall(fn, entry, input, {});
  const args: [string, number, ...(string | Buffer)[]] = [entry.sha1, 1, ...call.keys, ...call.args];
  const batch = Array.from({ length: PIPELINE }, () => ({ fn: "atr" as const, input }));
  const seq: number[] = [];
  const pipe: number[] = [];
  const cpu: number[] = [];
  const ceiling: number[] = [];
  const sdkCpu: number[] = [];
  const bareCpu: number[] = [];
  const tier: number[] = [];
  for (let r = 0; r < reps; r++) {
    const b = await measure(calls, () => bare.evalsha(...args));
    const s = await measure(calls, () => math.atr(input));
    seq.push(s.perSecond / b.perSecond);
    cpu.push(s.cpuUs / b.cpuUs);
    sdkCpu.push(s.cpuUs);
    bareCpu.push(b.cpuUs);
    const bp = await measure(calls / PIPELINE, () => {
      const p = bare.pipeline();
      for (let i = 0; i < PIPELINE; i++) p.evalsha(...args);
      return p.exec();
    });
    const sp = await measure(calls / PIPELINE, () => math.batch(batch));
    pipe.push(sp.perSecond / bp.perSecond);
    ceiling.push(1e6 / bp.perSecond / sp.cpuUs); // per pipeline of 50 on both sides
    const hit = await measure(calls, () => math.atr(input));
    const held = await measure(calls, () => tiered.atr(input));
    tier.push(held.perSecond / hit.perSecond);
  }
  await Promise.all([math.close(), tiered.close(), bare.quit()]);
  return {
    sequentialRatio: spread(seq),
    pipelinedRatio: spread(pipe),
    cpuRatio: spread(cpu),
    pipelinedCeiling: spread(ceiling),
    sdkCpuUsPerCall: spread(sdkCpu),
    bareCpuUsPerCall: spread(bareCpu),
    tierRatio: spread(tier),
  };
}

if (process.argv[1]?.endsWith("client.ts")) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const server = await startLocalRedis();
  try {
    console.log(JSON.stringify(await measureClient(server.url, arg("--calls", 3000), arg("--reps", 3)), null, 2));
  } finally {
    await server.stop();
  }
}
