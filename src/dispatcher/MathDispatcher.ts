/**
 * The typed entry point: validates inputs, runs the Lua scripts with EVALSHA (or FCALL of the
 * Functions library) through a {@link ResilientRedis} and returns typed results, each cached in
 * DB 10 by the script itself (and, when asked, in an in-process tier in front of it). On a Redis
 * Cluster every key family lives in DB 0, keys carry hash tags, and many-symbol calls go as one
 * pipeline per master (docs/SCALING.md, "Redis Cluster").
 */
import { Cluster, ReplyError, type Redis } from "ioredis";
import { clusterNodesFromEnv, type StartupNode } from "../cluster/config.js";
import { isRedirection, runKeyed } from "../cluster/pipeline.js";
import { ConfigurationError, InvalidInputError, MathDispatcherError, replyErrorOf } from "../core/errors.js";
import { optionNames, refuseUnknownOptions, refuseUnlistedValue } from "../core/options.js";
import { SCRIPTS } from "../generated/scripts.js";
import type { KeyOptions } from "../keys/symbol.js";
import type { RedisConfigInput } from "../redis/config.js";
import { type CallOptions, RESILIENT_REDIS_OPTIONS, ResilientRedis, type ResilientRedisOptions } from "../redis/ResilientRedis.js";
import { StreamingIndicators, type StreamingOptions } from "./streaming.js";
import { attempt, attemptEach, type BatchOutcome, type Prepared, requireArray, runPrepared, unwrap } from "./batch.js";
import { type Decision, dispatchFunction, type ParsedSignal, type ResolvedSignal, type Signal, signalSchema } from "./dispatch.js";
import { type AnyFunction, type BatchCall, FUNCTION_NAMES, type FunctionName, type FunctionTypes, SCRIPT_FUNCTIONS } from "./functions.js";
import { atrFunction } from "./atr.js";
import { needsChunks, runChunked } from "./chunked.js";
import { parseInput } from "./inputs.js";
import { MAX_DISPATCH_BARS } from "./limits.js";
import { ResultTier, type ResultTierOptions } from "./resultTier.js";
import { decodeResult, type ResultMeta, scriptCall } from "./scriptFunction.js";
import { type CallBudget, callBudget, checkCallOptions, roundTripWithin, type ScriptCall, type ScriptCallOptions, ScriptRunner, type ScriptRunnerOptions } from "./scriptRunner.js";
import { type KeyReader, pipelineReader, readSignalInputs, type StoredSignalInputs } from "./signalInputs.js";

const MATH_DISPATCHER_OPTIONS = optionNames<MathDispatcherOptions>({ hashTag: true, resultCache: true, scriptMode: true, readFrom: true });
/** What `connect` takes besides those: the resilient client's policy (its connection comes from the target). */
const CONNECT_OPTIONS = [...MATH_DISPATCHER_OPTIONS, ...RESILIENT_REDIS_OPTIONS.filter((name) => !["config", "connection", "cluster"].includes(name))];

export type { BatchOutcome } from "./batch.js";
export { type BatchCall, type FunctionName, type FunctionTypes, SCRIPT_FUNCTIONS } from "./functions.js";

/** Options of {@link MathDispatcher}. */
export interface MathDispatcherOptions extends KeyOptions, ScriptRunnerOptions {
  /**
   * Keep results in this process too, bounded by entries and bytes: a repeated call with the
   * same inputs then costs no round trip (its `cache` says `memory`). Off by default.
   */
  resultCache?: ResultTierOptions;
}

/** Options of {@link MathDispatcher.connect}: the dispatcher's and the resilient client's. */
export type ConnectOptions = MathDispatcherOptions & Omit<ResilientRedisOptions, "config" | "connection" | "cluster">;

/**
 * Where {@link MathDispatcher.connect} goes: connection settings, and `cluster` (startup nodes or
 * an ioredis Cluster) for a Redis Cluster; without `cluster`, `url` or `host`, the environment's
 * `MATHD_CLUSTER_NODES=host:port,...` selects cluster mode.
 */
export type ConnectTarget = RedisConfigInput & { cluster?: readonly StartupNode[] | Cluster };

/** The single-function methods, one per entry of the registry (`math.atr(input)`, ...). */
export type SingleFunctionMethods = {
  [K in keyof FunctionTypes]: (input: FunctionTypes[K][0], options?: ScriptCallOptions) => Promise<FunctionTypes[K][1] & ResultMeta>;
};

/** The result of function `K` with its {@link ResultMeta}: what `run` and `batch` give for a call of `fn: K`. */
export type ResultOf<K extends FunctionName> = FunctionTypes[K][1] & ResultMeta;

/** The result of any one function, with its {@link ResultMeta}. */
export type AnyResult = ResultOf<FunctionName>;

/**
 * The outcomes of {@link MathDispatcher.batch}, each typed by its call's `fn`: for an array
 * literal, a tuple (`[BatchOutcome<AtrResult & ResultMeta>, BatchOutcome<VwapResult & ResultMeta>]`).
 */
export type BatchOutcomes<C extends readonly BatchCall[]> = {
  -readonly [I in keyof C]: C[I] extends { fn: infer K extends FunctionName } ? BatchOutcome<ResultOf<K>> : never;
};

function functionOf(fn: unknown, field: string): AnyFunction {
  if (typeof fn !== "string" || !Object.hasOwn(SCRIPT_FUNCTIONS, fn)) {
    throw new InvalidInputError(field, `unknown function ${JSON.stringify(fn)}; known: ${FUNCTION_NAMES.join(", ")}`);
  }
  return SCRIPT_FUNCTIONS[fn as FunctionName];
}

/**
 * A copy of a result the in-process tier holds (frozen, shared), marked as answered from memory.
 * Object.assign, not a spread: V8 spreads an object with double fields several times slower.
 */
function withMemoryStatus<Result>(held: Result): Result {
  return Object.assign({}, held, { cache: "memory" as const });
}

/** A many-call entry answered outside the pipeline (in-process tier, chunks). */
const ANSWERED_ELSEWHERE = { ok: false, error: new MathDispatcherError("answered outside the pipeline") } as const;

/** The single-function methods (`atr`, `rsi`, `vwap`, `stopLoss`, ...), made from one registry (src/dispatcher/functions.ts). */
export interface MathDispatcher extends SingleFunctionMethods {}

/**
 * The SDK's entry point: typed, validated calls of the math scripts through one resilient client
 * (`connect()` or `withClient()`), one at a time, in batches, as one dispatch per signal, or as
 * streaming updates; results cached in DB 10 by the scripts, and optionally in memory.
 */
export class MathDispatcher {
  /** The runner that owns SCRIPT LOAD / EVALSHA. */
  readonly runner: ScriptRunner;
  /** The resilient client every call goes through. */
  readonly client: ResilientRedis;
  private ownsClient: boolean;
  private readonly tier: ResultTier | undefined;
  private readonly options: MathDispatcherOptions;

  /**
   * @param client a {@link ResilientRedis}, or an ioredis connection on the patterns database
   *   (DB 10), which is wrapped in one: used as it is, never reconfigured or closed, and the other
   *   databases get connections to the same server; or an ioredis `Cluster` (cluster mode: hash
   *   tags on, every family in DB 0). {@link MathDispatcher.connect} makes one for you.
   * @throws ConfigurationError in cluster mode for `MATHD_DB_*` or `hashTag: false`.
   */
  constructor(client: ResilientRedis | Redis | Cluster, options: MathDispatcherOptions = {}) {
    refuseUnknownOptions(options, MATH_DISPATCHER_OPTIONS, { name: "options", bare: true, error: ConfigurationError });
    refuseUnlistedValue(options.hashTag, "hashTag", [true, false], ConfigurationError);
    this.tier = options.resultCache ? new ResultTier(options.resultCache) : undefined; // its bounds checked first
    if (client instanceof ResilientRedis) {
      this.client = client;
      this.ownsClient = false;
    } else if (client instanceof Cluster) {
      this.client = new ResilientRedis({ cluster: client });
      this.ownsClient = true; // the wrapper; the Cluster given stays open
    } else {
      this.client = new ResilientRedis({ connection: client });
      this.ownsClient = true; // the wrapper, not the connection given to it
      const db = client.options.db ?? 0;
      const expected = this.client.config.databases.patterns;
      if (db !== expected) {
        throw new ConfigurationError("redis.options.db", `the dispatcher caches in DB ${expected}, got a connection on DB ${db}`);
      }
    }
    if (this.client.cluster && options.hashTag === false) {
      throw new ConfigurationError("hashTag", "a Redis Cluster needs hash tags: a script's keys must share one slot");
    }
    // a cluster routes by slot: every key of a symbol carries its {SYMBOL} hash tag
    this.options = this.client.cluster ? { ...options, hashTag: true } : options;
    this.runner = new ScriptRunner(this.client, SCRIPTS, "patterns", { scriptMode: options.scriptMode, readFrom: options.readFrom });
  }

  /** A dispatcher on a {@link ResilientRedis} you own: {@link MathDispatcher.close} leaves it open. */
  static withClient(client: ResilientRedis, options: MathDispatcherOptions = {}): MathDispatcher {
    return new MathDispatcher(client, options);
  }

  /**
   * Connects through a new {@link ResilientRedis}: from a URL, from connection settings, or from
   * the environment (REDIS_URL and the others of {@link resolveRedisConfig}) when none is given;
   * to a Redis Cluster with `{ cluster: [{ host, port }, ...] }` or `MATHD_CLUSTER_NODES`.
   * The options set the dispatcher (hash tags, result tier, `scriptMode`, `readFrom`) and the
   * client's policy (deadline, outage grace, retries, breaker). Close it with {@link MathDispatcher.close}.
   * @throws ConfigurationError for a malformed `MATHD_CLUSTER_NODES`, `MATHD_DB_*` in cluster mode,
   *   or an option or connection setting it does not have (`{ deadlinMs: 200 }`: "did you mean
   *   deadlineMs?", a typo plain JavaScript would otherwise drop, leaving the 2 s default).
   */
  static connect(target: string | ConnectTarget = {}, options: ConnectOptions = {}): MathDispatcher {
    refuseUnknownOptions(options, CONNECT_OPTIONS, { name: "options", bare: true, error: ConfigurationError });
    const { hashTag, resultCache, scriptMode, readFrom, ...policy } = options;
    const { cluster: given, ...config } = typeof target === "string" ? { url: target } : target;
    const explicit = typeof target === "string" || config.url !== undefined || config.host !== undefined;
    const cluster = given ?? (explicit ? undefined : clusterNodesFromEnv());
    const client = new ResilientRedis({ ...policy, config, ...(cluster ? { cluster } : {}) });
    const dispatcher = new MathDispatcher(client, { hashTag, resultCache, scriptMode, readFrom });
    dispatcher.ownsClient = true;
    return dispatcher;
  }

  /** Loads every script now (otherwise the first call does); fails typed if Redis cannot be used. */
  load(options?: CallOptions): Promise<void> {
    return this.runner.load(options);
  }

  /** A result answered by the in-process tier under its cache key, or computed and kept there. */
  private async execute<Result>(key: string, compute: () => Promise<Result>, options?: ScriptCallOptions): Promise<Result> {
    const held = this.tier?.get(key) as Result | undefined;
    if (held) return withMemoryStatus(held);
    const result = await compute();
    if (options?.store !== false) this.tier?.set(key, result);
    return result;
  }

  /** One single-function call chosen by name (what {@link MathDispatcher.batch} takes). */
  run<K extends FunctionName>(call: { fn: K; input: FunctionTypes[K][0] }, options?: ScriptCallOptions): Promise<ResultOf<K>> {
    return (async () => {
      checkCallOptions(options); // here too: the in-process tier may answer before the runner sees them
      if (typeof call !== "object" || call === null) throw new InvalidInputError("call", "must be { fn, input }");
      const fn = functionOf(call.fn, "fn");
      const parsed = parseInput(fn.schema, call.input);
      if (needsChunks(fn, parsed)) return this.runLong(fn, parsed, options);
      const entry = this.runner.entry(fn.script);
      const script = scriptCall(fn, entry, parsed, this.options);
      return this.execute(script.keys[0] as string, async () => decodeResult(fn, entry, await this.runner.run(script, options)) as AnyResult, options);
    })();
  }

  /**
   * A series longer than one call carries, in chunks. The in-process tier holds its result under
   * the key one call over the whole series would have: the chunks' result equals that call's bit
   * for bit, and a repeat (a dispatch's long ATR too) is then answered with no round trip.
   */
  private runLong(fn: AnyFunction, parsed: { symbol: string }, options?: ScriptCallOptions): Promise<AnyResult> {
    const chunked = () => runChunked(this.runner, fn, parsed, this.options, options) as Promise<AnyResult>;
    if (!this.tier) return chunked(); // the key costs a digest of the whole series: only for a tier
    const whole = scriptCall(fn, this.runner.entry(fn.script), parsed, this.options);
    return this.execute(whole.keys[0] as string, chunked, options);
  }

  /**
   * Many single-function calls in one pipeline, one outcome per index. Each input is validated
   * first; an invalid one (an unknown `fn`, a hole of a sparse array: `calls[i]`) yields its error
   * in place and is not sent. A series longer than one call carries runs in chunks of its own,
   * next to the pipeline.
   */
  async batch<const C extends readonly BatchCall[]>(calls: C, options?: ScriptCallOptions): Promise<BatchOutcomes<C>> {
    requireArray(calls, "calls");
    checkCallOptions(options);
    const long = new Map<number, () => Promise<AnyResult>>();
    // Array.from, not map: map skips a sparse array's holes, leaving holes among the outcomes
    const prepared = Array.from(calls, (c, i) =>
      attempt(() => {
        if (typeof c !== "object" || c === null) throw new InvalidInputError(`calls[${i}]`, "must be { fn, input }");
        const fn = functionOf(c.fn, `calls[${i}].fn`);
        const parsed = parseInput(fn.schema, c.input);
        if (needsChunks(fn, parsed)) {
          long.set(i, () => this.runLong(fn, parsed, options));
          return { call: undefined, extra: fn };
        }
        return { call: scriptCall(fn, this.runner.entry(fn.script), parsed, this.options), extra: fn };
      }),
    );
    const outcomes = await this.answer(prepared, (reply, fn) => decodeResult(fn, this.runner.entry(fn.script), reply) as AnyResult, options, long);
    return outcomes as unknown as BatchOutcomes<C>; // outcome i decodes call i's fn: the type says which
  }

  /**
   * Answers prepared calls: from the in-process tier where it holds them, by their own calls
   * where `separately` says so (long series), the rest in one pipeline; in the callers' order.
   * `ownPart` adds to a result what belongs to this call, not to its cache key (dispatch's
   * `sources`): the tier keeps the result without it.
   */
  private async answer<Extra, Result>(
    prepared: BatchOutcome<{ call: ScriptCall | undefined; extra: Extra }>[],
    decode: (reply: unknown, extra: Extra) => Result,
    options?: ScriptCallOptions,
    separately: ReadonlyMap<number, () => Promise<Result>> = new Map(),
    ownPart: (result: Result, extra: Extra) => Result = (result) => result,
  ): Promise<BatchOutcome<Result>[]> {
    const elsewhere = prepared.map((p, i): Promise<BatchOutcome<Result>> | undefined => {
      if (!p.ok) return undefined;
      const own = separately.get(i);
      if (own) return own().then((value) => ({ ok: true, value: ownPart(value, p.value.extra) }), (error: unknown) => ({ ok: false, error: error as MathDispatcherError }));
      const held = p.value.call && (this.tier?.get(p.value.call.keys[0] as string) as Result | undefined);
      return held ? Promise.resolve({ ok: true, value: ownPart(withMemoryStatus(held), p.value.extra) }) : undefined;
    });
    // what is answered elsewhere stands in the pipeline as an outcome already known
    const toSend = prepared.map((p, i): Prepared<Extra> =>
      !p.ok ? p : elsewhere[i] || !p.value.call ? ANSWERED_ELSEWHERE : { ok: true, value: { call: p.value.call, extra: p.value.extra } },
    );
    const [sent, answered] = await Promise.all([runPrepared(this.runner, toSend, decode, options), Promise.all(elsewhere)]);
    return sent.map((outcome, i) => {
      const other = answered[i];
      if (other) return other;
      const p = prepared[i];
      if (!outcome.ok || !p?.ok) return outcome;
      if (p.value.call && options?.store !== false) this.tier?.set(p.value.call.keys[0] as string, outcome.value);
      return { ok: true, value: ownPart(outcome.value, p.value.extra) };
    });
  }

  private resolve(signal: ParsedSignal, stored: StoredSignalInputs): ResolvedSignal {
    let volumeRatioUsed = signal.volumeRatio;
    let volumeSource: Decision["sources"]["volumeRatio"] = signal.volumeRatio === undefined ? "none" : "given";
    if (volumeRatioUsed === undefined && signal.currentVolume !== undefined && stored.baselineVolume) {
      volumeRatioUsed = Math.min(1e6, Math.max(signal.currentVolume / stored.baselineVolume, Number.MIN_VALUE));
      volumeSource = "redis";
    }
    const sources: Decision["sources"] = { news: signal.news ? "given" : "redis", volumeRatio: volumeSource };
    if (volumeRatioUsed !== undefined) sources.volumeRatioUsed = volumeRatioUsed;
    // Object.assign, not a spread: V8 spreads an object with double fields several times slower
    return Object.assign({}, signal, { news: signal.news ?? stored.news ?? [], sources });
  }

  /**
   * Decisions for many signals: one round trip reads the news (DB 11) and volume baselines (DB 5)
   * the signals leave out, then one pipeline runs one `dispatch` script call per signal. One
   * outcome per index: an invalid signal (a hole of a sparse array: `signals[i]`) yields its
   * InvalidInputError in place.
   */
  async dispatchMany(signals: readonly Signal[], options?: ScriptCallOptions): Promise<BatchOutcome<Decision & ResultMeta>[]> {
    requireArray(signals, "signals");
    checkCallOptions(options);
    const budget = callBudget(options, this.client.deadlineMs); // one deadline for reads, long ATRs and the scripts
    const entry = this.runner.entry(dispatchFunction.script);
    const parsed = attemptEach(signals, "signals", (s) => parseInput(signalSchema, s));
    const valid = parsed.flatMap((p) => (p.ok ? [p.value] : []));
    const requests = valid.map((s) => ({
      symbol: s.symbol,
      time: s.time,
      clockSkewMs: s.newsSettings.clockSkewMs,
      news: s.news === undefined,
      baseline: s.volumeRatio === undefined && s.currentVolume !== undefined,
    }));
    const stored = !requests.some((r) => r.news || r.baseline)
      ? requests.map(() => ({}))
      : this.client.cluster
        ? await readSignalInputs(this.clusterReader(this.client.cluster, budget), this.clusterReader(this.client.cluster, budget), requests, this.options, this.client.address)
        : await this.client.runOn(
            ["news", "cumulative_volume"],
            ([news, volume]) => readSignalInputs(pipelineReader(news as Redis), pipelineReader(volume as Redis), requests, this.options, this.client.address),
            budget(),
          );
    let next = 0;
    const prepared = await Promise.all(
      parsed.map(async (p): Promise<Prepared<ResolvedSignal>> => {
        if (!p.ok) return p;
        const found = stored[next++] ?? {};
        if (found instanceof MathDispatcherError) return { ok: false, error: found };
        try {
          const resolved = this.resolve(await this.withLongAtr(p.value, budget()), found);
          return { ok: true, value: { call: scriptCall(dispatchFunction, entry, resolved, this.options), extra: resolved } };
        } catch (error) {
          if (error instanceof MathDispatcherError) return { ok: false, error };
          throw error;
        }
      }),
    );
    // the deadline may have passed while long ATRs were computed: then each signal still gets
    // its own outcome (a refused one keeps its InvalidInputError)
    const left = attempt(budget);
    if (!left.ok) return prepared.map((p) => (p.ok ? left : p));
    return this.answer(
      prepared,
      (reply) => decodeResult(dispatchFunction, entry, reply) as Decision & ResultMeta,
      left.value,
      undefined,
      // the sources are this call's: a signal that gives its volume ratio and one that has it read
      // from Redis can have the same arguments, so share a cache key and a tier entry
      (decision, resolved) => Object.assign(decision, { sources: resolved.sources }),
    );
  }

  /** Reads keys on a cluster: one pipeline per master, each under the client's policy, within the call's budget. */
  private clusterReader(cluster: Cluster, budget: CallBudget): KeyReader {
    return async (commands) => {
      const keyed = commands.map((command) => ({ keys: [command[1] as string], command }));
      const outcomes = await runKeyed(cluster, keyed, roundTripWithin(this.client, "news", budget));
      return outcomes.map((o) => {
        if (o.ok) return o.reply as string | null;
        // this key's answer (a WRONGTYPE, say), but a redirection that outlasted its passes is the cluster's
        if (o.error instanceof ReplyError && !isRedirection(o.error)) return o.error;
        throw o.error instanceof ReplyError ? replyErrorOf(o.error) : o.error; // the whole read failed
      });
    };
  }

  /**
   * A signal with more ATR bars than one dispatch call takes (MAX_DISPATCH_BARS) gets its ATR
   * computed first by `atr` (in chunks when longer still): the same double the dispatch script
   * would compute from the bars.
   */
  private async withLongAtr(signal: ParsedSignal, options?: ScriptCallOptions): Promise<ParsedSignal> {
    const atrBars = signal.atrBars;
    if (!atrBars) return signal;
    const input = { symbol: signal.symbol, period: atrBars.period, bars: atrBars.bars, series: false };
    if (atrBars.bars.count <= MAX_DISPATCH_BARS) return signal;
    const { atr } = (await this.runLong(atrFunction as AnyFunction, input, options)) as { atr: number };
    return { ...signal, atr, atrBars: undefined };
  }

  /** The decision for one signal: stop, target, confidence with its terms, news boost and lots. */
  async dispatch(signal: Signal, options?: ScriptCallOptions): Promise<Decision & ResultMeta> {
    return unwrap((await this.dispatchMany([signal], options))[0]);
  }

  /** Streaming ATR, RSI and session VWAP with their state in DB 10, on this dispatcher's client. */
  streaming(options: StreamingOptions = {}): StreamingIndicators {
    const forced = this.client.cluster ? { hashTag: true } : {}; // a cluster needs the {SYMBOL} tags
    return new StreamingIndicators(this.runner, { hashTag: this.options.hashTag, ...options, ...forced });
  }

  /**
   * Closes what the dispatcher opened: the client of {@link MathDispatcher.connect}, or the
   * connections it opened next to an ioredis connection it was given; never a client given to
   * {@link MathDispatcher.withClient}, never an ioredis connection given to the constructor.
   * Calls not yet sent (waiting for their turn, or a connection, or made later) fail with a
   * `ClientClosedError`; replies already on their way arrive first.
   */
  async close(): Promise<void> {
    this.runner.close();
    this.tier?.close();
    if (this.ownsClient) await this.client.close();
  }

  /** `await using math = MathDispatcher.connect(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

for (const name of FUNCTION_NAMES) {
  Object.defineProperty(MathDispatcher.prototype, name, {
    value: function (this: MathDispatcher, input: unknown, options?: ScriptCallOptions) {
      return this.run({ fn: name, input } as BatchCall, options);
    },
    writable: true,
    configurable: true,
  });
}
