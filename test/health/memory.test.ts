import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { collectHealth, exitCodeOf, HEALTH_SCHEMA } from "../../src/health/healthReport.js";
import { renderHealth } from "../../src/health/renderHealth.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";
import { buildFunctionsLibraries } from "../../src/build/functionsLibrary.js";
import { loadLibraries } from "../../src/cluster/loader.js";
import { SCRIPTS } from "../../src/generated/scripts.js";

// Sets maxmemory and the eviction policy: a server of its own, never the shared one.
let server: LocalRedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await ownRedis();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});
afterEach(async () => {
  await admin.config("SET", "maxmemory", "0");
  await admin.config("SET", "maxmemory-policy", "noeviction");
  await admin.flushall();
  await admin.config("RESETSTAT");
});

const T0 = Date.UTC(2026, 10, 26, 3, 50); // 09:20 IST
const bars = Array.from({ length: 30 }, (_, i) => ({ high: 102 + i, low: 99 + i, close: 100 + i }));
const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec((await admin.info("memory")) as string)![1]);

const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
function runCli(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", cli, "health", ...args], { encoding: "utf8" });
}

describe("mathd health: memory and eviction", () => {
  it("memory full under noeviction is a problem (exit 1), and the script calls Redis refused with OOM are counted", async () => {
    const math = MathDispatcher.connect(server.url);
    try {
      await math.streaming().update({ symbol: "NIFTY", ts: T0, seq: 1, price: 100, volume: 10 });
      await admin.config("SET", "maxmemory", "1"); // every byte of the server is over it
      // refused with OOM, then answered by its read-only variant: the refusal is counted all the same
      expect((await math.atr({ symbol: "NIFTY", period: 14, bars })).cache).toBe("miss");
      await expect(math.streaming().update({ symbol: "NIFTY", ts: T0 + 1, seq: 2, price: 101, volume: 10 })).rejects.toThrow(/OOM/);
    } finally {
      await math.close();
    }
    const report = await collectHealth({ url: server.url });
    expect(report.redis).toMatchObject({ maxMemoryBytes: 1, maxMemoryPolicy: "noeviction", evictedKeys: 0 });
    expect(report.scriptTime?.rejectedCalls).toBe(2);
    expect(report.problems).toEqual([expect.stringMatching(/^memory full: used_memory [\d.]+ MiB >= maxmemory 0\.0 MiB under noeviction: Redis refuses every call of a script that may write with OOM/)]);
    expect(report.warnings).toEqual([expect.stringMatching(/^2 script calls refused before they ran since the stats reset \(rejected_calls: OOM/)]);
    expect({ status: report.status, code: exitCodeOf(report), violations: report.violations }).toEqual({ status: "violations", code: 1, violations: 1 });
    const text = renderHealth(report);
    expect(text).toContain("PROBLEMS: 1");
    expect(text).not.toContain("POLICY VIOLATIONS"); // no key broke its TTL policy
    expect(text).toMatch(/maxmemory-policy noeviction, 0 keys evicted/);
    expect(text).toMatch(/^problem: memory full: /m);
    expect(text).toMatch(/^warning: 2 script calls refused/m);
    expect(text).toMatch(/2 refused before they ran/);
    const run = runCli(["--url", server.url, "--json"]);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ schema: HEALTH_SCHEMA, status: "violations", problems: [expect.stringContaining("memory full")] });
  });

  it("in Functions mode, libraries missing on a server full under noeviction are a problem: FUNCTION LOAD is refused, not loaded on first use", async () => {
    await admin.call("FUNCTION", "FLUSH");
    const libraries = buildFunctionsLibraries(SCRIPTS);
    await loadLibraries(admin, libraries.slice(1));
    await admin.config("SET", "maxmemory", "1");
    await expect(admin.call("FUNCTION", "LOAD", libraries[0]!.code)).rejects.toThrow(/^OOM/); // what the SDK's first use would meet
    const report = await collectHealth({ url: server.url, scriptMode: "functions" });
    expect(report.libraries!.missing).toEqual([libraries[0]!.name]);
    expect(report.problems).toEqual([
      expect.stringMatching(/^memory full: /),
      expect.stringMatching(/^1 of this build's Functions libraries not loaded at maxmemory under noeviction: Redis refuses FUNCTION LOAD with OOM/),
    ]);
    expect({ status: report.status, code: exitCodeOf(report), violations: report.violations }).toEqual({ status: "violations", code: 1, violations: 2 });
    expect(renderHealth(report)).toContain(`(not loaded: ${libraries[0]!.name}; a problem: memory is full)`);
    await admin.config("SET", "maxmemory", "0");
    expect((await collectHealth({ url: server.url, scriptMode: "functions" })).problems).toEqual([]); // with room, loaded on first use
    await admin.call("FUNCTION", "FLUSH");
  });

  it("used memory at 90 % of maxmemory is a warning, exit 0", async () => {
    // 8 MB of cache-sized entries: the few KB a connection and INFO add stay far inside the 7 % left
    const db10 = new Redis(server.url, { db: 10 });
    const fill = db10.pipeline();
    for (let k = 0; k < 1000; k++) fill.set(`pattern_cache:vwap:v3.0.5:FILL:${k}`, "x".repeat(8192), "EX", 57_600);
    await fill.exec();
    db10.disconnect();
    await admin.config("SET", "maxmemory", String(Math.ceil((await usedMemory()) / 0.93)));
    const report = await collectHealth({ url: server.url });
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([expect.stringMatching(/^used_memory [\d.]+ MiB is 9\d % of maxmemory [\d.]+ MiB: at the limit Redis refuses every call of a script that may write with OOM/)]);
    expect(exitCodeOf(report)).toBe(0);
    expect(renderHealth(report)).toMatch(/HEALTHY, 1 warning\n/);
  });

  it("warns of every policy that may evict the streaming state and the tick streams, naming volatile-ttl's VWAP states", async () => {
    for (const policy of ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]) {
      await admin.config("SET", "maxmemory-policy", policy);
      await admin.config("SET", "maxmemory", "0"); // no limit: nothing is ever evicted
      expect((await collectHealth({ url: server.url })).warnings).toEqual([]);
      await admin.config("SET", "maxmemory", String(512 << 20));
      const report = await collectHealth({ url: server.url });
      expect(report.redis?.maxMemoryPolicy).toBe(policy);
      expect(report.warnings).toEqual([expect.stringContaining(`maxmemory-policy ${policy} with maxmemory 512.0 MiB: Redis may evict streaming state (indicator:*) and tick streams (ticks:*) mid-session`)]);
      expect(report.warnings[0]!.includes("volatile-ttl evicts the VWAP states first")).toBe(policy === "volatile-ttl");
      expect(exitCodeOf(report)).toBe(0);
    }
  });

  it("warns of keys evicted: streaming state evicted under allkeys-lru", async () => {
    const math = MathDispatcher.connect(server.url);
    const db10 = new Redis(server.url, { db: 10 });
    let stateLeft: number;
    try {
      await math.streaming().update({ symbol: "ILLIQ", ts: T0, seq: 1, price: 100, volume: 10 });
      await admin.config("SET", "maxmemory-policy", "allkeys-lru");
      await admin.config("SET", "maxmemory", String((await usedMemory()) + (1 << 20)));
      // cache-sized entries with a TTL, as a day of misses writes, until Redis evicts
      for (let i = 0; i < 100 && (await db10.exists("indicator:vwap:ILLIQ")) === 1; i++) {
        const fill = db10.pipeline();
        for (let k = 0; k < 20; k++) fill.set(`pattern_cache:vwap:v3.0.5:FILL:${i}-${k}`, "x".repeat(8192), "EX", 57_600);
        await fill.exec();
      }
      stateLeft = await db10.exists("indicator:vwap:ILLIQ");
    } finally {
      db10.disconnect();
      await math.close();
    }
    expect(stateLeft).toBe(0); // the session's VWAP is gone: its next tick starts it afresh
    const report = await collectHealth({ url: server.url });
    expect(report.redis!.evictedKeys).toBeGreaterThan(0);
    expect(report.warnings).toContainEqual(`${report.redis!.evictedKeys} keys evicted since the stats reset (evicted_keys, maxmemory-policy allkeys-lru): streaming state and tick streams may be among them`);
    expect(renderHealth(report)).toContain(`maxmemory-policy allkeys-lru, ${report.redis!.evictedKeys} keys evicted`);
  });
});
