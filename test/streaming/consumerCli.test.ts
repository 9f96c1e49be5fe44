import { spawn } from "node:child_process";
import { join } from "node:path";
import { inspect } from "node:util";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { consume, START_TIMEOUT_MS } from "../../src/cli/consume.js";
import { runMathd } from "../../src/cli/main.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import { freePort } from "../../src/redis/localServer.js";
import { holdServer, ownRedis, sharedRedisUrl } from "../support/redis.js";
import { waitUntil } from "../support/waitUntil.js";
import { sharedDispatcher } from "../support/dispatcher.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";

const url = sharedRedisUrl();
const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
const clients: Redis[] = [];
const client = (target: string, db: number) => {
  const redis = new Redis(target, { db });
  clients.push(redis);
  return redis;
};
afterAll(() => clients.forEach((c) => c.disconnect()));

/** Runs `mathd consume` as a child until `until` holds, then SIGTERM; resolves to its output. */
/** Runs `mathd consume` until `until` (given the output so far) says so, then stops it with SIGTERM. */
async function runCli(args: string[], env: NodeJS.ProcessEnv, until: (output: { stdout: string; stderr: string; exited: boolean }) => Promise<boolean>) {
  const child = spawn(process.execPath, ["--import", "tsx", cli, "consume", ...args], { env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  let ended = false;
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", r)).finally(() => (ended = true));
  try {
    await waitUntil(() => until({ stdout, stderr, exited: ended }), "the consumer got there", 30_000);
  } finally {
    child.kill("SIGTERM");
    // a child that ignores SIGTERM (the bug this guards against) must not outlive the test
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  }
  return { code: await exited, stdout, stderr };
}

async function pendingAndLag(redis: Redis, stream: string): Promise<[number, number]> {
  const groups = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][];
  const flat = (groups[0] ?? []) as unknown[];
  const group: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) group[String(flat[i])] = flat[i + 1];
  return [Number(group.pending ?? -1), Number(group.lag ?? -1)];
}

describe("mathd consume", () => {
  it("honours MATHD_DB_*, reads every symbol's stream, and prints a summary on exit", async () => {
    const symbols = ["MULTIA", "MULTIB", "MULTIC"];
    const ticks = client(url, 7);
    const perSymbol = [40, 70, 100];
    for (const [i, symbol] of symbols.entries()) {
      for (let j = 0; j < (perSymbol[i] as number); j++) {
        await ticks.xadd(tickStreamKey(symbol), "*", "price", (500 + j * 0.05).toFixed(2), "volume", "3", "ts", String(OPEN + j * 1000));
      }
      // and a bar, which ATR and RSI take, of the periods the command line gives
      await ticks.xadd(tickStreamKey(symbol), "*", "high", "501", "low", "499", "close", "500", "volume", "0", "ts", String(OPEN + 200_000));
    }
    const drained = async () => {
      for (const symbol of symbols) {
        const [pending, lag] = await pendingAndLag(ticks, tickStreamKey(symbol));
        if (pending !== 0 || lag !== 0) return false;
      }
      return true;
    };
    const env = { MATHD_DB_CONTINUOUS_MARKET: "7", MATHD_DB_PATTERNS: "12" };
    const run = await runCli(["--url", url, "--symbols", symbols.join(","), "--atr-period", "10", "--rsi-period", "7"], env, drained);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("(DB 7)");
    expect(run.stdout).toMatch(/^summary: applied 213 in [\d.]+ s \([\d.]+\/s\), duplicates 0, dead letters 0, claimed 0, trimmed 0, pending 0, lag 0$/m);
    const state = client(url, 12);
    for (const [i, symbol] of symbols.entries()) {
      expect((await state.getBuffer(`indicator:vwap:${symbol}`))?.readDoubleLE(8)).toBe((perSymbol[i] as number) + 1); // points (the bar's too): the second packed double
    }
    expect(await state.exists(...symbols.flatMap((s) => [`indicator:atr10:${s}`, `indicator:rsi7:${s}`]))).toBe(6);
    expect(await client(url, 10).exists(...symbols.map((s) => `indicator:vwap:${s}`))).toBe(0); // nothing in the default DB
    expect(await client(url, 4).exists(...symbols.map((s) => tickStreamKey(s)))).toBe(0);
  });

  it("started while another consumer is live on its stream, waits past the start timeout without failing, says why, and takes over", async () => {
    const symbol = "CLISTANDBY";
    const ticks = client(url, 4);
    for (let j = 0; j < 20; j++) await ticks.xadd(tickStreamKey(symbol), "*", "price", "250.05", "volume", "2", "ts", String(OPEN + j * 1000));
    const old = new TickConsumer(client(url, 4), sharedDispatcher().streaming(), { symbols: [symbol], consumer: "old-pod", blockMs: 50 });
    const oldRun = old.run();
    await waitUntil(() => old.totals.applied === 20, "the old consumer applied the ticks");
    const lines: string[] = [];
    const abort = new AbortController();
    const done = consume({ url, symbols: [symbol], consumer: "new-pod", claimIdleMs: 500, statsIntervalMs: 60_000, log: (line) => lines.push(line), signal: abort.signal });
    await waitUntil(() => lines.some((l) => l.startsWith("waiting for consumer old-pod on ticks:CLISTANDBY (it read ")), "the new consumer says whom it waits for");
    await new Promise((resolve) => setTimeout(resolve, START_TIMEOUT_MS + 500)); // past the start timeout, still waiting
    old.stop();
    await oldRun;
    for (let j = 20; j < 30; j++) await ticks.xadd(tickStreamKey(symbol), "*", "price", "250.05", "volume", "2", "ts", String(OPEN + j * 1000));
    const lag = async () => {
      const group = ((await ticks.xinfo("GROUPS", tickStreamKey(symbol))) as unknown[][])[0] ?? [];
      return group[group.indexOf("lag") + 1];
    };
    await waitUntil(async () => (await lag()) === 0, "the new consumer took over: no lag");
    abort.abort();
    expect(await done).toMatchObject({ applied: 10, duplicates: 0, deadLetters: 0 });
  });

  it("says whom it waits for in its JSON log too: one object with the stream, the consumer, how long ago it read and why", async () => {
    const symbol = "CLISTANDBYJSON";
    const ticks = client(url, 4);
    await ticks.xadd(tickStreamKey(symbol), "*", "price", "250.05", "volume", "2", "ts", String(OPEN));
    const old = new TickConsumer(client(url, 4), sharedDispatcher().streaming(), { symbols: [symbol], consumer: "old-pod", blockMs: 50 });
    const oldRun = old.run();
    await waitUntil(() => old.totals.applied === 1, "the old consumer applied the tick");
    const lines: string[] = [];
    const abort = new AbortController();
    const done = consume({ url, symbols: [symbol], consumer: "new-pod", claimIdleMs: 500, statsIntervalMs: 60_000, json: true, log: (line) => lines.push(line), signal: abort.signal });
    const waiting = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "waiting");
    await waitUntil(() => waiting() !== undefined, "the new consumer logs whom it waits for");
    expect(waiting()).toMatchObject({ stream: tickStreamKey(symbol), consumer: "old-pod", reason: "live", idleMs: expect.any(Number), at: expect.any(String) });
    old.stop();
    await oldRun;
    abort.abort();
    expect(await done).toMatchObject({ applied: 0, deadLetters: 0 });
  });

  it("prints a statistics line every interval: applied per second, pending, lag, dead letters", async () => {
    const symbol = "STATS";
    const ticks = client(url, 4);
    for (let j = 0; j < 30; j++) await ticks.xadd(tickStreamKey(symbol), "*", "price", "250.05", "volume", "2", "ts", String(OPEN + j * 1000));
    await ticks.xadd(tickStreamKey(symbol), "*", "price", "oops", "volume", "2", "ts", String(OPEN + 99_000));
    const lines: string[] = [];
    const abort = new AbortController();
    const done = consume({ url, symbols: [symbol], consumer: "stats", statsIntervalMs: 100, log: (line) => lines.push(line), signal: abort.signal });
    await waitUntil(() => lines.some((l) => /^stats applied [1-9]/.test(l)), "a statistics line with applied entries");
    await waitUntil(() => lines.filter((l) => l.startsWith("stats ")).length >= 3, "three statistics lines");
    abort.abort();
    const final = await done;
    expect(final).toEqual({ applied: 30, duplicates: 0, deadLetters: 1, claimed: 0, trimmed: 0, pending: 0, lag: 0 });
    const stats = lines.filter((l) => l.startsWith("stats "));
    expect(stats.at(-1)).toMatch(/^stats applied \d+ in [\d.]+ s \([\d.]+\/s\), duplicates 0, dead letters 1, claimed 0, trimmed 0, pending 0, lag 0$/);
    // one reading at a time: readings that overlapped (each waits behind the blocking read) came in bursts "in 0.0 s"
    expect(stats.filter((l) => / in 0\.0 s /.test(l))).toEqual([]);
    expect(lines.at(-1)).toMatch(/^summary: applied 30 in [\d.]+ s/);
    expect(lines.filter((l) => l.startsWith("dead letter STATS"))).toHaveLength(1);
  });

  it("against an unreachable server logs one line with the address, no unhandled error events, and exits 2 once its start times out", async () => {
    const port = await freePort(); // nothing listens there
    const run = await runCli(["--url", `redis://127.0.0.1:${port}`, "--symbols", "NIFTY"], {}, async ({ exited }) => exited);
    const output = run.stdout + run.stderr;
    expect(output).not.toContain("Unhandled error event");
    expect(output.match(/unreachable/g)).toHaveLength(1);
    expect(run.stderr).toContain(`redis at 127.0.0.1:${port} unreachable (refused`);
    expect(run.stderr).toContain(`mathd consume: Redis at 127.0.0.1:${port}: refused: not connected within ${START_TIMEOUT_MS} ms of the start`);
    expect(run.code).toBe(2);
  }, 30_000);

  it("held by another client's long script, logs the server as busy or late, not unreachable, then recovered", async () => {
    const server = await ownRedis();
    const admin = new Redis(server.url);
    try {
      await admin.config("SET", "busy-reply-threshold", "50");
      let held = false;
      const blocker = new Redis(server.url);
      const run = await runCli(["--url", server.url, "--symbols", "NIFTY"], {}, async ({ stdout, stderr }) => {
        if (!held && /^consuming /m.test(stdout)) {
          held = true;
          await holdServer(blocker, 2500); // its reply comes once the script ends
        }
        return held && /answers again after/.test(stdout + stderr);
      });
      blocker.disconnect();
      const problem = run.stderr.split("\n").find((line) => line.includes(`redis at ${server.url.replace("redis://", "")}`)) ?? "";
      expect(problem).toMatch(/ (is busy, loading or failing over \(busy|does not answer in time \(timeout): /);
      expect(run.stderr).not.toMatch(/unreachable \((busy|timeout)/);
      expect(run.stdout + run.stderr).toMatch(/answers again after/);
    } finally {
      admin.disconnect();
      await server.stop();
    }
  }, 30_000);

  it("with a wrong password exits 2 at once: it would never heal by itself", async () => {
    const target = new URL(url);
    target.username = "nobody";
    target.password = "wrong";
    // it exits by itself, naming the refusal; one that waited for the start window would name that instead
    const run = await runCli(["--url", target.toString(), "--symbols", "NIFTY"], {}, async ({ exited }) => exited);
    expect(run.stderr).toMatch(/mathd consume: Redis at [\d.:]+: auth: refused at start: WRONGPASS/);
    expect(run.stderr).not.toMatch(/within \d+ ms/);
    expect(run.code).toBe(2);
  }, 30_000);

  it("a permission found missing after the start (XREADGROUP) exits 2 at once too, its JSON 'failed' line last", async () => {
    const admin = client(url, 0);
    await admin.acl("SETUSER", "con-no-xreadgroup", "reset", "on", ">pw", "~*", "+@all", "-xreadgroup");
    const target = new URL(url);
    target.username = "con-no-xreadgroup";
    target.password = "pw";
    let stdout = "";
    let stderr = "";
    const started = Date.now();
    try {
      // stopped after 10 s if it idles on (what it did: exit 0 then)
      const code = await runMathd(["consume", "--url", target.toString(), "--symbols", "NOXREAD", "--json"], {
        stdout: (t) => void (stdout += t),
        stderr: (t) => void (stderr += t),
        signal: AbortSignal.timeout(10_000),
      });
      expect(code).toBe(2);
      expect(Date.now() - started).toBeLessThan(START_TIMEOUT_MS);
      expect(stdout).toContain('"event":"start"');
      const last = JSON.parse(stderr.trimEnd().split("\n").at(-1) as string);
      expect(last).toMatchObject({ event: "failed", exitCode: 2, failure: "denied", message: expect.stringContaining("NOPERM") });
    } finally {
      await admin.acl("DELUSER", "con-no-xreadgroup");
    }
  }, 30_000);

  it("a refused login's error holds no password, nor do its causes", async () => {
    const target = new URL(url);
    target.username = "nobody";
    target.password = "S3CRETpw";
    const error = await consume({ url: target.toString(), symbols: ["NIFTY"], log: () => undefined }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ConnectionError", failure: "auth" });
    expect(inspect(error, { depth: Infinity })).not.toContain("S3CRETpw");
  });

  it("stops when asked even while the server is frozen (SIGSTOP), instead of waiting for it", async () => {
    const server = await ownRedis();
    try {
      const abort = new AbortController();
      const done = consume({ url: server.url, symbols: ["FROZEN"], consumer: "f", statsIntervalMs: 60_000, log: () => undefined, signal: abort.signal });
      await new Promise((r) => setTimeout(r, 1500)); // running: reading its stream
      server.freeze();
      const asked = Date.now();
      abort.abort();
      await done;
      expect(Date.now() - asked).toBeLessThan(8000); // its read times out (BLOCK plus the command timeout, 2 s); a generous bound
    } finally {
      server.thaw();
      await server.stop();
    }
  }, 30_000);

  it("makes its group again when its stream is deleted and written anew, whatever the symbol's name", async () => {
    const server = await ownRedis();
    try {
      const symbol = "XTLS"; // NOGROUP naming ticks:XTLS was taken for a TLS failure, and the group never made again
      const stream = tickStreamKey(symbol);
      const producer = new Redis(server.url, { db: 4 });
      clients.push(producer);
      const abort = new AbortController();
      const done = consume({ url: server.url, symbols: [symbol], consumer: "x", statsIntervalMs: 60_000, log: () => undefined, signal: abort.signal });
      const add = async (from: number, to: number) => {
        for (let j = from; j < to; j++) await producer.xadd(stream, "*", "price", "99.5", "volume", "1", "ts", String(OPEN + j * 1000));
      };
      await add(0, 10);
      await waitUntil(async () => (await pendingAndLag(producer, stream)).join() === "0,0", "the first entries are applied");
      await producer.del(stream); // expired, say; the feed writes it anew with the next ticks
      await add(10, 20);
      await waitUntil(async () => (await pendingAndLag(producer, stream)).join() === "0,0", "the new entries are applied", 20_000);
      abort.abort();
      await done;
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("an outage in the middle is logged once when it starts and once when it ends", async () => {
    const server = await ownRedis();
    try {
      const symbol = "OUTAGE";
      const producer = new Redis(server.url, { db: 4, maxRetriesPerRequest: null });
      producer.on("error", () => undefined);
      clients.push(producer);
      const lines: string[] = [];
      const abort = new AbortController();
      const done = consume({ url: server.url, symbols: [symbol], consumer: "o", statsIntervalMs: 60_000, log: (line) => lines.push(line), signal: abort.signal });
      const add = async (from: number, to: number) => {
        for (let j = from; j < to; j++) await producer.xadd(tickStreamKey(symbol), "*", "price", "99.5", "volume", "1", "ts", String(OPEN + j * 1000));
      };
      await add(0, 10);
      await waitUntil(async () => (await pendingAndLag(producer, tickStreamKey(symbol))).join() === "0,0", "the first entries are applied");
      await server.stop();
      await new Promise((r) => setTimeout(r, 3000)); // several retries of the consumer and of ioredis
      await server.start(); // empty again: the consumer must recreate its group and go on
      await add(10, 20);
      await waitUntil(() => lines.some((l) => l.includes("answers again")), "the consumer saw Redis back", 20_000);
      await waitUntil(async () => (await pendingAndLag(producer, tickStreamKey(symbol))).join() === "0,0", "the new entries are applied", 20_000);
      abort.abort();
      await done;
      expect(lines.filter((l) => l.includes("unreachable"))).toHaveLength(1);
      expect(lines.filter((l) => l.includes("answers again"))).toHaveLength(1);
      expect(lines.find((l) => l.includes("unreachable"))).toContain(`redis at 127.0.0.1:${server.port}`);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
