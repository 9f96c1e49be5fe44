import { spawn, spawnSync } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth, exitCodeOf, HEALTH_SCHEMA } from "../../src/health/healthReport.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { renderHealth } from "../../src/health/renderHealth.js";
import { type LocalRedisServer, startLocalRedis } from "../../src/redis/localServer.js";
import { commandCalls, ownRedis } from "../support/redis.js";
import { buildFunctionsLibraries, type FunctionsLibrary } from "../../src/build/functionsLibrary.js";
import { loadLibraries } from "../../src/cluster/loader.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { OLDER_ATR_LIBRARY } from "../support/libraries.js";

// Seeds keys of its own and stops the server: a server of its own.
let server: LocalRedisServer;
const db = (n: number) => new Redis(server.url, { db: n });
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(() => server.stop());

async function seedHealthy() {
  const patterns = db(10);
  await patterns.set(`pattern_cache:atr:v1.0.0:NIFTY:${"a".repeat(40)}`, "[]", "EX", 57_600);
  await patterns.set("indicator:atr14:NIFTY", "x".repeat(56)); // a string of packed doubles (stream_update 1.2.0)
  await patterns.expire("indicator:atr14:NIFTY", 1000);
  const ticks = db(4);
  await ticks.xadd("ticks:NIFTY", "*", "price", "100", "volume", "1", "ts", "1");
  await ticks.xadd("ticks:NIFTY", "*", "price", "101", "volume", "1", "ts", "2");
  await ticks.expire("ticks:NIFTY", 57_600);
  await ticks.xgroup("CREATE", "ticks:NIFTY", "mathd", "0");
  await ticks.xreadgroup("GROUP", "mathd", "c1", "COUNT", 1, "STREAMS", "ticks:NIFTY", ">"); // one pending, one lagging
  const alerts = db(6);
  await alerts.xadd("alerts:pending:validation", "*", "alert", "x");
  await alerts.expire("alerts:pending:validation", 57_600);
  await alerts.xgroup("CREATE", "alerts:pending:validation", "validator", "0");
  for (const c of [patterns, ticks, alerts]) c.disconnect();
}

const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ["--import", "tsx", cli, "health", ...args], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("mathd health", () => {
  it("reports a healthy server: exit 0, versions, key counts, streams and groups", async () => {
    await seedHealthy();
    const report = await collectHealth({ url: server.url });
    expect(report.schema).toBe(HEALTH_SCHEMA);
    expect(exitCodeOf(report)).toBe(0);
    expect(report.redis!.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(report.databases.find((d) => d.db === 10)!.keys).toBe(2);
    expect(report.ttlAudit.filter((r) => r.db === 10).map((r) => [r.family, r.sampled])).toEqual([["indicator", 1], ["pattern_cache", 1]]);
    expect(report.tickStreams).toEqual([
      { key: "ticks:NIFTY", db: 4, type: "stream", length: 2, groups: [{ name: "mathd", consumers: 1, pending: 1, lag: 1 }] },
    ]);
    expect(report.alertsQueue).toMatchObject({ length: 1, groups: [{ name: "validator", pending: 0, lag: 1 }] });
    expect(report.scripts.every((s) => !s.loaded)).toBe(true);
    expect(renderHealth(report)).toMatch(/HEALTHY[\s\S]*ticks:NIFTY\s+2\s+mathd\s+1\s+1/);
  });

  it("reports what scripts cost the server since the stats reset: calls, time a call, share, errors", async () => {
    const admin = new Redis(server.url);
    const math = MathDispatcher.connect(server.url);
    try {
      await admin.config("RESETSTAT");
      const bars = Array.from({ length: 15 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 }));
      for (let i = 0; i < 5; i++) await math.atr({ symbol: `TIME${i}`, period: 14, bars });
      const atr = SCRIPTS.find((s) => s.name === "atr")!;
      await expect(admin.evalsha(atr.sha1, 1, "pattern_cache:atr:x", "14", "0", "", "")).rejects.toThrow(/MATHD_INVALID/);
    } finally {
      admin.disconnect();
      await math.close();
    }
    const report = await collectHealth({ url: server.url });
    expect(report.scriptTime).toMatchObject({ calls: 6, failedCalls: 1 });
    expect(report.scriptTime!.usecPerCall).toBeGreaterThan(0);
    expect(report.scriptTime!.shareOfCommandTime).toBeGreaterThan(0);
    expect(report.scriptTime!.shareOfCommandTime).toBeLessThan(1); // SCRIPT LOAD, PING and INFO took time too
    expect(renderHealth(report)).toMatch(/script time: 6 calls since the stats reset \(every client's\), [\d.]+ us a call, [\d.]+ % of the server's command time \(at least\), 1 answered an error/);
  });

  it("in Functions mode, reports this build's libraries the server lacks and those of versions it does not use", async () => {
    const admin = new Redis(server.url);
    await admin.call("FUNCTION", "FLUSH");
    const libraries = buildFunctionsLibraries(SCRIPTS);
    expect((await collectHealth({ url: server.url })).libraries).toBeUndefined(); // EVALSHA mode reads none
    expect((await collectHealth({ url: server.url, scriptMode: "functions" })).libraries).toEqual({ total: libraries.length, missing: libraries.map((l) => l.name), otherBuild: [], others: [] });
    await loadLibraries(admin, libraries.slice(1));
    await admin.call("FUNCTION", "LOAD", OLDER_ATR_LIBRARY.code);
    const report = await collectHealth({ url: server.url, scriptMode: "functions" });
    expect(report.libraries).toEqual({ total: libraries.length, missing: [libraries[0]!.name], otherBuild: [], others: [OLDER_ATR_LIBRARY.name] });
    expect(exitCodeOf(report)).toBe(exitCodeOf(await collectHealth({ url: server.url }))); // loaded on first use: no violation
    expect(renderHealth(report)).toContain(
      `Functions libraries: ${libraries.length - 1}/${libraries.length} of this build loaded (not loaded: ${libraries[0]!.name}; the SDK loads them on first use); not used by this build: ${OLDER_ATR_LIBRARY.name} (mathd scripts prune)`,
    );
    await admin.call("FUNCTION", "FLUSH");
    admin.disconnect();
  });

  it("in Functions mode, another build's code under this build's library name is a problem, apart from absent libraries", async () => {
    const admin = new Redis(server.url);
    try {
      await admin.call("FUNCTION", "FLUSH");
      const libraries = buildFunctionsLibraries(SCRIPTS);
      await loadLibraries(admin, libraries.slice(1));
      const [, replaced] = libraries as [FunctionsLibrary, FunctionsLibrary];
      // someone else's FUNCTION LOAD REPLACE, after the SDK loaded: same name, same function, other code
      const foreign = `#!lua name=${replaced.name}\nredis.register_function{function_name='${replaced.fn.functionName}', description='someone else', callback=function() return 0 end}\n`;
      await admin.call("FUNCTION", "LOAD", "REPLACE", foreign);
      const report = await collectHealth({ url: server.url, scriptMode: "functions" });
      expect(report.libraries).toMatchObject({ missing: [libraries[0]!.name, replaced.name].sort(), otherBuild: [replaced.name] });
      expect(report.problems).toEqual([
        `another build's code under this build's Functions library names: ${replaced.name}: the SDK's calls of their scripts get that code's replies, and it stays until mathd scripts load --script-mode functions replaces it`,
      ]);
      expect(exitCodeOf(report)).toBe(1);
      expect(renderHealth(report)).toContain(`(not loaded: ${libraries[0]!.name}; the SDK loads them on first use); another build's code under: ${replaced.name} (a problem)`);
    } finally {
      await admin.call("FUNCTION", "FLUSH");
      admin.disconnect();
    }
  });

  it("finds keys without a TTL or above the policy: exit 1, with examples", async () => {
    const patterns = db(10);
    await patterns.set("indicator:vwap:BANKNIFTY", "x"); // no TTL
    await patterns.set(`pattern_cache:vwap:v1.0.0:NIFTY:${"b".repeat(40)}`, "[]", "EX", 999_999); // above 57,600
    const prices = db(2);
    await prices.set("some:legacy:key", "1"); // outside the grammar, still audited against the DB policy
    patterns.disconnect();
    prices.disconnect();
    const report = await collectHealth({ url: server.url });
    expect(report.status).toBe("violations");
    expect(report.violations).toBe(3);
    expect(report.ttlAudit).toContainEqual(expect.objectContaining({ db: 10, family: "indicator", withoutTtl: 1, examples: ["indicator:vwap:BANKNIFTY"] }));
    expect(report.ttlAudit).toContainEqual(expect.objectContaining({ db: 10, family: "pattern_cache", aboveTtlPolicy: 1 }));
    expect(report.ttlAudit).toContainEqual(expect.objectContaining({ db: 2, family: "unknown", withoutTtl: 1 }));
    const run = runCli(["--url", server.url, "--json"]);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ schema: HEALTH_SCHEMA, status: "violations", violations: 3 });
    const human = runCli(["--url", server.url]);
    expect(human.stdout).toContain("POLICY VIOLATIONS: 3 keys");
  });

  it("a TTL audit whose TTLs answered an error (TTL renamed away) is incomplete, exit 3, not healthy with nothing audited", async () => {
    const hardened = await startLocalRedis(undefined, ["--rename-command", "TTL", ""]);
    try {
      const patterns = new Redis(hardened.url, { db: 10 });
      await patterns.set("indicator:vwap:NOTTL", "x"); // no TTL, which the audit cannot see
      patterns.disconnect();
      const report = await collectHealth({ url: hardened.url });
      expect(report.status).toBe("incomplete");
      expect(exitCodeOf(report)).toBe(3);
      expect(report.ttlAudit).toEqual([]);
      expect(report.incomplete).toContainEqual({ check: "db 10: ttl audit", error: expect.stringMatching(/^1 of 1 sampled keys not audited: ERR unknown command 'ttl'/) });
    } finally {
      await hardened.stop();
    }
  });

  it("honours MATHD_DB_*: audits and reports the databases the map is moved to", async () => {
    const moved = db(14);
    await moved.set("indicator:vwap:MOVED", "x"); // no TTL, in the moved patterns database
    moved.disconnect();
    const report = await collectHealth({ config: { url: server.url, databases: { patterns: 14 } } });
    expect(report.databases.find((d) => d.name === "patterns")).toMatchObject({ db: 14, keys: 1 });
    expect(report.ttlAudit).toContainEqual(expect.objectContaining({ db: 14, family: "indicator", withoutTtl: 1 }));
    const run = runCli(["--url", server.url, "--json"], { MATHD_DB_PATTERNS: "14" });
    expect(JSON.parse(run.stdout).databases).toContainEqual({ db: 14, name: "patterns", keys: 1 });
  });

  it("exits 2 when Redis cannot be reached", async () => {
    await server.stop();
    const run = runCli(["--url", server.url, "--json"]);
    expect(run.status).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "unreachable", failure: "refused", error: expect.stringContaining("ECONNREFUSED") });
    await server.start();
  });

  it("bounds the tick streams' SCAN on a database of many keys: a warning, exit 0, not a timeout", async () => {
    const ticks = db(4);
    const admin = new Redis(server.url);
    try {
      // 40,000 keys, 200 SCAN pages: the walk the tick streams' SCAN took before it was bounded
      await ticks.eval("for i = 1, 40000 do redis.call('SET', 'other:' .. i, '1', 'EX', 600) end", 0);
      await admin.config("RESETSTAT");
      const report = await collectHealth({ url: server.url });
      expect(report.status).toBe("healthy");
      expect(report.databases.find((d) => d.db === 4)!.keys).toBeGreaterThanOrEqual(40_000);
      expect(report.warnings).toEqual([expect.stringContaining("db 4: tick streams: SCAN stopped after looking at about 20000 keys")]);
      expect(await commandCalls(admin, "scan")).toBeLessThan(40_000 / 200);
    } finally {
      await ticks.flushdb();
      ticks.disconnect();
      admin.disconnect();
    }
  });

  it("in a process busy in its own code past its timeout (a service's health endpoint), a server that answered is not unreachable", async () => {
    const statuses: string[] = [];
    for (let round = 0; round < 3; round++) {
      const report = collectHealth({ url: server.url, timeoutMs: 300 });
      await new Promise((resolve) => setImmediate(resolve)); // the connect and the first PING on their way
      const until = Date.now() + 500; // past timeoutMs, within the twice timeoutMs the first answer's wait may last
      while (Date.now() < until);
      statuses.push((await report).status);
    }
    expect(statuses.filter((s) => s === "unreachable")).toEqual([]);
  });

  it("in a process whose event loop lags all along, a server that never answers is unreachable within twice timeoutMs, the time the lag took given back", async () => {
    const silent = createServer(() => undefined); // accepts, never writes
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    // 30 ms of the process's own work on every turn: each timer fires about that late
    const lag = setInterval(() => {
      const until = Date.now() + 30;
      while (Date.now() < until);
    }, 0);
    try {
      const started = Date.now();
      const report = await collectHealth({ url: `redis://127.0.0.1:${(silent.address() as { port: number }).port}`, timeoutMs: 1_000 });
      expect(report.status).toBe("unreachable");
      // 2 s at most, the lag's time given back included (without the bound, every late turn gave more: 5 s)
      expect(Date.now() - started).toBeLessThan(3_500);
    } finally {
      clearInterval(lag);
      silent.close();
    }
  });

  it("answers within 2 s against a server that answers every command slowly: the checks done, the others incomplete, exit 3", async () => {
    // a proxy that holds every chunk 150 ms each way: each round trip 300 ms, the report dozens of them
    const target = new URL(server.url);
    const slow = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      const relay = (from: Socket, to: Socket) => from.on("data", (chunk) => void setTimeout(() => to.writable && to.write(chunk), 150));
      relay(client, upstream);
      relay(upstream, client);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        a.on("error", () => b.destroy());
        a.on("close", () => b.destroy());
      }
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    try {
      const started = Date.now();
      const report = await collectHealth({ url: `redis://127.0.0.1:${(slow.address() as { port: number }).port}` });
      const took = Date.now() - started;
      // it answered: slow is no outage, and what was read stands
      expect(report.status).toBe("incomplete");
      expect(exitCodeOf(report)).toBe(3);
      expect(report.incomplete).toContainEqual({ check: "db 4: select", error: "the report's 2000 ms ran out first" });
      expect(renderHealth(report)).toContain("INCOMPLETE: ");
      expect(took).toBeLessThan(3000); // the promise is 2 s; a generous bound on a shared machine
    } finally {
      slow.close();
    }
  });

  it("answers within 2 s against a server that accepts the connection and never answers: exit 2, timeout", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)); // accepts, reads, never writes
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const report = await collectHealth({ url: `redis://127.0.0.1:${port}` });
      const inProcess = Date.now() - started;
      expect(report).toMatchObject({ status: "unreachable", failure: "timeout" });
      expect(report.error).toContain(`127.0.0.1:${port}`);
      // the CLI, as an operator runs it; node's start-up and the tsx loader, which a busy machine
      // slows by seconds, are measured apart (`--version`) and left out of the health's time
      const runCli = async (...args: string[]) => {
        const started = Date.now();
        const child = spawn(process.execPath, ["--import", "tsx", cli, ...args]);
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        const code = await new Promise((r) => child.once("exit", r));
        return { code, stdout, ms: Date.now() - started };
      };
      const startUp = (await runCli("--version")).ms;
      const { code, stdout, ms } = await runCli("health", "--url", `redis://127.0.0.1:${port}`, "--json");
      const viaCli = ms - startUp;
      console.log(`health against a silent server: ${inProcess} ms in process, ${viaCli} ms through the CLI (${startUp} ms of start-up left out)`);
      expect(code).toBe(2);
      expect(JSON.parse(stdout)).toMatchObject({ status: "unreachable", failure: "timeout" });
      expect(inProcess).toBeLessThan(2000);
      expect(viaCli).toBeLessThan(3000); // the promise is 2 s; a generous bound on a shared machine
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});
