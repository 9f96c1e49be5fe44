/** Fixed-fractional, lot-aware position size through `lua/position_size.lua`. */
import { z } from "zod";
import { DEFAULT_CONFIDENCE_FLOOR, type SizeBound } from "../core/defaults.js";
import { headerBounds, optionalArg, priceSchema, symbolSchema } from "./inputs.js";
import { numberField, type ReplyFields, textField } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { type PriceInput, unitsToText } from "../core/units.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** The account side of sizing. */
export interface AccountSettings {
  /** Capital in rupees, (0, 1e11]. */
  capital: number;
  /** Fraction of capital at risk per trade, (0, 0.1] (`MAX_RISK`, 10 %); 0.01 is 1 %. */
  risk: number;
  /** Units per lot: 1 for cash equities, the contract's lot size for F&O (an input: it changes). */
  lotSize: number;
  /** Cap on lots. */
  maxLots?: number;
  /** Cap on notional as a fraction of capital, (0, 100]. */
  maxExposure?: number;
  /** Risk multiplier at confidence 0 (it rises linearly to 1 at confidence 1). Default 0.5. */
  confidenceFloor?: number;
}

/** Input of {@link MathDispatcher.positionSize}. */
export interface PositionSizeInput extends AccountSettings {
  symbol: string;
  entry: PriceInput;
  stop: PriceInput;
  /** [0, 1]; without it the full risk is used. */
  confidence?: number;
}

/** Result of {@link MathDispatcher.positionSize}. */
export interface PositionSizeResult {
  lots: number;
  /** lots * lot size. */
  quantity: number;
  /** quantity * |entry - stop|, exact. */
  moneyAtRisk: number;
  /** quantity * entry, exact. */
  notional: number;
  /** The constraint that set the lots. */
  boundBy: SizeBound;
  /** The confidence multiplier applied to the risk. */
  riskMultiplier: number;
}

export const accountSchema = z.object({
  capital: headerBounds("position_size", "capital"),
  risk: headerBounds("position_size", "risk"),
  lotSize: headerBounds("position_size", "lot_size"),
  maxLots: headerBounds("position_size", "max_lots").optional(),
  maxExposure: headerBounds("position_size", "max_exposure").optional(),
  confidenceFloor: headerBounds("position_size", "confidence_floor").default(DEFAULT_CONFIDENCE_FLOOR),
});

const positionSizeSchema = z
  .object({ symbol: symbolSchema, entry: priceSchema, stop: priceSchema, confidence: headerBounds("position_size", "confidence").optional() })
  .extend(accountSchema.shape) // one object, not an intersection (stopLoss.ts says why)
  .superRefine((input, ctx) => {
    if (input.entry === input.stop) {
      ctx.addIssue({ code: "custom", path: ["stop"], message: "equals entry: the risk per unit would be zero" });
    }
  });

type AccountArgs = z.output<typeof accountSchema> & { entry?: number; stop?: number; confidence?: number };

/** The position_size ARGV section (9 slots); entry, stop and confidence are '' when chained. */
export function positionSizeArgs(input: AccountArgs): ScriptArgs<"position_size"> {
  return {
    capital: String(input.capital),
    risk: String(input.risk),
    entry: input.entry === undefined ? "" : unitsToText(input.entry),
    stop: input.stop === undefined ? "" : unitsToText(input.stop),
    lot_size: String(input.lotSize),
    max_lots: optionalArg(input.maxLots),
    max_exposure: optionalArg(input.maxExposure),
    confidence: optionalArg(input.confidence),
    confidence_floor: String(input.confidenceFloor),
  };
}

/** Reads the position_size fields of a reply (also part of the dispatch reply). */
export function decodePositionSize(fields: ReplyFields): PositionSizeResult {
  return {
    lots: numberField(fields, "lots"),
    quantity: numberField(fields, "quantity"),
    moneyAtRisk: numberField(fields, "money_at_risk"),
    notional: numberField(fields, "notional"),
    boundBy: textField(fields, "bound_by") as SizeBound,
    riskMultiplier: numberField(fields, "risk_multiplier"),
  };
}

export const positionSizeFunction: ValidatedFunction<typeof positionSizeSchema, PositionSizeResult> = {
  script: "position_size",
  schema: positionSizeSchema,
  args: positionSizeArgs,
  decode: decodePositionSize,
};
