/**
 * The registry of single-script functions: name -> validation, ARGV layout and reply decoding.
 * {@link MathDispatcher} turns every entry into a typed method (`math.atr(input)`), `run` and
 * `batch` take them by name, and the shared test contract runs over all of them. Adding a
 * function is a file of its own (schema, args, decode) plus one line here and one in
 * {@link FunctionTypes}.
 */
import type { z } from "zod";
import { type AtrInput, type AtrResult, atrFunction } from "./atr.js";
import { type ConfidenceInput, type ConfidenceResult, confidenceFunction } from "./confidence.js";
import { type NewsBoostInput, type NewsBoostResult, newsBoostFunction } from "./newsBoost.js";
import { type PositionSizeInput, type PositionSizeResult, positionSizeFunction } from "./positionSize.js";
import { type RsiInput, type RsiResult, rsiFunction } from "./rsi.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { type StopLossInput, type StopLossResult, stopLossFunction } from "./stopLoss.js";
import { type VwapInput, type VwapResult, vwapFunction } from "./vwap.js";

/** Input and result types of the single functions, by name. */
export interface FunctionTypes {
  /** Average True Range (TA-Lib) of the bars, with NATR. */
  atr: [AtrInput, AtrResult];
  /** VWAP with sigma bands over ticks or bars. */
  vwap: [VwapInput, VwapResult];
  /** Relative Strength Index (TA-Lib's TA_RSI) of the closes. */
  rsi: [RsiInput, RsiResult];
  /** Stop-loss (and target) on the tick grid from entry and ATR. */
  stopLoss: [StopLossInput, StopLossResult];
  /** Lots and quantity for a fixed fraction of capital at risk. */
  positionSize: [PositionSizeInput, PositionSizeResult];
  /** Recency- and relevance-weighted news sentiment as a signed confidence boost. */
  newsBoost: [NewsBoostInput, NewsBoostResult];
  /** The detector's confidence moved in log-odds by volume and news. */
  confidence: [ConfidenceInput, ConfidenceResult];
}

/** The name of a single-function call (`atr`, `vwap`, `stopLoss`, ...), as `run` and `batch` take it. */
export type FunctionName = keyof FunctionTypes;

/** A function call for {@link MathDispatcher.run} and {@link MathDispatcher.batch}. */
export type BatchCall = { [K in FunctionName]: { fn: K; input: FunctionTypes[K][0] } }[FunctionName];

/** A registered function, whatever its types. */
export type AnyFunction = ValidatedFunction<z.ZodType<{ symbol: string }>, unknown>;

/** The single functions by name; each entry's result type must match {@link FunctionTypes}. */
export const SCRIPT_FUNCTIONS: { readonly [K in FunctionName]: ValidatedFunction<z.ZodType<{ symbol: string }>, FunctionTypes[K][1]> } = {
  atr: atrFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, AtrResult>,
  vwap: vwapFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, VwapResult>,
  rsi: rsiFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, RsiResult>,
  stopLoss: stopLossFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, StopLossResult>,
  positionSize: positionSizeFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, PositionSizeResult>,
  newsBoost: newsBoostFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, NewsBoostResult>,
  confidence: confidenceFunction as ValidatedFunction<z.ZodType<{ symbol: string }>, ConfidenceResult>,
};

/** The names of the registered functions. */
export const FUNCTION_NAMES = Object.keys(SCRIPT_FUNCTIONS) as FunctionName[];
