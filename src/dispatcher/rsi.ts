/** RSI through `lua/rsi.lua`. */
import { z } from "zod";
import { pointBytes, type PriceInput } from "../core/units.js";
import type { ScriptArgs } from "../generated/scripts.js";
import { headerBounds, priceSchema, symbolSchema } from "./inputs.js";
import { MAX_POINTS, MAX_POINTS_PER_CALL, MAX_SERIES_POINTS_PER_CALL } from "./limits.js";
import { numberField, type ReplyFields, seriesOf } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";

/** Input of {@link MathDispatcher.rsi}. */
export interface RsiInput {
  symbol: string;
  /** Smoothing period n, 2..500; needs at least n + 1 closes. */
  period: number;
  /** Closes, oldest first, as numbers or decimal text with at most 4 decimals. */
  closes: readonly PriceInput[];
  /** Also return the RSI of every close from close n + 1 on. */
  series?: boolean;
}

/** Result of {@link MathDispatcher.rsi}. */
export interface RsiResult {
  /** RSI of the last close, 0..100. */
  rsi: number;
  /** Wilder's average gain and loss after the last close, in price. */
  avgGain: number;
  avgLoss: number;
  /** Number of closes used. */
  closes: number;
  /** RSI per close from close n + 1 on, when asked for. */
  series?: number[];
}

const rsiSchema = z
  .object({
    symbol: symbolSchema,
    period: headerBounds("rsi", "period"),
    closes: z.array(priceSchema).min(1, { error: "must not be empty" }).max(MAX_POINTS, { error: `at most ${MAX_POINTS} closes` }),
    series: z.boolean().default(false),
  })
  .superRefine((input, ctx) => {
    if (input.closes.length < input.period + 1) {
      ctx.addIssue({ code: "custom", path: ["closes"], message: `needs at least period + 1 = ${input.period + 1} closes, got ${input.closes.length}` });
    }
  });

type ParsedRsi = z.output<typeof rsiSchema>;

function rsiArgs(input: ParsedRsi, state: string): ScriptArgs<"rsi"> {
  return {
    period: String(input.period),
    series: input.series ? "1" : "0",
    state,
    closes: pointBytes({ count: input.closes.length, width: 1, data: Float64Array.from(input.closes) }),
  };
}

function decodeRsi(fields: ReplyFields, series?: number[]): RsiResult {
  return {
    rsi: numberField(fields, "rsi"),
    avgGain: numberField(fields, "avg_gain"),
    avgLoss: numberField(fields, "avg_loss"),
    closes: numberField(fields, "closes"),
    ...(series ? { series } : {}),
  };
}

/** RSI over up to MAX_POINTS closes: one call when they fit, else chunks carrying the state. */
export const rsiFunction: ValidatedFunction<typeof rsiSchema, RsiResult> = {
  script: "rsi",
  schema: rsiSchema,
  args: (input) => rsiArgs(input, ""),
  decode: (fields) => decodeRsi(fields, seriesOf([fields])),
  chunking: {
    args: rsiArgs,
    maxPointsPerCall: (input) => (input.series ? MAX_SERIES_POINTS_PER_CALL : MAX_POINTS_PER_CALL),
    length: (input) => input.closes.length,
    slice: (input, from, to) => ({ ...input, closes: input.closes.slice(from, to) }),
    combine: (replies) => decodeRsi(replies[replies.length - 1] as ReplyFields, seriesOf(replies)),
  },
};
