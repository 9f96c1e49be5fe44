/**
 * `mathd` as a newcomer meets it: help on stdout with exit 0, usage errors with 64 (never health's
 * 1 or 2), one-line errors naming the server and the cause, and the scripts and chart commands
 * against a real Redis of the test's own (it flushes the script cache).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis, ReplyError } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { describeError, EXIT, exitCodeFor } from "../../src/cli/cliErrors.js";
import { ServerOutOfMemoryError } from "../../src/core/errors.js";
import { runMathd } from "../../src/cli/main.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { buildFunctionsLibraries } from "../../src/build/functionsLibrary.js";
import { librariesOnNode, loadLibraries } from "../../src/cluster/loader.js";
import { freePort, type LocalRedisServer, startLocalRedis } from "../../src/redis/localServer.js";
import { STREAM_READ_PAGE } from "../../src/redis/pageSizes.js";
import { holdServer, ownRedis } from "../support/redis.js";
import { OLDER_ATR_LIBRARY, OTHER_APPLICATION_LIBRARY } from "../support/libraries.js";

async function mathd(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runMathd(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

const sample = join(import.meta.dirname, "../../examples/data/banknifty-5m.json");
let server: LocalRedisServer;
let dir: string;
beforeAll(async () => {
  server = await ownRedis();
  dir = await mkdtemp(join(tmpdir(), "mathd-cli-"));
});
afterAll(() => server.stop());

describe("help, version and usage errors", () => {
  it("mathd --help and each command's --help print to stdout and exit 0", async () => {
    const top = await mathd("--help");
    expect(top).toMatchObject({ code: 0, stderr: "" });
    for (const command of ["health", "consume", "scripts", "chart"]) expect(top.stdout).toContain(`  ${command} `);
    for (const command of ["health", "consume", "scripts", "chart"]) {
      const help = await mathd(command, "--help");
      expect(help, command).toMatchObject({ code: 0, stderr: "" });
      expect(help.stdout).toContain(`mathd ${command}`);
      expect(help.stdout).toContain("--verbose");
    }
    expect((await mathd("scripts", "load", "--help")).code).toBe(0);
    expect((await mathd("help", "chart")).stdout).toContain("--input FILE");
  });

  it("--version prints the package version", async () => {
    expect(await mathd("--version")).toEqual({ code: 0, stdout: `mathd ${packageJson.version}\n`, stderr: "" });
  });

  it("a wrong command line exits 64 with the problem and where to get help, on stderr", async () => {
    const cases = [
      [],
      ["frobnicate"],
      ["health", "--bogus"],
      ["health", "--sample", "0"],
      ["consume"],
      ["scripts"],
      ["scripts", "unload"],
      ["chart"],
      ["chart", "--input", sample, "--bands", "-1"],
      ["health", "stray"],
    ];
    for (const args of cases) {
      const run = await mathd(...args);
      expect(run.code, args.join(" ")).toBe(64);
      expect(run.stdout, args.join(" ")).toBe("");
      expect(run.stderr, args.join(" ")).toMatch(/mathd|usage/);
    }
    expect((await mathd("health", "--bogus")).stderr).toBe("mathd health: Unknown option '--bogus'\nrun 'mathd health --help' for usage\n");
  });
});

describe("errors in one line", () => {
  it("an unreachable server: exit 2, the address and ECONNREFUSED, no stack unless --verbose", async () => {
    const port = await freePort();
    for (const command of [["scripts", "list"], ["scripts", "load"], ["scripts", "prune"], ["chart", "--symbol", "NIFTY"]]) {
      const run = await mathd(...command, "--url", `redis://127.0.0.1:${port}`);
      expect(run.code, command.join(" ")).toBe(2);
      expect(run.stderr).toBe(`mathd ${command[0]}: Redis at 127.0.0.1:${port}: refused: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    }
    const verbose = await mathd("scripts", "list", "--url", `redis://127.0.0.1:${port}`, "--verbose");
    expect(verbose.stderr.split("\n")[0]).toContain("ECONNREFUSED");
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it("rediss:// to a server without TLS: exit 2 with a timeout that says TLS is on", async () => {
    const run = await mathd("scripts", "list", "--url", server.url.replace("redis://", "rediss://"));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/: timeout: .*\(TLS is on: does the server speak TLS on this port\?\)\n$/);
  }, 30_000);

  it("a server that accepts the connection and never answers: exit 2 with a timeout, not a hang", async () => {
    const silent = createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      for (const command of [["scripts", "list"], ["scripts", "load"], ["scripts", "prune"], ["chart", "--symbol", "NIFTY"]]) {
        const run = await mathd(...command, "--url", `redis://127.0.0.1:${port}`);
        expect(run.code, command.join(" ")).toBe(2);
        expect(run.stderr).toMatch(new RegExp(`^mathd ${command[0]}: Redis at 127\\.0\\.0\\.1:${port}: timeout: `));
      }
    } finally {
      silent.close();
    }
  }, 30_000);

  it("a missing input file exits 66, a malformed one 65 naming the place", async () => {
    const missing = await mathd("chart", "--input", join(dir, "none.json"));
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/^mathd chart: ENOENT: no such file or directory, open '.*none\.json'\n$/);
    const directory = await mathd("chart", "--input", dir); // its error named no path: it exited 70
    expect(directory).toMatchObject({ code: 66, stderr: `mathd chart: EISDIR: illegal operation on a directory, read '${dir}'\n` });
    const bad = join(dir, "bad.csv");
    await writeFile(bad, "ts,price,volume\n1795578300000,100,5\n1795578301000,abc,5\n");
    const malformed = await mathd("chart", "--input", bad);
    expect(malformed).toMatchObject({ code: 65, stderr: `mathd chart: ${bad}: line 3: price is not a number: "abc"\n` });
    // a time in seconds would chart a session in 1970: refused as the scripts refuse it
    const seconds = join(dir, "seconds.csv");
    await writeFile(seconds, "ts,price,volume\n1795578300,100,5\n1795578360,101,5\n");
    const inSeconds = await mathd("chart", "--input", seconds);
    expect(inSeconds.code).toBe(65);
    expect(inSeconds.stderr).toMatch(/^mathd chart: .*seconds\.csv: line 2: ts must be whole epoch milliseconds in \d+\.\.\d+, got 1795578300 \(a time in seconds\?\)\n$/);
    // an output that cannot be written is not a missing input
    const unwritable = await mathd("chart", "--input", sample, "--out", join(dir, "no-such-dir", "x.svg"));
    expect(unwritable.code).toBe(73);
    expect(unwritable.stderr).toMatch(/^mathd chart: cannot write --out .*x\.svg: ENOENT/);
  });

  it("a symbol that is no symbol is a wrong command line (64), and every usage error is one line and the usage hint", async () => {
    const lower = await mathd("consume", "--symbols", "nifty");
    expect(lower.code).toBe(64);
    expect(lower.stderr).toMatch(/^mathd consume: --symbols: "nifty" is not a symbol/);
    const dashed = await mathd("health", "--sample", "-1");
    expect(dashed.code).toBe(64);
    expect(dashed.stderr.split("\n")).toHaveLength(3); // the message, the hint, and the final newline
  });
});

describe("mathd scripts", () => {
  it("manifest: every script with its SHA1, which is the SHA1 of its text", async () => {
    const run = await mathd("scripts", "manifest");
    expect(run.code).toBe(0);
    const manifest = JSON.parse(run.stdout);
    expect(manifest).toMatchObject({ schema: "mathd.manifest/1", packageVersion: packageJson.version, cacheDb: 10 });
    expect(manifest.scripts.map((s: { name: string }) => s.name)).toEqual(SCRIPTS.map((s) => s.name));
    for (const s of manifest.scripts) expect(createHash("sha1").update(s.source).digest("hex")).toBe(s.sha1);
  });

  it("list shows what the server holds; load loads all of it", async () => {
    const redis = new Redis(server.url);
    await redis.script("FLUSH");
    const before = await mathd("scripts", "list", "--url", server.url, "--json");
    expect(JSON.parse(before.stdout).scripts.every((s: { loaded: boolean }) => !s.loaded)).toBe(true);
    const load = await mathd("scripts", "load", "--url", server.url);
    expect(load.code).toBe(0);
    expect(load.stdout).toContain(`${SCRIPTS.length}/${SCRIPTS.length} scripts of this build loaded`);
    expect(await redis.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))).toEqual(SCRIPTS.map(() => 1));
    const after = await mathd("scripts", "list", "--url", server.url);
    expect(after.stdout.split("\n").filter((l) => l.endsWith("  loaded"))).toHaveLength(SCRIPTS.length);
    redis.disconnect();
  });

  it("with --script-mode functions, list shows this build's libraries and those it does not use; load loads the libraries", async () => {
    const redis = new Redis(server.url);
    await redis.call("FUNCTION", "FLUSH");
    const libraries = buildFunctionsLibraries(SCRIPTS);
    await redis.call("FUNCTION", "LOAD", OLDER_ATR_LIBRARY.code);
    const before = JSON.parse((await mathd("scripts", "list", "--url", server.url, "--script-mode", "functions", "--json")).stdout);
    expect(before).toMatchObject({ mode: "functions", others: [OLDER_ATR_LIBRARY.name] });
    const listed: { name: string; library: string; loaded: boolean }[] = before.scripts;
    expect(listed.map((s) => s.name)).toEqual(SCRIPTS.map((s) => s.name));
    expect(listed.map((s) => s.library).sort()).toEqual(libraries.map((l) => l.name).sort());
    expect(listed.filter((s) => s.loaded)).toEqual([]);
    const load = await mathd("scripts", "load", "--url", server.url, "--script-mode", "functions");
    expect(load.code).toBe(0);
    expect(load.stdout).toContain(`${libraries.length}/${libraries.length} Functions libraries of this build loaded`);
    expect(load.stdout).toContain(`not used by this build (mathd scripts prune): ${OLDER_ATR_LIBRARY.name}`);
    expect((await librariesOnNode(redis, libraries)).state).toBe("current");
    // the script cache is another thing: the EVALSHA listing still finds none there
    expect(await redis.script("FLUSH")).toBe("OK");
    expect((await mathd("scripts", "list", "--url", server.url)).stdout).toContain(`0/${SCRIPTS.length} scripts of this build loaded`);
    expect(await mathd("scripts", "list", "--url", server.url, "--script-mode", "fcall")).toMatchObject({ code: 64 });
    await redis.call("FUNCTION", "FLUSH");
    redis.disconnect();
  });

  it("prune deletes the Functions libraries of versions this build does not use, and only those", async () => {
    const redis = new Redis(server.url);
    await redis.call("FUNCTION", "FLUSH");
    const libraries = buildFunctionsLibraries(SCRIPTS);
    await loadLibraries(redis, libraries);
    await redis.call("FUNCTION", "LOAD", OLDER_ATR_LIBRARY.code);
    await redis.call("FUNCTION", "LOAD", OTHER_APPLICATION_LIBRARY.code);
    const pruned = await mathd("scripts", "prune", "--url", server.url, "--json");
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toEqual({ target: server.url.replace("redis://", ""), deleted: [OLDER_ATR_LIBRARY.name] });
    expect(await mathd("scripts", "prune", "--url", server.url)).toMatchObject({ code: 0, stdout: `${server.url.replace("redis://", "")}: no libraries to prune\n` });
    expect((await librariesOnNode(redis, libraries)).state).toBe("current");
    expect(await redis.fcall(OTHER_APPLICATION_LIBRARY.fn, 0)).toBe(1);
    await redis.call("FUNCTION", "FLUSH");
    redis.disconnect();
  });
});

describe("mathd chart", () => {
  it("from a file: the SVG file and a summary, or the series as JSON", async () => {
    const out = join(dir, "session.svg");
    const run = await mathd("chart", "--input", sample, "--out", out, "--json");
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ symbol: "BANKNIFTY", points: 75, out });
    expect(summary.last.atr).toBeGreaterThan(0);
    const svg = await readFile(out, "utf8");
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('data-series="vwap" data-count="75"');
    const series = JSON.parse((await mathd("chart", "--input", sample, "--json")).stdout);
    expect(series.series).toHaveLength(75);
    expect(series.series.at(-1)).toEqual(summary.last);
  });

  it("from Redis: the stream's session, and the live streaming state agrees with it", async () => {
    const { updates } = JSON.parse(await readFile(sample, "utf8")) as { updates: Record<string, number>[] };
    const ticks = new Redis(server.url, { db: 4 });
    const math = MathDispatcher.connect(server.url);
    const live = math.streaming({ atrPeriod: 14 });
    for (const u of updates) {
      await ticks.xadd("ticks:BANKNIFTY", "*", ...Object.entries(u).flatMap(([k, v]) => [k, String(v)]));
      await live.update({ symbol: "BANKNIFTY", ts: u.ts!, seq: u.seq!, high: u.high!, low: u.low!, close: u.close!, volume: u.volume! });
    }
    await math.close();
    ticks.disconnect();
    const fromRedis = await mathd("chart", "--symbol", "BANKNIFTY", "--url", server.url, "--json");
    expect(fromRedis.code).toBe(0);
    const fromFile = JSON.parse((await mathd("chart", "--input", sample, "--json")).stdout);
    const chart = JSON.parse(fromRedis.stdout);
    expect(chart.source).toBe("ticks:BANKNIFTY (DB 4, 75 entries)");
    expect(chart.series).toEqual(fromFile.series);
    const svg = (await mathd("chart", "--symbol", "BANKNIFTY", "--url", server.url)).stdout;
    expect(svg).toContain("the live streaming state agrees");
    // entries the consumer dead-letters (no number; a fifth decimal) are left out, not fatal
    const writer = new Redis(server.url, { db: 4 });
    await writer.xadd("ticks:BANKNIFTY", "*", "price", "abc", "volume", "75", "ts", String(updates.at(-1)!.ts! + 1));
    await writer.xadd("ticks:BANKNIFTY", "*", "price", "812.123456", "volume", "75", "ts", String(updates.at(-1)!.ts! + 2));
    writer.disconnect();
    const withBad = JSON.parse((await mathd("chart", "--symbol", "BANKNIFTY", "--url", server.url, "--json")).stdout);
    expect(withBad.source).toBe("ticks:BANKNIFTY (DB 4, 75 entries, 2 left out: the consumer dead-letters them)");
    expect(withBad.series).toEqual(fromFile.series);
  });

  it("from Redis: a stream longer than one page is read whole, in order", async () => {
    const writer = new Redis(server.url, { db: 4 });
    const entries = 2 * STREAM_READ_PAGE + 1;
    const pipeline = writer.pipeline();
    const open = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
    for (let i = 0; i < entries; i++) pipeline.xadd("ticks:PAGED", "*", "price", (24000 + (i % 40) * 0.05).toFixed(2), "volume", "75", "ts", String(open + i), "seq", "0");
    await pipeline.exec();
    writer.disconnect();
    const chart = JSON.parse((await mathd("chart", "--symbol", "PAGED", "--url", server.url, "--json")).stdout);
    expect(chart.source).toBe(`ticks:PAGED (DB 4, ${entries} entries)`);
    expect(chart.series.map((p: { ts: number }) => p.ts)).toEqual(Array.from({ length: entries }, (_, i) => open + i));
  });

  it("scripts and chart --symbol work on one server: with MATHD_CLUSTER_NODES set they need --url (exit 78 without)", async () => {
    const before = process.env.MATHD_CLUSTER_NODES;
    process.env.MATHD_CLUSTER_NODES = "127.0.0.1:1"; // nothing listens there: a command that used it would fail otherwise
    try {
      for (const command of [["scripts", "list"], ["scripts", "load"], ["scripts", "prune"], ["chart", "--symbol", "NIFTY"]]) {
        const run = await mathd(...command);
        expect(run.code, command.join(" ")).toBe(78);
        expect(run.stderr).toMatch(/^mathd \w+: MATHD_CLUSTER_NODES: is set, but mathd .* works on one server: give --url of one node/);
      }
      expect((await mathd("scripts", "list", "--url", server.url)).code).toBe(0);
    } finally {
      if (before === undefined) delete process.env.MATHD_CLUSTER_NODES;
      else process.env.MATHD_CLUSTER_NODES = before;
    }
  });
});

describe("a server busy with another client's long script", () => {
  it("health and scripts exit 2, failure busy, naming the reply (not 'closed', not a refused database); 0 once it ends", async () => {
    const busy = await startLocalRedis();
    const blocker = new Redis(busy.url);
    try {
      await blocker.config("SET", "busy-reply-threshold", "50");
      const blocking = holdServer(blocker, 2_500);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const [health, scripts] = [await mathd("health", "--json", "--url", busy.url), await mathd("scripts", "list", "--url", busy.url)];
      await blocking;
      expect(health.code).toBe(2);
      expect(JSON.parse(health.stdout)).toMatchObject({ status: "unreachable", failure: "busy", error: expect.stringMatching(/: busy: BUSY /) });
      expect({ code: scripts.code, stderr: scripts.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(new RegExp(`^mathd scripts: Redis at ${busy.url.slice("redis://".length)}: busy: BUSY `)) });
      expect((await mathd("scripts", "list", "--url", busy.url)).code).toBe(0);
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      blocker.disconnect();
      await busy.stop();
    }
  });

  it("a 'not now' or an OOM a command meets after connecting is exit 2 too, not 70 (a bug)", () => {
    for (const reply of ["BUSY Redis is busy running a script.", "MASTERDOWN Link with MASTER is down", "READONLY You can't write against a read only replica."]) {
      expect(exitCodeFor(new ReplyError(reply)), reply).toBe(EXIT.unreachable);
      expect(describeError(new ReplyError(reply), "redis://127.0.0.1:6390")).toBe(`Redis at 127.0.0.1:6390: busy: ${reply}`);
    }
    // a server at its maxmemory cannot be used now either (consume's refused start: its message as it is)
    const oom = new ServerOutOfMemoryError("not started within 5000 ms of the start: OOM command not allowed when used memory > 'maxmemory'.");
    expect(exitCodeFor(oom)).toBe(EXIT.unreachable);
    expect(describeError(oom, "redis://127.0.0.1:6390")).toBe(oom.message);
  });
});

describe("a server without the configured databases", () => {
  // ioredis's own SELECT, refused on connecting, leaves a connection ready on DB 0: each command
  // must stop there (a wrong setting: 78), neither reporting an unreachable server nor using DB 0
  it("health, scripts, chart --symbol and consume exit 78 naming the database setting, and write nothing to DB 0", async () => {
    const fewer = await startLocalRedis(undefined, ["--databases", "4"]);
    try {
      const runs = {
        health: await mathd("health", "--url", fewer.url),
        scripts: await mathd("scripts", "load", "--url", fewer.url),
        chart: await mathd("chart", "--symbol", "NIFTY", "--url", fewer.url),
        consume: await mathd("consume", "--symbols", "NIFTY", "--url", fewer.url),
      };
      for (const [command, run] of Object.entries(runs)) {
        expect(run.code, command).toBe(78);
        expect(run.stderr, command).toMatch(new RegExp(`^mathd ${command}: databases\\.\\w+: SELECT \\d+ was refused at ${fewer.url.slice("redis://".length)} \\(ERR DB index is out of range\\)`, "m"));
      }
      // with --json every line, the failure included, is a JSON object
      const json = await mathd("consume", "--symbols", "NIFTY", "--url", fewer.url, "--json");
      const lines = `${json.stdout}${json.stderr}`.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ event: "failed", exitCode: 78, setting: "databases.continuous_market", message: expect.stringContaining("SELECT 4 was refused") });
      const db0 = new Redis(fewer.url);
      expect(await db0.dbsize()).toBe(0);
      db0.disconnect();
    } finally {
      await fewer.stop();
    }
  });
});

describe("the executable", () => {
  const cli = join(import.meta.dirname, "../../src/cli/mathd.ts");
  const run = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", cli, ...args], { encoding: "utf8" });

  it("exits with runMathd's code and writes help to stdout", () => {
    const help = run("consume", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--symbols LIST");
    expect(help.stderr).toBe("");
    const bad = run("health", "--bogus");
    expect(bad.status).toBe(64);
    expect(bad.stdout).toBe("");
  });

  it("does not cut a long output written to a pipe", () => {
    const manifest = run("scripts", "manifest");
    expect(manifest.status).toBe(0);
    expect(JSON.parse(manifest.stdout).scripts).toHaveLength(SCRIPTS.length);
  });
});
