import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/core/errors.js";
import { clusterNodesFromEnv, refuseDatabaseSettings } from "../../src/cluster/config.js";
import { KEY_FAMILIES } from "../../src/keys/grammar.js";

describe("cluster configuration", () => {
  it("reads MATHD_CLUSTER_NODES as ioredis startup nodes; unset means standalone", () => {
    expect(clusterNodesFromEnv({ MATHD_CLUSTER_NODES: "10.0.0.5:7000, redis-b.local:7001,[::1]:7002" })).toEqual([
      { host: "10.0.0.5", port: 7000 },
      { host: "redis-b.local", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(clusterNodesFromEnv({})).toBeUndefined();
    expect(clusterNodesFromEnv({ MATHD_CLUSTER_NODES: " " })).toBeUndefined();
  });

  it.each(["10.0.0.5", "10.0.0.5:0", "10.0.0.5:70000", "a:1,,b:2", "redis://a:1"])("refuses %j naming the variable", (value) => {
    const attempt = () => clusterNodesFromEnv({ MATHD_CLUSTER_NODES: value });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/^MATHD_CLUSTER_NODES: /);
  });

  it("refuses MATHD_DB_* and a non-zero db on a cluster, with the reason", () => {
    expect(() => refuseDatabaseSettings({ MATHD_DB_PATTERNS: "10", MATHD_DB_NEWS: "11" })).toThrow(
      /^MATHD_DB_NEWS: a Redis Cluster has only DB 0.*unset MATHD_DB_NEWS, MATHD_DB_PATTERNS$/,
    );
    expect(() => refuseDatabaseSettings({}, 10)).toThrow(/^db: a Redis Cluster has only DB 0 \(got 10\)/);
    expect(() => refuseDatabaseSettings({ MATHD_COMMAND_TIMEOUT_MS: "50", MATHD_DB_PATTERNS: "" }, 0)).not.toThrow();
  });

  it("in DB 0 the key families stay apart: a family's first word names exactly one database", () => {
    const databaseOfWord = new Map<string, Set<string>>();
    for (const family of KEY_FAMILIES) {
      const first = family.segments[0];
      expect(typeof first).toBe("string"); // every family starts with a literal word, never a field
      const databases = databaseOfWord.get(first as string) ?? new Set();
      databases.add(family.database);
      databaseOfWord.set(first as string, databases);
    }
    for (const [word, databases] of databaseOfWord) expect([word, [...databases]]).toEqual([word, [[...databases][0]]]);
    expect(databaseOfWord.size).toBeGreaterThanOrEqual(8);
  });
});
