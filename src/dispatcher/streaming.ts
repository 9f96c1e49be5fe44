/**
 * Live ATR, RSI and session VWAP whose state lives in Redis (DB 10 strings of packed doubles
 * `indicator:atr<n>:{SYMBOL}`, `indicator:vwap:{SYMBOL}` and `indicator:rsi<n>:{SYMBOL}`), so
 * detectors stay stateless between ticks: any number of processes, restarted at any moment, read
 * the same values.
 */
import { z } from "zod";
import { attempt, attemptEach, type BatchOutcome, chunksOf, requireArray, runPrepared, unwrap } from "./batch.js";
import type { CallOptions } from "../redis/ResilientRedis.js";
import { checkBarOrder, epochMsSchema, headerBounds, parseInput, priceSchema, symbolSchema, volumeSchema } from "./inputs.js";
import { decodeReply, numberField, type ReplyFields, textField } from "./reply.js";
import { CommandTimeoutError, InvalidInputError, type MathDispatcherError, ReplyFormatError, UpdateHeldBackError } from "../core/errors.js";
import { within } from "../core/within.js";
import { type CallBudget, callBudget, checkCallOptions, type ScriptCall, type ScriptRunner, type Settled } from "./scriptRunner.js";
import { packDoubles, unitsToText } from "../core/units.js";
import { MAX_STREAM_UPDATES_PER_CALL } from "./limits.js";
import { bandsSchema, decodeVwap, type VwapResult } from "./vwap.js";
import { indicatorKey } from "../keys/indicator.js";
import type { KeyOptions } from "../keys/symbol.js";
import { type AtrStatus, STREAM_CLOCK_SKEW_MS, type VwapStatus } from "../core/defaults.js";
import { optionNames, refuseUnknownOptions } from "../core/options.js";

/** A tick (`price`) or a bar (`high`, `low`, `close`) for one symbol. */
export interface StreamUpdateInput {
  symbol: string;
  /** Exchange timestamp, epoch ms. */
  ts: number;
  /** Sequence number; (ts, seq) must increase per symbol, anything at or before is a duplicate. */
  seq: number;
  volume: number;
  price?: number | string;
  high?: number | string;
  low?: number | string;
  close?: number | string;
}

/** The current values of one symbol's indicators. */
export interface IndicatorSnapshot {
  /** ATR, undefined until period + 1 bars were applied. */
  atr?: number;
  /** Bars the ATR has seen. */
  atrBars: number;
  /** RSI of the bar closes (0..100), undefined until period + 1 bars were applied. */
  rsi?: number;
  /** IST session (days since 1970-01-01) of the VWAP, undefined before its first tick. */
  session?: number;
  /** Session VWAP with sigma and bands, undefined while the session has no volume. */
  vwap?: VwapResult;
}

/** What one update did, and the values after it. */
export interface StreamUpdateResult extends IndicatorSnapshot {
  atrStatus: AtrStatus;
  vwapStatus: VwapStatus;
  /** As ATR's: RSI advances on bars (their close) only, and a tick is `skipped`. */
  rsiStatus: RsiStatus;
}

/** What an update did to the RSI: `applied`, `duplicate`, or `skipped` (a tick is not a bar). */
export type RsiStatus = AtrStatus;

/** The periods and bands of a dispatcher's streaming indicators, and how their keys are named. */
export interface StreamingOptions extends KeyOptions {
  /** ATR period, default 14 (state key `indicator:atr14:{SYMBOL}`). */
  atrPeriod?: number;
  /** RSI period, default 14 (state key `indicator:rsi14:{SYMBOL}`). */
  rsiPeriod?: number;
  /** VWAP band multipliers, default [1, 2]. */
  bands?: number[];
  /**
   * How far ahead of this machine's clock an update's `ts` may be, in ms (default 15 minutes,
   * STREAM_CLOCK_SKEW_MS); a later one is an InvalidInputError naming `ts`. Applied, it would
   * make every later update of its session a duplicate. Raise it to replay data stamped ahead.
   */
  clockSkewMs?: number;
}

export const streamUpdateSchema = z
  .object({
    symbol: symbolSchema,
    ts: epochMsSchema,
    seq: headerBounds("stream_update", "seq"),
    volume: volumeSchema,
    price: priceSchema.optional(),
    high: priceSchema.optional(),
    low: priceSchema.optional(),
    close: priceSchema.optional(),
  })
  .superRefine((u, ctx) => {
    const bar = [u.high, u.low, u.close].filter((v) => v !== undefined).length;
    if (bar === 0 && u.price === undefined) ctx.addIssue({ code: "custom", path: ["price"], message: "a tick needs a price (or give high, low, close)" });
    if (bar > 0 && bar < 3) ctx.addIssue({ code: "custom", path: ["high"], message: "a bar needs high, low and close" });
    if (bar === 3 && u.price !== undefined) ctx.addIssue({ code: "custom", path: ["price"], message: "give a price or a bar, not both" });
    if (bar === 3) checkBarOrder({ high: u.high as number, low: u.low as number, close: u.close as number }, ctx);
  });

/** An update as its schema checked it: prices in whole price units. */
type ParsedUpdate = z.output<typeof streamUpdateSchema>;

/** The doubles of one update in `stream_update_many`'s `updates` (its header): ts, seq, volume, price, high, low, close. */
const UPDATE_WIDTH = 7;

/** An update of a batch and its place in the caller's list. */
interface Queued {
  index: number;
  update: ParsedUpdate;
}

/** One symbol's updates of a batch, in order, cut into calls; `failed` once one of its calls failed. */
interface SymbolQueue {
  symbol: string;
  calls: Queued[][];
  failed?: MathDispatcherError;
}

/**
 * Lone updates of one symbol made while its earlier calls were in flight, waiting to go as one
 * call: see StreamingIndicators.update. Open (`updates` may grow) until it is sent.
 */
interface UpdateGroup {
  readonly updates: ParsedUpdate[];
  /** The `deadlineMs` its updates were given: only updates given the same one join. */
  readonly deadlineMs: number | undefined;
  /** Its place among the symbol's calls, and the symbol's failures known when it opened. */
  readonly place: number;
  readonly failuresAtOpen: number;
  /** Every update's result, in order, once the call is answered. */
  results?: Promise<StreamUpdateResult[]>;
}

/** A symbol's calls while any is in flight: see StreamingIndicators.inSymbolOrder. */
interface SymbolInFlight {
  /** Settles (never rejects) when the last call made so far has. */
  last: Promise<void>;
  /** Calls in flight. */
  calls: number;
  /** Calls made: the next call's place in the order made. */
  made: number;
  /** Each call that failed: its place, how many calls had been made when it failed, its error. */
  failures: { place: number; failedWhenMade: number; error: MathDispatcherError }[];
}

/** The error a call that did not get through leaves for the calls made behind it: none for a hold-back, which only echoes an earlier failure. */
function ownFailure(reason: unknown): MathDispatcherError | undefined {
  return reason instanceof UpdateHeldBackError ? undefined : (reason as MathDispatcherError);
}

/** The valid updates of a batch grouped by symbol, in the order given, in calls of at most MAX_STREAM_UPDATES_PER_CALL. */
function symbolQueues(parsed: readonly BatchOutcome<ParsedUpdate>[]): SymbolQueue[] {
  const bySymbol = new Map<string, Queued[]>();
  parsed.forEach((p, index) => {
    if (!p.ok) return;
    const queued = bySymbol.get(p.value.symbol);
    if (queued) queued.push({ index, update: p.value });
    else bySymbol.set(p.value.symbol, [{ index, update: p.value }]);
  });
  return [...bySymbol].map(([symbol, queued]) => ({ symbol, calls: chunksOf(queued, MAX_STREAM_UPDATES_PER_CALL) }));
}

const STREAMING_OPTIONS = optionNames<StreamingOptions>({ atrPeriod: true, rsiPeriod: true, bands: true, hashTag: true, clockSkewMs: true });

const optionsSchema = z.object({
  atrPeriod: headerBounds("stream_update", "atr_period").default(14),
  rsiPeriod: headerBounds("stream_update", "rsi_period").default(14),
  bands: bandsSchema,
  hashTag: z.boolean().optional(),
  clockSkewMs: z.number({ error: "must be a number of ms" }).int({ error: "must be a whole number of ms" }).min(0, { error: "must not be negative" }).default(STREAM_CLOCK_SKEW_MS),
});

function priceArg(units: number | undefined): string {
  return units === undefined ? "" : unitsToText(units);
}

function decodeSnapshot(fields: ReplyFields): IndicatorSnapshot {
  const atr = textField(fields, "atr");
  const rsi = textField(fields, "rsi");
  const session = textField(fields, "session");
  return {
    ...(atr === "" ? {} : { atr: Number(atr) }),
    atrBars: numberField(fields, "atr_bars"),
    ...(rsi === "" ? {} : { rsi: Number(rsi) }),
    ...(session === "" ? {} : { session: Number(session) }),
    ...(textField(fields, "vwap") === "" ? {} : { vwap: decodeVwap(fields) }),
  };
}

/** A number the update reply carries as text (%.17g) or as an integer. */
function replyNumber(value: unknown, name: string): number {
  const n = typeof value === "number" ? value : Number(Buffer.isBuffer(value) ? value.toString() : value);
  if (!Number.isFinite(n) || value === "" || Array.isArray(value)) throw new ReplyFormatError(`stream_update reply: ${name} is not a finite number: ${JSON.stringify(value)}`);
  return n;
}

function replyText(value: unknown, name: string): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString();
  if (typeof value === "number") return String(value);
  throw new ReplyFormatError(`stream_update reply: ${name} is not text: ${JSON.stringify(value)}`);
}

/** The place of `vwap` in an update's reply (0-based), and the length of a reply with the VWAP's values. */
const VWAP_AT = 7;
const FULL_REPLY = 11;

/**
 * The positional reply of lua/stream_update.lua (called without bands): atr_status, vwap_status,
 * rsi_status, atr ('' until seeded), atr_bars, rsi ('' until seeded), session ('' before the first
 * tick), then vwap, sigma, volume, points unless the session has no volume yet. The bands are
 * `vwap -/+ k * sigma` on the very doubles the script computed, the same operations lua/vwap.lua
 * runs, so they equal its bits.
 */
function decodeUpdateReply(reply: unknown, multipliers: readonly number[]): StreamUpdateResult {
  if (!Array.isArray(reply) || (reply.length !== VWAP_AT + 1 && reply.length !== FULL_REPLY)) {
    throw new ReplyFormatError(`stream_update reply: expected ${VWAP_AT + 1} or ${FULL_REPLY} values, got ${JSON.stringify(reply)}`);
  }
  const [atrStatus, vwapStatus, rsiStatus, atr, atrBars, rsi, session, vwap, sigma, volume, points] = reply as unknown[];
  const atrText = replyText(atr, "atr");
  const rsiText = replyText(rsi, "rsi");
  const sessionText = replyText(session, "session");
  const result: StreamUpdateResult = {
    atrStatus: replyText(atrStatus, "atr_status") as AtrStatus,
    vwapStatus: replyText(vwapStatus, "vwap_status") as VwapStatus,
    rsiStatus: replyText(rsiStatus, "rsi_status") as RsiStatus,
    ...(atrText === "" ? {} : { atr: replyNumber(atrText, "atr") }),
    atrBars: replyNumber(atrBars, "atr_bars"),
    ...(rsiText === "" ? {} : { rsi: replyNumber(rsiText, "rsi") }),
    ...(sessionText === "" ? {} : { session: replyNumber(sessionText, "session") }),
  };
  if (reply.length === 11) {
    const v = replyNumber(vwap, "vwap");
    const s = replyNumber(sigma, "sigma");
    result.vwap = {
      vwap: v,
      sigma: s,
      volume: replyNumber(volume, "volume"),
      points: replyNumber(points, "points"),
      bands: multipliers.map((k) => ({ k, lower: v - k * s, upper: v + k * s })),
    };
  }
  return result;
}

/**
 * Streaming ATR, RSI and session VWAP kept in Redis (DB 10, `indicator:*`): each
 * {@link StreamingIndicators.update} is one atomic EVALSHA of `stream_update`, idempotent by
 * (ts, seq); snapshots read the state back. Made by `MathDispatcher.streaming()`.
 */
export class StreamingIndicators {
  private readonly atrPeriod: number;
  private readonly rsiPeriod: number;
  private readonly bands: string;
  private readonly multipliers: readonly number[];
  private readonly keyOptions: KeyOptions;
  private readonly clockSkewMs: number;
  /** Per symbol, its calls still in flight: see inSymbolOrder. */
  private readonly inFlight = new Map<string, SymbolInFlight>();
  /** Per symbol, the group of lone updates still waiting for its turn, if any: see update. */
  private readonly openGroups = new Map<string, UpdateGroup>();

  /** @param runner a script runner on DB 10. */
  constructor(
    private readonly runner: ScriptRunner,
    options: StreamingOptions = {},
  ) {
    refuseUnknownOptions(options, STREAMING_OPTIONS, { name: "options", bare: true }); // `atrPerod: 21` would otherwise keep ATR 14
    const parsed = parseInput(optionsSchema, options);
    this.atrPeriod = parsed.atrPeriod;
    this.rsiPeriod = parsed.rsiPeriod;
    this.multipliers = parsed.bands;
    this.bands = parsed.bands.join(",");
    this.keyOptions = { hashTag: parsed.hashTag ?? false };
    this.clockSkewMs = parsed.clockSkewMs;
  }

  /** An update checked: its schema, and a `ts` no further ahead of this machine's clock than clockSkewMs. */
  private parseUpdate(input: StreamUpdateInput): ParsedUpdate {
    const u = parseInput(streamUpdateSchema, input);
    const ahead = u.ts - Date.now();
    if (ahead > this.clockSkewMs) {
      const minutes = (ahead / 60_000).toFixed(1);
      throw new InvalidInputError("ts", `is ${minutes} min ahead of this machine's clock (clockSkewMs ${this.clockSkewMs}): a future time would make every later update of the session a duplicate (IST taken as UTC is 330 min ahead)`);
    }
    return u;
  }

  private keys(symbol: string): string[] {
    return [
      indicatorKey(`atr${this.atrPeriod}`, symbol, this.keyOptions),
      indicatorKey("vwap", symbol, this.keyOptions),
      indicatorKey(`rsi${this.rsiPeriod}`, symbol, this.keyOptions),
    ];
  }

  /** One update as `stream_update`'s call: the script's fast path takes a lone tick. */
  private updateCall(u: ParsedUpdate): ScriptCall {
    return {
      script: "stream_update",
      keys: this.keys(u.symbol),
      args: [
        String(this.atrPeriod),
        String(this.rsiPeriod),
        String(u.ts),
        String(u.seq),
        priceArg(u.price),
        String(u.volume),
        priceArg(u.high),
        priceArg(u.low),
        priceArg(u.close),
        "", // no bands: the reply is shorter, and decodeUpdateReply derives them from vwap and sigma
      ],
    };
  }

  /** Several updates of one symbol, in order, as one atomic `stream_update_many` call. */
  private updatesCall(updates: readonly ParsedUpdate[]): ScriptCall {
    const rows = updates.map((u) => [u.ts, u.seq, u.volume, u.price ?? 0, u.high ?? 0, u.low ?? 0, u.close ?? 0]);
    return {
      script: "stream_update_many",
      keys: this.keys((updates[0] as ParsedUpdate).symbol),
      args: [String(this.atrPeriod), String(this.rsiPeriod), packDoubles(rows, UPDATE_WIDTH)],
    };
  }

  /**
   * Sends `send` once the calls of `symbols` made before it have settled, so that a symbol's
   * updates reach Redis in the order they were made, whatever the caller's concurrency: a call
   * resent after a NOSCRIPT or BUSY must not land behind a later one that got through, where the
   * script would count it a duplicate. For the same reason a call made before an earlier call of
   * its symbol failed, and so queued behind it, is held back: `failedBefore(symbol)` gives `send`
   * that failure, and the caller resends the failed update and the held-back ones, in order.
   * Calls made once the failure was known go as usual, so a resend is never held back, and a
   * failure holds back no call made before it. `failedIn` says which failure of its own, if any, a
   * settled call leaves for a symbol. A caller who awaits each call never waits here. The wait
   * ends with a CommandTimeoutError when `budget` runs out; a later call still waits for the
   * earlier ones, not only for this one.
   */
  private inSymbolOrder<T>(
    symbols: readonly string[],
    budget: () => CallOptions,
    send: (failedBefore: (symbol: string) => MathDispatcherError | undefined) => Promise<T>,
    failedIn: (symbol: string, settled: PromiseSettledResult<T>) => MathDispatcherError | undefined,
  ): Promise<T> {
    const states = symbols.map((symbol) => {
      let state = this.inFlight.get(symbol);
      if (!state) this.inFlight.set(symbol, (state = { last: Promise.resolve(), calls: 0, made: 0, failures: [] }));
      return state;
    });
    const earlier = states.filter((state) => state.calls > 0).map((state) => state.last);
    const places = states.map((state) => state.made++);
    for (const state of states) state.calls++;
    const failedBefore = (symbol: string) => {
      const k = symbols.indexOf(symbol);
      const place = places[k] as number;
      return (states[k] as SymbolInFlight).failures.find((f) => f.place < place && place < f.failedWhenMade)?.error;
    };
    // a send that throws (its budget spent before it went) settles the call as a rejection would:
    // thrown past here, it left the symbol "in flight" for ever
    const sendNow = (): Promise<T> => {
      try {
        return send(failedBefore);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const result = earlier.length === 0 ? sendNow() : this.afterEarlier(symbols, earlier, budget).then(sendNow);
    // before the caller hears of the call (this reaction comes first), so that a call it makes
    // then counts as made once the failure was known
    const settle = (outcome: PromiseSettledResult<T>) =>
      symbols.forEach((symbol, k) => {
        const state = states[k] as SymbolInFlight;
        const error = failedIn(symbol, outcome);
        if (error) state.failures.push({ place: places[k] as number, failedWhenMade: state.made, error });
        if (--state.calls === 0) this.inFlight.delete(symbol);
      });
    result.then(
      (value) => settle({ status: "fulfilled", value }),
      (reason: unknown) => settle({ status: "rejected", reason }),
    );
    const settled = Promise.allSettled([...earlier, result]).then(() => undefined);
    for (const state of states) state.last = settled;
    return result;
  }

  /** The calls of `symbols` this object has in flight, each settled (never rejected). */
  private inFlightOf(symbols: readonly string[]): Promise<void>[] {
    return symbols.flatMap((symbol) => this.inFlight.get(symbol)?.last ?? []);
  }

  /** Settles once `earlier` (calls of `symbols` in flight) have; rejects with a CommandTimeoutError when `budget` runs out first. */
  private async afterEarlier(symbols: readonly string[], earlier: readonly Promise<void>[], budget: () => CallOptions): Promise<unknown> {
    const message = `the call's deadline passed while earlier updates of ${symbols.join(", ")} were in flight`;
    return within(Promise.all(earlier), budget().deadlineMs as number, () => new CommandTimeoutError(message));
  }

  /**
   * Applies one tick or bar to the symbol's ATR, RSI (bars only) and VWAP in one atomic script
   * call, after the symbol's earlier calls of this object: waiting for them counts against the
   * call's deadline. Lone updates of a symbol made while its earlier calls are in flight (a
   * caller that fires each tick without awaiting it) wait as one group and go as one call, up to
   * {@link MAX_STREAM_UPDATES_PER_CALL} updates, in the order made: a busy symbol's ticks cost
   * Redis what the tick consumer's do. An update joins the group only while it is the symbol's
   * last call, given the same `deadlineMs`, and no failure of the symbol became known since the
   * group opened; the group waits under its first update's deadline. A caller who awaits each
   * update sends each alone, as before.
   */
  async update(input: StreamUpdateInput, options?: CallOptions): Promise<StreamUpdateResult> {
    checkCallOptions(options);
    const u = this.parseUpdate(input);
    const state = this.inFlight.get(u.symbol);
    if (!state) return this.sendAlone(u, options);
    const open = this.openGroups.get(u.symbol);
    const joins =
      open !== undefined &&
      open.updates.length < MAX_STREAM_UPDATES_PER_CALL &&
      open.deadlineMs === options?.deadlineMs &&
      state.made === open.place + 1 && // no call of the symbol was made after it
      state.failures.length === open.failuresAtOpen;
    const group = joins ? open : this.openGroup(u.symbol, state, options);
    const k = group.updates.push(u) - 1;
    return (group.results as Promise<StreamUpdateResult[]>).then((results) => results[k] as StreamUpdateResult);
  }

  /** One update as its own call (the symbol has nothing in flight). */
  private async sendAlone(u: ParsedUpdate, options: CallOptions | undefined): Promise<StreamUpdateResult> {
    const budget = callBudget(options, this.runner.deadlineMs);
    return decodeUpdateReply(await this.sendInOrder(u.symbol, budget, () => [u]), this.multipliers);
  }

  /** A new group of lone updates of `symbol`, queued behind its calls in flight (`state`); closed once sent. */
  private openGroup(symbol: string, state: SymbolInFlight, options: CallOptions | undefined): UpdateGroup {
    const group: UpdateGroup = { updates: [], deadlineMs: options?.deadlineMs, place: state.made, failuresAtOpen: state.failures.length };
    this.openGroups.set(symbol, group);
    const close = () => {
      if (this.openGroups.get(symbol) === group) this.openGroups.delete(symbol);
    };
    let sent: readonly ParsedUpdate[] = [];
    const reply = this.sendInOrder(symbol, callBudget(options, this.runner.deadlineMs), () => {
      close(); // from here on no update joins: these are the updates it answers
      return (sent = [...group.updates]);
    });
    group.results = reply.then(
      (raw) => this.decodeReplies(raw, sent.length),
      (error: unknown) => {
        close(); // its wait ran out before its turn, if it was not sent
        throw error;
      },
    );
    return group;
  }

  /**
   * The lone updates `updates()` gives, of `symbol`, as one call after the symbol's earlier calls
   * (inSymbolOrder), held back as they would be; resolves to the raw reply.
   */
  private sendInOrder(symbol: string, budget: CallBudget, updates: () => readonly ParsedUpdate[]): Promise<unknown> {
    return this.inSymbolOrder(
      [symbol],
      budget,
      (failedBefore) => {
        const list = updates();
        const failed = failedBefore(symbol);
        return failed ? Promise.reject(new UpdateHeldBackError(failed)) : this.runner.run(this.callOf(list), budget());
      },
      (_, settled) => (settled.status === "rejected" ? ownFailure(settled.reason) : undefined),
    );
  }

  /**
   * Applies many updates, each symbol's in the order given; each succeeds or fails on its own.
   * A symbol's updates travel in one atomic call (`stream_update_many`, a lone one in
   * `stream_update`), all symbols' calls in one pipeline: a server that turns a call away for a
   * moment (scripts flushed, busy, loading) turns all of that symbol's updates away, so the retry
   * can never land behind a later one of them. More than {@link MAX_STREAM_UPDATES_PER_CALL}
   * updates of one symbol go in several calls, one round trip after another; once one of those
   * fails, the later ones are not sent (an {@link UpdateHeldBackError} each), so a later update
   * never gets ahead of one that failed. As with {@link StreamingIndicators.update}, the calls go
   * after the earlier calls of the same symbols. Every index gets its outcome: a hole of a sparse
   * array an InvalidInputError naming it (`inputs[i]`).
   */
  async updateMany(inputs: readonly StreamUpdateInput[], options?: CallOptions): Promise<BatchOutcome<StreamUpdateResult>[]> {
    requireArray(inputs, "inputs");
    checkCallOptions(options); // before the budget below starts counting a bad deadline
    const parsed = attemptEach(inputs, "inputs", (input) => this.parseUpdate(input));
    const outcomes: (BatchOutcome<StreamUpdateResult> | undefined)[] = parsed.map((p) => (p.ok ? undefined : p));
    const queues = symbolQueues(parsed);
    const budget = callBudget(options, this.runner.deadlineMs); // one deadline for the wait and all the round trips
    const heldBack = new Set<string>(); // symbols an earlier call's failure held back: not failures of this call
    try {
      return await this.inSymbolOrder(
        queues.map((q) => q.symbol),
        budget,
        (failedBefore) => {
          for (const queue of queues) {
            queue.failed ??= failedBefore(queue.symbol);
            if (queue.failed) heldBack.add(queue.symbol);
          }
          return this.sendRounds(queues, outcomes, budget);
        },
        (symbol, settled) => (settled.status === "rejected" ? ownFailure(settled.reason) : heldBack.has(symbol) ? undefined : queues.find((q) => q.symbol === symbol)?.failed),
      );
    } catch (error) {
      if (!(error instanceof CommandTimeoutError)) throw error;
      return outcomes.map((o) => o ?? { ok: false, error }); // the deadline passed while earlier calls were in flight
    }
  }

  /** Sends a batch's calls: round trip r sends every symbol's r-th call, unless an earlier call of that symbol failed. */
  private async sendRounds(
    queues: SymbolQueue[],
    outcomes: (BatchOutcome<StreamUpdateResult> | undefined)[],
    budget: () => CallOptions,
  ): Promise<BatchOutcome<StreamUpdateResult>[]> {
    for (let round = 0; queues.some((q) => round < q.calls.length); round++) {
      const sent: SymbolQueue[] = [];
      for (const queue of queues) {
        const call = queue.calls[round];
        if (!call) continue;
        if (!queue.failed) sent.push(queue);
        else for (const { index } of call) outcomes[index] = { ok: false, error: new UpdateHeldBackError(queue.failed) };
      }
      if (sent.length === 0) continue; // every symbol left in this round is held back
      const left = attempt(budget); // the deadline may have passed in an earlier round trip
      const calls = sent.map((queue) => this.callOf((queue.calls[round] as Queued[]).map((q) => q.update)));
      const settled: Settled[] = left.ok ? await this.runner.runMany(calls, left.value) : calls.map(() => left);
      sent.forEach((queue, k) => {
        const queued = queue.calls[round] as Queued[];
        const outcome = settled[k] as Settled;
        const decoded = outcome.ok ? attempt(() => this.decodeReplies(outcome.reply, queued.length)) : outcome;
        if (!decoded.ok) queue.failed = decoded.error;
        queued.forEach(({ index }, j) => (outcomes[index] = decoded.ok ? { ok: true, value: decoded.value[j] as StreamUpdateResult } : decoded));
      });
    }
    return outcomes as BatchOutcome<StreamUpdateResult>[];
  }

  /** One call for updates of one symbol: a lone update takes `stream_update` (its fast path for a tick). */
  private callOf(updates: readonly ParsedUpdate[]): ScriptCall {
    return updates.length === 1 ? this.updateCall(updates[0] as ParsedUpdate) : this.updatesCall(updates);
  }

  /**
   * The results of one call of `count` updates: `stream_update`'s one reply, or `stream_update_many`'s
   * flat list of 11 values per update ('' for vwap, sigma, volume and points while there is no volume).
   */
  private decodeReplies(reply: unknown, count: number): StreamUpdateResult[] {
    if (count === 1) return [decodeUpdateReply(reply, this.multipliers)];
    if (!Array.isArray(reply) || reply.length !== count * FULL_REPLY) {
      throw new ReplyFormatError(`stream_update_many reply: expected ${count * FULL_REPLY} values, got ${JSON.stringify(reply)}`);
    }
    return Array.from({ length: count }, (_, k) => {
      const one = reply.slice(k * FULL_REPLY, (k + 1) * FULL_REPLY);
      return decodeUpdateReply(one[VWAP_AT] === "" ? one.slice(0, VWAP_AT + 1) : one, this.multipliers); // '' for vwap: no volume yet
    });
  }

  /** The current values of one symbol. */
  async snapshot(symbol: string, options?: CallOptions): Promise<IndicatorSnapshot> {
    return unwrap((await this.snapshots([symbol], options))[0]);
  }

  /**
   * The current values of many symbols in one round trip, after the updates of those symbols this
   * object has in flight (a snapshot shows every update made before it; waiting counts against
   * the call's deadline). On a cluster with `readFrom: "replica"` a replica may still lag. Every
   * index gets its outcome: a hole of a sparse array an InvalidInputError naming it (`symbols[i]`).
   */
  async snapshots(symbols: readonly string[], options?: CallOptions): Promise<BatchOutcome<IndicatorSnapshot>[]> {
    requireArray(symbols, "symbols");
    checkCallOptions(options);
    const budget = callBudget(options, this.runner.deadlineMs);
    const prepared = attemptEach(symbols, "symbols", (symbol) => ({
      call: { script: "stream_snapshot", keys: this.keys(symbol), args: [String(this.atrPeriod), String(this.rsiPeriod), this.bands] },
      extra: undefined,
    }));
    const earlier = this.inFlightOf(symbols);
    const waited = earlier.length === 0 ? undefined : await this.afterEarlier(symbols, earlier, budget).then(() => undefined, (error: CommandTimeoutError) => error);
    const left = waited ? { ok: false as const, error: waited } : attempt(budget);
    if (!left.ok) return prepared.map((p) => (p.ok ? left : p));
    return runPrepared(this.runner, prepared, (reply) => decodeSnapshot(decodeReply(reply)), left.value);
  }
}
