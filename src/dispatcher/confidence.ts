/** Confidence in log-odds through `lua/confidence.lua`. */
import { z } from "zod";
import { CONFIDENCE_DEFAULTS } from "../core/defaults.js";
import { optionalArg, rangeSchema, symbolSchema } from "./inputs.js";
import { numberField, type ReplyFields } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";

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
    volumeWeight: rangeSchema(0, 10).default(CONFIDENCE_DEFAULTS.volumeWeight),
    newsWeight: rangeSchema(0, 10).default(CONFIDENCE_DEFAULTS.newsWeight),
    min: rangeSchema(0, 1).default(CONFIDENCE_DEFAULTS.min),
    max: rangeSchema(0, 1).default(CONFIDENCE_DEFAULTS.max),
  })
  .superRefine((s, ctx) => {
    if (!(s.min < s.max)) ctx.addIssue({ code: "custom", path: ["min"], message: "must be below max" });
  });

export const baseConfidenceSchema = rangeSchema(0, 1, { min: true, max: true });
export const volumeRatioSchema = rangeSchema(0, 1e6, { min: true });

const confidenceSchema = z
  .object({
    symbol: symbolSchema,
    base: baseConfidenceSchema,
    volumeRatio: volumeRatioSchema.optional(),
    boost: rangeSchema(-1, 1),
    maxBoost: rangeSchema(0, 1, { min: true }).default(CONFIDENCE_DEFAULTS.maxBoost),
  })
  .and(confidenceSettingsSchema)
  .superRefine((input, ctx) => {
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
export function confidenceArgs(input: ConfidenceArgsInput): string[] {
  return [
    String(input.base),
    optionalArg(input.volumeRatio),
    optionalArg(input.boost),
    optionalArg(input.maxBoost),
    String(input.volumeWeight),
    String(input.newsWeight),
    String(input.min),
    String(input.max),
  ];
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
