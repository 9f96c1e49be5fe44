/**
 * Resharding to a master that joined the cluster holding no slot: it is not in CLUSTER SLOTS, so
 * the client learns of it only from an ASK. The calls on keys already moved must reach it (and
 * load the scripts there) all the same.
 */
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { buildFunctionsLibraries } from "../../src/build/functionsLibrary.js";
import { librariesOnNode } from "../../src/cluster/loader.js";
import { nodeByAddress, slotOf } from "../../src/cluster/topology.js";
import { ClusterScriptTransport, StandaloneScriptTransport, type Outcome } from "../../src/cluster/transport.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";
import { startCluster, type SlotMigration, type TestCluster } from "../support/cluster.js";
import { confidenceCall, symbolsOnEveryMaster } from "./calls.js";

let harness: TestCluster;
let single: LocalRedisServer;
const libraries = buildFunctionsLibraries(SCRIPTS);

beforeAll(async () => {
  [harness, single] = await Promise.all([startCluster({ masters: 2, spareMasters: 1 }), startLocalRedis()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([harness?.stop(), single?.stop()]);
});

const replies = (outcomes: Outcome[]) => outcomes.map((o) => (o.ok ? o.reply : `${o.error.name}: ${o.error.message}`));

describe("resharding to a master the client does not know yet", () => {
  it.each(["evalsha", "functions"] as const)("a batch's calls on keys already moved follow the ASK to it, and load the scripts there (%s)", async (mode) => {
    // a client of its own: one that met the spare before knows it
    const cluster = new Cluster([...harness.startupNodes], { redisOptions: { maxRetriesPerRequest: 1 } });
    cluster.on("error", () => undefined);
    const transport = new ClusterScriptTransport(cluster, { mode });
    await transport.prepare();
    const spare = harness.spares[0]!;
    const spareAddress = `${spare.host}:${spare.port}`;
    expect(nodeByAddress(cluster, spareAddress)).toBeUndefined(); // what this test is about
    const symbols = symbolsOnEveryMaster(2, 4).filter((_, i) => i % 2 === 0); // master 0's four
    const slots = symbols.slice(0, 2).map((s) => slotOf(`{${s}}`));
    const migrations: SlotMigration[] = [];
    try {
      for (const slot of slots) migrations.push(await harness.startMigration(slot, spare.port));
      const calls = symbols.map((symbol, i) => confidenceCall(symbol, i + (mode === "evalsha" ? 300 : 400)));
      const outcomes = await transport.runMany(calls);
      const singleClient = new Redis(single.port, "127.0.0.1", { db: 10 });
      const standalone = new StandaloneScriptTransport(singleClient);
      expect(replies(outcomes)).toEqual(replies(await standalone.runMany(calls)));
      // and a call on its own
      const alone = confidenceCall(symbols[1] as string, mode === "evalsha" ? 350 : 450);
      expect(await transport.runOne(alone)).toEqual(await standalone.runOne(alone));
      singleClient.disconnect();
      // the moved symbols' entries were written on the spare (only ASKING reaches them there)
      for (const call of calls.slice(0, 2)) {
        const asked = await harness.client(spare.port).pipeline().call("ASKING").exists(call.keys[0] as string).exec();
        expect(asked?.[1]).toEqual([null, 1]);
      }
      // loaded there by the heal (Functions: the calls' library, then the others)
      const spareClient = harness.client(spare.port);
      if (mode === "evalsha") expect(await spareClient.script("EXISTS", SCRIPTS.find((s) => s.name === "confidence")!.sha1)).toEqual([1]);
      else await expect.poll(async () => (await librariesOnNode(spareClient, libraries)).state, { timeout: 5000 }).toBe("current");
    } finally {
      for (const migration of migrations) await migration.cancel();
      await harness.client(spare.port).flushall(); // the moved keys, orphaned on the spare now
      await Promise.all([harness.client(spare.port).script("FLUSH"), harness.client(spare.port).call("FUNCTION", "FLUSH")]);
      transport.close();
      cluster.disconnect();
    }
  });
});
