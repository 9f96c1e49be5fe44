/**
 * `mathd health` on a cluster tells the on-call engineer which node is wrong. It used to read only
 * the slot map, which leaves failed nodes out, so a dead replica (and the master it left without
 * one) showed HEALTHY; and one node that did not answer made the whole report "unreachable",
 * naming a healthy startup node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth, exitCodeOf } from "../../src/health/healthReport.js";
import { startCluster, type TestCluster } from "../support/cluster.js";

let harness: TestCluster;

beforeAll(async () => {
  harness = await startCluster({ masters: 3, replicasPerMaster: 1 });
}, 60_000);

afterAll(() => harness?.stop());

describe("cluster health with a replica down", () => {
  it("names a replica that does not answer (exit 1), then a failed one and the master it left alone", async () => {
    const replica = harness.nodes.find((n) => n.role === "replica")!;
    const address = `127.0.0.1:${replica.port}`;
    expect(exitCodeOf(await collectHealth({ cluster: harness.startupNodes }))).toBe(0);

    process.kill(replica.pid, "SIGSTOP"); // frozen: connected, never answering
    try {
      const frozen = await collectHealth({ cluster: harness.startupNodes, timeoutMs: 500 });
      expect({ code: exitCodeOf(frozen), status: frozen.status }).toEqual({ code: 1, status: "violations" });
      expect(frozen.cluster?.problems.some((p) => p.startsWith(`${address}: replica not answering`))).toBe(true);
    } finally {
      process.kill(replica.pid, "SIGCONT");
    }

    process.kill(replica.pid, "SIGKILL");
    const master = harness.client(replica.masterPort!);
    // the cluster flags it failed after its node timeout (3 s) and the other masters' votes
    await expect.poll(async () => /[ ,]fail /.test((await master.call("CLUSTER", "NODES")) as string), { timeout: 20_000, interval: 200 }).toBe(true);
    const dead = await collectHealth({ cluster: harness.startupNodes, timeoutMs: 500 });
    expect(exitCodeOf(dead)).toBe(1);
    expect(dead.cluster?.problems).toEqual(
      expect.arrayContaining([`${address}: the cluster flags it as failed`, `127.0.0.1:${replica.masterPort}: a master with no replica, where others have one`]),
    );
  }, 60_000);
});
