/** ATR through `lua/atr.lua`. */
import { z } from "zod";
import { barsSchema, headerBounds, symbolSchema } from "./inputs.js";
import { numberField, type ReplyFields, seriesOf } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { pointBytes, type PriceInput, slicePoints } from "../core/units.js";
import { MAX_POINTS_PER_CALL, MAX_SERIES_POINTS_PER_CALL } from "./limits.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** Input of {@link MathDispatcher.atr}. */
export interface AtrInput {
  symbol: string;
  /** Smoothing period n, 1..500; needs at least n + 1 bars. */
  period: number;
  /** Oldest first. Prices as numbers or decimal text, at most 4 decimals. */
  bars: readonly { high: PriceInput; low: PriceInput; close: PriceInput }[];
  /** Also return the ATR of every bar from bar n + 1 on. */
  series?: boolean;
}

/** Result of {@link MathDispatcher.atr}. */
export interface AtrResult {
  /** ATR of the last bar, in price. */
  atr: number;
  /** ATR / last close * 100. */
  natr: number;
  /** Number of bars used. */
  bars: number;
  /** ATR per bar from bar n + 1 on, when asked for. */
  series?: number[];
}


const atrSchema = z
  .object({
    symbol: symbolSchema,
    period: headerBounds("atr", "period"),
    bars: barsSchema,
    series: z.boolean().default(false),
  })
  .superRefine((input, ctx) => {
    if (input.bars.count < input.period + 1) {
      ctx.addIssue({
        code: "custom",
        path: ["bars"],
        message: `needs at least period + 1 = ${input.period + 1} bars, got ${input.bars.count}`,
      });
    }
  });

type ParsedAtr = z.output<typeof atrSchema>;

/** ARGV of lua/atr.lua; `state` '' for a whole series, else a chunk's (see chunked.ts). */
function atrArgs(input: ParsedAtr, state: string): ScriptArgs<"atr"> {
  return {
    period: String(input.period),
    series: input.series ? "1" : "0",
    state,
    bars: pointBytes(input.bars),
  };
}

function decodeAtr(fields: ReplyFields, series?: number[]): AtrResult {
  return {
    atr: numberField(fields, "atr"),
    natr: numberField(fields, "natr"),
    bars: numberField(fields, "bars"),
    ...(series ? { series } : {}),
  };
}

/**
 * ATR over up to MAX_POINTS bars: one script call when they fit in one (MAX_POINTS_PER_CALL
 * bars, MAX_SERIES_POINTS_PER_CALL with the series), else consecutive calls carrying the ATR
 * state, so Redis is free between them; the result equals one call over all the bars bit for bit.
 */
export const atrFunction: ValidatedFunction<typeof atrSchema, AtrResult> = {
  script: "atr",
  schema: atrSchema,
  args: (input) => atrArgs(input, ""),
  decode: (fields) => decodeAtr(fields, seriesOf([fields])),
  chunking: {
    args: atrArgs,
    maxPointsPerCall: (input) => (input.series ? MAX_SERIES_POINTS_PER_CALL : MAX_POINTS_PER_CALL),
    length: (input) => input.bars.count,
    slice: (input, from, to) => ({ ...input, bars: slicePoints(input.bars, from, to) }),
    combine: (replies) => decodeAtr(replies[replies.length - 1] as ReplyFields, seriesOf(replies)),
  },
};
