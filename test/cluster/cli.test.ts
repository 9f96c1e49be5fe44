import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMathd } from "../../src/cli/main.js";
import { slotOf } from "../../src/cluster/topology.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import { startCluster, type TestCluster } from "../support/cluster.js";
import { OLDER_ATR_LIBRARY } from "../support/libraries.js";
import { symbolsOnEveryMaster } from "./calls.js";

// `mathd consume --cluster`, `mathd health --cluster`, and `mathd scripts` and `chart` with `--url` of one node, on a 3-master cluster of their own.
let harness: TestCluster;
beforeAll(async () => {
  harness = await startCluster({ masters: 3 });
}, 120_000);
afterAll(() => harness?.stop());

const TIME = Date.UTC(2026, 10, 25, 4, 5); // 09:35 IST

async function mathd(args: string[], until?: (stdout: string) => boolean) {
  const abort = new AbortController();
  let stdout = "";
  let stderr = "";
  const stop = setTimeout(() => abort.abort(), 30_000); // a bound: the assertions say what went wrong
  const code = await runMathd(args, {
    stdout: (t) => {
      stdout += t;
      if (until?.(stdout)) abort.abort();
    },
    stderr: (t) => void (stderr += t),
    signal: abort.signal,
  });
  clearTimeout(stop);
  return { code, stdout, stderr };
}

describe("mathd on a cluster", () => {
  it("consume --cluster applies every tick of symbols on two masters, each stream read on its own master", async () => {
    const symbols = symbolsOnEveryMaster(3, 1);
    const owners = await Promise.all(symbols.map((s) => harness.masterOf(slotOf(`{${s}}`))));
    const pair = [symbols[0] as string, symbols.find((_, k) => owners[k] !== owners[0]) as string].map((s) => `${s}CLI`);
    const ticks = new Cluster([...harness.startupNodes]);
    ticks.on("error", () => undefined);
    const perSymbol = 120;
    for (const symbol of pair) {
      const pipeline = ticks.pipeline();
      for (let n = 0; n < perSymbol; n++) pipeline.xadd(tickStreamKey(symbol, { hashTag: true }), "*", "price", (100 + (n % 7) * 0.05).toFixed(2), "volume", "3", "ts", String(TIME + n), "seq", String(n));
      await pipeline.exec();
    }
    ticks.disconnect();
    const nodes = harness.startupNodes.map((n) => `${n.host}:${n.port}`).join(",");
    const run = await mathd(["consume", "--cluster", nodes, "--symbols", pair.join(","), "--stats-interval-ms", "200", "--json"], (out) =>
      out.split("\n").some((line) => line.includes('"event":"stats"') && JSON.parse(line).totals?.applied === 2 * perSymbol),
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // every stream is in DB 0 of its master, not the map's DB 4
    expect(JSON.parse(run.stdout.split("\n")[0] as string)).toMatchObject({ event: "start", db: 0 });
    const math = MathDispatcher.connect({ cluster: harness.startupNodes });
    try {
      const snapshots = await math.streaming().snapshots(pair);
      expect(snapshots.map((o) => o.ok && o.value.vwap?.points)).toEqual([perSymbol, perSymbol]);
    } finally {
      await math.close();
    }
  });

  it("health --cluster reads every node; a malformed --cluster is a usage error", async () => {
    const nodes = harness.startupNodes.map((n) => `${n.host}:${n.port}`).join(",");
    const report = await mathd(["health", "--cluster", nodes, "--json"]);
    expect([0, 1]).toContain(report.code); // 1 only for TTL findings of the other test's keys
    expect(JSON.parse(report.stdout).cluster.nodes).toHaveLength(3);
    const bad = await mathd(["health", "--cluster", "not-a-node"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--cluster/);
    // Functions mode: no master holds the libraries here, a problem on each
    const functions = JSON.parse((await mathd(["health", "--cluster", nodes, "--json", "--script-mode", "functions"])).stdout);
    expect(functions.cluster.problems.filter((p: string) => /: Functions libraries absent, missing or of another build: mathd_atr_ro_v/.test(p))).toHaveLength(3);
    expect((await mathd(["health", "--cluster", nodes, "--script-mode", "fcall"])).code).toBe(64);
  });

  it("scripts load, list and prune work with --url of one master, on its DB 0 (a cluster node has no other)", async () => {
    const node = harness.startupNodes[0] as { host: string; port: number };
    const url = `redis://${node.host}:${node.port}`;
    const target = `${node.host}:${node.port}`;
    const scripts = async (...args: string[]) => {
      const run = await mathd(["scripts", ...args, "--url", url, "--json"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout);
    };
    expect((await scripts("load")).scripts.every((s: { loaded: boolean }) => s.loaded)).toBe(true);
    expect((await scripts("load", "--script-mode", "functions")).scripts.every((s: { loaded: boolean }) => s.loaded)).toBe(true);
    await harness.client(node.port).call("FUNCTION", "LOAD", OLDER_ATR_LIBRARY.code);
    expect(await scripts("list", "--script-mode", "functions")).toMatchObject({ target, others: [OLDER_ATR_LIBRARY.name] });
    expect(await scripts("prune")).toEqual({ target, deleted: [OLDER_ATR_LIBRARY.name] });
    // a database the environment moves is refused there, as the SDK's cluster mode refuses it
    process.env.MATHD_DB_PATTERNS = "12";
    try {
      const moved = await mathd(["scripts", "list", "--url", url]);
      expect(moved).toMatchObject({ code: 78, stderr: expect.stringMatching(/^mathd scripts: MATHD_DB_PATTERNS: a Redis Cluster has only DB 0/) });
    } finally {
      delete process.env.MATHD_DB_PATTERNS;
    }
  });

  it("chart --symbol reads the stream on the master of its slot, hash tags implied; another node is a wrong --url naming that master", async () => {
    const symbol = "CHARTCLI";
    const key = tickStreamKey(symbol, { hashTag: true });
    const master = await harness.masterOf(slotOf(key));
    const ticks = harness.client(master);
    for (let n = 0; n < 5; n++) await ticks.xadd(key, "*", "price", (100 + n * 0.05).toFixed(2), "volume", "3", "ts", String(TIME + n * 1000), "seq", String(n));
    const chart = await mathd(["chart", "--symbol", symbol, "--url", `redis://127.0.0.1:${master}`, "--json"]);
    expect(chart.stderr).toBe("");
    expect(chart.code).toBe(0);
    expect(JSON.parse(chart.stdout)).toMatchObject({ symbol, source: `${key} (DB 0, 5 entries)`, points: 5 });
    const other = harness.startupNodes.find((n) => n.port !== master) as { port: number };
    const wrong = await mathd(["chart", "--symbol", symbol, "--url", `redis://127.0.0.1:${other.port}`]);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toContain(`mathd chart: --url: 127.0.0.1:${other.port} does not hold ${key} (slot ${slotOf(key)}, MOVED): give the master that does, 127.0.0.1:${master}\n`);
  });
});
