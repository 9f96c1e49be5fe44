/**
 * The examples run as CI runs them, each against a Redis of its own: the detector and the risk
 * manager keep to the key standards (health finds no violation), and the Python client and the
 * redis-cli session get from the same scripts exactly what the TypeScript SDK gets.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runMathd } from "../../src/cli/main.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { collectHealth, exitCodeOf } from "../../src/health/healthReport.js";
import { renderHealth } from "../../src/health/renderHealth.js";
import { parseKey } from "../../src/keys/grammar.js";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";
import { runDetector } from "../../examples/pattern-detector.js";
import { ACCOUNT, runRiskManager } from "../../examples/risk-manager.js";
import { sampleSession } from "../../examples/shared.js";

const root = join(import.meta.dirname, "../..");
let server: LocalRedisServer;
beforeEach(async () => {
  server = await ownRedis();
});
afterEach(() => server.stop());

describe("pattern detector and risk manager", () => {
  it("patterns go to patterns:{pattern}:{SYMBOL}, alerts to alerts:pending:validation and alerts:meta:{id}, all within the key standards", async () => {
    const client = new ResilientRedis({ config: { url: server.url } });
    const { symbol, updates } = sampleSession();
    try {
      const patterns = await runDetector(client, symbol, updates);
      expect(patterns.length).toBeGreaterThan(0);
      const db10 = new Redis(server.url, { db: 10 });
      const db6 = new Redis(server.url, { db: 6 });
      const patternKeys = await db10.keys("patterns:*");
      expect(patternKeys.map((k) => parseKey(k))).toEqual([{ family: "patterns", fields: { pattern: "sigma_stretch", symbol }, hashTag: false }]);
      expect(await db10.zcard(patternKeys[0]!)).toBe(patterns.length);

      const alerts = await runRiskManager(client, ["sigma_stretch"], [symbol], () => undefined);
      expect(alerts.map((a) => a.id)).toEqual(patterns.map((p) => p.id));
      // each alert is the decision dispatch gives for the pattern's signal
      const math = MathDispatcher.connect(server.url);
      for (const [i, p] of patterns.entries()) {
        const d = await math.dispatch({ symbol, side: p.side, entry: p.entry, time: p.time, baseConfidence: p.baseConfidence, atr: p.atr, stop: { tick: 0.05, rewardRatio: 2 }, account: ACCOUNT });
        expect(alerts[i]).toMatchObject({ stop: d.stop.stop, target: d.stop.target, lots: d.size.lots, quantity: d.size.quantity, confidence: d.confidence.confidence });
      }
      await math.close();
      const queue = await db6.xrange("alerts:pending:validation", "-", "+");
      expect(queue.map(([, fields]) => fields[fields.indexOf("id") + 1])).toEqual(alerts.map((a) => a.id));
      for (const a of alerts) {
        const meta = await db6.hgetall(`alerts:meta:${a.id}`);
        expect(meta).toMatchObject({ symbol, side: a.side, stop: String(a.stop), lots: String(a.lots), script_version: expect.any(String) });
        expect(parseKey(`alerts:meta:${a.id}`).family).toBe("alert_metadata");
      }
      expect(await db10.exists(patternKeys[0]!)).toBe(0); // taken
      expect(await runRiskManager(client, ["sigma_stretch"], [symbol])).toEqual([]); // nothing twice
      // the detector run again over the session finds nothing: each bar was judged when it was
      // applied, never against a later bar's state (it found 09:15 patterns with the day's VWAP)
      expect(await runDetector(client, symbol, updates)).toEqual([]);
      const health = await collectHealth({ url: server.url });
      expect(exitCodeOf(health), renderHealth(health)).toBe(0); // every key has its TTL
      db10.disconnect();
      db6.disconnect();
    } finally {
      await client.close();
    }
  });

  it("runs as a script and exits by itself", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", join(root, "examples/risk-manager.ts")], {
      encoding: "utf8",
      env: { ...process.env, REDIS_URL: server.url },
      timeout: 60_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/the detector left (\d+) patterns[\s\S]*alerts:pending:validation holds \1 entries/);
  });
});

/** Debian's python3 with python3-redis (.ci/run installs it); CI must have it, a laptop may not. */
const python = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", "import redis"]).status === 0);
const hasRedisCli = spawnSync("sh", ["-c", "command -v redis-cli && command -v jq"]).status === 0;
if (process.env.CI && (!python || !hasRedisCli)) throw new Error("CI needs python3-redis, redis-cli and jq for the cross-language examples");

describe("the same scripts from Python and redis-cli", () => {
  async function manifest(): Promise<string> {
    const file = join(await mkdtemp(join(tmpdir(), "mathd-manifest-")), "manifest.json");
    expect((await runMathd(["scripts", "manifest", "--out", file], { stdout: () => undefined, stderr: () => undefined }))).toBe(0);
    return file;
  }
  const { symbol, updates } = sampleSession();
  const last = updates.at(-1)!;

  it.skipIf(!python)("Python (redis-py) computes what the SDK then finds in the cache under the same key", async () => {
    const run = spawnSync(python!, [join(root, "examples/python/mathd_client.py"), "--url", server.url, "--manifest", await manifest(), "--session", join(root, "examples/data/banknifty-5m.json")], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    const py = JSON.parse(run.stdout);
    expect(py.atr.cache).toBe("miss");
    const math = MathDispatcher.connect(server.url);
    const atr = await math.atr({ symbol, period: 14, bars: updates });
    const stop = await math.stopLoss({ symbol, side: "long", entry: last.close, atr: atr.atr, tick: 0.05, rewardRatio: 2 });
    await math.close();
    // a hit: the SDK built the same ARGV bytes and key; and the very same doubles
    expect(atr).toMatchObject({ cache: "hit", atr: py.atr.atr, natr: py.atr.natr, bars: py.atr.bars, scriptVersion: py.atr.scriptVersion });
    expect(stop).toMatchObject({ cache: "hit", stop: py.stop_loss.stop, target: py.stop_loss.target, distance: py.stop_loss.distance, distanceTicks: py.stop_loss.distance_ticks, clamped: py.stop_loss.clamped });
  });

  it.skipIf(!hasRedisCli)("a redis-cli session computes what the SDK computes", async () => {
    const math = MathDispatcher.connect(server.url);
    const atr = await math.atr({ symbol, period: 14, bars: updates });
    const input = { symbol, side: "long" as const, entry: last.close, atr: atr.atr, tick: 0.05, rewardRatio: 2 };
    const sdk = await math.stopLoss(input);
    await math.close();
    const admin = new Redis(server.url);
    await admin.flushall(); // the script computes afresh, no cache entry to find
    admin.disconnect();
    const args = ["long", String(last.close), String(atr.atr), "1.5", "0.05", "", "", "2"];
    const run = spawnSync(join(root, "examples/redis-cli/call-script.sh"), [await manifest(), "stop_loss", symbol, ...args], {
      encoding: "utf8",
      env: { ...process.env, REDIS_URL: server.url },
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split("\n");
    const reply = Object.fromEntries(lines.flatMap((line, i) => (i % 2 === 0 ? [[line, lines[i + 1]]] : [])));
    expect(reply).toEqual({
      cache: "miss",
      stop: String(sdk.stop),
      target: String(sdk.target),
      distance: String(sdk.distance),
      distance_ticks: String(sdk.distanceTicks),
      clamped: sdk.clamped,
    });
  });
});
