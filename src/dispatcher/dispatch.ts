/**
 * `dispatch`: everything the risk manager needs for one signal in one script call
 * (`lua/dispatch.lua`): ATR (given or from bars) -> stop-loss -> news boost -> confidence ->
 * position size.
 */
import { z } from "zod";
import { type AccountSettings, accountSchema, decodePositionSize, positionSizeArgs, type PositionSizeResult } from "./positionSize.js";
import { type ConfidenceResult, type ConfidenceSettings, baseConfidenceSchema, confidenceArgs, confidenceSettingsSchema, decodeConfidence, volumeRatioSchema } from "./confidence.js";
import { barsSchema, epochMsSchema, headerBounds, priceSchema, sideSchema, symbolSchema, volumeSchema } from "./inputs.js";
import { checkNotFuture, decodeNewsBoost, type NewsBoostResult, type NewsItemInput, newsBoostArgs, newsItemsSchema, type NewsSettings, newsSettingsSchema } from "./newsBoost.js";
import { numberField } from "./reply.js";
import type { ScriptFunction } from "./scriptFunction.js";
import { decodeStopLoss, entryOnGrid, type StopLossResult, type StopLossSettings, stopLossArgs, stopLossSettingsSchema } from "./stopLoss.js";
import { pointBytes, type PriceInput } from "../core/units.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** A pattern detector's signal, as {@link MathDispatcher.dispatch} takes it. */
export interface Signal {
  symbol: string;
  side: "long" | "short";
  /** Entry price, on the tick grid. */
  entry: PriceInput;
  /** Epoch ms of the signal: `now` for news, and the IST minute of the volume baseline. Default Date.now(). */
  time?: number;
  /** The detector's confidence, (0, 1). */
  baseConfidence: number;
  /** ATR in price; or give `atrBars` to compute it in the same call. */
  atr?: number;
  atrBars?: { period: number; bars: readonly { high: PriceInput; low: PriceInput; close: PriceInput }[] };
  /** Current volume / baseline. Without it, `currentVolume` is divided by the DB 5 baseline. */
  volumeRatio?: number;
  currentVolume?: number;
  /** News items; when absent they are read from `news:latest:{SYMBOL}` in DB 11. */
  news?: readonly NewsItemInput[];
  stop?: StopLossSettings;
  newsSettings?: NewsSettings;
  confidenceSettings?: ConfidenceSettings;
  account: AccountSettings;
}

/** Where the dispatcher took an input from. */
export type InputSource = "given" | "redis" | "none";

/** The decision for one signal. */
export interface Decision {
  /** The ATR used (given, or computed from the bars). */
  atr: number;
  stop: StopLossResult;
  news: NewsBoostResult;
  confidence: ConfidenceResult;
  size: PositionSizeResult;
  /** Which inputs were given and which were read from Redis. */
  sources: { news: InputSource; volumeRatio: InputSource; volumeRatioUsed?: number };
}

export const signalSchema = z
  .object({
    symbol: symbolSchema,
    side: sideSchema,
    entry: priceSchema,
    time: epochMsSchema.default(() => Date.now()),
    baseConfidence: baseConfidenceSchema,
    atr: headerBounds("dispatch", "atr").optional(),
    atrBars: z.object({ period: headerBounds("dispatch", "atr_period"), bars: barsSchema }).optional(),
    volumeRatio: volumeRatioSchema.optional(),
    currentVolume: volumeSchema.optional(),
    news: newsItemsSchema.optional(),
    stop: stopLossSettingsSchema.prefault({}),
    newsSettings: newsSettingsSchema.prefault({}),
    confidenceSettings: confidenceSettingsSchema.prefault({}),
    account: accountSchema,
  })
  .superRefine((s, ctx) => {
    if ((s.atr === undefined) === (s.atrBars === undefined)) {
      ctx.addIssue({ code: "custom", path: ["atr"], message: "give exactly one of atr or atrBars" });
    }
    if (s.atrBars && s.atrBars.bars.count < s.atrBars.period + 1) {
      ctx.addIssue({ code: "custom", path: ["atrBars", "bars"], message: `needs at least period + 1 = ${s.atrBars.period + 1} bars` });
    }
    entryOnGrid(s.entry, s.stop.tick, ctx, ["entry"]);
    if (s.news) checkNotFuture(s.news, s.time, s.newsSettings.clockSkewMs, ctx, ["news"]);
  });

export type ParsedSignal = z.output<typeof signalSchema>;

/** A parsed signal with the inputs read from Redis filled in. */
export type ResolvedSignal = ParsedSignal & {
  news: NewsItemInput[];
  sources: Decision["sources"];
};

/**
 * `args` without the `names` given: one plain loop. Object rest (`{ a, ...rest }`) and spreading
 * the four steps' arguments into one literal cost a dispatch call about 45 us of client CPU, three
 * times the rest of its argument building. Likewise each step's input is an `Object.assign`:
 * V8 copies an object with double fields through a spread about ten times slower (2.2-2.7 us
 * against 0.2-0.3 for a settings object).
 */
function omit<T extends object, K extends keyof T>(args: T, names: readonly K[]): Omit<T, K> {
  const kept: Partial<T> = {};
  for (const key in args) if (!(names as readonly PropertyKey[]).includes(key)) kept[key] = args[key];
  return kept as Omit<T, K>;
}

/** Validated by {@link signalSchema}, then resolved against Redis before it runs. */
export const dispatchFunction: ScriptFunction<ResolvedSignal, Omit<Decision, "sources">> = {
  script: "dispatch",
  // each step's arguments by name; what the chain computes (boost, stop, confidence) is not sent,
  // the entry and side are the stop-loss step's, max_boost the news step's
  args: (s): ScriptArgs<"dispatch"> =>
    Object.assign(
      stopLossArgs(Object.assign({}, s.stop, { side: s.side, entry: s.entry, atr: s.atr })),
      omit(confidenceArgs(Object.assign({}, s.confidenceSettings, { base: s.baseConfidence, volumeRatio: s.sources.volumeRatioUsed })), ["boost", "max_boost"]),
      omit(positionSizeArgs(s.account), ["entry", "stop", "confidence"]),
      omit(newsBoostArgs(Object.assign({}, s.newsSettings, { side: s.side, items: s.news, now: s.time })), ["side"]),
      { atr_period: s.atrBars ? String(s.atrBars.period) : "", bars: s.atrBars ? pointBytes(s.atrBars.bars) : "" },
    ),
  decode: (fields) => ({
    atr: numberField(fields, "atr"),
    stop: decodeStopLoss(fields),
    news: decodeNewsBoost(fields),
    confidence: decodeConfidence(fields),
    size: decodePositionSize(fields),
  }),
};
