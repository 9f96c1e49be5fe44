/**
 * One slow node of a cluster fails only its own symbols' calls. The circuit breaker was one for
 * the whole cluster: with one master frozen, its timeouts opened it and calls to the two healthy
 * masters failed with CircuitOpenError too (3,681 of them over 7 s in an audit). Each node now has
 * its own breaker. The node is frozen for less than the cluster's node timeout (3 s), so the
 * cluster itself stays up and any failure of a healthy master's call is the client's doing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CircuitOpenError, CommandTimeoutError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { startCluster, type TestCluster } from "../support/cluster.js";
import { symbolsOnEveryMaster } from "../cluster/calls.js";

let harness: TestCluster;
const symbols = symbolsOnEveryMaster(3, 2); // symbols[3k + m] is on master m

beforeAll(async () => {
  harness = await startCluster({ masters: 3 });
}, 60_000);

afterAll(() => harness?.stop());

describe("a cluster with one master frozen", () => {
  it("fails that master's calls (its breaker opens) and none of the others'", async () => {
    // 200 ms attempts count toward a breaker (a shorter attempt, cut by the call's deadline, would not)
    const math = MathDispatcher.connect({ cluster: [...harness.startupNodes], commandTimeoutMs: 200 }, { deadlineMs: 600, maxRetries: 0 });
    const frozen = harness.nodes.find((n) => n.role === "master" && n.port === harness.startupNodes[0]!.port)!;
    const call = (symbol: string, i: number) => math.confidence({ symbol, base: 0.5 + (i % 40) / 100, boost: 0 }, { store: false });
    try {
      await Promise.all(symbols.map((s, i) => call(s, i))); // loaded and connected everywhere
      process.kill(frozen.pid, "SIGSTOP");
      const healthy: PromiseSettledResult<unknown>[] = [];
      const stuck: PromiseSettledResult<unknown>[] = [];
      const until = Date.now() + 1_800;
      for (let round = 0; Date.now() < until && round < 100; round++) {
        // the frozen master's calls first, enough to open a breaker, then the healthy masters'
        stuck.push(...(await Promise.allSettled(Array.from({ length: 6 }, (_, i) => call(symbols[i % 2 === 0 ? 0 : 3]!, round * 10 + i)))));
        healthy.push(...(await Promise.allSettled(symbols.filter((_, i) => i % 3 !== 0).map((s, i) => call(s, round * 10 + i)))));
      }
      const failures = (list: PromiseSettledResult<unknown>[]) => list.flatMap((o) => (o.status === "rejected" ? [o.reason as Error] : []));
      expect(healthy.length).toBeGreaterThan(0);
      expect(failures(healthy).map((e) => `${e.name}: ${e.message}`)).toEqual([]);
      expect(failures(stuck).length).toBe(stuck.length);
      expect(failures(stuck).some((e) => e instanceof CircuitOpenError)).toBe(true); // its own breaker still fails it fast
      // a timeout names the frozen master, not the cluster
      const timeouts = failures(stuck).filter((e) => e instanceof CommandTimeoutError);
      expect(timeouts.length).toBeGreaterThan(0);
      expect(new Set(timeouts.map((e) => (e as CommandTimeoutError).address))).toEqual(new Set([`${frozen.host}:${frozen.port}`]));
      expect(timeouts[0]?.message).toContain(`Redis at ${frozen.host}:${frozen.port} did not answer`);
    } finally {
      process.kill(frozen.pid, "SIGCONT");
      await math.close();
    }
  }, 30_000);

  it("fails that master's dispatch calls, whose inputs are read from it, and none of the others'", async () => {
    const math = MathDispatcher.connect({ cluster: [...harness.startupNodes], commandTimeoutMs: 200 }, { deadlineMs: 600, maxRetries: 0 });
    const frozen = harness.nodes.find((n) => n.role === "master" && n.port === harness.startupNodes[0]!.port)!;
    // news and the volume baseline are read from the symbol's master (none stored: neutral inputs)
    const account = { capital: 2_000_000, risk: 0.01, lotSize: 35 };
    const call = (symbol: string, i: number) =>
      math.dispatch({ symbol, side: "long", entry: 100 + i, time: Date.UTC(2026, 10, 25, 4, 5), baseConfidence: 0.6, atr: 1.5, currentVolume: 1000, account }, { store: false });
    try {
      await Promise.all(symbols.map((s, i) => call(s, i))); // loaded and connected everywhere
      process.kill(frozen.pid, "SIGSTOP");
      const healthy: PromiseSettledResult<unknown>[] = [];
      const stuck: PromiseSettledResult<unknown>[] = [];
      const until = Date.now() + 1_800;
      for (let round = 0; Date.now() < until && round < 100; round++) {
        stuck.push(...(await Promise.allSettled(Array.from({ length: 6 }, (_, i) => call(symbols[i % 2 === 0 ? 0 : 3]!, round * 10 + i)))));
        healthy.push(...(await Promise.allSettled(symbols.filter((_, i) => i % 3 !== 0).map((s, i) => call(s, round * 10 + i)))));
      }
      expect(healthy.length).toBeGreaterThan(0);
      expect(healthy.flatMap((o) => (o.status === "rejected" ? [`${(o.reason as Error).name}: ${(o.reason as Error).message}`] : []))).toEqual([]);
      expect(stuck.filter((o) => o.status === "fulfilled")).toEqual([]); // the frozen master's own calls did fail
    } finally {
      process.kill(frozen.pid, "SIGCONT");
      await math.close();
    }
  }, 30_000);

  it("heals a flushed master's scripts without waiting on the frozen one", async () => {
    const math = MathDispatcher.connect({ cluster: [...harness.startupNodes], commandTimeoutMs: 200 }, { deadlineMs: 600, maxRetries: 0 });
    const frozen = harness.nodes.find((n) => n.role === "master" && n.port === harness.startupNodes[0]!.port)!;
    const flushed = harness.nodes.find((n) => n.role === "master" && n.port === harness.startupNodes[1]!.port)!;
    const call = (symbol: string, i: number) => math.confidence({ symbol, base: 0.5 + (i % 40) / 100, boost: 0 }, { store: false });
    try {
      await Promise.all(symbols.map((s, i) => call(s, i))); // loaded and connected everywhere
      process.kill(frozen.pid, "SIGSTOP");
      await harness.client(flushed.port).script("FLUSH");
      // the flushed master's symbols (symbols[3k + 1]) meet NOSCRIPT there: loading on that
      // master heals them, and nothing of it waits on the frozen master
      const settled = await Promise.allSettled([1, 4].map((k, i) => call(symbols[k]!, 500 + i)));
      expect(settled.flatMap((o) => (o.status === "rejected" ? [`${(o.reason as Error).name}: ${(o.reason as Error).message}`] : []))).toEqual([]);
    } finally {
      process.kill(frozen.pid, "SIGCONT");
      await math.close();
    }
  }, 30_000);
});
