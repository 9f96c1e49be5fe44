/** Confidence in log-odds through `lua/confidence.lua`. */
import { z } from "zod";
import { CONFIDENCE_DEFAULTS } from "../core/defaults.js";
import { headerBounds, optionalArg, symbolSchema } from "./inputs.js";
import { numberField, type ReplyFields } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** Weights and clamps; all optional. */
export interface ConfidenceSettings {
  /** Weight of clamp(ln(volume ratio), -2, 2). Default 0.5. */
  volumeWeight?: number;
  /** Weight of boost / maxBoost. Default 0.75. */
  newsWeight?: number;
  /** Lower clamp. Default 0.05. */
  min?: number;
  /** Upper clamp. Default 0.95. */
  max?: number;
}

/** Input of {@link MathDispatcher.confidence}. */
export interface ConfidenceInput extends ConfidenceSettings {
  symbol: string;
  /** The detector's confidence c0, (0, 1). */
  base: number;
  /** Current volume / baseline; no volume term when absent. */
  volumeRatio?: number;
  /** The news boost, within [-maxBoost, maxBoost]. */
  boost: number;
  /** Default 0.15. */
  maxBoost?: number;
}

/** Result of {@link MathDispatcher.confidence}, with each term's contribution in log-odds. */
export interface ConfidenceResult {
  confidence: number;
  /** sigmoid(z) before the clamp. */
  unclamped: number;
  /** logit(c0). */
  baseTerm: number;
  /** w_vol * clamp(ln r, -2, 2). */
  volumeTerm: number;
  /** w_news * boost / maxBoost. */
  newsTerm: number;
}

export const confidenceSettingsSchema = z
  .object({
    volumeWeight: headerBounds("confidence", "volume_weight").default(CONFIDENCE_DEFAULTS.volumeWeight),
    newsWeight: headerBounds("confidence", "news_weight").default(CONFIDENCE_DEFAULTS.newsWeight),
    min: headerBounds("confidence", "min_confidence").default(CONFIDENCE_DEFAULTS.min),
    max: headerBounds("confidence", "max_confidence").default(CONFIDENCE_DEFAULTS.max),
  })
  .superRefine(checkMinBelowMax);

/** The settings' own check, run again by each schema that takes their fields. */
function checkMinBelowMax(s: { min: number; max: number }, ctx: z.RefinementCtx): void {
  if (!(s.min < s.max)) ctx.addIssue({ code: "custom", path: ["min"], message: "must be below max" });
}

export const baseConfidenceSchema = headerBounds("confidence", "base_confidence");
export const volumeRatioSchema = headerBounds("confidence", "volume_ratio");

const confidenceSchema = z
  .object({
    symbol: symbolSchema,
    base: baseConfidenceSchema,
    volumeRatio: volumeRatioSchema.optional(),
    boost: headerBounds("confidence", "boost"),
    maxBoost: headerBounds("confidence", "max_boost").default(CONFIDENCE_DEFAULTS.maxBoost),
  })
  .extend(confidenceSettingsSchema.shape) // one object, not an intersection (stopLoss.ts says why)
  .superRefine((input, ctx) => {
    checkMinBelowMax(input, ctx);
    if (Math.abs(input.boost) > input.maxBoost) {
      ctx.addIssue({ code: "custom", path: ["boost"], message: "must be within [-maxBoost, maxBoost]" });
    }
  });

type ConfidenceArgsInput = z.output<typeof confidenceSettingsSchema> & {
  base: number;
  volumeRatio?: number;
  boost?: number;
  maxBoost?: number;
};

/** The confidence ARGV section (8 slots); boost and maxBoost are '' when chained. */
export function confidenceArgs(input: ConfidenceArgsInput): ScriptArgs<"confidence"> {
  return {
    base_confidence: String(input.base),
    volume_ratio: optionalArg(input.volumeRatio),
    boost: optionalArg(input.boost),
    max_boost: optionalArg(input.maxBoost),
    volume_weight: String(input.volumeWeight),
    news_weight: String(input.newsWeight),
    min_confidence: String(input.min),
    max_confidence: String(input.max),
  };
}

/** Reads the confidence fields of a reply (also part of the dispatch reply). */
export function decodeConfidence(fields: ReplyFields): ConfidenceResult {
  return {
    confidence: numberField(fields, "confidence"),
    unclamped: numberField(fields, "unclamped"),
    baseTerm: numberField(fields, "base_term"),
    volumeTerm: numberField(fields, "volume_term"),
    newsTerm: numberField(fields, "news_term"),
  };
}

export const confidenceFunction: ValidatedFunction<typeof confidenceSchema, ConfidenceResult> = {
  script: "confidence",
  schema: confidenceSchema,
  args: confidenceArgs,
  decode: decodeConfidence,
};
