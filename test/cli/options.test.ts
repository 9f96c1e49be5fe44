/**
 * The options of `mathd consume` and `mathd health` added for operators: --claim-idle-ms,
 * --stats-interval-ms and --json for consume, --timeout-ms for health; their validation (exit 64);
 * and a bad setting of the environment, which exits 78 (EX_CONFIG), not health's 1 or 70.
 * Against the shared Redis of the run, on streams of this file's own symbols.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMathd } from "../../src/cli/main.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import { waitUntil } from "../support/waitUntil.js";
import { sharedRedisUrl } from "../support/redis.js";

const url = sharedRedisUrl();
const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST

/** Runs `mathd` in-process; `signal` stops a consume. */
async function mathd(args: string[], signal?: AbortSignal, onStdout?: (all: string) => void) {
  let stdout = "";
  let stderr = "";
  const code = await runMathd(args, {
    stdout: (t) => {
      stdout += t;
      onStdout?.(stdout);
    },
    stderr: (t) => void (stderr += t),
    // a consume that never meets its stop condition fails its assertions instead of hanging the run
    ...(signal ? { signal: AbortSignal.any([signal, AbortSignal.timeout(20_000)]) } : {}),
  });
  return { code, stdout, stderr };
}

/** Sets environment variables for the duration of `fn` (vitest runs each file in its own process). */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

let ticks: Redis;
let silent: Server;
const sockets: Socket[] = [];
beforeAll(async () => {
  ticks = new Redis(url, { db: 4 });
  // accepts connections and never answers
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  ticks.disconnect();
  sockets.forEach((s) => s.destroy());
  await new Promise((resolve) => silent.close(resolve));
});

describe("option validation", () => {
  it("bad values of the new options exit 64 naming the option", async () => {
    const cases: [string[], string][] = [
      [["consume", "--symbols", "OPTA", "--claim-idle-ms", "-1"], "--claim-idle-ms"],
      [["consume", "--symbols", "OPTA", "--claim-idle-ms", "soon"], "--claim-idle-ms"],
      [["consume", "--symbols", "OPTA", "--stats-interval-ms", "0"], "--stats-interval-ms"],
      [["consume", "--symbols", "OPTA", "--stats-interval-ms", "1.5"], "--stats-interval-ms"],
      [["consume", "--symbols", "OPTA", "--json", "yes"], "consume"], // a boolean takes no value
      [["consume", "--symbols", "OPTA", "--rsi-period", "1"], "--rsi-period"], // RSI needs two closes a period at least
      [["consume", "--symbols", "OPTA", "--atr-period", "501"], "--atr-period"],
      [["health", "--timeout-ms", "0"], "--timeout-ms"],
      [["health", "--timeout-ms", "1s"], "--timeout-ms"],
    ];
    for (const [args, named] of cases) {
      const run = await mathd([...args, "--url", url]);
      expect(run.code, args.join(" ")).toBe(64);
      expect(run.stdout).toBe("");
      expect(run.stderr, args.join(" ")).toContain(named);
    }
  });

  it("with --json a wrong command line and a failure with --verbose are JSON lines too", async () => {
    const lines = (stderr: string) => stderr.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const args of [["consume", "--symbols", "nifty", "--json"], ["consume", "--json", "--bogus"]]) {
      const run = await mathd([...args, "--url", url]);
      expect(run).toMatchObject({ code: 64, stdout: "" });
      expect(lines(run.stderr)).toEqual([expect.objectContaining({ event: "failed", exitCode: 64 })]);
    }
    // a setting of the environment that is wrong: exit 78, its stack inside the one line
    const run = await withEnv({ MATHD_DB_CONTINUOUS_MARKET: "16" }, () => mathd(["consume", "--symbols", "OPTA", "--json", "--verbose", "--url", url]));
    expect(run.code).toBe(78);
    const [failed] = lines(run.stderr).filter((line) => line.event === "failed");
    expect(failed).toMatchObject({ exitCode: 78, setting: "MATHD_DB_CONTINUOUS_MARKET", stack: expect.stringContaining("ConfigurationError") });
  });

  it("a bad --url is a usage error (64); the help lists the exit codes and the consumer's default name", async () => {
    const bad = await mathd(["health", "--url", "http://127.0.0.1:6379"]);
    expect(bad).toMatchObject({ code: 64, stdout: "" });
    expect(bad.stderr).toBe("mathd health: --url: must start with redis:// or rediss://, got http://\nrun 'mathd health --help' for usage\n");
    // a host and port alone parse as a scheme "localhost:": the message says what was given
    const bare = await mathd(["health", "--url", "localhost:7651"]);
    expect(bare.stderr).toBe(`mathd health: --url: must start with redis:// or rediss://, got "localhost:7651" (write redis://localhost:7651)\nrun 'mathd health --help' for usage\n`);
    // a URL that does not parse is quoted with its user and password masked
    const secret = await mathd(["health", "--url", "redis://mathd:S3CRET#pw@127.0.0.1:7651"]);
    expect(secret).toMatchObject({ code: 64, stdout: "" });
    expect(secret.stderr).toBe(`mathd health: --url: is not a URL: "redis://***@127.0.0.1:7651"\nrun 'mathd health --help' for usage\n`);
    const health = (await mathd(["health", "--help"])).stdout;
    for (const line of ["0 healthy", "1 TTL policy violations", "2 Redis unreachable", "3 the report is incomplete: some checks were denied", "64 wrong command line", "78 a bad setting in the environment"]) {
      expect(health).toContain(line);
    }
    expect(health).toContain("--timeout-ms N");
    const consume = (await mathd(["consume", "--help"])).stdout;
    expect(consume).toContain("default mathd@<host name>: the same across restarts");
    for (const flag of ["--claim-idle-ms N", "--stats-interval-ms N", "--json"]) expect(consume).toContain(flag);
  });
});

describe("a bad setting in the environment exits 78", () => {
  it("health and consume with MATHD_DB_NEWS=16 or REDIS_PORT=x: 78 and the setting named, nothing on stdout", async () => {
    for (const [name, value] of [
      ["MATHD_DB_NEWS", "16"],
      ["REDIS_PORT", "x"],
    ] as const) {
      for (const args of [["health", "--json"], ["consume", "--symbols", "OPTA"]]) {
        // without --url, so that REDIS_PORT applies
        const run = await withEnv({ [name]: value, REDIS_URL: "" }, () => mathd(args));
        expect(run.code, `${name}=${value} ${args[0]}`).toBe(78);
        expect(run.stdout).toBe("");
        expect(run.stderr).toMatch(new RegExp(`^mathd ${args[0]}: ${name}: must be an integer in \\d+\\.\\.\\d+, got "${value}"\\n$`));
      }
    }
  });

  it("a private key given as PEM text in REDIS_TLS_KEY_FILE: 78 in one line that does not quote it", async () => {
    const key = "-----BEGIN PRIVATE KEY-----\nKEYSECRETKEYSECRET\n-----END PRIVATE KEY-----\n";
    const cert = join(mkdtempSync(join(tmpdir(), "mathd-pem-")), "client.crt");
    writeFileSync(cert, "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n");
    const run = await withEnv({ REDIS_TLS_CERT_FILE: cert, REDIS_TLS_KEY_FILE: key }, () => mathd(["health", "--url", url]));
    expect(run.code).toBe(78);
    expect(run.stderr).toBe("mathd health: REDIS_TLS_KEY_FILE: holds PEM text, not a file path: give the file's path, or the PEM as a Buffer\n");
  });

  it("the executable exits 78 too", () => {
    const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
    const run = spawnSync(process.execPath, ["--import", "tsx", cli, "health", "--url", url], {
      encoding: "utf8",
      env: { ...process.env, MATHD_DB_NEWS: "16" },
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toBe('mathd health: MATHD_DB_NEWS: must be an integer in 0..15, got "16"\n');
  });
});

describe("health --timeout-ms", () => {
  it("is the bound collectHealth applies: a silent server is unreachable (timeout), with that bound in the error", async () => {
    const port = (silent.address() as { port: number }).port;
    const run = await mathd(["health", "--url", `redis://127.0.0.1:${port}`, "--json", "--timeout-ms", "250"]);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ status: "unreachable", failure: "timeout" });
    expect(report.error).toBe(`Redis at 127.0.0.1:${port}: timeout: no answer within 250 ms`);
  });
});

describe("consume --json, --stats-interval-ms, --claim-idle-ms", () => {
  it("every line is JSON; another consumer's pending entry is claimed at once with --claim-idle-ms 0", async () => {
    const symbol = "OPTJSON";
    const stream = tickStreamKey(symbol);
    await ticks.del(stream);
    for (let i = 0; i < 30; i++) await ticks.xadd(stream, "*", "price", (100 + i * 0.05).toFixed(2), "volume", "5", "ts", String(OPEN + i * 1000));
    // a consumer that read one entry and is gone: its entry stays pending until claimed
    await ticks.xgroup("CREATE", stream, "mathd", "0");
    await ticks.xreadgroup("GROUP", "mathd", "ghost", "COUNT", 1, "STREAMS", stream, ">");

    const stop = new AbortController();
    const statsLines = (all: string) => all.split("\n").filter((l) => l.includes('"event":"stats"'));
    const run = await mathd(
      ["consume", "--url", url, "--symbols", symbol, "--json", "--stats-interval-ms", "100", "--claim-idle-ms", "0", "--consumer", "opt-test"],
      stop.signal,
      (all) => {
        // stop after a statistics line that has seen everything
        const last = statsLines(all).at(-1);
        if (last && JSON.parse(last).totals.applied === 30) stop.abort();
      },
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: "start", streams: [stream], db: 4, consumer: "opt-test", group: "mathd", claimIdleMs: 0, statsIntervalMs: 100 });
    expect(lines).toContainEqual(expect.objectContaining({ event: "claimed", stream, count: 1 }));
    expect(lines.filter((l) => l.event === "stats").length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toMatchObject({ event: "summary", applied: 30, duplicates: 0, deadLetters: 0, claimed: 1, trimmed: 0, pending: 0, lag: 0 });
    for (const line of lines) expect(typeof line.at).toBe("string");
  });

  it("--claim-idle-ms is the idle time a claim waits for: an entry idle 60 s is left to its owner under --claim-idle-ms 3600000", async () => {
    const symbol = "OPTIDLE";
    const stream = tickStreamKey(symbol);
    await ticks.del(stream);
    for (let i = 0; i < 3; i++) await ticks.xadd(stream, "*", "price", "100", "volume", "5", "ts", String(OPEN + i * 1000));
    await ticks.xgroup("CREATE", stream, "mathd", "0");
    const read = (await ticks.xreadgroup("GROUP", "mathd", "ghost", "COUNT", 1, "STREAMS", stream, ">")) as [string, [string, string[]][]][];
    const id = read[0]![1][0]![0];
    await ticks.xclaim(stream, "mathd", "ghost", 0, id, "IDLE", 60_000); // idle for a minute: the default 10 s would claim it at once
    const stop = new AbortController();
    const run = await mathd(["consume", "--url", url, "--symbols", symbol, "--json", "--stats-interval-ms", "100", "--claim-idle-ms", "3600000"], stop.signal, (all) => {
      if (all.includes('"event":"stats"')) stop.abort();
    });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.event === "claimed")).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ event: "summary", claimed: 0, applied: 0 });
    expect(await ticks.xpending(stream, "mathd", "-", "+", 10)).toEqual([[id, "ghost", expect.any(Number), expect.any(Number)]]);
  });

  it("without --json the same lines are text", async () => {
    const symbol = "OPTTEXT";
    const stream = tickStreamKey(symbol);
    await ticks.del(stream);
    for (let i = 0; i < 5; i++) await ticks.xadd(stream, "*", "price", "100", "volume", "5", "ts", String(OPEN + i * 1000));
    const stop = new AbortController();
    const applied = (all: string) => [...all.matchAll(/^stats applied (\d+) /gm)].reduce((n, m) => n + Number(m[1]), 0);
    const run = await mathd(["consume", "--url", url, "--symbols", symbol, "--stats-interval-ms", "100"], stop.signal, (all) => {
      if (applied(all) === 5) stop.abort();
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^consuming ticks:OPTTEXT \(DB 4\)/);
    expect(run.stdout).toMatch(/^summary: applied 5 in [\d.]+ s/m);
  });
});
