/**
 * The public API on a Redis Cluster (3 masters, a replica each, loopback ports): every call on
 * symbols spread over all masters gives the standalone server's result bit for bit, in EVALSHA
 * and Functions mode; first calls after the scripts were flushed everywhere all succeed; a
 * snapshot with readFrom replica is served by replicas; the tick consumer applies every tick of
 * symbols on two masters; a bounded load across a CLUSTER FAILOVER gets 0 wrong, 0 failed.
 */
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, ConfigurationError, ConnectionError, MathDispatcherError, ServerBusyError } from "../../src/core/errors.js";
import { scriptTimeOf } from "../../src/core/scriptTime.js";
import { collectHealth, exitCodeOf } from "../../src/health/healthReport.js";
import { renderHealth } from "../../src/health/renderHealth.js";
import { freePort } from "../../src/redis/localServer.js";
import type { Signal } from "../../src/dispatcher/dispatch.js";
import type { BatchCall } from "../../src/dispatcher/functions.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import type { StreamUpdateInput } from "../../src/dispatcher/streaming.js";
import { newsLatestKey, tickStreamKey, volumeBaselineKey } from "../../src/keys/marketData.js";
import { istTime } from "../../src/market/istClock.js";
import { slotOf } from "../../src/cluster/topology.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { clusterAclAdditions, documentedAclUsers } from "../support/acl.js";
import { startCluster, type TestCluster } from "../support/cluster.js";
import { commandCalls, holdServer } from "../support/redis.js";
import { symbolsOnEveryMaster } from "./calls.js";

let harness: TestCluster;
let single: LocalRedisServer;
let data: Cluster; // the test's own writes (news, baselines, ticks)
const symbols = symbolsOnEveryMaster(3, 2); // symbols[3k + m] is on master m
const hashTag = { hashTag: true };
const TIME = Date.UTC(2026, 10, 25, 4, 5); // 09:35 IST
const account = { capital: 2_000_000, risk: 0.01, lotSize: 35 };
const bars = (k: number) => Array.from({ length: 20 }, (_, i) => ({ high: 101 + ((i + k) % 3) + k / 4, low: 99 - (i % 2) * 0.05, close: 100 + (i % 4) * 0.05 }));

beforeAll(async () => {
  [harness, single] = await Promise.all([startCluster({ masters: 3, replicasPerMaster: 1 }), startLocalRedis()]);
  data = new Cluster([...harness.startupNodes]);
  data.on("error", () => undefined);
  // the same stored news and baselines in both: the cluster's DB 0 and the server's DBs 11 and 5
  const news = new Redis(single.port, "127.0.0.1", { db: 11 });
  const volume = new Redis(single.port, "127.0.0.1", { db: 5 });
  const { hour, minute } = istTime(TIME);
  for (const [k, symbol] of symbols.entries()) {
    const items = JSON.stringify([{ sentiment: 0.3 + k / 20, relevance: 0.9, published_at: TIME - 60_000 * (k + 1) }]);
    const baseline = String(40_000 + 1000 * k);
    await Promise.all([
      data.set(newsLatestKey(symbol, hashTag), items, "EX", 57_600),
      news.set(newsLatestKey(symbol, hashTag), items),
      data.hset(volumeBaselineKey(symbol, hour, minute, hashTag), "average", baseline).then(() => data.expire(volumeBaselineKey(symbol, hour, minute, hashTag), 57_600)),
      volume.hset(volumeBaselineKey(symbol, hour, minute, hashTag), "average", baseline),
    ]);
  }
  news.disconnect();
  volume.disconnect();
}, 60_000);

afterAll(async () => {
  data?.disconnect();
  await Promise.all([harness?.stop(), single?.stop()]);
});

const signal = (symbol: string, k: number): Signal => ({
  symbol,
  side: k % 2 ? "short" : "long",
  entry: 100.05 + k,
  time: TIME,
  baseConfidence: 0.55 + k / 50,
  atrBars: { period: 14, bars: bars(k) },
  currentVolume: 50_000 + 3_000 * k, // with the stored baseline: volume ratio read from Redis
  account, // news left out: read from Redis
});

/** Every public call of a dispatcher, on every symbol; what each returned (errors as their message). */
async function everyCall(math: MathDispatcher, tag: string) {
  const results: Record<string, unknown> = {};
  const settle = async (name: string, call: () => Promise<unknown>) => {
    results[name] = await call().catch((error: unknown) => ({ error: String(error) }));
  };
  for (const [k, symbol] of symbols.entries()) {
    await settle(`atr ${symbol}`, () => math.atr({ symbol, period: 14, bars: bars(k) }));
    await settle(`vwap ${symbol}`, () => math.vwap({ symbol, ticks: [{ price: 100 + k, volume: 5 }, { price: 100.05 + k, volume: 7 + k }] }));
    await settle(`stopLoss ${symbol}`, () => math.stopLoss({ symbol, side: "long", entry: 100 + k, atr: 2.5, rewardRatio: 2 }));
    await settle(`positionSize ${symbol}`, () => math.positionSize({ symbol, capital: 1_000_000, risk: 0.01, entry: 100, stop: 97 - k / 10, lotSize: 25 }));
    await settle(`newsBoost ${symbol}`, () => math.newsBoost({ symbol, side: "short", now: TIME, items: [{ sentiment: 0.8 - k / 10, relevance: 1, publishedAt: TIME - 3_600_000 }] }));
    await settle(`confidence ${symbol}`, () => math.confidence({ symbol, base: 0.6, volumeRatio: 1.5 + k / 4, boost: 0.02 }));
    await settle(`dispatch ${symbol}`, () => math.dispatch(signal(symbol, k)));
  }
  await settle("dispatchMany", () => math.dispatchMany(symbols.map((s, k) => signal(s, k + 1))));
  const calls: BatchCall[] = symbols.flatMap((symbol, k): BatchCall[] => [
    { fn: "confidence", input: { symbol, base: 0.5, volumeRatio: 2, boost: k / 100 } },
    { fn: "atr", input: { symbol, period: 5, bars: bars(k + 2) } },
    { fn: "atr", input: { symbol, period: 0, bars: bars(k) } }, // invalid: its error in place
  ]);
  await settle("batch", () => math.batch(calls));
  const streaming = math.streaming();
  const updates: StreamUpdateInput[] = [];
  for (let n = 0; n < 20; n++) {
    for (const [k, symbol] of symbols.entries()) {
      const close = 24_000 + ((n * 37 + k * 11) % 200) + 0.05 * (n % 3);
      updates.push({ symbol: `${symbol}${tag}`, ts: TIME + 60_000 * n, seq: n, volume: 1000 + n * 10, high: close + 12.5, low: close - 9.25, close });
    }
  }
  await settle("updateMany", () => streaming.updateMany(updates));
  await settle("update", () => streaming.update({ symbol: `${symbols[0]}${tag}`, ts: TIME + 60_000 * 20 + 5, seq: 0, volume: 25, price: 24_010.05 }));
  await settle("snapshot", () => streaming.snapshot(`${symbols[1]}${tag}`));
  await settle("snapshots", () => streaming.snapshots(symbols.map((s) => `${s}${tag}`)));
  return results;
}

describe("the public API on a cluster", () => {
  it("spreads the test symbols over all three masters", async () => {
    const owners = await Promise.all(symbols.map((s) => harness.masterOf(slotOf(`{${s}}`))));
    expect(new Set(owners).size).toBe(3);
  });

  it("a cold start of dozens of calls at once waits for the slot map once: no warning of a listener leak", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    const math = MathDispatcher.connect({ cluster: harness.startupNodes });
    try {
      const results = await Promise.all(symbols.flatMap((symbol) => Array.from({ length: 8 }, () => math.confidence({ symbol, base: 0.5, volumeRatio: 1, boost: 0 }))));
      expect(results).toHaveLength(symbols.length * 8);
      await new Promise((resolve) => setImmediate(resolve)); // Node emits its warnings on the next turn
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await math.close();
    }
  });

  it("health reads every node: 0 when healthy, 1 for a cluster problem, 2 when unreachable", async () => {
    const healthy = await collectHealth({ cluster: harness.startupNodes });
    expect(healthy.cluster?.nodes).toHaveLength(6);
    expect({ code: exitCodeOf(healthy), problems: healthy.cluster?.problems, slots: healthy.cluster?.slotsOk }).toEqual({ code: 0, problems: [], slots: 16384 });
    expect(renderHealth(healthy)).toMatch(/cluster: 16384\/16384 slots served/);
    // Functions mode needs the library on every master; none is loaded yet
    const noLibrary = await collectHealth({ cluster: harness.startupNodes, scriptMode: "functions" });
    expect(exitCodeOf(noLibrary)).toBe(1);
    expect(noLibrary.cluster?.problems).toHaveLength(3);
    const down = await collectHealth({ cluster: [{ host: "127.0.0.1", port: await freePort() }], timeoutMs: 500 });
    expect({ code: exitCodeOf(down), status: down.status }).toEqual({ code: 2, status: "unreachable" });
  });

  it("health sums the scripts' server time over every master, and gives each node's own, replicas' reads included", async () => {
    const math = MathDispatcher.connect({ cluster: harness.startupNodes });
    const onReplica = MathDispatcher.connect({ cluster: harness.startupNodes }, { readFrom: "replica" });
    try {
      // symbols on all three masters; period 10, so that no later test meets these results in the cache
      for (const [k, symbol] of symbols.entries()) await math.atr({ symbol, period: 10, bars: bars(k) });
      // and reads on every replica (read-only variants: nothing stored)
      for (const symbol of symbols) await onReplica.stopLoss({ symbol: `${symbol}HST`, side: "long", entry: 100, atr: 2, rewardRatio: 2 });
    } finally {
      await Promise.all([math.close(), onReplica.close()]);
    }
    // each master's INFO and SCRIPT EXISTS calls, from one INFO commandstats (which counts itself the next time)
    const reads = async () => {
      const roles = await harness.roles();
      return Promise.all([...roles].filter(([, r]) => r.role === "master").map(async ([port]) => {
        const stats = (await harness.client(port).info("commandstats")) as string;
        return ["info", "script\\|exists"].map((name) => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, "m").exec(stats)?.[1] ?? 0));
      }));
    };
    const before = await reads();
    const report = await collectHealth({ cluster: harness.startupNodes });
    // every master read once by the report: one INFO (besides the count's own) and one SCRIPT EXISTS
    expect((await reads()).map(([info, exists], m) => [(info as number) - before[m]![0]! - 1, (exists as number) - before[m]![1]!])).toEqual([[1, 1], [1, 1], [1, 1]]);
    const nodes = report.cluster!.nodes;
    // each node's own commandstats, read after the report (which runs no script)
    const own = await Promise.all(nodes.map(async (n) => scriptTimeOf([(await harness.client(Number(n.address.split(":")[1])).info("commandstats")) as string])));
    expect(nodes.map((n) => n.scriptTime.calls)).toEqual(own.map((t) => t.calls));
    expect(nodes.map((n) => n.scriptTime.failedCalls)).toEqual(own.map((t) => t.failedCalls));
    expect(nodes.every((n) => n.scriptTime.calls > 0)).toBe(true);
    const masters = nodes.filter((n) => n.role === "master");
    expect(masters).toHaveLength(3);
    expect(report.scriptTime!.calls).toBe(masters.reduce((sum, n) => sum + n.scriptTime.calls, 0));
    expect(report.scriptTime!.failedCalls).toBe(masters.reduce((sum, n) => sum + n.scriptTime.failedCalls, 0));
    expect(renderHealth(report)).toMatch(/node +role +state +scripts +library +link +lag bytes +script calls +us a call/);
  });

  // a master that does not answer is one of the report's problems (exit 1), not a reason to call
  // the whole cluster unreachable (exit 2, naming a node that answered); the first startup node
  // frozen too: the others get their share of the time to give the slot map
  it.each([1, 0])("health with startup master %i frozen: exit 1 naming it, within 2 s", async (k) => {
    const port = (harness.startupNodes[k] as { port: number }).port;
    const frozen = harness.nodes.find((n) => n.port === port) as { pid: number };
    process.kill(frozen.pid, "SIGSTOP"); // for about a second: well under the cluster's node timeout (3 s), no failover
    try {
      const started = Date.now();
      const report = await collectHealth({ cluster: harness.startupNodes });
      const took = Date.now() - started;
      expect({ code: exitCodeOf(report), status: report.status, error: report.error }).toEqual({ code: 1, status: "violations", error: undefined });
      expect(report.cluster?.problems.filter((p) => p.includes(`:${port}: master not answering`))).toHaveLength(1);
      expect(report.databases).toHaveLength(1); // the others' keys were counted
      expect(took).toBeLessThan(2000);
    } finally {
      process.kill(frozen.pid, "SIGCONT");
      await harness.waitHealthy();
    }
  });

  // the first call of a process waited for the scripts' load on every master: started while one
  // was frozen, it served no symbol at all until that master answered again
  it.each(["evalsha", "functions"] as const)("a process started while one master is frozen serves the other masters' symbols (%s)", async (scriptMode) => {
    const frozenPort = (harness.startupNodes[2] as { port: number }).port;
    const frozen = harness.nodes.find((n) => n.port === frozenPort) as { pid: number };
    const math = MathDispatcher.connect({ cluster: harness.startupNodes.slice(0, 2) }, { scriptMode });
    process.kill(frozen.pid, "SIGSTOP"); // for about a second: well under the cluster's node timeout (3 s), no failover
    try {
      const outcomes = await Promise.allSettled([0, 1, 2].map((k) => math.atr({ symbol: symbols[k] as string, period: 5, bars: bars(k + 5) }, { deadlineMs: 800 })));
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected"]); // symbols[2] lives on the frozen master
      expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(CommandTimeoutError);
    } finally {
      process.kill(frozen.pid, "SIGCONT");
      await math.close();
      await harness.waitHealthy();
    }
  });

  it.each(["evalsha", "functions"] as const)("every public call equals the standalone result bit for bit (%s)", async (scriptMode) => {
    const clustered = MathDispatcher.connect({ cluster: harness.startupNodes }, { scriptMode });
    const standalone = MathDispatcher.connect(single.url, { hashTag: true, scriptMode });
    const command = scriptMode === "evalsha" ? "evalsha" : "fcall";
    const before = await Promise.all(harness.startupNodes.map((node) => commandCalls(harness.client(node.port), command)));
    try {
      const [got, want] = [await everyCall(clustered, `X${scriptMode[0]!.toUpperCase()}`), await everyCall(standalone, `X${scriptMode[0]!.toUpperCase()}`)];
      expect(Object.keys(got)).toHaveLength(symbols.length * 7 + 6);
      // no call failed for a reason of its own (the one invalid batch entry is an outcome, not a rejection)
      expect(Object.entries(got).filter(([, v]) => (v as { error?: string }).error)).toEqual([]);
      // the many-call results are results: only the invalid batch entries (period 0) failed
      const failedOutcomes = Object.values(got).flatMap((v) => (Array.isArray(v) ? v.filter((o: { ok: boolean }) => !o.ok) : []));
      expect(failedOutcomes).toHaveLength(symbols.length);
      expect(got).toStrictEqual(want);
      // the dispatch read its news and baseline on the symbol's own master
      expect((got[`dispatch ${symbols[2]}`] as { sources: unknown }).sources).toMatchObject({ news: "redis", volumeRatio: "redis" });
      // each master ran some of it (more calls than before this test): the symbols' calls went where their slots live
      for (const [i, node] of harness.startupNodes.entries()) {
        expect(await commandCalls(harness.client(node.port), command)).toBeGreaterThan(before[i] as number);
      }
    } finally {
      await Promise.all([clustered.close(), standalone.close()]);
    }
  });

  it("dispatch's reads of news and baselines resend a redirection until the call's deadline, as its script call does", async () => {
    const math = MathDispatcher.connect({ cluster: harness.startupNodes });
    const reference = MathDispatcher.connect(single.url, { hashTag: true });
    const cluster = math.client.cluster as Cluster;
    // a slot map that keeps naming the wrong master for the symbol's slot, however often it is
    // read (as one read from a node that has not heard of a reshard yet would): MOVED pass after pass
    const [slot, elsewhere] = [symbols[0], symbols[1]].map((s) => slotOf(`{${s}}`)) as [number, number];
    const map = cluster as unknown as { slots: string[][]; _groupsBySlot: number[] };
    const misroute = () => {
      map.slots[slot] = [...(map.slots[elsewhere] ?? [])];
      map._groupsBySlot[slot] = map._groupsBySlot[elsewhere] as number;
    };
    let stale = true;
    const refresh = cluster.refreshSlotsCache.bind(cluster);
    cluster.refreshSlotsCache = (callback) =>
      refresh((error) => {
        if (stale) misroute();
        callback?.(error);
      });
    try {
      await math.load();
      misroute();
      const decision = math.dispatch(signal(symbols[0] as string, 9), { deadlineMs: 8_000 });
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // past the 5 passes (about 1 s) of a round trip without a deadline
      stale = false;
      const got = await decision;
      expect(got.sources).toMatchObject({ news: "redis", volumeRatio: "redis" });
      expect(got).toStrictEqual(await reference.dispatch(signal(symbols[0] as string, 9)));
    } finally {
      stale = false;
      await Promise.all([math.close(), reference.close()]);
    }
  });

  it.each(["evalsha", "functions"] as const)("30 first calls after the scripts were flushed on every node: 0 failures (%s)", async (scriptMode) => {
    const given = new Cluster([...harness.startupNodes]);
    const math = new MathDispatcher(given, { scriptMode });
    try {
      await math.load();
      await Promise.all(
        harness.nodes.map((n) => (scriptMode === "evalsha" ? harness.client(n.port).script("FLUSH") : harness.client(n.port).call("FUNCTION", "FLUSH").catch(() => undefined))),
      );
      const outcomes = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => math.confidence({ symbol: symbols[i % symbols.length] as string, base: 0.5 + i / 100, volumeRatio: 1.25, boost: 0.01 })),
      );
      expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(30);
    } finally {
      await math.close();
      given.disconnect(); // the dispatcher leaves a Cluster it was given open
    }
  });

  it("with readFrom replica, the math functions run as their read-only variants on replicas: a hit from the master's cache, a miss computed and not stored", async () => {
    const onReplica = MathDispatcher.connect({ cluster: harness.startupNodes }, { readFrom: "replica" });
    const onMaster = MathDispatcher.connect({ cluster: harness.startupNodes });
    try {
      const roles = await harness.roles();
      const replicaPorts = [...roles].filter(([, r]) => r.role === "replica").map(([port]) => port);
      const count = async (command: string) => (await Promise.all(replicaPorts.map((p) => commandCalls(harness.client(p), command)))).reduce((a, b) => a + b, 0);
      const inputs = symbols.map((s) => ({ symbol: `${s}ROM`, side: "long" as const, entry: 100, atr: 2, rewardRatio: 2 }));
      const cached = await Promise.all(inputs.map((i) => onMaster.stopLoss(i))); // fills the cache on the masters
      for (const node of harness.startupNodes) await harness.client(node.port).call("WAIT", "1", "2000");
      const before = await count("evalsha_ro");
      const hits = await Promise.all(inputs.map((i) => onReplica.stopLoss(i)));
      expect(hits.map((h) => h.cache)).toEqual(inputs.map(() => "hit"));
      expect(hits.map(({ cache: _c, ...v }) => v)).toEqual(cached.map(({ cache: _c, ...v }) => v));
      const fresh = { ...inputs[0]!, symbol: `${symbols[0]}ROFRESH` };
      const miss = await onReplica.stopLoss(fresh);
      expect(miss.cache).toBe("miss");
      expect(await count("evalsha_ro")).toBe(before + inputs.length + 1);
      // nothing was stored: the master still computes it
      expect((await onMaster.stopLoss(fresh)).cache).toBe("miss");
    } finally {
      await Promise.all([onReplica.close(), onMaster.close()]);
    }
  });

  it("with readFrom replica, a read waiting its turn behind a held replica fails by its deadline, not sent, and is not handed to the master", async () => {
    const onReplica = MathDispatcher.connect({ cluster: harness.startupNodes }, { readFrom: "replica", deadlineMs: 5000 });
    const roles = await harness.roles();
    const replicaPorts = [...roles].filter(([, r]) => r.role === "replica").map(([port]) => port);
    const holders = replicaPorts.map((port) => new Redis(port, "127.0.0.1"));
    const symbol = symbols[0] as string; // one slot: every call goes to the same replica, one gate
    try {
      await onReplica.load();
      const held = holders.map((holder) => holdServer(holder, 1_000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const ahead = Array.from({ length: 20 }, (_, i) => onReplica.stopLoss({ symbol, side: "long", entry: 100 + i, atr: 2, rewardRatio: 2 }).catch((e: unknown) => e));
      const late = await onReplica.stopLoss({ symbol, side: "long", entry: 99, atr: 2, rewardRatio: 2 }, { deadlineMs: 300 }).catch((e: unknown) => e);
      await Promise.all([...held, ...ahead]);
      expect(late).toBeInstanceOf(CommandTimeoutError);
      expect((late as Error).message).toMatch(/before its turn: .* \(not sent\)$/);
    } finally {
      for (const holder of holders) holder.disconnect();
      await onReplica.close();
    }
  });

  // each master has its own gate: a call that waited for one master's turn is a ServerBusyError
  // only if that master answered "not now"; another master's BUSY says nothing of it
  it("a call waiting its turn behind a held master fails as a timeout, not as another master's BUSY; behind the BUSY master, as a ServerBusyError", async () => {
    const math = MathDispatcher.connect({ cluster: harness.startupNodes }, { deadlineMs: 5000, maxRetries: 100, breakerThreshold: 1000 });
    const [busySymbol, heldSymbol] = [symbols[0], symbols[1]] as [string, string]; // on two masters
    const [busyPort, heldPort] = await Promise.all([busySymbol, heldSymbol].map((s) => harness.masterOf(slotOf(`{${s}}`))));
    const holders = [busyPort, heldPort].map((port) => new Redis(port as number, "127.0.0.1"));
    const confidence = (symbol: string, base: number, deadlineMs?: number) =>
      math.confidence({ symbol, base, volumeRatio: 1, boost: 0 }, deadlineMs === undefined ? undefined : { deadlineMs }).catch((e: unknown) => e);
    try {
      await math.load();
      await harness.client(busyPort as number).config("SET", "busy-reply-threshold", "50");
      const held = holders.map((holder) => holdServer(holder, 1_200)); // the busy master answers BUSY, the other is silent
      await new Promise((resolve) => setTimeout(resolve, 100));
      // 20 calls on each master fill its gate; the calls on the busy one meet BUSY and retry
      const ahead = [busySymbol, heldSymbol].flatMap((symbol) => Array.from({ length: 20 }, (_, i) => confidence(symbol, 0.3 + i / 100)));
      await new Promise((resolve) => setTimeout(resolve, 150));
      const [behindBusy, behindHeld] = await Promise.all([confidence(busySymbol, 0.71, 300), confidence(heldSymbol, 0.71, 300)]);
      await Promise.all([...held, ...ahead]);
      expect(behindHeld).toBeInstanceOf(CommandTimeoutError);
      expect(behindHeld).not.toBeInstanceOf(ServerBusyError);
      expect((behindHeld as Error).message).toMatch(/before its turn: .* \(not sent\)$/);
      expect(behindBusy).toBeInstanceOf(ServerBusyError);
      expect((behindBusy as Error).message).toMatch(/before its turn: .* \(not sent\): Redis answered BUSY /);
    } finally {
      await harness.client(busyPort as number).config("SET", "busy-reply-threshold", "5000");
      for (const holder of holders) holder.disconnect();
      await math.close();
    }
  });

  // a slot nobody serves (CLUSTERDOWN) is sent again after the slot map is read again, within the
  // call's deadline: the passes' backoff and the map's reading used to run on past it (650 ms: 1 s)
  it("a call on a slot no master serves fails by its deadline, not after further passes", async () => {
    const math = MathDispatcher.connect({ cluster: harness.startupNodes }, { deadlineMs: 5000 });
    const symbol = symbols[2] as string;
    const slot = slotOf(`{${symbol}}`);
    const owner = harness.client(await harness.masterOf(slot));
    try {
      await math.load();
      await owner.call("CLUSTER", "DELSLOTS", String(slot));
      for (const deadlineMs of [350, 650]) {
        const started = Date.now();
        const error = await math.confidence({ symbol, base: 0.5, volumeRatio: 1, boost: 0 }, { deadlineMs }).catch((e: unknown) => e);
        const took = Date.now() - started;
        expect(took).toBeLessThan(deadlineMs + 150); // generous on a loaded machine; the passes past it took 270-370 ms more
        expect(error).toBeInstanceOf(MathDispatcherError);
        expect((error as Error).message).toMatch(/CLUSTERDOWN/); // what held the call, not only that its deadline passed
      }
    } finally {
      await owner.call("CLUSTER", "ADDSLOTS", String(slot));
      await harness.waitHealthy();
      await math.close();
    }
  });

  it("a snapshot with readFrom replica is served by replicas (EVALSHA_RO), equal to the master's", async () => {
    const onReplica = MathDispatcher.connect({ cluster: harness.startupNodes }, { readFrom: "replica" });
    const onMaster = MathDispatcher.connect({ cluster: harness.startupNodes });
    try {
      const names = symbols.map((s) => `${s}RO`);
      const updates = names.flatMap((symbol, k) => [0, 1, 2].map((n) => ({ symbol, ts: TIME + 1000 * n, seq: n, volume: 10 + k, price: 100 + n })));
      expect((await onMaster.streaming().updateMany(updates)).filter((o) => !o.ok)).toEqual([]);
      for (const node of harness.startupNodes) await harness.client(node.port).call("WAIT", "1", "2000");
      const roles = await harness.roles();
      const replicaPorts = [...roles].filter(([, r]) => r.role === "replica").map(([port]) => port);
      const masterPorts = [...roles].filter(([, r]) => r.role === "master").map(([port]) => port);
      const count = async (ports: number[], command: string) => (await Promise.all(ports.map((p) => commandCalls(harness.client(p), command)))).reduce((a, b) => a + b, 0);
      const [replicaBefore, masterBefore] = [await count(replicaPorts, "evalsha_ro"), await count(masterPorts, "evalsha_ro")];
      const [fromReplica, fromMaster] = [await onReplica.streaming().snapshots(names), await onMaster.streaming().snapshots(names)];
      expect(fromReplica).toStrictEqual(fromMaster);
      expect(fromReplica.every((o) => o.ok && o.value.vwap?.points === 3)).toBe(true);
      expect(await count(replicaPorts, "evalsha_ro")).toBe(replicaBefore + names.length);
      expect(await count(masterPorts, "evalsha_ro")).toBe(masterBefore);
    } finally {
      await Promise.all([onReplica.close(), onMaster.close()]);
    }
  });

  it("the tick consumer applies every tick of symbols on two masters", async () => {
    const owners = await Promise.all(symbols.map((s) => harness.masterOf(slotOf(`{${s}}`))));
    const pair = [symbols[0] as string, symbols.find((_, k) => owners[k] !== owners[0]) as string].map((s) => `${s}TK`);
    expect(new Set(await Promise.all(pair.map((s) => harness.masterOf(slotOf(`{${s}}`)))) ).size).toBe(2);
    const math = MathDispatcher.connect({ cluster: harness.startupNodes });
    const ticks = new Cluster([...harness.startupNodes]);
    ticks.on("error", () => undefined);
    const consumer = new TickConsumer(ticks, math.streaming(), { symbols: pair, hashTag: true, blockMs: 50 });
    try {
      const perSymbol = 150;
      for (const symbol of pair) {
        const pipeline = ticks.pipeline(); // one stream: one slot
        for (let n = 0; n < perSymbol; n++) pipeline.xadd(tickStreamKey(symbol, hashTag), "*", "price", (100 + (n % 17) * 0.05).toFixed(2), "volume", String(1 + (n % 5)), "ts", String(TIME + n), "seq", String(n));
        await pipeline.exec();
      }
      await consumer.ensureGroups();
      for (let pass = 0; pass < 200 && consumer.totals.applied < 2 * perSymbol; pass++) await consumer.runOnce();
      const stats = await consumer.stats();
      expect({ applied: stats.applied, pending: stats.pending, lag: stats.lag, deadLetters: stats.deadLetters }).toEqual({ applied: 2 * perSymbol, pending: 0, lag: 0, deadLetters: 0 });
      const snapshots = await math.streaming().snapshots(pair);
      expect(snapshots.map((o) => o.ok && o.value.vwap?.points)).toEqual([perSymbol, perSymbol]);
      // its connection failures name the cluster, not ioredis's default server (127.0.0.1:6379)
      ticks.disconnect();
      const lost = await consumer.ensureGroups().catch((error: unknown) => error);
      expect(lost, String(lost)).toBeInstanceOf(ConnectionError);
      // the nodes it was given, once it knows none
      expect((lost as ConnectionError).address).toBe(`cluster ${harness.startupNodes.map((n) => `${n.host}:${n.port}`).join(",")}`);
    } finally {
      consumer.stop();
      ticks.disconnect();
      await math.close();
    }
  });

  it("the SDK works under docs/SECURITY.md's mathd-sdk user with the cluster's additions, and nothing is refused", async () => {
    const rules = documentedAclUsers().get("mathd-sdk")!;
    const clusterRules = [...rules, ...clusterAclAdditions()];
    const nodes = harness.nodes.map((n) => harness.client(n.port));
    for (const node of nodes) {
      await node.call("ACL", "LOG", "RESET");
      await node.call("ACL", "SETUSER", "mathd-sdk-cluster", ...clusterRules.map((r) => (r === ">CHANGE-ME" ? ">pw" : r)));
    }
    const math = MathDispatcher.connect({ cluster: harness.startupNodes, username: "mathd-sdk-cluster", password: "pw" });
    try {
      const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 }));
      for (const symbol of symbols) expect((await math.atr({ symbol: `${symbol}ACL`, period: 14, bars })).bars).toBe(20);
      const refused = await Promise.all(nodes.map(async (node) => ((await node.call("ACL", "LOG")) as unknown[]).length));
      expect(refused).toEqual(nodes.map(() => 0));
    } finally {
      await math.close();
      for (const node of nodes) await node.call("ACL", "DELUSER", "mathd-sdk-cluster");
    }
  });

  it("cluster mode refuses MATHD_DB_* and hashTag false, and MATHD_CLUSTER_NODES selects it", async () => {
    const env = { ...process.env };
    try {
      process.env.MATHD_DB_PATTERNS = "3";
      expect(() => MathDispatcher.connect({ cluster: harness.startupNodes })).toThrow(ConfigurationError);
      delete process.env.MATHD_DB_PATTERNS;
      expect(() => MathDispatcher.connect({ cluster: harness.startupNodes }, { hashTag: false })).toThrow(ConfigurationError);
      process.env.MATHD_CLUSTER_NODES = harness.startupNodes.map((n) => `${n.host}:${n.port}`).join(",");
      const math = MathDispatcher.connect();
      try {
        expect(math.client.cluster).toBeDefined();
        const r = await math.confidence({ symbol: symbols[1] as string, base: 0.5, volumeRatio: 1, boost: 0 });
        expect(r.confidence).toBeGreaterThan(0);
      } finally {
        await math.close();
      }
    } finally {
      process.env = env;
    }
  });

  it.each(["evalsha", "functions"] as const)(
    "a bounded load of batches over all masters across a CLUSTER FAILOVER: 0 wrong, 0 failed (%s)",
    async (scriptMode) => {
      const math = MathDispatcher.connect({ cluster: harness.startupNodes }, { scriptMode });
      const reference = MathDispatcher.connect(single.url, { hashTag: true, scriptMode });
      const owner = await harness.masterOf(slotOf(`{${symbols[scriptMode === "evalsha" ? 0 : 1]}}`));
      const replica = [...(await harness.roles())].find(([, r]) => r.role === "replica" && r.masterPort === owner)?.[0] as number;
      const batch = (round: number): BatchCall[] =>
        symbols.map((symbol, k) => ({ fn: "confidence", input: { symbol, base: 0.4 + ((round * 7 + k) % 50) / 100, volumeRatio: 1 + (k % 4) / 4, boost: 0.01 } }));
      const strip = (o: { ok: boolean; value?: { cache?: unknown } }) => (o.ok ? { ...o.value, cache: "-" } : o);
      let [wrong, failed, rounds, roundsAfter, done] = [0, 0, 0, 0, false];
      let switched: Promise<void> | undefined;
      // bounded: 20,000 rounds of 6 calls, 60 s; a round can take well under the failover's time
      // divided by 3,000, and the test needs 20 rounds after it
      const deadline = Date.now() + 60_000;
      try {
        for (; rounds < 20_000 && Date.now() < deadline && (!done || roundsAfter < 20); rounds++) {
          if (rounds === 20) {
            switched = (async () => {
              await harness.client(replica).call("CLUSTER", "FAILOVER");
              await expect.poll(async () => (await harness.roles()).get(replica)?.role, { timeout: 15_000, interval: 100 }).toBe("master");
              await harness.waitHealthy();
              done = true;
            })();
          }
          if (done) roundsAfter++;
          const [got, want] = await Promise.all([math.batch(batch(rounds)), reference.batch(batch(rounds))]);
          got.forEach((o, k) => {
            if (!o.ok) failed++;
            else if (JSON.stringify(strip(o)) !== JSON.stringify(strip(want[k] as typeof o))) wrong++;
          });
        }
        await switched;
        expect({ wrong, failed, failedOver: done, roundsAfter }).toEqual({ wrong: 0, failed: 0, failedOver: true, roundsAfter: 20 });
      } finally {
        await Promise.all([math.close(), reference.close()]);
      }
    },
    90_000,
  );
});
