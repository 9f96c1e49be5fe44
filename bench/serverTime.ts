/**
 * Server time: what each script costs Redis, the core the whole trading stack shares, next to
 * the plain scripts of bench/baselines/ doing the same math, all measured in one run.
 *
 * A figure is microseconds per EVALSHA from INFO commandstats (after CONFIG RESETSTAT) over a
 * pipeline of calls to one script; the calls are prepared before the reset, so only server work
 * counts. Each ratio pairs two such figures taken one after the other in the same repetition.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { SCRIPT_FUNCTIONS, type BatchCall, type MathDispatcher } from "../src/dispatcher/MathDispatcher.js";
import { dispatchFunction, signalSchema } from "../src/dispatcher/dispatch.js";
import { parseInput } from "../src/dispatcher/inputs.js";
import { prepareCall, scriptCall } from "../src/dispatcher/scriptFunction.js";
import type { ScriptCall } from "../src/dispatcher/scriptRunner.js";
import { packDoubles, unitsToText } from "../src/core/units.js";
import { indicatorKey } from "../src/keys/indicator.js";
import { readOnlyCall } from "../src/core/manifest.js";
import { MAX_DISPATCH_BARS, MAX_POINTS as MAX_HISTORY, MAX_NEWS_ITEMS, MAX_POINTS_PER_CALL as MAX_POINTS, MAX_SERIES_POINTS_PER_CALL as MAX_SERIES, MAX_STREAM_UPDATES_PER_CALL } from "../src/dispatcher/limits.js";
import { buildFunctionsLibraries, functionName } from "../src/build/functionsLibrary.js";
import { loadLibraries } from "../src/cluster/loader.js";
import { SCRIPTS } from "../src/generated/scripts.js";
import { CLAIM_PAGE, PENDING_PAGE, SCAN_PAGE, STREAM_READ_PAGE } from "../src/redis/pageSizes.js";
import { DATABASES } from "../src/redis/databases.js";
import { tickStreamKey } from "../src/keys/marketData.js";
import { TickConsumer } from "../src/streaming/tickConsumer.js";
import { barsOf, liveUpdates, NOW, newsItems, signal, ticksOf } from "./scenarios.js";

/** A raw EVALSHA: script SHA1, KEYS, ARGV. */
export interface RawCall {
  sha1: string;
  keys: string[];
  args: (string | Buffer)[];
}

export interface ServerTimeHooks {
  reps: number;
  calls: number;
  figure(name: string, unit: string, values: number[]): void;
  ratio(name: string, values: number[]): void;
  progress(what: string): void;
}

/** The longest a call may hold the server (issue 10): a floor of 1 for `2 ms / longest call`. */
export const MAX_CALL_US = 2000;

const BASELINES = ["atr_strings", "atr_packed", "vwap_strings", "vwap_packed", "dispatch_plain", "get_only", "stream_update_plain"] as const;
type Baseline = (typeof BASELINES)[number];
/** `stream_update` and its plain twin. */
type StreamScript = "stream_update" | "stream_update_plain";

/** Microseconds of server time per EVALSHA over `calls`, sent in pipelines of 100. */
async function serverUs(redis: Redis, calls: readonly RawCall[]): Promise<number> {
  await redis.config("RESETSTAT");
  for (let i = 0; i < calls.length; i += 100) {
    const pipeline = redis.pipeline();
    for (const c of calls.slice(i, i + 100)) pipeline.evalsha(c.sha1, c.keys.length, ...c.keys, ...c.args);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
  const stats = (await redis.info("commandstats")) as string;
  const match = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(stats);
  if (!match || Number(match[1]) !== calls.length) throw new Error(`commandstats counted ${match?.[1]} of ${calls.length} calls`);
  return Number(match[2]) / calls.length;
}

/** Microseconds of server time per FCALL of the Functions libraries over the same calls (issue 12: Functions mode). */
async function fcallUs(redis: Redis, calls: readonly RawCall[], names: ReadonlyMap<string, string>): Promise<number> {
  await redis.config("RESETSTAT");
  for (let i = 0; i < calls.length; i += 100) {
    const pipeline = redis.pipeline();
    for (const c of calls.slice(i, i + 100)) pipeline.call("FCALL", names.get(c.sha1) as string, c.keys.length, ...c.keys, ...c.args);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
  const match = /^cmdstat_fcall:calls=(\d+),usec=(\d+)/m.exec((await redis.info("commandstats")) as string);
  if (!match || Number(match[1]) !== calls.length) throw new Error(`commandstats counted ${match?.[1]} of ${calls.length} FCALLs`);
  return Number(match[2]) / calls.length;
}

/**
 * Refuses a plain script that answers otherwise than the project's: each pair of calls (the
 * same input, on keys of their own) sent in turn, every reply value equal (numbers to 1e-9
 * relative: the plain scripts do not compensate their sums), so that a ratio compares the same work.
 */
async function sameAnswers(redis: Redis, pairs: readonly [project: RawCall, plain: RawCall][]): Promise<void> {
  for (const calls of pairs) {
    const [a, b] = (await Promise.all(calls.map((c) => redis.evalsha(c.sha1, c.keys.length, ...c.keys, ...c.args)))) as [unknown[], unknown[]];
    const close = (x: unknown, y: unknown) => x !== "" && y !== "" && Math.abs(Number(x) - Number(y)) <= 1e-9 * Math.abs(Number(x)); // '' is no 0
    const same = a.length === b.length && a.every((x, i) => x === b[i] || close(x, b[i]));
    if (!same) throw new Error(`a plain script answers ${JSON.stringify(b)} where the project answers ${JSON.stringify(a)}`);
  }
}

/** Microseconds per GET, measured the same way. */
async function getUs(redis: Redis, count: number): Promise<number> {
  await redis.config("RESETSTAT");
  const pipeline = redis.pipeline();
  for (let i = 0; i < count; i++) pipeline.get("bench:key");
  await pipeline.exec();
  const match = /^cmdstat_get:calls=(\d+),usec=(\d+)/m.exec((await redis.info("commandstats")) as string);
  return Number(match?.[2]) / count;
}

/**
 * The longest call (SLOWLOG, microseconds) among `run`'s calls, as their 90th percentile: SLOWLOG
 * times wall clock, so on a loaded machine the maximum of a hundred equal calls measures the
 * scheduler, not the script. A single-call scenario runs its call ten times for the same reason.
 */
async function longestCallUs(redis: Redis, run: () => Promise<unknown>, command = "evalsha"): Promise<number> {
  await redis.slowlog("RESET");
  await run();
  const entries = (await redis.slowlog("GET", 1000)) as [number, number, number, string[]][];
  const durations = entries
    .filter((e) => String(e[3][0]).toLowerCase() === command)
    .map((e) => e[2])
    .sort((a, b) => a - b);
  if (durations.length === 0) throw new Error(`SLOWLOG recorded no ${command}`);
  return durations[Math.ceil(0.9 * durations.length) - 1] as number;
}

/** Symbols of the bench's tick consumer: as many as one consumer of NSE F&O stocks reads. */
const CONSUMER_SYMBOLS = 200;

/**
 * The control plane's pages (src/redis/pageSizes.ts) over a day's worth of one symbol's ticks,
 * all pending for a consumer that stopped: the chart's XRANGE, the tick consumer's XPENDING and
 * XAUTOCLAIM (taking every entry over, as a new consumer does), the tick consumer's own reads of
 * CONSUMER_SYMBOLS streams with a backlog, and the health report's SCAN.
 */
async function controlPlanePages(math: MathDispatcher, redis: Redis, hooks: ServerTimeHooks): Promise<void> {
  const stream = "ticks:{BENCHCONTROL}";
  const entries = 20_000;
  await redis.del(stream);
  for (let i = 0; i < entries; i += 1000) {
    const pipeline = redis.pipeline();
    for (let j = i; j < i + 1000; j++) pipeline.xadd(stream, "*", "price", "24000.05", "volume", "75", "ts", String(NOW + j), "seq", String(j));
    await pipeline.exec();
  }
  await redis.xgroup("CREATE", stream, "bench", "0");
  await redis.xreadgroup("GROUP", "bench", "stopped", "COUNT", entries, "STREAMS", stream, ">");
  // a tick consumer of many symbols, each stream with more than one read's backlog (a restart at the open)
  const consumerSymbols = Array.from({ length: CONSUMER_SYMBOLS }, (_, i) => `BENCHREAD${i}`);
  const ticks = redis.duplicate({ db: DATABASES.continuous_market.db });
  for (const symbol of consumerSymbols) {
    const pipeline = ticks.pipeline();
    for (let j = 0; j < 64; j++) pipeline.xadd(tickStreamKey(symbol), "*", "price", "24000.05", "volume", "75", "ts", String(NOW + j), "seq", String(j));
    await pipeline.exec();
  }
  const pages = async (read: (start: string) => Promise<string | undefined>) => {
    for (let start: string | undefined = "-"; start !== undefined; ) start = await read(start);
  };
  const next = (page: unknown[], size: number) => (page.length < size ? undefined : `(${(page.at(-1) as [string])[0]}`);
  const commands: [string, string, () => Promise<unknown>][] = [
    [`XRANGE of ${STREAM_READ_PAGE} entries (mathd chart)`, "xrange", () => pages(async (start) => next(await redis.xrange(stream, start, "+", "COUNT", STREAM_READ_PAGE), STREAM_READ_PAGE))],
    [`XPENDING of ${PENDING_PAGE} entries (tick consumer)`, "xpending", () => pages(async (start) => next((await redis.xpending(stream, "bench", start, "+", PENDING_PAGE)) as unknown[], PENDING_PAGE))],
    [
      `XAUTOCLAIM of ${CLAIM_PAGE} entries (tick consumer)`,
      "xautoclaim",
      async () => {
        let cursor = "0-0";
        do [cursor] = (await redis.xautoclaim(stream, "bench", `claimer${Math.random()}`, 0, cursor, "COUNT", CLAIM_PAGE, "JUSTID")) as [string, string[]];
        while (cursor !== "0-0");
      },
    ],
    [
      `XREADGROUP of ${CONSUMER_SYMBOLS} streams' backlogs (tick consumer)`,
      "xreadgroup",
      async () => {
        const consumer = new TickConsumer(ticks, math.streaming(), { symbols: consumerSymbols, consumer: `bench${Math.random()}`, group: `bench${Math.random()}`, blockMs: 1 });
        await consumer.ensureGroups();
        while ((await consumer.runOnce()) > 0);
      },
    ],
    [
      `SCAN COUNT ${SCAN_PAGE} (mathd health)`,
      "scan",
      async () => {
        let cursor = "0";
        do [cursor] = await redis.scan(cursor, "COUNT", SCAN_PAGE);
        while (cursor !== "0");
      },
    ],
  ];
  const longest: number[] = [];
  for (const [label, command, run] of commands) {
    hooks.progress(`control plane: ${label}`);
    const values: number[] = [];
    for (let i = 0; i < Math.min(hooks.reps, 3); i++) values.push(await longestCallUs(redis, run, command));
    hooks.figure(`server longest control-plane page: ${label}`, "us", values);
    values.forEach((v, i) => (longest[i] = Math.max(longest[i] ?? 0, v)));
  }
  hooks.ratio(`server: ${MAX_CALL_US} us/longest control-plane page`, longest.map((v) => MAX_CALL_US / v));
  await redis.del(stream);
  await ticks.del(...consumerSymbols.map((symbol) => tickStreamKey(symbol)));
  ticks.disconnect();
}

const pack = (rows: readonly (readonly number[])[]) => packDoubles(rows, rows[0]?.length ?? 0);

/** Minor page faults of the server's process so far, when it runs on this machine (else undefined). */
async function pageFaults(redis: Redis): Promise<number | undefined> {
  const pid = /process_id:(\d+)/.exec((await redis.info("server")) as string)?.[1];
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[7]); // minflt, field 10
  } catch {
    return undefined;
  }
}

/** Microseconds this machine takes to touch a page of fresh memory for the first time. */
function firstTouchUs(): number {
  const pages = 8192; // 32 MB: taken with mmap, so every page is fresh
  const memory = Buffer.allocUnsafeSlow(pages * 4096);
  const started = process.hrtime.bigint();
  for (let i = 0; i < pages; i++) memory[i * 4096] = 1;
  return Number(process.hrtime.bigint() - started) / 1e3 / pages;
}

/**
 * What a miss adds to DB 10: its entry's memory (MEMORY USAGE), and the pages of fresh memory the
 * server first touches per miss as the cache grows. Where a first touch is dear (15-24 us on the
 * VM these figures come from, against well under 1 us on bare metal), those pages are a large share
 * of a miss's server time, though no instruction count shows them (docs/SCALING.md, "Memory").
 */
async function missMemory(
  redis: Redis,
  cases: readonly (readonly [string, ScriptCall])[],
  misses: (call: ScriptCall, count: number) => RawCall[],
  calls: number,
  hooks: ServerTimeHooks,
): Promise<void> {
  hooks.figure("first touch of a page of fresh memory, this machine", "us", [firstTouchUs()]);
  for (const [label, call] of cases) {
    const [one] = misses(call, 1) as [RawCall];
    await serverUs(redis, [one]);
    hooks.figure(`server memory per miss entry: ${label}`, "bytes", [Number(await redis.memory("USAGE", one.keys[0] as string))]);
    const before = await pageFaults(redis);
    if (before === undefined) continue;
    await serverUs(redis, misses(call, calls));
    hooks.figure(`server pages first touched per miss: ${label}`, "pages", [((await pageFaults(redis)) as number - before) / calls]);
  }
}

/**
 * The calls every server-side measurement sends, in the units each side takes: the project's
 * scripts on the bench scenarios (a hit repeats a call; a miss gets a fresh symbol, so a fresh
 * cache key) and the plain scripts of bench/baselines/, loaded here. Shared by this file and
 * bench/instructions.ts, so both measure the very same calls.
 */
export async function serverScenarios(math: MathDispatcher, redis: Redis) {
  const sha: Record<Baseline, string> = {} as Record<Baseline, string>;
  for (const name of BASELINES) {
    sha[name] = (await redis.script("LOAD", readFileSync(join(import.meta.dirname, "baselines", `${name}.lua`), "utf8"))) as string;
  }
  await redis.set("bench:key", "x".repeat(200));
  let counter = 0;
  /** `count` copies of a project call, each on a fresh symbol (a fresh cache key: a miss). */
  const misses = (call: ScriptCall, count: number): RawCall[] => {
    const sha1 = math.runner.entry(call.script).sha1;
    return Array.from({ length: count }, () => ({
      sha1,
      keys: call.keys.map((k) => k.replace(":BENCH:", `:M${counter++}:`)),
      args: [...call.args],
    }));
  };
  const hits = (call: ScriptCall, count: number): RawCall[] => {
    const sha1 = math.runner.entry(call.script).sha1;
    return Array.from({ length: count }, () => ({ sha1, keys: [...call.keys], args: [...call.args] }));
  };
  const plain = (name: Baseline, args: (string | Buffer)[], count: number, keys: string[] = []): RawCall[] =>
    Array.from({ length: count }, () => ({ sha1: sha[name], keys, args }));
  const fn = (c: BatchCall): ScriptCall => {
    const f = SCRIPT_FUNCTIONS[c.fn];
    return prepareCall(f, math.runner.entry(f.script), c.input, {});
  };

  // the scenarios, in the units each side takes
  const bars30 = barsOf(30);
  const barsLong = barsOf(MAX_POINTS); // the per-point slopes run from the short inputs to the most one call takes
  const ticks375 = ticksOf(375);
  const ticks100 = ticksOf(100);
  const ticksLong = ticksOf(MAX_POINTS);
  const units = (p: number) => Math.round(p * 10_000);
  const atrCall = (bars: typeof bars30) => fn({ fn: "atr", input: { symbol: "BENCH", period: 14, bars } });
  const vwapTicks = fn({ fn: "vwap", input: { symbol: "BENCH", ticks: ticks375 } });
  const vwapBars = fn({ fn: "vwap", input: { symbol: "BENCH", bars: barsOf(375) } });
  const atrStrings = (bars: typeof bars30) => ["14", ...bars.flatMap((b) => [String(b.high), String(b.low), String(b.close)])];
  const atrPacked = (bars: typeof bars30) => ["14", pack(bars.map((b) => [units(b.high), units(b.low), units(b.close)]))];
  const vwapPacked = (ticks: typeof ticks375) => [pack(ticks.map((t) => [units(t.price), t.volume]))];
  const news5 = newsItems(5);
  const dispatchSignal = { ...signal("BENCH"), atr: undefined, atrBars: { period: 14, bars: bars30 }, news: news5 };
  const dispatchCall = (() => {
    const parsed = parseInput(signalSchema, dispatchSignal);
    const resolved = { ...parsed, news: parsed.news ?? [], sources: { news: "given" as const, volumeRatio: "given" as const, volumeRatioUsed: 1.8 } };
    return scriptCall(dispatchFunction, math.runner.entry("dispatch"), resolved, {});
  })();
  const dispatchPlain = [
    "long", String(units(51980.05)), "500", "1.5", "2", "0.62", "1.8", "2000000", "0.01", "35", "4", String(NOW), "14",
    pack(bars30.map((b) => [units(b.high), units(b.low), units(b.close)])),
    pack(news5.map((n) => [n.sentiment, n.relevance, n.publishedAt])),
  ];
  let streamSeq = 0;
  /**
   * `count` lone updates as raw `stream_update` calls (laid out as the SDK's Streaming lays one
   * out), or as calls of its plain twin, bench/baselines/stream_update_plain.lua (the same KEYS
   * and ARGV): round-robin over `symbols` symbols named after `prefix`, each later than the last.
   */
  const lone = (script: StreamScript, prefix: string, symbols: number, count: number, kind: "tick" | "bar" = "tick"): RawCall[] => {
    const text = (price: number | string | undefined) => (price === undefined ? "" : unitsToText(Math.round(Number(price) * 10_000)));
    return liveUpdates(kind, symbols, Math.ceil(count / symbols), streamSeq).slice(0, count).map((u, i) => {
      streamSeq++;
      const symbol = `${prefix}X${i % symbols}`; // ticks and bars alike
      const keys = [indicatorKey("atr14", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi14", symbol)];
      const args = ["14", "14", String(u.ts), String(u.seq), text(u.price), String(u.volume), text(u.high), text(u.low), text(u.close), ""];
      return script === "stream_update" ? { sha1: math.runner.entry(script).sha1, keys, args } : (plain(script, args, 1, keys)[0] as RawCall);
    });
  };
  /** The call as `store: false` sends it: its script's read-only variant, which stores no miss. */
  const unstored = (call: ScriptCall): ScriptCall => readOnlyCall(call, new Set(SCRIPTS.map((s) => s.name)));
  /** A fresh symbol for a call that must not hit the cache. */
  const fresh = (prefix: string) => `${prefix}${counter++}`;
  return {
    misses, hits, plain, fn, fresh, unstored, lone,
    bars30, barsLong, ticks375, ticks100, ticksLong,
    atrCall, vwapTicks, vwapBars, dispatchCall, dispatchSignal,
    atrStrings, atrPacked, vwapPacked, dispatchPlain,
  };
}

export async function measureServerTime(math: MathDispatcher, redis: Redis, hooks: ServerTimeHooks): Promise<void> {
  const { reps, calls } = hooks;
  const scenarios = await serverScenarios(math, redis);
  const { misses, hits, plain, fn, fresh, unstored, bars30, barsLong, ticks375, ticks100, ticksLong } = scenarios;
  const { atrCall, vwapTicks, vwapBars, dispatchCall, dispatchSignal, atrStrings, atrPacked, vwapPacked, dispatchPlain } = scenarios;

  /** A paired ratio of two server-time measurements per repetition: `a / b` (higher is better). */
  const paired = async (name: string, a: [string, () => Promise<number>], b: [string, () => Promise<number>]) => {
    hooks.progress(name);
    const top: number[] = [];
    const bottom: number[] = [];
    for (let i = 0; i < reps; i++) {
      top.push(await a[1]());
      bottom.push(await b[1]());
    }
    hooks.figure(`server ${a[0]}`, "us/call", top);
    hooks.figure(`server ${b[0]}`, "us/call", bottom);
    hooks.ratio(name, top.map((t, i) => t / (bottom[i] as number)));
  };
  const project = (label: string, make: () => RawCall[]): [string, () => Promise<number>] => [label, () => serverUs(redis, make())];

  // fill the caches the hits read
  for (const c of [atrCall(bars30), vwapTicks, vwapBars]) await serverUs(redis, hits(c, 1));

  await paired(
    "server: atr 30 bars miss, plain string-ARGV script/project",
    ["plain atr, 91 string ARGV", () => serverUs(redis, plain("atr_strings", atrStrings(bars30), calls))],
    project("atr 30 bars, miss", () => misses(atrCall(bars30), calls)),
  );
  await paired(
    "server: atr 30 bars miss, plain packed script/project",
    ["plain atr, packed", () => serverUs(redis, plain("atr_packed", atrPacked(bars30), calls))],
    project("atr 30 bars, miss (vs packed)", () => misses(atrCall(bars30), calls)),
  );
  await paired(
    "server: vwap 375 ticks miss, plain packed script/project",
    ["plain vwap with sigma, packed", () => serverUs(redis, plain("vwap_packed", vwapPacked(ticks375), calls))],
    project("vwap 375 ticks, miss", () => misses(vwapTicks, calls)),
  );
  await paired(
    "server: vwap 375 ticks miss, plain string-ARGV script/project",
    ["plain vwap with sigma, 750 string ARGV", () => serverUs(redis, plain("vwap_strings", ticks375.flatMap((t) => [String(t.price), String(t.volume)]), calls))],
    project("vwap 375 ticks, miss (vs strings)", () => misses(vwapTicks, calls)),
  );
  await paired(
    "server: dispatch miss, plain one-script chain/project",
    ["plain dispatch chain, 30 bars, 5 news", () => serverUs(redis, plain("dispatch_plain", dispatchPlain, calls))],
    project("dispatch 30 bars, 5 news, miss", () => misses(dispatchCall, calls)),
  );
  // a miss of a call that asks not to be stored (store: false): its script's read-only variant.
  // What the entry's write costs each miss above (a new key, its expiry, fresh pages).
  for (const [label, call] of [["atr 30 bars", atrCall(bars30)], ["vwap 375 ticks", vwapTicks], ["dispatch", dispatchCall]] as const) {
    await paired(
      `server: ${label} miss, stored/store: false`,
      [`${label}, miss, stored`, () => serverUs(redis, misses(call, calls))],
      [`${label}, miss, store: false`, () => serverUs(redis, misses(unstored(call), calls))],
    );
  }
  await missMemory(redis, [["atr 30 bars", atrCall(bars30)], ["vwap 375 ticks", vwapTicks], ["dispatch 30 bars, 5 news", dispatchCall]], misses, calls, hooks);
  for (const [label, call] of [["atr", atrCall(bars30)], ["vwap ticks", vwapTicks], ["vwap bars", vwapBars]] as const) {
    await paired(
      `server: ${label} hit, GET-only script with the same ARGV/project`,
      [`GET-only script, ${label} ARGV`, () => serverUs(redis, plain("get_only", [...call.args], calls, [call.keys[0] as string]))],
      project(`${label}, hit`, () => hits(call, calls)),
    );
  }

  // the same scripts as Functions libraries (FCALL), against EVALSHA: what Functions mode costs
  await loadLibraries(redis, buildFunctionsLibraries(SCRIPTS));
  const byFunction = new Map(SCRIPTS.map((s) => [s.sha1, functionName(s.name, s.version)]));
  for (const [label, call] of [["atr 30 bars", atrCall(bars30)], ["dispatch", dispatchCall]] as const) {
    await paired(
      `server: ${label} miss, EVALSHA/FCALL`,
      [`${label} miss, EVALSHA`, () => serverUs(redis, misses(call, calls))],
      [`${label} miss, FCALL`, () => fcallUs(redis, misses(call, calls), byFunction)],
    );
  }

  // cost per point: the slope between a short and a long input, project and plain packed script
  const slope = async (long: RawCall[], short: RawCall[], points: number) => ((await serverUs(redis, long)) - (await serverUs(redis, short))) / points;
  const few = Math.max(50, calls / 4);
  await paired(
    "server: us per ATR bar, plain packed/project",
    ["plain packed atr, per bar", () => slope(plain("atr_packed", atrPacked(barsLong), few), plain("atr_packed", atrPacked(bars30), few), MAX_POINTS - 30)],
    ["atr, per bar", () => slope(misses(atrCall(barsLong), few), misses(atrCall(bars30), few), MAX_POINTS - 30)],
  );
  await paired(
    "server: us per VWAP tick, plain packed/project",
    ["plain packed vwap, per tick", () => slope(plain("vwap_packed", vwapPacked(ticksLong), few), plain("vwap_packed", vwapPacked(ticks100), few), MAX_POINTS - 100)],
    [
      "vwap, per tick",
      () => slope(misses(fn({ fn: "vwap", input: { symbol: "BENCH", ticks: ticksLong } }), few), misses(fn({ fn: "vwap", input: { symbol: "BENCH", ticks: ticks100 } }), few), MAX_POINTS - 100),
    ],
  );

  // streaming updates, against a GET
  const live = math.streaming({ atrPeriod: 14 });
  let seq = 0;
  /** Server time per update of `perSymbol` updates of each of `symbols` symbols, sent with updateMany. */
  const streamUs = async (kind: "tick" | "bar", symbols: number, perSymbol: number) => {
    const round = (count: number) => {
      const updates = liveUpdates(kind, symbols, count, seq);
      seq += updates.length;
      return updates;
    };
    await live.updateMany(round(1)); // the states exist before the measured rounds: steady state, no new keys
    await redis.config("RESETSTAT");
    let sent = 0;
    while (sent < calls) {
      const batch = round(perSymbol);
      for (const outcome of await live.updateMany(batch)) if (!outcome.ok) throw outcome.error;
      sent += batch.length;
    }
    const match = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec((await redis.info("commandstats")) as string);
    return Number(match?.[2]) / sent;
  };
  // one update of each of 50 symbols per pipeline: 50 stream_update calls, as before updateMany grouped them
  const updates = (kind: "tick" | "bar") => () => streamUs(kind, 50, 1);
  for (const kind of ["tick", "bar"] as const) {
    await paired(`server: GET/stream update (${kind})`, ["GET", () => getUs(redis, calls * 4)], [`stream update (${kind})`, updates(kind)]);
  }
  // a lone tick and a lone bar against plain scripts of the same KEYS, ARGV and reply, on symbols of
  // their own: what any script of this interface costs (Redis's call, MGET, SETs, reply) beside the
  // project's. First each answers as the project does: 40 bars (ATR and RSI seeded and smoothed), then ticks.
  const { lone } = scenarios;
  const twin = (c: RawCall): RawCall => plain("stream_update_plain", c.args, 1, c.keys.map((k) => k.replace(":CHECK", ":CHECKPLAIN")))[0] as RawCall;
  for (const [count, kind] of [[40, "bar"], [3, "tick"]] as const) {
    await sameAnswers(redis, lone("stream_update", "CHECK", 1, count, kind).map((c) => [c, twin(c)]));
  }
  for (const kind of ["tick", "bar"] as const) {
    const [own, theirs] = [`RAW${kind.toUpperCase()}`, `PLAIN${kind.toUpperCase()}`];
    for (const [script, prefix] of [["stream_update", own], ["stream_update_plain", theirs]] as const) await serverUs(redis, lone(script, prefix, 50, 50, kind)); // the states exist
    await paired(
      `server: stream update (${kind}), plain script/project`,
      [`plain stream ${kind}`, () => serverUs(redis, lone("stream_update_plain", theirs, 50, calls, kind))],
      [`stream update (${kind}), raw calls`, () => serverUs(redis, lone("stream_update", own, 50, calls, kind))],
    );
  }
  // the tick consumer's way: a read's ticks of a symbol in one stream_update_many call each
  await paired(
    `server: GET/stream update (tick, ${MAX_STREAM_UPDATES_PER_CALL} a call)`,
    ["GET", () => getUs(redis, calls * 4)],
    [`stream update (tick, ${MAX_STREAM_UPDATES_PER_CALL} a call)`, () => streamUs("tick", 1, MAX_STREAM_UPDATES_PER_CALL)],
  );

  // the longest call at the largest input each function accepts, and a long history in chunks
  await redis.config("SET", "slowlog-log-slower-than", "0");
  await redis.config("SET", "slowlog-max-len", "1000");
  const bigBars = barsOf(MAX_POINTS);
  const bigTicks = ticksOf(MAX_POINTS);
  const history = barsOf(MAX_HISTORY);
  const largest: [string, () => Promise<unknown>][] = [
    [`atr ${MAX_POINTS} bars`, () => math.atr({ symbol: fresh("BIG"), period: 14, bars: bigBars })],
    [`atr ${MAX_SERIES} bars with series`, () => math.atr({ symbol: fresh("BIG"), period: 14, bars: bigBars.slice(0, MAX_SERIES), series: true })],
    [`vwap ${MAX_POINTS} bars`, () => math.vwap({ symbol: fresh("BIG"), bars: bigBars })],
    [`vwap ${MAX_POINTS} ticks`, () => math.vwap({ symbol: fresh("BIG"), ticks: bigTicks })],
    [`news boost ${MAX_NEWS_ITEMS} items`, () => math.newsBoost({ symbol: fresh("BIG"), side: "long", now: NOW, items: newsItems(MAX_NEWS_ITEMS) })],
    [
      `dispatch ${MAX_DISPATCH_BARS} bars, ${MAX_NEWS_ITEMS} news`,
      () => math.dispatch({ ...dispatchSignal, symbol: fresh("BIG"), atrBars: { period: 14, bars: bigBars.slice(0, MAX_DISPATCH_BARS) }, news: newsItems(MAX_NEWS_ITEMS) }),
    ],
    [
      `stream updates, ${MAX_STREAM_UPDATES_PER_CALL} bars of one symbol`,
      () => {
        const symbol = fresh("BIGSTREAM");
        return live.updateMany(barsOf(MAX_STREAM_UPDATES_PER_CALL).map((b, i) => ({ symbol, ts: NOW + i, seq: i, ...b })));
      },
    ],
    [`atr over ${MAX_HISTORY} bars in chunks, with series`, () => math.atr({ symbol: fresh("BIG"), period: 14, bars: history, series: true })],
    [`vwap over ${MAX_HISTORY} bars in chunks`, () => math.vwap({ symbol: fresh("BIG"), bars: history })],
  ];
  const longest: number[] = [];
  const tenTimes = (run: () => Promise<unknown>) => async () => {
    for (let i = 0; i < 10; i++) await run();
  };
  for (const [label, run] of largest) {
    hooks.progress(`longest call: ${label}`);
    const values: number[] = [];
    const repeated = label.includes("in chunks") ? run : tenTimes(run);
    for (let i = 0; i < Math.min(reps, 3); i++) values.push(await longestCallUs(redis, repeated));
    hooks.figure(`server longest call: ${label}`, "us", values);
    values.forEach((v, i) => (longest[i] = Math.max(longest[i] ?? 0, v)));
  }
  hooks.ratio(`server: ${MAX_CALL_US} us/longest call at any accepted input`, longest.map((v) => MAX_CALL_US / v));

  // loading holds the server too, while Redis compiles the text: every script (SCRIPT LOAD) and
  // every Functions library (FUNCTION LOAD, one per script version), from empty, as after a restart
  hooks.progress("longest load");
  const loads = { script: [] as number[], library: [] as number[] };
  for (let i = 0; i < Math.min(reps, 3); i++) {
    await redis.script("FLUSH");
    await redis.call("FUNCTION", "FLUSH");
    await redis.slowlog("RESET");
    for (const script of SCRIPTS) await redis.script("LOAD", script.source);
    await loadLibraries(redis, buildFunctionsLibraries(SCRIPTS));
    const entries = (await redis.slowlog("GET", 1000)) as [number, number, number, string[]][];
    const longestOf = (command: string) => Math.max(...entries.filter((e) => `${e[3][0]} ${e[3][1]}`.toLowerCase() === command).map((e) => e[2]));
    loads.script.push(longestOf("script load"));
    loads.library.push(longestOf("function load"));
  }
  hooks.figure("server longest load: SCRIPT LOAD of a script", "us", loads.script);
  hooks.figure("server longest load: FUNCTION LOAD of a library", "us", loads.library);
  hooks.ratio(`server: ${MAX_CALL_US} us/longest script or library load`, loads.script.map((v, i) => MAX_CALL_US / Math.max(v, loads.library[i] as number)));
  await controlPlanePages(math, redis, hooks);
  await redis.config("SET", "slowlog-log-slower-than", "10000");
}
