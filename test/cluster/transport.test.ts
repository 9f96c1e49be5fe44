/**
 * The script transports against a real 3-master cluster with one replica per master, compared
 * with a standalone server running the same calls.
 */
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { buildFunctionsLibraries } from "../../src/build/functionsLibrary.js";
import { clusterHealth } from "../../src/cluster/health.js";
import { librariesOnNode, type RoundTrip } from "../../src/cluster/loader.js";
import { CommandTimeoutError, NOT_NOW_REPLY } from "../../src/core/errors.js";
import { runKeyed, SCRIPT_WAVE_UNITS } from "../../src/cluster/pipeline.js";
import { newsLatestKey, tickStreamKey, volumeBaselineKey } from "../../src/keys/marketData.js";
import { groupBySlotOwner, masters as masterNodes, nodeAddress, slotOf } from "../../src/cluster/topology.js";
import { ClusterScriptTransport, StandaloneScriptTransport, type Outcome, type ScriptCall, type TransportOptions } from "../../src/cluster/transport.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";
import { commandCalls, holdServer } from "../support/redis.js";
import { startCluster, type SlotMigration, type TestCluster } from "../support/cluster.js";
import { confidenceCall, snapshotCall, stopLossCall, streamUpdateCall, symbolsOnEveryMaster, withoutCacheStatus } from "./calls.js";
import { OLDER_ATR_LIBRARY } from "../support/libraries.js";

let harness: TestCluster;
let cluster: Cluster;
let single: LocalRedisServer;
let singleClient: Redis;
const libraries = buildFunctionsLibraries(SCRIPTS);
const libraryState = async (node: Redis) => (await librariesOnNode(node, libraries)).state;
const symbols = symbolsOnEveryMaster(3, 8); // 24 symbols, 8 on each master

beforeAll(async () => {
  [harness, single] = await Promise.all([startCluster({ masters: 3, replicasPerMaster: 1 }), startLocalRedis()]);
  cluster = new Cluster([...harness.startupNodes], { redisOptions: { maxRetriesPerRequest: 1 } });
  cluster.on("error", () => undefined);
  singleClient = new Redis(single.port, "127.0.0.1", { db: 10 });
  await cluster.ping();
}, 60_000);

afterAll(async () => {
  cluster?.disconnect();
  singleClient?.disconnect();
  await Promise.all([harness?.stop(), single?.stop()]);
});

const opened: ClusterScriptTransport[] = [];
/** A cluster transport closed after the test (each watches the cluster's refresh events). */
function onCluster(options?: TransportOptions): ClusterScriptTransport {
  const transport = new ClusterScriptTransport(cluster, options);
  opened.push(transport);
  return transport;
}
afterEach(() => {
  for (const transport of opened.splice(0)) transport.close();
});

const masterPorts = () => harness.nodes.filter((n) => n.role === "master").map((n) => n.port);
const replicaPorts = () => harness.nodes.filter((n) => n.role === "replica").map((n) => n.port);

async function flushData(): Promise<void> {
  await Promise.all(masterPorts().map((port) => harness.client(port).flushall()));
  await singleClient.flushall();
}

function replies(outcomes: Outcome[]): unknown[] {
  return outcomes.map((o) => {
    if (!o.ok) throw o.error;
    return o.reply;
  });
}

/** The stream_update batches and the snapshots after them, on one transport. */
async function session(run: (calls: ScriptCall[]) => Promise<Outcome[]>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let n = 0; n < 16; n++) out.push(...replies(await run(symbols.map((s) => streamUpdateCall(s, n)))));
  out.push(...replies(await run(symbols.map(snapshotCall))));
  out.push(...replies(await run(symbols.map((s, i) => confidenceCall(s, i)))));
  return out;
}

/**
 * Runs `body` while `slots` (by default those of symbols[0] and symbols[3], both on one master)
 * migrate from their master to another; after it, each slot is its master's again and the data
 * is flushed.
 */
async function whileMigrating(body: (migrations: SlotMigration[]) => Promise<void>, slots = [symbols[0], symbols[3]].map((s) => slotOf(`{${s}}`))): Promise<void> {
  const source = await harness.masterOf(slots[0] as number);
  const destination = masterPorts().find((port) => port !== source) as number;
  const migrations: SlotMigration[] = [];
  try {
    for (const slot of slots) migrations.push(await harness.startMigration(slot, destination));
    await body(migrations);
  } finally {
    await flushData();
    for (const migration of migrations) {
      if ((await harness.masterOf(migration.slot)) === source) await migration.cancel();
      else await (await harness.startMigration(migration.slot, source)).finish();
    }
    await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
  }
}

/** A round trip that sends its command again, up to 80 times 25 ms apart, while the reply is "not now" (BUSY, LOADING...), noting each. */
function retryingNotNow(turnedAway: string[]): RoundTrip {
  return async (command) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await command();
      } catch (error) {
        if (attempt === 80 || !NOT_NOW_REPLY.test((error as Error).message)) throw error;
        turnedAway.push((error as Error).message);
        await sleep(25);
      }
    }
  };
}

/** `run`'s result, run while a script keeps the node on `port` busy for a second (BUSY to every other client). */
async function whileBusy<T>(port: number, run: () => Promise<T>): Promise<T> {
  const node = new Redis(port, "127.0.0.1");
  await node.config("SET", "busy-reply-threshold", "10");
  try {
    const busy = holdServer(node, 1_000);
    await sleep(50);
    const result = await run();
    await busy;
    return result;
  } finally {
    await node.config("SET", "busy-reply-threshold", "5000");
    node.disconnect();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `calls` of SCRIPT LOAD or FUNCTION LOAD on a node since its last RESETSTAT, with the refused ones. */
async function loads(node: Redis, mode: "evalsha" | "functions"): Promise<{ calls: number; failed: number }> {
  const command = mode === "evalsha" ? "script\\|load" : "function\\|load";
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+),.*failed_calls=(\\d+)`, "m").exec(await node.info("commandstats"));
  return { calls: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0) };
}

describe("a batch holds the shared Redis a wave at a time", () => {
  // Redis runs a client's commands back to back for each read of its socket: a 400-call batch in
  // one pipeline came in 5 to 15 reads of up to 20 KB, about 86 calls each
  it.each(["evalsha", "functions"] as const)("400 small calls reach Redis in reads of at most one wave's calls (%s)", async (mode) => {
    const transport = new StandaloneScriptTransport(singleClient, { mode });
    await transport.prepare();
    const calls = Array.from({ length: 400 }, (_, i) => confidenceCall(`WAVE${i % 7}`, i));
    const readsBefore = await readsProcessed(singleClient);
    const outcomes = await transport.runMany(calls);
    // the batch's reads (its INFO's own read and reply are one more read)
    const reads = (await readsProcessed(singleClient)) - readsBefore - 1;
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // a wave is at most SCRIPT_WAVE_UNITS calls, and each wave is a read of its own at least
    expect(reads).toBeGreaterThanOrEqual(Math.ceil(calls.length / SCRIPT_WAVE_UNITS));
  });

  // `Promise.all` over every symbol at the open, while Redis is busy for a moment (a long call, a
  // fork): ioredis writes each call as it comes, and without the gate Redis met them all in its
  // socket at once, a few reads of 16 KB, as one unbounded pipeline
  it.each(["evalsha", "functions"] as const)("400 concurrent single calls, and a batch among them, share the wave budget (%s)", async (mode) => {
    const transport = new StandaloneScriptTransport(singleClient, { mode });
    await transport.prepare();
    const singles = Array.from({ length: 400 }, (_, i) => confidenceCall(`GATE${i % 7}`, i));
    const batch = Array.from({ length: 100 }, (_, i) => confidenceCall(`GATE${i % 5}`, 1000 + i));
    const readsBefore = await readsProcessed(singleClient);
    const [[settled, outcomes]] = await sentWhileHeld([single.port], () =>
      Promise.all([Promise.allSettled(singles.map((call) => transport.runOne(call))), transport.runMany(batch)]),
    );
    // the batch's and the singles' reads (the hold and its INFO's own read are two more)
    const reads = (await readsProcessed(singleClient)) - readsBefore - 2;
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // never more than a wave's calls unanswered, so never more than that in one read
    expect(reads).toBeGreaterThanOrEqual(Math.ceil((singles.length + batch.length) / SCRIPT_WAVE_UNITS));
  });

  it("on a cluster, concurrent single calls reach each master in reads of at most a wave", async () => {
    const transport = onCluster();
    await transport.prepare();
    const calls = Array.from({ length: 16 * symbols.length }, (_, i) => confidenceCall(symbols[i % symbols.length] as string, i));
    const before = await Promise.all(masterPorts().map((port) => readsProcessed(harness.client(port))));
    const [settled] = await sentWhileHeld(masterPorts(), () => Promise.allSettled(calls.map((call) => transport.runOne(call))));
    const reads = await Promise.all(masterPorts().map(async (port, m) => (await readsProcessed(harness.client(port))) - (before[m] as number) - 2));
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    // each master has 8 of the symbols: 128 calls, so 8 waves at least
    for (const perMaster of reads) expect(perMaster).toBeGreaterThanOrEqual(Math.ceil(calls.length / 3 / SCRIPT_WAVE_UNITS));
  });
});

/** Runs `send` while each server of `ports` is held by a script of another client, and waits for both. */
async function sentWhileHeld<T>(ports: readonly number[], send: () => Promise<T>): Promise<[T, ...unknown[]]> {
  const holders = ports.map((port) => new Redis(port, "127.0.0.1"));
  try {
    const held = holders.map((holder) => holdServer(holder, 300));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the holds have begun
    return await Promise.all([send(), ...held]);
  } finally {
    for (const holder of holders) holder.disconnect();
  }
}

/** Redis's count of reads from client sockets (INFO stats `total_reads_processed`). */
async function readsProcessed(node: Redis): Promise<number> {
  return Number(/^total_reads_processed:(\d+)/m.exec(await node.info("stats"))?.[1]);
}

describe("StandaloneScriptTransport: a burst after the scripts are gone", () => {
  // The calls of a burst all meet "scripts missing" together; one load per script (or library)
  // must heal them all, not one each: a script's whole text per call, on the core they share.
  it.each(["evalsha", "functions"] as const)("200 calls at once after a flush load each script once (%s)", async (mode) => {
    const transport = new StandaloneScriptTransport(singleClient, { mode });
    await transport.prepare();
    await singleClient.call(mode === "evalsha" ? "SCRIPT" : "FUNCTION", "FLUSH");
    await singleClient.config("RESETSTAT");
    const symbolsOfBurst = Array.from({ length: 200 }, (_, i) => `BURST${i}`);
    const calls = symbolsOfBurst.map((symbol, i) => (i % 2 === 0 ? confidenceCall(symbol, i) : snapshotCall(symbol)));
    const settled = await Promise.allSettled(calls.map((call) => transport.runOne(call)));
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    // EVALSHA: the two scripts of the burst; Functions: the burst's two libraries first, then the
    // rest (loaded once those calls could go), every library once, none refused
    if (mode === "functions") await expect.poll(() => loads(singleClient, mode), { timeout: 5000 }).toMatchObject({ calls: libraries.length });
    expect(await loads(singleClient, mode)).toEqual({ calls: mode === "evalsha" ? 2 : libraries.length, failed: 0 });
  });

  /**
   * A round trip that lets the call's first round trip (its EVALSHA) through and times the later
   * ones (its loads) out with `reason` after `delayMs`; `deadline` as the call's.
   */
  function failingLoads(reason: string, delayMs: number, deadline?: number): RoundTrip {
    let roundTrips = 0;
    const roundTrip: RoundTrip = (command) =>
      ++roundTrips === 1 ? command() : new Promise((_, reject) => setTimeout(() => reject(new CommandTimeoutError(reason)), delayMs));
    return deadline === undefined ? roundTrip : Object.assign(roundTrip, { deadline });
  }

  it("a call fails only with its own load's timeout: a joined load that timed out is tried again, however many such calls come first", async () => {
    const transport = new StandaloneScriptTransport(singleClient);
    await transport.prepare();
    await singleClient.script("FLUSH");
    // the first call leads the load and times out; the next two cannot load either (one's deadline
    // has passed, the other's loads time out) and come before three calls that can, in joining and retrying
    const rejectedWith = (reason: string) => ({ status: "rejected", reason: { message: reason } });
    const settled = await Promise.allSettled([
      transport.runOne(confidenceCall("LEADER", 1), failingLoads("the leader's deadline passed", 50)),
      transport.runOne(confidenceCall("SPENT", 2), failingLoads("never sent", 0, Date.now() - 1)),
      transport.runOne(confidenceCall("FAILING", 3), failingLoads("this call's own load failed", 20)),
      ...[4, 5, 6].map((i) => transport.runOne(confidenceCall(`HEALTHY${i}`, i))),
    ]);
    expect(settled.slice(3).map((s) => (s.status === "rejected" ? (s.reason as Error).message : "ok"))).toEqual(["ok", "ok", "ok"]);
    expect(settled[0]).toMatchObject(rejectedWith("the leader's deadline passed"));
    expect(settled[1]).toMatchObject({ status: "rejected", reason: { name: "CommandTimeoutError" } });
    expect(settled[2]).toMatchObject(rejectedWith("this call's own load failed"));
  });

  it("a load the server refuses fails every call that joined it, with one load sent", async () => {
    // a user that may run the scripts but not load them
    await singleClient.call("ACL", "SETUSER", "mathd-noload", "on", ">noload", "~*", "+@all", "-script|load");
    const noLoad = new Redis({ port: single.port, host: "127.0.0.1", username: "mathd-noload", password: "noload", db: 10 });
    try {
      await new StandaloneScriptTransport(singleClient).prepare(); // loaded by a user that may
      const transport = new StandaloneScriptTransport(noLoad);
      await transport.prepare(); // finds them loaded
      await singleClient.script("FLUSH");
      await singleClient.config("RESETSTAT");
      const settled = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => transport.runOne(confidenceCall(`REFUSED${i}`, i))));
      expect(new Set(settled.map((s) => (s.status === "rejected" ? (s.reason as Error).message.split(" ")[0] : "ok")))).toEqual(new Set(["NOPERM"]));
      const refused = /^cmdstat_script\|load:calls=(\d+),.*rejected_calls=(\d+)/m.exec(await singleClient.info("commandstats"));
      expect(Number(refused?.[1] ?? 0) + Number(refused?.[2] ?? 0)).toBeLessThanOrEqual(2); // not one per call, nor one after another
    } finally {
      noLoad.disconnect();
      await singleClient.call("ACL", "DELUSER", "mathd-noload");
    }
  });

  it("a call waits for a load another call leads no longer than its own deadline", async () => {
    const transport = new StandaloneScriptTransport(singleClient);
    await transport.prepare();
    await singleClient.script("FLUSH");
    let leaderSettled = false;
    const slowLeader: RoundTrip = (() => {
      let roundTrips = 0;
      // its first load command waits 1.5 s before it is sent
      return (command) => (++roundTrips === 2 ? new Promise((resolve) => setTimeout(resolve, 1_500)).then(command) : command());
    })();
    const leader = transport.runOne(confidenceCall("SLOW", 1), slowLeader).finally(() => (leaderSettled = true));
    const hurried: RoundTrip = Object.assign(<T,>(command: () => Promise<T>) => command(), { deadline: Date.now() + 100 });
    const joiner = await transport.runOne(confidenceCall("HURRIED", 2), hurried).catch((e: unknown) => e);
    expect(joiner).toBeInstanceOf(CommandTimeoutError);
    expect(leaderSettled).toBe(false); // it gave up on its own deadline, not on the leader's
    await leader;
  });
});

describe("ClusterScriptTransport", () => {
  it("groups calls by master and keeps each call's index; refuses a cross-slot call apart", async () => {
    const calls = [...symbols.map((s, i) => confidenceCall(s, i)), { script: "confidence", keys: ["{A}x", "{B}y"], args: [] }];
    const { groups, crossSlot } = groupBySlotOwner(cluster, calls);
    expect(crossSlot).toEqual([symbols.length]);
    expect(groups).toHaveLength(3);
    expect(groups.flatMap((g) => g.indexes).sort((a, b) => a - b)).toEqual(symbols.map((_, i) => i));
    for (const g of groups) {
      expect(g.calls).toHaveLength(8);
      g.indexes.forEach((index, j) => expect(g.calls[j]).toBe(calls[index]));
    }
  });

  it("loads every script on every master (not on replicas: the script cache is not replicated)", async () => {
    await onCluster().prepare();
    const shas = SCRIPTS.map((s) => s.sha1);
    for (const port of masterPorts()) expect(await harness.client(port).script("EXISTS", ...shas)).toEqual(shas.map(() => 1));
    for (const port of replicaPorts()) expect(await harness.client(port).script("EXISTS", ...shas)).toEqual(shas.map(() => 0));
  });

  it("loads the libraries on every master once; replicas receive them by replication", async () => {
    const transport = onCluster({ mode: "functions" });
    await transport.prepare();
    for (const port of masterPorts()) expect(await libraryState(harness.client(port))).toBe("current");
    for (const port of replicaPorts()) {
      await expect.poll(() => libraryState(harness.client(port)), { timeout: 5000 }).toBe("current");
    }
    const loads = await Promise.all(masterPorts().map((p) => commandCalls(harness.client(p), "function\\|load")));
    await onCluster({ mode: "functions" }).prepare(); // already current: no load
    expect(await Promise.all(masterPorts().map((p) => commandCalls(harness.client(p), "function\\|load")))).toEqual(loads);
  });

  it("runs calls over all 3 masters with one pipeline each, equal to a standalone server bit for bit, in the callers' order; FCALL equals EVALSHA", async () => {
    await flushData();
    const before = await Promise.all(masterPorts().map((p) => commandCalls(harness.client(p), "evalsha")));
    const evalsha = onCluster();
    const clustered = await session((calls) => evalsha.runMany(calls));
    const after = await Promise.all(masterPorts().map((p) => commandCalls(harness.client(p), "evalsha")));
    const reference = new StandaloneScriptTransport(singleClient);
    const standalone = await session((calls) => reference.runMany(calls));
    expect(clustered).toEqual(standalone);
    // every master did a third of the work (8 symbols each, 18 calls per symbol)
    expect(after.map((n, i) => n - (before[i] as number))).toEqual([8 * 18, 8 * 18, 8 * 18]);

    await flushData();
    const functions = onCluster({ mode: "functions" });
    expect(await session((calls) => functions.runMany(calls))).toEqual(standalone);
    await flushData();
    const standaloneFunctions = new StandaloneScriptTransport(singleClient, { mode: "functions" });
    expect(await session((calls) => standaloneFunctions.runMany(calls))).toEqual(standalone);
  });

  it("30 first calls after SCRIPT FLUSH on every node: 0 failures (NOSCRIPT reloads on the node that answered)", async () => {
    await flushData();
    const transport = onCluster();
    await transport.prepare();
    await Promise.all(harness.nodes.map((n) => harness.client(n.port).script("FLUSH")));
    await Promise.all(masterPorts().map((port) => harness.client(port).config("RESETSTAT")));
    const thirty = Array.from({ length: 30 }, (_, i) => confidenceCall(symbols[i % symbols.length] as string, i));
    const settled = await Promise.allSettled(thirty.map((call) => transport.runOne(call)));
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    // one load of the script per master heals the ten calls that met NOSCRIPT there
    expect(await Promise.all(masterPorts().map((port) => loads(harness.client(port), "evalsha")))).toEqual(masterPorts().map(() => ({ calls: 1, failed: 0 })));
    const values = settled.map((s) => (s.status === "fulfilled" ? s.value : undefined));
    const reference = replies(await new StandaloneScriptTransport(singleClient).runMany(thirty));
    expect(values.map(withoutCacheStatus)).toEqual(reference.map(withoutCacheStatus));
    for (const port of masterPorts()) {
      expect(await harness.client(port).script("EXISTS", SCRIPTS.find((s) => s.name === "confidence")!.sha1)).toEqual([1]);
    }
  });

  it("after FUNCTION FLUSH on every master, 30 first FCALLs: 0 failures ('Function not found' reloads the library there)", async () => {
    await flushData();
    const transport = onCluster({ mode: "functions" });
    await transport.prepare();
    await Promise.all(masterPorts().map((port) => harness.client(port).call("FUNCTION", "FLUSH")));
    const thirty = Array.from({ length: 30 }, (_, i) => confidenceCall(symbols[i % symbols.length] as string, i));
    const outcomes = await transport.runMany(thirty);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // the calls' library first, the others once the calls could go
    for (const port of masterPorts()) await expect.poll(() => libraryState(harness.client(port)), { timeout: 5000 }).toBe("current");
  });

  it.each(["evalsha", "functions"] as const)("with readFrom replica, read-only calls run on replicas (%s)", async (mode) => {
    await flushData();
    const transport = onCluster({ mode, readFrom: "replica" });
    await transport.prepare();
    for (let n = 0; n < 3; n++) replies(await transport.runMany(symbols.map((s) => streamUpdateCall(s, n))));
    await Promise.all(masterNodes(cluster).map((node) => node.call("WAIT", "1", "5000")));
    const onMaster = replies(await onCluster({ mode }).runMany(symbols.map(snapshotCall)));

    const command = mode === "evalsha" ? "evalsha_ro" : "fcall_ro";
    const count = () => Promise.all(harness.nodes.map((n) => commandCalls(harness.client(n.port), command)));
    const before = await count();
    const onReplica = replies(await transport.runMany(symbols.map(snapshotCall)));
    const after = await count();
    expect(onReplica).toEqual(onMaster);
    const served = harness.nodes.map((n, i) => ({ role: n.role, calls: (after[i] as number) - (before[i] as number) }));
    expect(served.filter((s) => s.role === "master").map((s) => s.calls)).toEqual([0, 0, 0]);
    expect(served.filter((s) => s.role === "replica").map((s) => s.calls)).toEqual([8, 8, 8]);
    // a writing script is never sent to a replica
    expect((await transport.runMany([streamUpdateCall(symbols[0] as string, 9)]))[0]?.ok).toBe(true);
    expect(await count()).toEqual(after);
  });

  it("while two slots migrate, calls on keys already moved, alone or in a batch, follow the ASK to the importing master, and load the scripts there", async () => {
    await flushData();
    const transport = onCluster();
    await transport.prepare();
    await whileMigrating(async (migrations) => {
      const { destination } = migrations[0] as SlotMigration;
      const slots = migrations.map((m) => m.slot);
      await harness.client(destination).script("FLUSH");
      // a call on its own first: ioredis followed its ASK out of sight, and the scripts were
      // loaded again and again on the source, which has them, until the call failed NOSCRIPT
      const alone = stopLossCall(symbols[0] as string, 1);
      expect(await transport.runOne(alone)).toEqual(await new StandaloneScriptTransport(singleClient).runOne(alone));
      // the source's symbols: the moving ones' calls are misses, their keys not on the source,
      // which answers ASK; the others' are answered there (the destination gets no call of its
      // own, so only the ASKed calls can load the scripts there)
      const calls = symbols.filter((_, i) => i % 3 === 0).map((symbol, i) => confidenceCall(symbol, i + 700));
      const outcomes = await transport.runMany(calls);
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      expect(replies(outcomes)).toEqual(replies(await new StandaloneScriptTransport(singleClient).runMany(calls)));
      // each moving symbol's entry was written on the importing master (only ASKING reaches it there)
      for (const call of calls.filter((c) => slots.includes(slotOf(c.keys[0] as string)))) {
        const asked = await harness.client(destination).pipeline().call("ASKING").exists(call.keys[0] as string).exec();
        expect(asked?.[1]).toEqual([null, 1]);
      }
    });
  });

  it.each([
    ["a batch's calls", symbols.filter((_, i) => i % 3 === 0).map((symbol, i) => confidenceCall(symbol, i + 800))],
    ["a call on its own", [confidenceCall(symbols[0] as string, 900)]],
  ])("%s ASKed to an importing master that answers BUSY: sent there again, under the call's policy, once it is free", async (_, calls) => {
    await flushData();
    const transport = onCluster();
    await transport.prepare();
    await whileMigrating(async (migrations) => {
      const turnedAway: string[] = [];
      const outcomes = await whileBusy((migrations[0] as SlotMigration).destination, () => transport.runMany(calls, retryingNotNow(turnedAway)));
      expect(replies(outcomes)).toEqual(replies(await new StandaloneScriptTransport(singleClient).runMany(calls)));
      // the policy saw the BUSY (not a MOVED back to the source, which ASKING turned away leaves)
      expect(turnedAway.length).toBeGreaterThan(0);
      expect(turnedAway.every((message) => message.startsWith("BUSY"))).toBe(true);
    });
  });

  it("a multi-key call a migration splits (TRYAGAIN) is sent again until its deadline, and answered once the slot has moved", async () => {
    await flushData();
    const transport = onCluster();
    const symbol = symbols[0] as string;
    expect(replies(await transport.runMany([streamUpdateCall(symbol, 0)]))).toHaveLength(1);
    const standalone = new StandaloneScriptTransport(singleClient);
    await whileMigrating(
      async ([migration]) => {
        // one of the symbol's three state keys moved, two not yet: the source answers TRYAGAIN
        await migration!.moveKeys([streamUpdateCall(symbol, 1).keys[0] as string]);
        const withDeadline = Object.assign((command: () => Promise<unknown>) => command(), { deadline: Date.now() + 5_000 }) as RoundTrip;
        const update = transport.runMany([streamUpdateCall(symbol, 1)], withDeadline);
        await sleep(2_500); // past the 5 passes (about 1 s) a redirection gets where a call has no deadline

        await migration!.finish();
        const [outcome] = await update;
        expect(outcome?.ok ? "ok" : (outcome as Outcome & { ok: false }).error.message).toBe("ok");
        // both updates applied, in order, once each: the state equals a standalone server's
        await standalone.runMany([streamUpdateCall(symbol, 0)]);
        await standalone.runMany([streamUpdateCall(symbol, 1)]);
        expect(replies(await transport.runMany([snapshotCall(symbol)]))).toEqual(replies(await standalone.runMany([snapshotCall(symbol)])));
      },
      [slotOf(`{${symbol}}`)],
    );
  });

  it("reports a wrong key count or an unknown script per call, without failing the batch", async () => {
    const transport = onCluster();
    const outcomes = await transport.runMany([
      confidenceCall(symbols[0] as string, 1),
      { script: "nope", keys: ["{X}a"], args: [] },
      { script: "confidence", keys: [], args: [] },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false]);
    expect(String(!outcomes[1]!.ok && outcomes[1]!.error.message)).toMatch(/no script nope/);
    expect(masterNodes(cluster).map(nodeAddress).sort()).toEqual(masterPorts().map((p) => `127.0.0.1:${p}`).sort());
  });

  it("health: every node's state, scripts, libraries and replica link; a master without the libraries is a problem", async () => {
    await onCluster({ mode: "functions" }).prepare();
    await onCluster().prepare();
    await Promise.all(masterNodes(cluster).map((node) => node.call("WAIT", "1", "5000"))); // libraries loaded now reach the replicas
    const healthy = await clusterHealth(cluster, { mode: "functions" });
    expect(healthy.problems).toEqual([]);
    expect(healthy).toMatchObject({ ok: true, slotsOk: 16384 });
    expect(healthy.nodes.map((n) => n.role).sort()).toEqual(["master", "master", "master", "replica", "replica", "replica"]);
    for (const n of healthy.nodes) {
      expect(n.clusterState).toBe("ok");
      expect(n.library).toBe("current");
      if (n.role === "master") expect(n.scriptsMissing).toEqual([]);
      else expect(n).toMatchObject({ masterLink: "up", lagBytes: expect.any(Number) });
    }

    const [first] = masterPorts();
    await harness.client(first as number).call("FUNCTION", "FLUSH");
    await harness.client(first as number).script("FLUSH");
    const broken = await clusterHealth(cluster, { mode: "functions" });
    expect(broken.ok).toBe(false);
    expect(broken.problems).toEqual([`127.0.0.1:${first}: Functions libraries absent, missing or of another build: ${libraries.map((l) => l.name).join(", ")}`]);
    // a version this build does not use, left by an earlier generation: a warning, not a problem
    const second = masterPorts()[1] as number;
    await harness.client(second).call("FUNCTION", "LOAD", OLDER_ATR_LIBRARY.code);
    const withOld = await clusterHealth(cluster, { mode: "functions" });
    expect(withOld.problems).toEqual(broken.problems);
    expect(withOld.warnings).toEqual([`127.0.0.1:${second}: libraries this build does not use: ${OLDER_ATR_LIBRARY.name} (mathd scripts prune)`]);
    await harness.client(second).call("FUNCTION", "DELETE", OLDER_ATR_LIBRARY.name);
    const evalsha = await clusterHealth(cluster);
    expect(evalsha.ok).toBe(true);
    expect(evalsha.warnings).toEqual([`127.0.0.1:${first}: scripts not loaded: ${SCRIPTS.map((s) => s.name).join(", ")} (loaded on first use)`]);
  });

  it("a group the slot map split between grouping and sending (a reshard) is grouped and sent again", async () => {
    await flushData();
    // two symbols of master 0, one pipeline; as it is sent, the map says the second moved to master 1
    const [first, second] = [symbols[0], symbols[3]].map((s) => `news:latest:{${s}}`) as [string, string];
    let roundTrips = 0;
    const resharding: RoundTrip = (command) => {
      if (++roundTrips === 1) {
        // what a read of the slot map during a reshard leaves: ioredis's node list and node group of the slot
        const moved = slotOf(second);
        const onMaster1 = slotOf(`{${symbols[1]}}`);
        const map = cluster as unknown as { slots: string[][]; _groupsBySlot: number[] };
        map.slots[moved] = [...(map.slots[onMaster1] ?? [])];
        map._groupsBySlot[moved] = map._groupsBySlot[onMaster1] as number;
      }
      return command();
    };
    const outcomes = await runKeyed(cluster, [first, second].map((key) => ({ keys: [key], command: ["SET", key, "1"] })), resharding);
    expect(outcomes.map((o) => (o.ok ? o.reply : o.error.message))).toEqual(["OK", "OK"]);
    expect(roundTrips).toBeGreaterThan(1); // the first pipeline was refused, unsent
  });

  it("keyed reads go one pipeline per master: news and baselines of symbols on all masters, one XREADGROUP per tick stream", async () => {
    await flushData();
    const tag = { hashTag: true };
    const two = [symbols[0], symbols[1]] as string[]; // on two different masters
    const streams = two.map((s) => tickStreamKey(s, tag));
    // on their own, as the tick consumer creates them: ioredis 5 finds no key in XGROUP CREATE, so
    // in a pipeline it would go to a random master (see KeyedCommand)
    expect(await Promise.all(streams.map((k) => cluster.xgroup("CREATE", k, "mathd", "0", "MKSTREAM")))).toEqual(["OK", "OK"]);
    const added = await runKeyed(
      cluster,
      streams.flatMap((k, i) => [1, 2, 3].map((n) => ({ keys: [k], command: ["XADD", k, "*", "price", `${100 + i}.${n}`, "volume", "75", "ts", "1"] as [string, ...string[]] }))),
    );
    expect(added.filter((o) => !o.ok)).toEqual([]);
    // a multi-stream XREADGROUP across masters is what fails with CROSSSLOT; one per stream does not
    await expect(cluster.xreadgroup("GROUP", "mathd", "c1", "COUNT", 10, "STREAMS", ...streams, ">", ">")).rejects.toThrow(/CROSSSLOT|same slot/);
    const read = await runKeyed(cluster, streams.map((k) => ({ keys: [k], command: ["XREADGROUP", "GROUP", "mathd", "c1", "COUNT", "10", "STREAMS", k, ">"] })));
    const prices = read.map((o) => {
      if (!o.ok) throw o.error;
      // one stream's reply: [[stream, entries]] in RESP2; ioredis 6 hands this one back unwrapped
      const reply = o.reply as unknown[];
      const [stream, entries] = (typeof reply[0] === "string" ? reply : reply[0]) as [string, [string, string[]][]];
      return [stream, entries.map(([, fields]) => fields[1])];
    });
    expect(prices).toEqual([
      [streams[0], ["100.1", "100.2", "100.3"]],
      [streams[1], ["101.1", "101.2", "101.3"]],
    ]);

    await runKeyed(cluster, symbols.map((s, i) => ({ keys: [newsLatestKey(s, tag)], command: ["SET", newsLatestKey(s, tag), `[${i}]`] })));
    await runKeyed(cluster, symbols.map((s, i) => ({ keys: [volumeBaselineKey(s, 10, 5, tag)], command: ["HSET", volumeBaselineKey(s, 10, 5, tag), "average", String(i * 10)] })));
    const reads = await runKeyed(
      cluster,
      symbols.flatMap((s) => [
        { keys: [newsLatestKey(s, tag)], command: ["GET", newsLatestKey(s, tag)] as [string, ...string[]] },
        { keys: [volumeBaselineKey(s, 10, 5, tag)], command: ["HGET", volumeBaselineKey(s, 10, 5, tag), "average"] as [string, ...string[]] },
      ]),
    );
    expect(replies(reads)).toEqual(symbols.flatMap((_, i) => [`[${i}]`, String(i * 10)]));
  });

  it.each(["evalsha", "functions"] as const)("standalone (%s): the first calls after a flush of the scripts heal on the server", async (mode) => {
    const transport = new StandaloneScriptTransport(singleClient, { mode });
    await transport.prepare();
    await singleClient.call(mode === "evalsha" ? "SCRIPT" : "FUNCTION", "FLUSH");
    const calls = symbols.map((s, i) => confidenceCall(s, i + 500));
    expect((await transport.runMany(calls)).filter((o) => !o.ok)).toEqual([]);
    await singleClient.call(mode === "evalsha" ? "SCRIPT" : "FUNCTION", "FLUSH");
    await expect(transport.runOne(calls[0] as ScriptCall)).resolves.toBeDefined();
  });

  it("runs a batch over 3 masters as 3 round trips, each through the call's policy", async () => {
    const transport = onCluster();
    await transport.prepare();
    let roundTrips = 0;
    const counting = <T,>(command: () => Promise<T>) => {
      roundTrips++;
      return command();
    };
    const outcomes = await transport.runMany(symbols.map((s, i) => confidenceCall(s, i + 900)), counting);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(roundTrips).toBe(3);
  });
});
