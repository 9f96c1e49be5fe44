/** ATR through `lua/atr.lua`. */
import { z } from "zod";
import { barSchema, integerSchema, pointsSchema, symbolSchema } from "./inputs.js";
import { numberField, numberListField } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { packDoubles, type PriceInput } from "../core/units.js";

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

export const MAX_ATR_PERIOD = 500;

const atrSchema = z
  .object({
    symbol: symbolSchema,
    period: integerSchema(1, MAX_ATR_PERIOD),
    bars: pointsSchema(barSchema),
    series: z.boolean().default(false),
  })
  .superRefine((input, ctx) => {
    if (input.bars.length < input.period + 1) {
      ctx.addIssue({
        code: "custom",
        path: ["bars"],
        message: `needs at least period + 1 = ${input.period + 1} bars, got ${input.bars.length}`,
      });
    }
  });

export const atrFunction: ValidatedFunction<typeof atrSchema, AtrResult> = {
  script: "atr",
  schema: atrSchema,
  args: (input) => [
    String(input.period),
    input.series ? "1" : "0",
    packDoubles(
      input.bars.map((b) => [b.high, b.low, b.close]),
      3,
    ),
  ],
  decode: (fields) => ({
    atr: numberField(fields, "atr"),
    natr: numberField(fields, "natr"),
    bars: numberField(fields, "bars"),
    ...(fields.has("series") ? { series: numberListField(fields, "series") } : {}),
  }),
};
