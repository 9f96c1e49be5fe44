import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth, exitCodeOf } from "../../src/health/healthReport.js";
import { renderHealth } from "../../src/health/renderHealth.js";
import { startCluster, type TestCluster } from "../support/cluster.js";

// Sets maxmemory on the masters of a 3-master cluster of its own.
let harness: TestCluster;
beforeAll(async () => {
  harness = await startCluster({ masters: 3 });
}, 120_000);
afterAll(() => harness?.stop());

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
