/** Stop-loss and target through `lua/stop_loss.lua`. */
import { z } from "zod";
import { STOP_LOSS_DEFAULTS } from "../core/defaults.js";
import { headerBounds, optionalArg, priceSchema, sideSchema, symbolSchema } from "./inputs.js";
import { numberField, type ReplyFields, textField } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { type PriceInput, unitsToText } from "../core/units.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** How the stop is placed; all optional, with documented defaults. */
export interface StopLossSettings {
  /** k: the stop distance is k * ATR before clamping. Default 1.5. */
  multiplier?: number;
  /** The instrument's tick size. Default 0.05 (NSE options); 0.01 for cash stocks under Rs 250. */
  tick?: PriceInput;
  /** Minimum distance as a fraction of entry. */
  minFraction?: number;
  /** Maximum distance as a fraction of entry. */
  maxFraction?: number;
  /** Target at this multiple of the risk; no target when absent. */
  rewardRatio?: number;
}

/** Input of {@link MathDispatcher.stopLoss}. */
export interface StopLossInput extends StopLossSettings {
  symbol: string;
  side: "long" | "short";
  /** Entry price, on the tick grid. */
  entry: PriceInput;
  /** ATR in price. */
  atr: number;
}

/** Result of {@link MathDispatcher.stopLoss}: prices exactly on the tick grid. */
export interface StopLossResult {
  stop: number;
  target?: number;
  /** |entry - stop|. */
  distance: number;
  /** |entry - stop| in ticks, a whole number. */
  distanceTicks: number;
  /** Which bound clamped the distance, if any. */
  clamped: "none" | "min" | "max";
}

export const stopLossSettingsSchema = z
  .object({
    multiplier: headerBounds("stop_loss", "multiplier").default(STOP_LOSS_DEFAULTS.multiplier),
    tick: priceSchema.prefault(STOP_LOSS_DEFAULTS.tick),
    minFraction: headerBounds("stop_loss", "min_fraction").optional(),
    maxFraction: headerBounds("stop_loss", "max_fraction").optional(),
    rewardRatio: headerBounds("stop_loss", "reward_ratio").optional(),
  })
  .superRefine(checkFractionOrder);

/** The settings' own check, run again by each schema that takes their fields. */
function checkFractionOrder(s: { minFraction?: number; maxFraction?: number }, ctx: z.RefinementCtx): void {
  if (s.minFraction !== undefined && s.maxFraction !== undefined && s.minFraction > s.maxFraction) {
    ctx.addIssue({ code: "custom", path: ["minFraction"], message: "is above maxFraction" });
  }
}

/** Checks that the entry (in units) lies on the tick grid (in units). */
export function entryOnGrid(entry: number, tick: number, ctx: z.RefinementCtx, path: PropertyKey[]): void {
  if (entry % tick !== 0) {
    ctx.addIssue({ code: "custom", path, message: `must lie on the tick grid of ${unitsToText(tick)}` });
  }
}

const stopLossSchema = z
  .object({
    symbol: symbolSchema,
    side: sideSchema,
    entry: priceSchema,
    atr: headerBounds("stop_loss", "atr"),
  })
  // the settings' fields in the same object, not `.and(stopLossSettingsSchema)`: an intersection
  // parses the input twice and merges the results, three times the cost of the whole object
  .extend(stopLossSettingsSchema.shape)
  .superRefine((input, ctx) => {
    checkFractionOrder(input, ctx);
    entryOnGrid(input.entry, input.tick, ctx, ["entry"]);
  });

type StopLossArgsInput = z.output<typeof stopLossSettingsSchema> & { side: string; entry: number; atr?: number };

/** The stop_loss ARGV section (8 slots); `atr` may be '' in dispatch when bars are given. */
export function stopLossArgs(input: StopLossArgsInput): ScriptArgs<"stop_loss"> {
  return {
    side: input.side,
    entry: unitsToText(input.entry),
    atr: optionalArg(input.atr),
    multiplier: String(input.multiplier),
    tick: unitsToText(input.tick),
    min_fraction: optionalArg(input.minFraction),
    max_fraction: optionalArg(input.maxFraction),
    reward_ratio: optionalArg(input.rewardRatio),
  };
}

/** Reads the stop_loss fields of a reply (also part of the dispatch reply). */
export function decodeStopLoss(fields: ReplyFields): StopLossResult {
  const target = textField(fields, "target");
  return {
    stop: numberField(fields, "stop"),
    ...(target === "" ? {} : { target: Number(target) }),
    distance: numberField(fields, "distance"),
    distanceTicks: numberField(fields, "distance_ticks"),
    clamped: textField(fields, "clamped") as StopLossResult["clamped"],
  };
}

export const stopLossFunction: ValidatedFunction<typeof stopLossSchema, StopLossResult> = {
  script: "stop_loss",
  schema: stopLossSchema,
  args: stopLossArgs,
  decode: decodeStopLoss,
};
