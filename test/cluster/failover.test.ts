/**
 * CLUSTER FAILOVER with the transports: the Functions library survives it on the promoted
 * replica, the script cache does not (and the EVALSHA transport heals that), and a bounded load
 * running across a failover gets every answer right.
 */
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { buildFunctionsLibraries, functionName } from "../../src/build/functionsLibrary.js";
import { librariesOnNode } from "../../src/cluster/loader.js";
import { slotOf } from "../../src/cluster/topology.js";
import { ClusterScriptTransport, StandaloneScriptTransport, type Outcome, type ScriptCall } from "../../src/cluster/transport.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";
import { startCluster, type TestCluster } from "../support/cluster.js";
import { confidenceCall, symbolsOnEveryMaster, withoutCacheStatus } from "./calls.js";
import { commandCalls } from "../support/redis.js";

let harness: TestCluster;
let cluster: Cluster;
let single: LocalRedisServer;
let reference: StandaloneScriptTransport;
let singleClient: Redis;
const symbols = symbolsOnEveryMaster(3, 4); // interleaved: symbols[3k + m] is on master m

beforeAll(async () => {
  [harness, single] = await Promise.all([startCluster({ masters: 3, replicasPerMaster: 1 }), startLocalRedis()]);
  cluster = new Cluster([...harness.startupNodes], { redisOptions: { maxRetriesPerRequest: 1 } });
  cluster.on("error", () => undefined);
  singleClient = new Redis(single.port, "127.0.0.1", { db: 10 });
  reference = new StandaloneScriptTransport(singleClient);
  await cluster.ping();
}, 60_000);

afterAll(async () => {
  cluster?.disconnect();
  singleClient?.disconnect();
  await Promise.all([harness?.stop(), single?.stop()]);
});

/** The master serving `symbols[m]` now (failovers move it) and its replica. */
async function pairOf(m: number): Promise<{ master: number; replica: number }> {
  const master = await harness.masterOf(slotOf(`{${symbols[m] as string}}`));
  const roles = await harness.roles();
  const replica = [...roles].find(([, r]) => r.role === "replica" && r.masterPort === master)?.[0];
  if (replica === undefined) throw new Error(`no replica of ${master}`);
  return { master, replica };
}

async function failover(replica: number): Promise<void> {
  await harness.client(replica).call("CLUSTER", "FAILOVER");
  await expect.poll(async () => (await harness.roles()).get(replica)?.role, { timeout: 15_000, interval: 100 }).toBe("master");
  await harness.waitHealthy();
}

describe("failover", () => {
  it("the promoted replica answers FCALL with no load; EVALSHA there answers NOSCRIPT until the transport heals it", async () => {
    const functions = new ClusterScriptTransport(cluster, { mode: "functions" });
    const evalsha = new ClusterScriptTransport(cluster);
    await Promise.all([functions.prepare(), evalsha.prepare()]);
    const { replica } = await pairOf(0);
    // the replica counts the FUNCTION LOADs it replays from its master: read its count only once
    // those replays have arrived (it lists every library), or one lands after and looks like a load
    const libraries = buildFunctionsLibraries(SCRIPTS);
    const listed = async () => (await librariesOnNode(harness.client(replica), libraries)).state;
    await expect.poll(listed, { timeout: 10_000, interval: 50 }).toBe("current");
    const loadsBefore = await commandCalls(harness.client(replica), "function\\|load");
    await failover(replica);

    const call = confidenceCall(symbols[0] as string, 1);
    const promoted = harness.client(replica);
    const confidence = SCRIPTS.find((s) => s.name === "confidence")!;
    const fcall = await promoted.fcall(functionName(confidence.name, confidence.version), 1, ...call.keys, ...call.args);
    const [expected] = await reference.runMany([call]);
    expect(withoutCacheStatus(fcall)).toEqual(withoutCacheStatus((expected as { reply: unknown }).reply));
    expect(await commandCalls(promoted, "function\\|load")).toBe(loadsBefore);

    await expect(promoted.evalsha(confidence.sha1, 1, ...call.keys, ...call.args)).rejects.toThrow(/^NOSCRIPT/);
    const outcomes = await evalsha.runMany(symbols.map((s, i) => confidenceCall(s, i)));
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(await promoted.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))).toEqual(SCRIPTS.map(() => 1));
    expect((await functions.runMany(symbols.map((s, i) => confidenceCall(s, i + 100)))).filter((o) => !o.ok)).toEqual([]);
    functions.close();
    evalsha.close();
  });

  it("a topology change loads the scripts on the promoted master before any call reaches it", async () => {
    const evalsha = new ClusterScriptTransport(cluster);
    await evalsha.prepare();
    const { replica } = await pairOf(2);
    await failover(replica);
    const shas = SCRIPTS.map((s) => s.sha1);
    expect(await harness.client(replica).script("EXISTS", ...shas)).toEqual(shas.map(() => 0));
    cluster.refreshSlotsCache(); // what ioredis does itself on the first MOVED or its refresh timer
    await expect.poll(() => harness.client(replica).script("EXISTS", ...shas), { timeout: 5000 }).toEqual(shas.map(() => 1));
    evalsha.close();
  });

  it.each(["evalsha", "functions"] as const)(
    "a bounded load across a CLUSTER FAILOVER: 0 wrong, 0 failed (%s)",
    async (mode) => {
      const transport = new ClusterScriptTransport(cluster, { mode });
      await transport.prepare();
      const { replica } = await pairOf(mode === "evalsha" ? 1 : 2);
      const batch = (round: number): ScriptCall[] => symbols.map((s, k) => confidenceCall(s, round * symbols.length + k));
      let wrong = 0;
      let failed = 0;
      let rounds = 0;
      let roundsAfter = 0;
      let switched: Promise<void> | undefined;
      let done = false;
      // the failover starts at round 20 and 20 rounds follow its end; bounded by 5000 rounds of
      // 12 calls and 60 s (a failover takes about a second here, longer on a loaded machine)
      const deadline = Date.now() + 60_000;
      for (; rounds < 5000 && Date.now() < deadline && (!done || roundsAfter < 20); rounds++) {
        if (rounds === 20) switched = failover(replica).then(() => void (done = true));
        if (done) roundsAfter++;
        const calls = batch(rounds);
        const [got, want] = await Promise.all([transport.runMany(calls), reference.runMany(calls)]);
        got.forEach((o: Outcome, k) => {
          if (!o.ok) failed++;
          else if (JSON.stringify(withoutCacheStatus(o.reply)) !== JSON.stringify(withoutCacheStatus((want[k] as { reply: unknown }).reply))) wrong++;
        });
      }
      await switched;
      expect({ wrong, failed, failedOver: done, roundsAfter }).toEqual({ wrong: 0, failed: 0, failedOver: true, roundsAfter: 20 });
      transport.close();
    },
    90_000,
  );
});
