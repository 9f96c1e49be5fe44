/**
 * The typed entry point: validates inputs, runs the Lua scripts with EVALSHA on a DB 10
 * connection and returns typed results, each cached in DB 10 by the script itself.
 */
import type { Redis } from "ioredis";
import type { z } from "zod";
import { SCRIPTS } from "../generated/scripts.js";
import type { KeyOptions } from "../keys/symbol.js";
import type { RedisConfigInput } from "../redis/config.js";
import { DATABASES } from "../redis/databases.js";
import { ResilientRedis } from "../redis/ResilientRedis.js";
import { StreamingIndicators, type StreamingOptions } from "../streaming/StreamingIndicators.js";
import { type AtrInput, type AtrResult, atrFunction } from "./atr.js";
import { attempt, type BatchOutcome, type Prepared, runPrepared, unwrap } from "./batch.js";
import { type ConfidenceInput, type ConfidenceResult, confidenceFunction } from "./confidence.js";
import { type Decision, dispatchFunction, type ParsedSignal, type ResolvedSignal, type Signal, signalSchema } from "./dispatch.js";
import { ConfigurationError, MathDispatcherError } from "../core/errors.js";
import { parseInput } from "./inputs.js";
import { type NewsBoostInput, type NewsBoostResult, newsBoostFunction } from "./newsBoost.js";
import { type PositionSizeInput, type PositionSizeResult, positionSizeFunction } from "./positionSize.js";
import { decodeResult, prepareCall, type ResultMeta, scriptCall, type ValidatedFunction } from "./scriptFunction.js";
import { ScriptRunner } from "./scriptRunner.js";
import { readSignalInputs, type StoredSignalInputs } from "./signalInputs.js";
import { type StopLossInput, type StopLossResult, stopLossFunction } from "./stopLoss.js";
import { type VwapInput, type VwapResult, vwapFunction } from "./vwap.js";

export type { BatchOutcome } from "./batch.js";

/** Options of {@link MathDispatcher}. */
export interface MathDispatcherOptions extends KeyOptions {}

/** Input and result types of the single functions, by name. */
export interface FunctionTypes {
  atr: [AtrInput, AtrResult];
  vwap: [VwapInput, VwapResult];
  stopLoss: [StopLossInput, StopLossResult];
  positionSize: [PositionSizeInput, PositionSizeResult];
  newsBoost: [NewsBoostInput, NewsBoostResult];
  confidence: [ConfidenceInput, ConfidenceResult];
}
export type FunctionName = keyof FunctionTypes;

/** A function call for {@link MathDispatcher.batch}. */
export type BatchCall = { [K in FunctionName]: { fn: K; input: FunctionTypes[K][0] } }[FunctionName];

type AnyFunction = ValidatedFunction<z.ZodType<{ symbol: string }>, unknown>;

/** The single functions by name: their validation, ARGV layout and reply decoding. */
export const SCRIPT_FUNCTIONS: Readonly<Record<FunctionName, AnyFunction>> = {
  atr: atrFunction,
  vwap: vwapFunction,
  stopLoss: stopLossFunction,
  positionSize: positionSizeFunction,
  newsBoost: newsBoostFunction,
  confidence: confidenceFunction,
};

export class MathDispatcher {
  /** The runner that owns SCRIPT LOAD / EVALSHA for this connection. */
  readonly runner: ScriptRunner;
  private inputConnections: { news: Redis; volume: Redis } | undefined;
  /** Set by {@link MathDispatcher.connect}: the client is the dispatcher's to close. */
  private ownsClient = false;

  /**
   * @param redis an ioredis connection on DB 10 (patterns), where results are cached. It is used
   *   as it is, never reconfigured; {@link MathDispatcher.connect} makes one for you.
   * @param client a resilient client whose policy (timeout, retries, circuit breaker) every
   *   script call and input read goes through, and whose connections it uses.
   */
  constructor(
    readonly redis: Redis,
    private readonly options: MathDispatcherOptions = {},
    private readonly client?: ResilientRedis,
  ) {
    const db = redis.options.db ?? 0;
    const expected = client?.config.databases.patterns ?? DATABASES.patterns.db;
    if (db !== expected) {
      throw new ConfigurationError("redis.options.db", `the dispatcher caches in DB ${expected}, got a connection on DB ${db}`);
    }
    this.runner = new ScriptRunner(redis, SCRIPTS, client ? (command) => client.run("patterns", command) : undefined);
  }

  /**
   * A dispatcher whose every Redis call goes through a {@link ResilientRedis} (its DB map too).
   * The client stays yours: {@link MathDispatcher.quit} does not close it.
   */
  static withClient(client: ResilientRedis, options: MathDispatcherOptions = {}): MathDispatcher {
    return new MathDispatcher(client.connection("patterns"), options, client);
  }

  /**
   * Connects through a new {@link ResilientRedis}: from a URL, from connection settings, or from
   * the environment (REDIS_URL and the others of {@link resolveRedisConfig}) when none is given.
   */
  static connect(target: string | RedisConfigInput = {}, options: MathDispatcherOptions = {}): MathDispatcher {
    const dispatcher = MathDispatcher.withClient(new ResilientRedis({ config: typeof target === "string" ? { url: target } : target }), options);
    dispatcher.ownsClient = true;
    return dispatcher;
  }

  /** Loads every script now (otherwise the first call does). */
  load(): Promise<void> {
    return this.runner.load();
  }

  private async call<Result>(fn: ValidatedFunction<z.ZodType<{ symbol: string }>, Result>, input: unknown): Promise<Result & ResultMeta> {
    const entry = this.runner.entry(fn.script);
    return decodeResult(fn, entry, await this.runner.run(prepareCall(fn, entry, input, this.options)));
  }

  /** Average True Range (TA-Lib) of the bars. */
  atr(input: AtrInput): Promise<AtrResult & ResultMeta> {
    return this.call(atrFunction, input);
  }

  /** VWAP with sigma bands over ticks or bars. */
  vwap(input: VwapInput): Promise<VwapResult & ResultMeta> {
    return this.call(vwapFunction, input);
  }

  /** Stop-loss (and target) on the tick grid from entry and ATR. */
  stopLoss(input: StopLossInput): Promise<StopLossResult & ResultMeta> {
    return this.call(stopLossFunction, input);
  }

  /** Lots and quantity for a fixed fraction of capital at risk. */
  positionSize(input: PositionSizeInput): Promise<PositionSizeResult & ResultMeta> {
    return this.call(positionSizeFunction, input);
  }

  /** Recency- and relevance-weighted news sentiment as a signed confidence boost. */
  newsBoost(input: NewsBoostInput): Promise<NewsBoostResult & ResultMeta> {
    return this.call(newsBoostFunction, input);
  }

  /** The detector's confidence moved in log-odds by volume and news. */
  confidence(input: ConfidenceInput): Promise<ConfidenceResult & ResultMeta> {
    return this.call(confidenceFunction, input);
  }

  /** One single-function call chosen by name (what {@link MathDispatcher.batch} takes). */
  run(call: BatchCall): Promise<FunctionTypes[FunctionName][1] & ResultMeta> {
    return this.call(SCRIPT_FUNCTIONS[call.fn], call.input) as Promise<FunctionTypes[FunctionName][1] & ResultMeta>;
  }

  /**
   * Many single-function calls in one pipeline. Each input is validated first; an invalid one
   * yields its error in place and is not sent.
   */
  batch(calls: readonly BatchCall[]): Promise<BatchOutcome<FunctionTypes[FunctionName][1] & ResultMeta>[]> {
    const prepared = calls.map((c) => {
      const fn = SCRIPT_FUNCTIONS[c.fn];
      return attempt(() => ({ call: prepareCall(fn, this.runner.entry(fn.script), c.input, this.options), extra: fn }));
    });
    return runPrepared(this.runner, prepared, (reply, fn) =>
      decodeResult(fn, this.runner.entry(fn.script), reply) as FunctionTypes[FunctionName][1] & ResultMeta,
    );
  }

  private inputs(): { news: Redis; volume: Redis } {
    this.inputConnections ??= this.client
      ? { news: this.client.connection("news"), volume: this.client.connection("cumulative_volume") }
      : { news: this.redis.duplicate({ db: DATABASES.news.db }), volume: this.redis.duplicate({ db: DATABASES.cumulative_volume.db }) };
    return this.inputConnections;
  }

  private resolve(signal: ParsedSignal, stored: StoredSignalInputs): ResolvedSignal {
    let volumeRatioUsed = signal.volumeRatio;
    let volumeSource: Decision["sources"]["volumeRatio"] = signal.volumeRatio === undefined ? "none" : "given";
    if (volumeRatioUsed === undefined && signal.currentVolume !== undefined && stored.baselineVolume) {
      volumeRatioUsed = Math.min(1e6, Math.max(signal.currentVolume / stored.baselineVolume, Number.MIN_VALUE));
      volumeSource = "redis";
    }
    return {
      ...signal,
      news: signal.news ?? stored.news ?? [],
      sources: {
        news: signal.news ? "given" : "redis",
        volumeRatio: volumeSource,
        ...(volumeRatioUsed === undefined ? {} : { volumeRatioUsed }),
      },
    };
  }

  /**
   * Decisions for many signals: one round trip reads the news (DB 11) and volume baselines (DB 5)
   * the signals leave out, then one pipeline runs one `dispatch` script call per signal.
   */
  async dispatchMany(signals: readonly Signal[]): Promise<BatchOutcome<Decision & ResultMeta>[]> {
    const entry = this.runner.entry(dispatchFunction.script);
    const parsed = signals.map((s) => attempt(() => parseInput(signalSchema, s)));
    const valid = parsed.flatMap((p) => (p.ok ? [p.value] : []));
    const requests = valid.map((s) => ({
      symbol: s.symbol,
      time: s.time,
      news: s.news === undefined,
      baseline: s.volumeRatio === undefined && s.currentVolume !== undefined,
    }));
    const needsRedis = requests.some((r) => r.news || r.baseline);
    const read = () => readSignalInputs(this.inputs().news, this.inputs().volume, requests, this.options);
    const stored = needsRedis ? await (this.client ? this.client.run("news", read) : read()) : requests.map(() => ({}));
    let next = 0;
    const prepared = parsed.map((p): Prepared<ResolvedSignal> => {
      if (!p.ok) return p;
      const found = stored[next++] ?? {};
      if (found instanceof MathDispatcherError) return { ok: false, error: found };
      const resolved = this.resolve(p.value, found);
      return { ok: true, value: { call: scriptCall(dispatchFunction, entry, resolved, this.options), extra: resolved } };
    });
    return runPrepared(this.runner, prepared, (reply, resolved) => ({
      ...decodeResult(dispatchFunction, entry, reply),
      sources: resolved.sources,
    }));
  }

  /** The decision for one signal: stop, target, confidence with its terms, news boost and lots. */
  async dispatch(signal: Signal): Promise<Decision & ResultMeta> {
    return unwrap((await this.dispatchMany([signal]))[0]);
  }

  /** Streaming ATR and session VWAP with their state in DB 10, on this dispatcher's connection. */
  streaming(options: StreamingOptions = {}): StreamingIndicators {
    return new StreamingIndicators(this.runner, { hashTag: this.options.hashTag, ...options });
  }

  /**
   * Closes what the dispatcher opened: the client of {@link MathDispatcher.connect}, or the DB 10
   * connection and those it opened for DB 5 and 11; never a client given to `withClient`.
   */
  async quit(): Promise<void> {
    const inputs = this.inputConnections;
    this.inputConnections = undefined;
    if (this.client) return this.ownsClient ? this.client.close() : undefined;
    await Promise.all([this.redis.quit(), inputs?.news.quit(), inputs?.volume.quit()]);
  }
}
