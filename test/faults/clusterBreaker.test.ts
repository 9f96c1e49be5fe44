/**
 * One slow node of a cluster fails only its own symbols' calls. The circuit breaker was one for
 * the whole cluster: with one master frozen, its timeouts opened it and calls to the two healthy
 * masters failed with CircuitOpenError too (3,681 of them over 7 s in an audit). Each node now has
 * its own breaker. The node is frozen for less than the cluster's node timeout (3 s), so the
 * cluster itself stays up and any failure of a healthy master's call is the client's doing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CircuitOpenError, CommandTimeoutError, ConnectionError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { startCluster, type TestCluster } from "../support/cluster.js";
import { symbolsOnEveryMaster } from "../cluster/calls.js";
import { slotOf } from "../../src/cluster/topology.js";

let harness: TestCluster;
const symbols = symbolsOnEveryMaster(3, 2); // symbols[3k + m] is on master m

beforeAll(async () => {
  harness = await startCluster({ masters: 3 });
}, 60_000);

afterAll(() => harness?.stop());

/** A dispatcher whose 200 ms attempts count toward a breaker (a shorter attempt, cut by the call's deadline, would not). */
const connect = () => MathDispatcher.connect({ cluster: [...harness.startupNodes], commandTimeoutMs: 200 }, { deadlineMs: 600, maxRetries: 0 });
/** The k-th master the harness started: master 0 is the one frozen. */
const master = (k: number) => harness.nodes.find((n) => n.role === "master" && n.port === harness.startupNodes[k]!.port)!;
const failures = (list: PromiseSettledResult<unknown>[]) => list.flatMap((o) => (o.status === "rejected" ? [o.reason as Error] : []));
const described = (list: PromiseSettledResult<unknown>[]) => failures(list).map((e) => `${e.name}: ${e.message}`);

/** Every symbol called once (loaded and connected everywhere), then `body` with master 0 frozen; thawed and closed after. */
async function whileFrozen(math: MathDispatcher, call: (symbol: string, i: number) => Promise<unknown>, body: () => Promise<void>): Promise<void> {
  try {
    await Promise.all(symbols.map((s, i) => call(s, i)));
    process.kill(master(0).pid, "SIGSTOP");
    await body();
  } finally {
    process.kill(master(0).pid, "SIGCONT");
    await math.close();
  }
}

/** For 1.8 s, rounds of the frozen master's calls, enough to open a breaker, then the healthy masters'. */
async function frozenRounds(call: (symbol: string, i: number) => Promise<unknown>) {
  const healthy: PromiseSettledResult<unknown>[] = [];
  const stuck: PromiseSettledResult<unknown>[] = [];
  const until = Date.now() + 1_800;
  for (let round = 0; Date.now() < until && round < 100; round++) {
    stuck.push(...(await Promise.allSettled(Array.from({ length: 6 }, (_, i) => call(symbols[i % 2 === 0 ? 0 : 3]!, round * 10 + i)))));
    healthy.push(...(await Promise.allSettled(symbols.filter((_, i) => i % 3 !== 0).map((s, i) => call(s, round * 10 + i)))));
  }
  expect(healthy.length).toBeGreaterThan(0);
  return { healthy, stuck };
}

describe("a cluster with one master frozen", () => {
  it("fails that master's calls (its breaker opens) and none of the others'", async () => {
    const math = connect();
    const call = (symbol: string, i: number) => math.confidence({ symbol, base: 0.5 + (i % 40) / 100, boost: 0 }, { store: false });
    await whileFrozen(math, call, async () => {
      const { healthy, stuck } = await frozenRounds(call);
      expect(described(healthy)).toEqual([]);
      expect(failures(stuck).length).toBe(stuck.length);
      expect(failures(stuck).some((e) => e instanceof CircuitOpenError)).toBe(true); // its own breaker still fails it fast
      // a timeout names the frozen master, not the cluster
      const frozen = `${master(0).host}:${master(0).port}`;
      const timeouts = failures(stuck).filter((e) => e instanceof CommandTimeoutError);
      expect(timeouts.length).toBeGreaterThan(0);
      expect(new Set(timeouts.map((e) => (e as CommandTimeoutError).address))).toEqual(new Set([frozen]));
      expect(timeouts[0]?.message).toContain(`Redis at ${frozen} did not answer`);
    });
  }, 30_000);

  it("fails that master's dispatch calls, whose inputs are read from it, and none of the others'", async () => {
    const math = connect();
    // news and the volume baseline are read from the symbol's master (none stored: neutral inputs)
    const signal = { side: "long", time: Date.UTC(2026, 10, 25, 4, 5), baseConfidence: 0.6, atr: 1.5, currentVolume: 1000 } as const;
    const account = { capital: 2_000_000, risk: 0.01, lotSize: 35 };
    const call = (symbol: string, i: number) => math.dispatch({ ...signal, symbol, entry: 100 + i, account }, { store: false });
    await whileFrozen(math, call, async () => {
      const { healthy, stuck } = await frozenRounds(call);
      expect(described(healthy)).toEqual([]);
      expect(failures(stuck).length).toBe(stuck.length); // the frozen master's own calls did fail
    });
  }, 30_000);

  it("a slot moving to the frozen master: the calls ASKed there fail on its breaker, not on the healthy source's", async () => {
    const math = connect();
    const call = (symbol: string, i: number) => math.confidence({ symbol, base: 0.5 + (i % 40) / 100, boost: 0 }, { store: false });
    // symbols[1]'s slot moves from master 1 to master 0, which is then frozen; symbols[4] stays on master 1
    const migration = await harness.startMigration(slotOf(`{${symbols[1]}}`), master(0).port);
    try {
      await whileFrozen(math, call, async () => {
        const moving: PromiseSettledResult<unknown>[] = [];
        const staying: PromiseSettledResult<unknown>[] = [];
        const until = Date.now() + 1_800;
        for (let round = 0; Date.now() < until && round < 100; round++) {
          moving.push(...(await Promise.allSettled(Array.from({ length: 6 }, (_, i) => call(symbols[1]!, round * 10 + i)))));
          staying.push(...(await Promise.allSettled([call(symbols[4]!, round)])));
        }
        expect(described(staying)).toEqual([]);
        expect(failures(moving).length).toBe(moving.length);
        // each failure names the frozen master: its timeouts, then its own open breaker
        const frozen = `${master(0).host}:${master(0).port}`;
        expect(failures(moving).filter((e) => !e.message.includes(frozen)).map((e) => `${e.name}: ${e.message}`)).toEqual([]);
        expect(failures(moving).some((e) => e instanceof CircuitOpenError)).toBe(true);
      });
    } finally {
      await migration.cancel();
    }
  }, 30_000);

  it("heals a flushed master's scripts without waiting on the frozen one", async () => {
    const math = connect();
    const call = (symbol: string, i: number) => math.confidence({ symbol, base: 0.5 + (i % 40) / 100, boost: 0 }, { store: false });
    await whileFrozen(math, call, async () => {
      await harness.client(master(1).port).script("FLUSH");
      // the flushed master's symbols (symbols[3k + 1]) meet NOSCRIPT there: loading on that
      // master heals them, and nothing of it waits on the frozen master
      expect(described(await Promise.allSettled([1, 4].map((k, i) => call(symbols[k]!, 500 + i))))).toEqual([]);
    });
  }, 30_000);
});

describe("a cluster down", () => {
  // the last test of the file: it stops the harness. A call waited for the slot map (ioredis's
  // ready) before each send, and with every node gone that wait had no end: 10 s past a 500 ms deadline.
  it("fails a call by its deadline, not when the cluster comes back", async () => {
    const math = MathDispatcher.connect({ cluster: [...harness.startupNodes] }, { deadlineMs: 500 });
    try {
      await math.confidence({ symbol: symbols[0] as string, base: 0.5, volumeRatio: 1, boost: 0 });
      await harness.stop();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // ioredis sees the connections gone
      const started = Date.now();
      const outcome = await math.confidence({ symbol: symbols[1] as string, base: 0.5, volumeRatio: 1, boost: 0 }).catch((error: unknown) => error);
      expect(Date.now() - started).toBeLessThan(3000); // the promise is the deadline (500 ms); a generous bound
      // named by the cluster's nodes, not by the standalone default (127.0.0.1:6379, where another server may listen)
      expect(outcome).toBeInstanceOf(ConnectionError);
      expect((outcome as ConnectionError).address).toBe(harness.startupNodes.map((n) => `${n.host}:${n.port}`).join(","));
    } finally {
      await math.close();
    }
  }, 30_000);
});

