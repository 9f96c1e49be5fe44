import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth, exitCodeOf } from "../../src/health/healthReport.js";
import { renderHealth } from "../../src/health/renderHealth.js";
import { slotOf } from "../../src/cluster/topology.js";
import { documentedAclUsers } from "../support/acl.js";
import { startCluster, type TestCluster } from "../support/cluster.js";
import { waitUntil } from "../support/waitUntil.js";

// Sets maxmemory on the masters of a 3-master cluster of its own.
let harness: TestCluster;
beforeAll(async () => {
  harness = await startCluster({ masters: 3 });
}, 120_000);
afterAll(() => harness?.stop());

describe("mathd health on a cluster: a slot no master serves", () => {
  it("lists the cluster's problems, exit 1, and the key checks the cluster refused as incomplete, not unreachable", async () => {
    const slot = slotOf("ticks:NIFTY");
    const owner = await harness.masterOf(slot);
    const seed = harness.client(owner);
    await seed.xadd("ticks:NIFTY", "*", "price", "100");
    await seed.expire("ticks:NIFTY", 600);
    for (const { port } of harness.nodes) await harness.client(port).call("CLUSTER", "DELSLOTS", String(slot));
    try {
      await waitUntil(async () => ((await seed.call("CLUSTER", "INFO")) as string).includes("cluster_state:fail"), "the cluster is down");
      const report = await collectHealth({ cluster: harness.startupNodes });
      expect(report.status).toBe("violations");
      expect(exitCodeOf(report)).toBe(1);
      expect(report.cluster!.problems).toContain("only 16383 of 16384 slots are served");
      expect(report.incomplete.map((c) => c.check)).toContain("db 0: tick streams"); // TYPE ticks:NIFTY: CLUSTERDOWN
      // its TTL answered CLUSTERDOWN too: not audited, and said so
      expect(report.ttlAudit).toEqual([]);
      expect(report.incomplete).toContainEqual({ check: `127.0.0.1:${owner}: db 0: ttl audit`, error: "1 of 1 sampled keys not audited: CLUSTERDOWN Hash slot not served" });
      expect(renderHealth(report)).toMatch(/^mathd health .* PROBLEMS: \d+/);
    } finally {
      await seed.call("CLUSTER", "ADDSLOTS", String(slot));
      await harness.waitHealthy();
      await seed.del("ticks:NIFTY");
    }
  });
});

describe("mathd health on a cluster under docs/SECURITY.md's mathd-health user", () => {
  it("works under the documented rules; without +cluster|slots the report is denied (exit 3), not a timeout", async () => {
    const rules = documentedAclUsers().get("mathd-health")!;
    const users = { "mathd-health": rules, "health-no-slots": rules.filter((r) => r !== "+cluster|slots") };
    for (const { port } of harness.nodes) {
      await harness.client(port).call("ACL", "LOG", "RESET");
      for (const [name, userRules] of Object.entries(users)) await harness.client(port).call("ACL", "SETUSER", name, ...userRules.map((r) => (r === ">CHANGE-ME" ? ">pw" : r)));
    }
    try {
      const as = (username: string) => collectHealth({ cluster: harness.startupNodes, config: { username, password: "pw" } });
      const report = await as("mathd-health");
      expect({ status: report.status, denied: report.denied, incomplete: report.incomplete, problems: report.cluster?.problems }).toEqual({ status: "healthy", denied: [], incomplete: [], problems: [] });
      const refusals = await Promise.all(harness.nodes.map(async ({ port }) => ((await harness.client(port).call("ACL", "LOG")) as unknown[]).length));
      expect(refusals).toEqual(harness.nodes.map(() => 0));
      const denied = await as("health-no-slots");
      expect(denied.status).toBe("denied");
      expect(exitCodeOf(denied)).toBe(3);
      expect(denied.denied).toEqual([{ check: "cluster slots", error: "NOPERM this user has no permissions to run the 'cluster|slots' command" }]);
    } finally {
      for (const { port } of harness.nodes) await harness.client(port).call("ACL", "DELUSER", ...Object.keys(users));
    }
  });
});

describe("mathd health on a cluster: memory and eviction", () => {
  it("reads each master's memory: a full one under noeviction is a problem naming it, an evicting policy a warning", async () => {
    const [full, evicting] = harness.startupNodes.map((n) => n.port) as [number, number];
    await harness.client(full).config("SET", "maxmemory", "1");
    await harness.client(evicting).config("SET", "maxmemory-policy", "volatile-ttl");
    await harness.client(evicting).config("SET", "maxmemory", String(512 << 20));
    try {
      const report = await collectHealth({ cluster: harness.startupNodes, timeoutMs: 5000 });
      expect(report.problems).toEqual([expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${full}: memory full: used_memory [\\d.]+ MiB >= maxmemory 0\\.0 MiB under noeviction`))]);
      expect(report.warnings).toEqual([expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${evicting}: maxmemory-policy volatile-ttl with maxmemory 512\\.0 MiB: .*volatile-ttl evicts the VWAP states first`))]);
      expect(report.cluster?.problems).toEqual([]);
      expect({ status: report.status, code: exitCodeOf(report), violations: report.violations }).toEqual({ status: "violations", code: 1, violations: 1 });
      expect(renderHealth(report)).toContain("PROBLEMS: 1");
    } finally {
      await harness.client(full).config("SET", "maxmemory", "0");
      await harness.client(evicting).config("SET", "maxmemory", "0");
      await harness.client(evicting).config("SET", "maxmemory-policy", "noeviction");
    }
    expect(exitCodeOf(await collectHealth({ cluster: harness.startupNodes, timeoutMs: 5000 }))).toBe(0);
  });
});
