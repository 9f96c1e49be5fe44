/**
 * Redis's instructions per call, counted by valgrind's callgrind on a throwaway redis-server: the
 * same calls as bench/serverTime.ts (serverScenarios), the project's scripts next to the plain
 * ones. Unlike microseconds, a count does not move with the machine's load (runs agree within
 * 1 %: bench/README.md), so a change to a script can be judged in one run; docs/PERFORMANCE.md
 * quotes these figures. Slow (valgrind runs Redis about 50 times slower).
 *
 *   npx tsx bench/instructions.ts [--calls N]   # every row: writes bench/results/instructions.md
 *   npx tsx bench/instructions.ts --check       # CI: the ratios of INSTRUCTION_RATIOS against
 *                                               # floors.json "instructions"; exit 1 below a floor
 *
 * Needs valgrind (apt install valgrind). A figure covers everything Redis does for the calls
 * between two dumps: reading each command, running it, writing its reply.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { MathDispatcher } from "../src/dispatcher/MathDispatcher.js";
import { buildFunctionsLibraries } from "../src/build/functionsLibrary.js";
import { loadLibraries } from "../src/cluster/loader.js";
import { SCRIPTS } from "../src/generated/scripts.js";
import { freePort } from "../src/redis/localServer.js";
import { liveUpdates } from "./scenarios.js";
import { MAX_STREAM_UPDATES_PER_CALL } from "../src/dispatcher/limits.js";
import { type RawCall, serverScenarios } from "./serverTime.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * redis-server under callgrind, counting from the start; `dump()` returns the count since the last
 * dump. `--hz 1`: under valgrind a call takes about 50 times longer, and at the default 10 Hz
 * Redis's timer work landed in the window, 10-20k instructions a call, varying run to run.
 */
async function startCountedRedis() {
  const dir = mkdtempSync(join(tmpdir(), "mathd-callgrind-"));
  const port = await freePort();
  const child = spawn("valgrind", ["--tool=callgrind", `--callgrind-out-file=${dir}/cg.%p`, "redis-server", "--port", String(port), "--save", "", "--appendonly", "no", "--hz", "1"], {
    stdio: "ignore",
  });
  const redis = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: null });
  redis.on("error", () => undefined); // refused while valgrind starts the server: connect() is retried below
  for (let i = 0; ; i++) {
    try {
      await redis.connect();
      break;
    } catch (error) {
      if (i > 100 || child.exitCode !== null) throw new Error(`redis-server under valgrind did not start (is valgrind installed?): ${error}`);
      await sleep(300);
    }
  }
  /** Instructions since the previous dump: callgrind writes a file per dump, a moment after the request. */
  const dump = async (): Promise<number> => {
    execFileSync("callgrind_control", ["-d", String(child.pid)], { stdio: "ignore" });
    for (let i = 0; i < 1200; i++) {
      const files = readdirSync(dir).filter((f) => /^cg\.\d+\.\d+$/.test(f)); // cg.<pid>.<dump>
      const totals = files.map((f) => /^totals: (\d+)/m.exec(readFileSync(join(dir, f), "utf8")));
      if (files.length > 0 && totals.every(Boolean)) {
        for (const f of files) rmSync(join(dir, f));
        return totals.reduce((sum, m) => sum + Number(m![1]), 0);
      }
      await sleep(50);
    }
    throw new Error("callgrind wrote no dump");
  };
  const stop = () => {
    redis.disconnect();
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${port}`, redis, dump, stop };
}

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/**
 * The ratios `--check` holds to floors.json's "instructions" floors: a baseline row's count over
 * the project's row's (higher is better, like the time ratios of bench/run.ts). Instructions do
 * not move with the machine's load, so these floors sit about 7 % under the measured ratios and
 * catch a script a tenth dearer, where the time ratios' floors must allow for a noisy machine
 * and catch only a doubled cost.
 */
const INSTRUCTION_RATIOS = [
  { name: "atr 30 bars miss, plain string-ARGV script/project", baseline: "plain atr, 91 string ARGV", project: "atr 30 bars, miss" },
  { name: "atr 30 bars miss, plain packed script/project", baseline: "plain atr, packed", project: "atr 30 bars, miss" },
  { name: "atr hit, GET-only script with the same ARGV/project", baseline: "GET-only script, atr ARGV", project: "atr 30 bars, hit" },
  { name: "vwap 375 ticks miss, plain packed script/project", baseline: "plain vwap with sigma, packed", project: "vwap 375 ticks, miss" },
  { name: "vwap ticks hit, GET-only script with the same ARGV/project", baseline: "GET-only script, vwap ticks ARGV", project: "vwap 375 ticks, hit" },
  { name: "dispatch miss, plain one-script chain/project", baseline: "plain dispatch chain", project: "dispatch 30 bars, 5 news, miss" },
  { name: "stream update (tick), plain script/project", baseline: "plain stream tick (the same KEYS, ARGV and reply)", project: "stream update (tick)" },
  { name: "stream update (bar), plain script/project", baseline: "plain stream bar (the same KEYS, ARGV and reply)", project: "stream update (bar)" },
  {
    name: "stream update (tick, 32 a call), plain lone tick/project per tick",
    baseline: "plain stream tick (the same KEYS, ARGV and reply)",
    project: `stream update (tick), ${MAX_STREAM_UPDATES_PER_CALL} a call, per tick`,
  },
] as const;

const check = process.argv.includes("--check");
const floors = check ? instructionFloors() : {};
const counted = await startCountedRedis();
try {
  const calls = arg("--calls", 200);
  const { redis, dump } = counted;
  const math = MathDispatcher.connect({ url: counted.url });
  await redis.select(10); // the cache database, where the SDK's calls run too
  for (const script of SCRIPTS) await redis.script("LOAD", script.source);
  const s = await serverScenarios(math, redis);

  // the same scripts as Functions libraries, for the FCALL rows
  const libraries = buildFunctionsLibraries(SCRIPTS);
  await loadLibraries(redis, libraries);
  const byFunction = new Map(libraries.map(({ fn }) => [fn.sha1, fn.functionName]));

  /**
   * A full collection of the scripts' Lua heap, just before a row's window opens. Redis takes a
   * step of its Lua garbage collector every 50 script calls, and what that step costs follows
   * the heap: without this, the garbage earlier rows left moved a row's count by several
   * thousand, and the order of the rows showed in the ratios. (The Functions engine has a heap
   * of its own, which this leaves alone: the FCALL rows are in no ratio.)
   */
  const settle = () => redis.eval("collectgarbage('collect') return 0", 0);

  /** Instructions per call over `batch` (as FCALL with `fcall`), sent as one pipeline after one unmeasured round. */
  const perCall = async (batch: () => RawCall[], fcall = false): Promise<number> => {
    const send = async (list: RawCall[]) => {
      const pipeline = redis.pipeline();
      for (const c of list) {
        if (fcall) pipeline.fcall(byFunction.get(c.sha1) as string, c.keys.length, ...c.keys, ...c.args);
        else pipeline.evalsha(c.sha1, c.keys.length, ...c.keys, ...c.args);
      }
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    };
    await send(batch()); // fills the cache for a hit, warms the rest
    const measured = batch();
    await settle();
    await dump();
    await send(measured);
    return (await dump()) / measured.length;
  };
  const atr = s.atrCall(s.bars30);
  const getOnly = (call: { keys: readonly string[]; args: readonly (string | Buffer)[] }) => () =>
    s.plain("get_only", [...call.args], calls, [call.keys[0] as string]);
  /**
   * Instructions per update of `perSymbol` ticks or bars of each of `symbols` symbols a batch, sent
   * with updateMany (one stream_update call per symbol for one update, else one
   * stream_update_many), in steady state: one unmeasured batch first writes every symbol's state.
   */
  const live = math.streaming({ atrPeriod: 14 });
  let seq = 0;
  const perUpdate = async (kind: "tick" | "bar", symbols: number, perSymbol: number) => {
    const batch = (count: number) => {
      const updates = liveUpdates(kind, symbols, count, seq);
      seq += updates.length;
      return updates;
    };
    await live.updateMany(batch(1));
    await settle();
    await dump();
    let sent = 0;
    while (sent < calls) {
      const measured = batch(perSymbol);
      for (const outcome of await live.updateMany(measured)) if (!outcome.ok) throw outcome.error;
      sent += measured.length;
    }
    return (await dump()) / sent;
  };
  const rows: [string, () => Promise<number>][] = [
    ["atr 30 bars, hit", () => perCall(() => s.hits(atr, calls))],
    ["GET-only script, atr ARGV", () => perCall(getOnly(atr))],
    ["atr 30 bars, miss", () => perCall(() => s.misses(atr, calls))],
    ["atr 30 bars, miss, FCALL", () => perCall(() => s.misses(atr, calls), true)],
    ["plain atr, packed", () => perCall(() => s.plain("atr_packed", s.atrPacked(s.bars30), calls))],
    ["plain atr, 91 string ARGV", () => perCall(() => s.plain("atr_strings", s.atrStrings(s.bars30), calls))],
    ["vwap 375 ticks, hit", () => perCall(() => s.hits(s.vwapTicks, calls))],
    ["GET-only script, vwap ticks ARGV", () => perCall(getOnly(s.vwapTicks))],
    ["vwap 375 ticks, miss", () => perCall(() => s.misses(s.vwapTicks, calls))],
    ["vwap 375 ticks, miss, FCALL", () => perCall(() => s.misses(s.vwapTicks, calls), true)],
    ["vwap 375 ticks, miss, store: false", () => perCall(() => s.misses(s.unstored(s.vwapTicks), calls))],
    ["plain vwap with sigma, packed", () => perCall(() => s.plain("vwap_packed", s.vwapPacked(s.ticks375), calls))],
    ["dispatch 30 bars, 5 news, miss", () => perCall(() => s.misses(s.dispatchCall, calls))],
    ["dispatch 30 bars, 5 news, miss, FCALL", () => perCall(() => s.misses(s.dispatchCall, calls), true)],
    ["dispatch 30 bars, 5 news, miss, store: false", () => perCall(() => s.misses(s.unstored(s.dispatchCall), calls))],
    ["plain dispatch chain", () => perCall(() => s.plain("dispatch_plain", s.dispatchPlain, calls))],
    ["stream update (tick)", () => perUpdate("tick", 50, 1)],
    ["plain stream tick (the same KEYS, ARGV and reply)", () => perCall(() => s.lone("stream_update_plain", "PLAIN", 50, calls))],
    ["GET-only script, a tick's KEYS and ARGV", () => perCall(() => s.lone("stream_update_plain", "GETONLY", 50, calls).map((c) => s.plain("get_only", c.args, 1, c.keys)[0] as RawCall))],
    ["stream update (bar)", () => perUpdate("bar", 50, 1)],
    ["plain stream bar (the same KEYS, ARGV and reply)", () => perCall(() => s.lone("stream_update_plain", "PLAINBAR", 50, calls, "bar"))],
    [`stream update (tick), ${MAX_STREAM_UPDATES_PER_CALL} a call, per tick`, () => perUpdate("tick", 1, MAX_STREAM_UPDATES_PER_CALL)],
    [
      "GET (a client's command)",
      async () => {
        await settle();
        await dump();
        const pipeline = redis.pipeline();
        for (let i = 0; i < calls; i++) pipeline.get("bench:key");
        await pipeline.exec();
        return (await dump()) / calls;
      },
    ],
  ];
  const known = new Set(rows.map(([name]) => name));
  const wanted = check ? new Set(INSTRUCTION_RATIOS.flatMap((r) => [r.baseline, r.project])) : known;
  for (const name of wanted) if (!known.has(name)) throw new Error(`INSTRUCTION_RATIOS names a row this file does not measure: ${name}`);
  const counts = new Map<string, number>();
  for (const [name, measure] of rows) {
    if (!wanted.has(name)) continue;
    const count = await measure();
    counts.set(name, count);
    process.stderr.write(`${name}: ${(count / 1000).toFixed(1)}k\n`);
  }
  if (check) process.exitCode = checkFloors(counts, floors);
  else {
    const lines = ["| calls of | instructions per call |", "| --- | --- |", ...[...counts].map(([name, count]) => `| ${name} | ${(count / 1000).toFixed(1)}k |`)];
    const report = [`# Redis instructions per call (callgrind, ${calls} calls each, ${new Date().toISOString()})`, "", ...lines, ""].join("\n");
    writeFileSync(join(import.meta.dirname, "results", "instructions.md"), report);
    console.log(report);
  }
  await math.close();
} finally {
  counted.stop();
}

type Floors = Record<string, { floor: number; why: string }>;

/**
 * floors.json's "instructions" floors, one for each ratio of {@link INSTRUCTION_RATIOS} and none
 * for another: exits at once when the two lists have drifted apart.
 */
function instructionFloors(): Floors {
  const floors = (JSON.parse(readFileSync(join(import.meta.dirname, "floors.json"), "utf8")) as { instructions: Floors }).instructions;
  const named = new Set<string>(INSTRUCTION_RATIOS.map((r) => r.name));
  const drift = [...Object.keys(floors).filter((name) => !named.has(name)), ...[...named].filter((name) => typeof floors[name]?.floor !== "number")];
  if (drift.length > 0) {
    console.error(`INSTRUCTION CHECK: floors.json "instructions" and INSTRUCTION_RATIOS disagree (a ratio without a numeric floor, or a floor without a ratio): ${drift.join("; ")}`);
    process.exit(2);
  }
  return floors;
}

/**
 * Prints each ratio of {@link INSTRUCTION_RATIOS} with its floor, and a `BELOW FLOOR:` line (the
 * form bench/run.ts prints and .ci/run repeats) for each one under it; returns the exit status.
 */
function checkFloors(counts: ReadonlyMap<string, number>, floors: Floors): number {
  let below = 0;
  console.log("| instructions, baseline/project (higher is better) | ratio | floor |\n| --- | --- | --- |");
  for (const r of INSTRUCTION_RATIOS) {
    const ratio = (counts.get(r.baseline) as number) / (counts.get(r.project) as number);
    const { floor, why } = floors[r.name] as { floor: number; why: string };
    console.log(`| ${r.name} | ${ratio.toFixed(3)} | ${floor} |`);
    if (!(ratio >= floor)) {
      below++;
      console.log(`BELOW FLOOR: instructions: ${r.name}: ${ratio.toFixed(3)} < floor ${floor}`);
      console.log(`  why this floor: ${why}`);
    }
  }
  console.log(below === 0 ? "all instruction ratios at or above their floors" : "");
  return below === 0 ? 0 : 1;
}
