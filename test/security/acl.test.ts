/**
 * Runs the SDK, the tick consumer and health under exactly the ACL users docs/SECURITY.md gives
 * (read from the page's `acl` blocks), on a server of the test's own: each works, and everything
 * else is refused with NOPERM.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { inspect } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { consume } from "../../src/cli/consume.js";
import { runMathd } from "../../src/cli/main.js";
import { ConnectionError, ScriptExecutionError, StoredDataError } from "../../src/core/errors.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { type KeyReader, readSignalInputs } from "../../src/dispatcher/signalInputs.js";
import { collectHealth, exitCodeOf } from "../../src/health/healthReport.js";
import { newsLatestKey, tickStreamKey, volumeBaselineKey } from "../../src/keys/marketData.js";
import { documentedAclUsers } from "../support/acl.js";
import { type OwnServer, startRedisServer } from "../support/tls.js";

const documented = documentedAclUsers();
const password = randomBytes(12).toString("hex");
const TIME = Date.UTC(2026, 10, 25, 4, 5); // 09:35 IST
const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
const account = { capital: 2_000_000, risk: 0.01, lotSize: 35 };

let server: OwnServer;
let admin: Redis;
const urlOf = (user: string) => `redis://${user}:${password}@127.0.0.1:${server.port}`;
const clients: Redis[] = [];
/** A raw connection as `user` on `db`, for trying what the user must not do. */
const as = (user: string, db: number) => {
  const redis = new Redis(urlOf(user), { db, maxRetriesPerRequest: 0, enableReadyCheck: false });
  clients.push(redis);
  return redis;
};

async function createUser(name: string, rules: string[]) {
  await admin.call("ACL", "SETUSER", name, ...rules.map((r) => (r === ">CHANGE-ME" ? `>${password}` : r)));
}

/** Everything no documented user may do, with a command each. */
const FORBIDDEN: [string, (r: Redis) => Promise<unknown>][] = [
  ["FLUSHALL", (r) => r.flushall()],
  ["CONFIG", (r) => r.config("GET", "maxmemory")],
  ["KEYS", (r) => r.keys("*")],
  ["SCRIPT FLUSH", (r) => r.script("FLUSH")],
  ["DEBUG", (r) => r.call("DEBUG", "SLEEP", "0")],
  ["FLUSHDB", (r) => r.flushdb()],
  ["FUNCTION FLUSH", (r) => r.call("FUNCTION", "FLUSH")],
];

async function expectRefused(what: string, attempt: Promise<unknown>) {
  await expect(attempt, what).rejects.toThrow(/NOPERM|can't run this command/);
}

beforeAll(async () => {
  // DEBUG enabled for local clients: then only the ACL can be what refuses it
  server = await startRedisServer(["--enable-debug-command", "local"]);
  admin = new Redis(server.port, "127.0.0.1");
  expect([...documented.keys()]).toEqual(["mathd-sdk", "mathd-sdk-functions", "mathd-consumer", "mathd-health"]);
  for (const [name, rules] of documented) await createUser(name, rules);
});
afterAll(async () => {
  clients.forEach((c) => c.disconnect());
  admin.disconnect();
  await server.stop();
});

describe("least privilege, as docs/SECURITY.md gives it", () => {
  it("a read of news the ACL refuses fails its own signal as a denied ConnectionError, not as stored data of the wrong shape; a key of another type still is", async () => {
    await createUser("mathd-sdk-no-news", (documented.get("mathd-sdk") as string[]).filter((r) => r !== "%R~news:latest:*"));
    const signal = { symbol: "ACLNONEWS", side: "long" as const, entry: 24_350.05, time: TIME, baseConfidence: 0.6, atr: 45, account };
    const math = MathDispatcher.connect(urlOf("mathd-sdk-no-news"));
    try {
      const [refused, given] = await math.dispatchMany([signal, { ...signal, news: [] }]);
      expect(refused?.ok).toBe(false);
      const error = refused?.ok === false ? refused.error : undefined;
      expect(error, String(error)).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ failure: "denied", address: `127.0.0.1:${server.port}` });
      expect(error?.message).toContain(`reading ${newsLatestKey("ACLNONEWS")}: NOPERM`);
      expect(error?.cause).toMatchObject({ name: "ReplyError" });
      // the other signal of the batch, which reads no news, is answered
      expect(given).toMatchObject({ ok: true, value: { sources: { news: "given" } } });
    } finally {
      await math.close();
    }
    // a reader that answers each key's error in place, as a cluster's does: the same class
    const perKey = (redis: Redis): KeyReader => async (commands) => ((await redis.pipeline(commands).exec()) ?? []).map(([e, value]) => e ?? (value as string | null));
    const request = { symbol: "ACLNONEWS", time: TIME, clockSkewMs: 0, news: true, baseline: false };
    const [inPlace] = await readSignalInputs(perKey(as("mathd-sdk-no-news", 11)), perKey(as("mathd-sdk-no-news", 5)), [request], {}, "cluster n1:7000");
    expect(inPlace).toBeInstanceOf(ConnectionError);
    expect(inPlace).toMatchObject({ failure: "denied", address: "cluster n1:7000" });
    const data = new Redis(server.port, "127.0.0.1", { db: 11 });
    await data.hset(newsLatestKey("ACLHASH"), "x", "1");
    data.disconnect();
    const sdk = MathDispatcher.connect(urlOf("mathd-sdk"));
    try {
      const wrongType = await sdk.dispatch({ ...signal, symbol: "ACLHASH" }).catch((e: unknown) => e);
      expect(wrongType).toBeInstanceOf(StoredDataError);
      expect(wrongType).toMatchObject({ key: newsLatestKey("ACLHASH"), reason: expect.stringMatching(/^cannot be read: WRONGTYPE/) });
    } finally {
      await sdk.close();
    }
  });

  it("the SDK works as mathd-sdk: functions, dispatch reading news and baselines, streaming", async () => {
    const data = (db: number) => new Redis(server.port, "127.0.0.1", { db });
    const [news, volume] = [data(11), data(5)];
    await news.set(newsLatestKey("ACLSDK"), JSON.stringify([{ sentiment: 0.9, relevance: 1, published_at: TIME - 60_000 }]), "EX", 57_600);
    await volume.hset(volumeBaselineKey("ACLSDK", 9, 35), "average", "40000");
    news.disconnect();
    volume.disconnect();

    const math = MathDispatcher.connect(urlOf("mathd-sdk"));
    try {
      const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99 - (i % 2), close: 99.5 + (i % 4) * 0.5 }));
      expect((await math.atr({ symbol: "ACLSDK", period: 14, bars })).cache).toBe("miss");
      expect((await math.atr({ symbol: "ACLSDK", period: 14, bars })).cache).toBe("hit");
      // 100 ticks, 1,600 bytes packed: a long entry is one SET too, so the user needs no +append
      const ticks = Array.from({ length: 100 }, (_, i) => ({ price: 100 + (i % 9) * 0.05, volume: 10 + i }));
      expect((await math.vwap({ symbol: "ACLSDK", ticks })).cache).toBe("miss");
      expect((await math.vwap({ symbol: "ACLSDK", ticks })).cache).toBe("hit");
      expect((await math.vwap({ symbol: "ACLSDK2", ticks }, { store: false })).cache).toBe("miss"); // the read-only variant
      await math.stopLoss({ symbol: "ACLSDK", side: "long", entry: 24_350.05, atr: 45, tick: 0.05, rewardRatio: 2 });
      const decision = await math.dispatch({ symbol: "ACLSDK", side: "long", entry: 24_350.05, time: TIME, baseConfidence: 0.6, atr: 45, currentVolume: 80_000, account });
      expect(decision.sources).toEqual({ news: "redis", volumeRatio: "redis", volumeRatioUsed: 2 });
      const live = math.streaming();
      expect((await live.update({ symbol: "ACLSDK", ts: TIME, seq: 1, price: 100.5, volume: 10 })).vwapStatus).toBe("applied");
      expect((await live.snapshot("ACLSDK")).vwap!.points).toBe(1);
    } finally {
      await math.close();
    }
  });

  it("the SDK works as mathd-sdk-functions in Functions mode, and cannot delete a library", async () => {
    const math = MathDispatcher.connect(urlOf("mathd-sdk-functions"), { scriptMode: "functions" });
    try {
      const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99 - (i % 2), close: 99.5 + (i % 4) * 0.5 }));
      expect((await math.atr({ symbol: "ACLFN", period: 14, bars })).cache).toBe("miss");
      expect((await math.atr({ symbol: "ACLFN", period: 14, bars })).cache).toBe("hit");
      expect((await math.atr({ symbol: "ACLFN2", period: 14, bars }, { store: false })).cache).toBe("miss");
      const decision = await math.dispatch({ symbol: "ACLFN", side: "long", entry: 24_350.05, time: TIME, baseConfidence: 0.6, atr: 45, account });
      expect(decision.size.lots).toBeGreaterThan(0);
      const live = math.streaming();
      expect((await live.update({ symbol: "ACLFN", ts: TIME, seq: 1, price: 100.5, volume: 10 })).vwapStatus).toBe("applied");
      expect((await live.snapshot("ACLFN")).vwap!.points).toBe(1);
    } finally {
      await math.close();
    }
    const user = as("mathd-sdk-functions", 10);
    await expectRefused("FUNCTION DELETE", user.call("FUNCTION", "DELETE", "mathd_atr_v3_0_0"));
    await expectRefused("EVALSHA", user.evalsha("0".repeat(40), 0));
    for (const [what, attempt] of FORBIDDEN) await expectRefused(what, attempt(user));
  });

  it("mathd-sdk-functions, which may not delete a library, is told to prune a library of the earlier layout", async () => {
    await admin.call("FUNCTION", "FLUSH");
    await admin.call("FUNCTION", "LOAD", "#!lua name=mathd\nredis.register_function('atr_v3_0_0', function() return 'legacy' end)\n");
    const math = MathDispatcher.connect(urlOf("mathd-sdk-functions"), { scriptMode: "functions" });
    try {
      const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99 - (i % 2), close: 99.5 + (i % 4) * 0.5 }));
      const error = await math.atr({ symbol: "ACLLEGACY", period: 14, bars }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScriptExecutionError);
      expect((error as Error).message).toMatch(/^script mathd: a library of the earlier layout .*mathd scripts prune/);
    } finally {
      await math.close();
      await admin.call("FUNCTION", "FLUSH");
    }
  });

  it("a dispatcher logged whole, as mathd-sdk, shows no password: not its config, client or connections", async () => {
    const math = MathDispatcher.connect(urlOf("mathd-sdk"));
    try {
      await math.stopLoss({ symbol: "ACLSHOWN", side: "long", entry: 100, atr: 1, tick: 0.05, rewardRatio: 2 });
      for (const shown of [inspect(math, { depth: Infinity }), JSON.stringify(math), JSON.stringify(math.client.config), inspect(math.client.config)]) {
        expect(shown).not.toContain(password);
      }
    } finally {
      await math.close();
    }
  });

  it("no client prints a warning under its least-privilege user (ioredis's INFO ready check is refused)", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const math = MathDispatcher.connect(urlOf("mathd-sdk"));
      await math.stopLoss({ symbol: "ACLWARN", side: "long", entry: 100, atr: 1, tick: 0.05, rewardRatio: 2 });
      await math.close();
      const abort = new AbortController();
      const done = consume({ url: urlOf("mathd-consumer"), symbols: ["ACLWARN"], log: () => undefined, signal: abort.signal });
      await new Promise((r) => setTimeout(r, 500));
      abort.abort();
      await done;
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it("mathd scripts load and list run as mathd-sdk without ioredis's warning about the refused INFO ready check", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      for (const action of ["load", "list"]) {
        let stderr = "";
        const code = await runMathd(["scripts", action, "--url", urlOf("mathd-sdk"), "--json"], { stdout: () => undefined, stderr: (t) => void (stderr += t) });
        expect(code, action).toBe(0);
        expect(stderr).toBe("");
      }
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it("mathd-sdk is refused everything else: other families, writes to what it reads, admin commands", async () => {
    const patterns = as("mathd-sdk", 10);
    await expectRefused("SET news", as("mathd-sdk", 11).set(newsLatestKey("ACLSDK"), "[]"));
    await expectRefused("HSET baseline", as("mathd-sdk", 5).hset(volumeBaselineKey("ACLSDK", 9, 35), "average", "1"));
    await expectRefused("GET alerts", as("mathd-sdk", 6).get("alerts:meta:a1"));
    await expectRefused("XADD ticks", as("mathd-sdk", 4).xadd(tickStreamKey("ACLSDK"), "*", "price", "1"));
    await expectRefused("DEL cache", patterns.del("pattern_cache:x"));
    for (const [what, attempt] of FORBIDDEN) await expectRefused(what, attempt(patterns));
    // what the page says it can still do: the caching script runs with its rights, so it may write the cache directly
    expect(await patterns.set("pattern_cache:atr:v1.0.0:ACLSDK:" + "0".repeat(40), "poison", "EX", 60)).toBe("OK");
  });

  it("the consumer works as mathd-consumer: groups, claims, dead letters with their TTL, statistics", async () => {
    const ticks = new Redis(server.port, "127.0.0.1", { db: 4 });
    const stream = tickStreamKey("ACLCON");
    for (let j = 0; j < 20; j++) await ticks.xadd(stream, "*", "price", "250.05", "volume", "2", "ts", String(OPEN + j * 1000));
    await ticks.xadd(stream, "*", "price", "bad", "volume", "2", "ts", String(OPEN + 99_000));
    await ticks.xgroup("CREATE", stream, "mathd", "0");
    await ticks.xreadgroup("GROUP", "mathd", "gone", "COUNT", 5, "STREAMS", stream, ">"); // left pending by a vanished consumer
    const lines: string[] = [];
    const abort = new AbortController();
    const done = consume({ url: urlOf("mathd-consumer"), symbols: ["ACLCON"], claimIdleMs: 200, statsIntervalMs: 100, log: (l) => lines.push(l), signal: abort.signal });
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => /^stats .*pending 0, lag 0$/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    expect(await done).toEqual({ applied: 20, duplicates: 0, deadLetters: 1, claimed: 5, trimmed: 0, pending: 0, lag: 0 });
    expect(lines.filter((l) => /unreachable|consumer error/.test(l))).toEqual([]);
    expect(await ticks.ttl("ticks:dead:ACLCON")).toBeGreaterThan(0);
    ticks.disconnect();
  });

  it("mathd-consumer is refused everything else", async () => {
    const ticks = as("mathd-consumer", 4);
    await expectRefused("SET cache", as("mathd-consumer", 10).set("pattern_cache:x", "1"));
    await expectRefused("GET news", as("mathd-consumer", 11).get(newsLatestKey("ACLCON")));
    await expectRefused("XADD alerts", as("mathd-consumer", 6).xadd("alerts:pending:validation", "*", "a", "1"));
    await expectRefused("XGROUP DESTROY", ticks.xgroup("DESTROY", tickStreamKey("ACLCON"), "mathd"));
    await expectRefused("DEL ticks", ticks.del(tickStreamKey("ACLCON")));
    for (const [what, attempt] of FORBIDDEN) await expectRefused(what, attempt(ticks));
  });

  it("health works as mathd-health and is refused anything else", async () => {
    const report = await collectHealth({ url: urlOf("mathd-health") });
    expect(report.denied).toEqual([]);
    expect(report.status).not.toBe("unreachable");
    expect(report.redis!.version).toMatch(/^7\./);
    expect(report.tickStreams.map((s) => s.key)).toContain("ticks:ACLCON");
    expect(report.databases.find((d) => d.db === 10)!.keys).toBeGreaterThan(0);
    expect(report.scriptTime?.calls).toBeGreaterThan(0); // INFO all, commandstats included, under +info
    const health = as("mathd-health", 10);
    await expectRefused("GET", health.get("indicator:vwap:ACLSDK"));
    await expectRefused("SET", health.set("pattern_cache:x", "1"));
    await expectRefused("EXPIRE", health.expire("indicator:vwap:ACLSDK", 1));
    for (const [what, attempt] of FORBIDDEN) await expectRefused(what, attempt(health));
  });

  it("health under a user without +ttl reports the TTL audit denied (exit 3), not a key without a TTL as audited", async () => {
    await admin.select(10);
    await admin.set("indicator:vwap:NOTTL", "x"); // no TTL: a violation for a user who may read it
    await admin.select(0);
    await createUser("mathd-health-nottl", (documented.get("mathd-health") as string[]).filter((r) => r !== "+ttl"));
    const report = await collectHealth({ url: urlOf("mathd-health-nottl") });
    expect(report.status).toBe("denied");
    expect(exitCodeOf(report)).toBe(3);
    expect(report.denied).toContainEqual({ check: "db 10: ttl audit", error: "NOPERM this user has no permissions to run the 'ttl' command" });
    expect(report.ttlAudit).toEqual([]);
    expect(exitCodeOf(await collectHealth({ url: urlOf("mathd-health") }))).toBe(1); // the documented user sees the violation
    await admin.select(10);
    await admin.del("indicator:vwap:NOTTL");
    await admin.select(0);
  });

  it("health under a user without +scan or +info reports those checks as denied, not as unreachable (exit 3)", async () => {
    const rules = (documented.get("mathd-health") as string[]).filter((r) => r !== "+scan" && r !== "+info");
    await createUser("mathd-health-less", rules);
    const report = await collectHealth({ url: urlOf("mathd-health-less") });
    expect(report.status).toBe("denied");
    expect(exitCodeOf(report)).toBe(3);
    expect(report.denied.map((d) => d.check)).toEqual(expect.arrayContaining(["info", "db 10: ttl audit", "db 4: tick streams"]));
    expect(report.denied.every((d) => d.error.startsWith("NOPERM"))).toBe(true);
    expect(report.databases.length).toBeGreaterThan(0); // what it may do, it still reports
    expect(report.scriptTime).toBeUndefined(); // read with INFO, which was refused
    const cli = spawnSync(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../../src/cli/mathd.ts"), "health", "--url", urlOf("mathd-health-less")], {
      encoding: "utf8",
    });
    expect(cli.status).toBe(3);
    expect(cli.stdout).toMatch(/INCOMPLETE: \d+ checks denied by the ACL/);
    expect(cli.stdout).toContain("denied: info: NOPERM");
  });
});
