/**
 * The typed entry point: validates inputs, runs the Lua scripts with EVALSHA on a DB 10
 * connection and returns typed results, each cached in DB 10 by the script itself.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { z } from "zod";
import type { KeyOptions } from "../keys/symbol.js";
import { DATABASES } from "../redis/databases.js";
import { type AtrInput, type AtrResult, atrFunction } from "./atr.js";
import { ConfigurationError, type MathDispatcherError } from "./errors.js";
import { decodeResult, prepareCall, type ResultMeta, type ScriptFunction } from "./scriptFunction.js";
import { type ScriptCall, ScriptRunner, type Settled } from "./scriptRunner.js";
import { type VwapInput, type VwapResult, vwapFunction } from "./vwap.js";

/** Options of {@link MathDispatcher}. */
export interface MathDispatcherOptions extends KeyOptions {}

/** One outcome of a batch: the result, or the typed error of that one input. */
export type BatchOutcome<Result> = { ok: true; value: Result } | { ok: false; error: MathDispatcherError };

/** A function call for {@link MathDispatcher.batch}. */
export type BatchCall = { fn: "atr"; input: AtrInput } | { fn: "vwap"; input: VwapInput };

// Lookup by name for batches; a function is added here and as a method below.
const FUNCTIONS = { atr: atrFunction, vwap: vwapFunction } as const;

export class MathDispatcher {
  /** The runner that owns SCRIPT LOAD / EVALSHA for this connection. */
  readonly runner: ScriptRunner;

  /**
   * @param redis an ioredis connection on DB 10 (patterns), where results are cached. It is used
   *   as it is, never reconfigured; {@link MathDispatcher.connect} makes one for you.
   */
  constructor(
    readonly redis: Redis,
    private readonly options: MathDispatcherOptions = {},
  ) {
    const db = redis.options.db ?? 0;
    if (db !== DATABASES.patterns.db) {
      throw new ConfigurationError("redis.options.db", `the dispatcher caches in DB ${DATABASES.patterns.db}, got a connection on DB ${db}`);
    }
    this.runner = new ScriptRunner(redis);
  }

  /** Opens a DB 10 connection from a URL (`redis://host:port`) or ioredis options. */
  static connect(target: string | RedisOptions, options: MathDispatcherOptions = {}): MathDispatcher {
    const redisOptions = { lazyConnect: false };
    const redis =
      typeof target === "string"
        ? new Redis(target, { ...redisOptions, db: DATABASES.patterns.db })
        : new Redis({ ...target, ...redisOptions, db: DATABASES.patterns.db });
    return new MathDispatcher(redis, options);
  }

  /** Loads every script now (otherwise the first call does). */
  load(): Promise<void> {
    return this.runner.load();
  }

  private async call<Result>(fn: ScriptFunction<z.ZodType<{ symbol: string }>, Result>, input: unknown) {
    const entry = this.runner.entry(fn.script);
    const call = prepareCall(fn, entry, input, this.options);
    return decodeResult(fn, entry, await this.runner.run(call));
  }

  /** Average True Range (TA-Lib) of the bars. */
  atr(input: AtrInput): Promise<AtrResult & ResultMeta> {
    return this.call(atrFunction, input);
  }

  /** VWAP with sigma bands over ticks or bars. */
  vwap(input: VwapInput): Promise<VwapResult & ResultMeta> {
    return this.call(vwapFunction, input);
  }

  /**
   * Many calls in one pipeline. Each input is validated first; an invalid one yields its error
   * in place and is not sent.
   */
  async batch(calls: readonly BatchCall[]): Promise<BatchOutcome<(AtrResult | VwapResult) & ResultMeta>[]> {
    type Prepared =
      | { ok: true; fn: ScriptFunction<z.ZodType<{ symbol: string }>, AtrResult | VwapResult>; call: ScriptCall }
      | { ok: false; error: MathDispatcherError };
    const prepared = calls.map((c): Prepared => {
      const fn = FUNCTIONS[c.fn];
      try {
        return { ok: true, fn, call: prepareCall(fn, this.runner.entry(fn.script), c.input, this.options) };
      } catch (error) {
        return { ok: false, error: error as MathDispatcherError };
      }
    });
    const settled = await this.runner.runMany(prepared.flatMap((p) => (p.ok ? [p.call] : [])));
    let next = 0;
    return prepared.map((p) => {
      if (!p.ok) return p;
      const outcome = settled[next++] as Settled;
      if (!outcome.ok) return outcome;
      return { ok: true, value: decodeResult(p.fn, this.runner.entry(p.fn.script), outcome.reply) };
    });
  }

  /** Closes the connection. */
  async quit(): Promise<void> {
    await this.redis.quit();
  }
}
