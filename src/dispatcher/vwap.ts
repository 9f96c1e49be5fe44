/** VWAP with sigma bands through `lua/vwap.lua`. */
import { z } from "zod";
import { finiteSchema, symbolSchema, ticksSchema, volumeBarsSchema } from "./inputs.js";
import { numberField, numberListField, type ReplyFields } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { type PackedPoints, pointBytes, type PriceInput, slicePoints } from "../core/units.js";
import { MAX_POINTS_PER_CALL } from "./limits.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** A trade: price and volume. */
export interface VwapTick {
  price: PriceInput;
  volume: number;
}

/** A bar with volume; VWAP uses its typical price (H + L + C) / 3. */
export interface VwapBar {
  high: PriceInput;
  low: PriceInput;
  close: PriceInput;
  volume: number;
}

/** Input of {@link MathDispatcher.vwap}: ticks or bars from the session anchor on. */
export type VwapInput = {
  symbol: string;
  /** Band multipliers k in (0, 10], up to 5; default [1, 2]. */
  bands?: number[];
} & ({ ticks: readonly VwapTick[] } | { bars: readonly VwapBar[] });

/** One band: VWAP -/+ k sigma. */
export interface VwapBandResult {
  k: number;
  lower: number;
  upper: number;
}

/** Result of {@link MathDispatcher.vwap}. */
export interface VwapResult {
  vwap: number;
  /** Volume-weighted population standard deviation of price. */
  sigma: number;
  /** Total volume. */
  volume: number;
  /** Number of ticks or bars. */
  points: number;
  bands: VwapBandResult[];
}

export const bandsSchema = z
  .array(
    finiteSchema.refine((k) => k > 0 && k <= 10, { error: "must be in (0, 10]" }),
    { error: "must be an array" },
  )
  .min(1, { error: "must not be empty" })
  .max(5, { error: "at most 5 multipliers" })
  .default([1, 2]);


/** The points of a call: its ticks, or its bars (the schema takes exactly one). */
function pointsOf(input: { ticks?: PackedPoints; bars?: PackedPoints }): PackedPoints {
  return (input.ticks ?? input.bars) as PackedPoints;
}

/** Whether any point has a positive volume, the last of its packed fields. */
function hasVolume(points: PackedPoints): boolean {
  for (let at = points.width - 1; at < points.data.length; at += points.width) if ((points.data[at] as number) > 0) return true;
  return false;
}

const vwapSchema = z
  .object({
    symbol: symbolSchema,
    bands: bandsSchema,
    ticks: ticksSchema.optional(),
    bars: volumeBarsSchema.optional(),
  })
  .superRefine((input, ctx) => {
    if ((input.ticks === undefined) === (input.bars === undefined)) {
      ctx.addIssue({ code: "custom", path: ["ticks"], message: "give exactly one of ticks or bars" });
      return;
    }
    const field = input.ticks ? "ticks" : "bars";
    if (!hasVolume(pointsOf(input))) {
      ctx.addIssue({ code: "custom", path: [field], message: "total volume is zero, VWAP is undefined" });
    }
  });

/** Reads the vwap fields of a reply (also part of the streaming replies). */
export function decodeVwap(fields: ReplyFields): VwapResult {
  const k = numberListField(fields, "band_k");
  const lower = numberListField(fields, "band_lower");
  const upper = numberListField(fields, "band_upper");
  return {
    vwap: numberField(fields, "vwap"),
    sigma: numberField(fields, "sigma"),
    volume: numberField(fields, "volume"),
    points: numberField(fields, "points"),
    bands: k.map((kValue, i) => ({ k: kValue, lower: lower[i] as number, upper: upper[i] as number })),
  };
}

type ParsedVwap = z.output<typeof vwapSchema>;

/** ARGV of lua/vwap.lua; `state` '' for a whole series, else a chunk's (see chunked.ts). */
function vwapArgs(input: ParsedVwap, state: string): ScriptArgs<"vwap"> {
  return {
    mode: input.ticks ? "ticks" : "bars",
    bands: input.bands.map(String).join(","),
    state,
    points: pointBytes(pointsOf(input)),
  };
}

/**
 * VWAP over up to MAX_POINTS ticks or bars: one script call when they fit in one
 * (MAX_POINTS_PER_CALL), else consecutive calls carrying the running sums, so Redis is free
 * between them; the result equals one call over all the points bit for bit.
 */
export const vwapFunction: ValidatedFunction<typeof vwapSchema, VwapResult> = {
  script: "vwap",
  schema: vwapSchema,
  args: (input) => vwapArgs(input, ""),
  decode: decodeVwap,
  chunking: {
    args: vwapArgs,
    maxPointsPerCall: () => MAX_POINTS_PER_CALL,
    length: (input) => pointsOf(input).count,
    slice: (input, from, to) =>
      input.ticks ? { ...input, ticks: slicePoints(input.ticks, from, to) } : { ...input, bars: slicePoints(pointsOf(input), from, to) },
    combine: (replies) => decodeVwap(replies[replies.length - 1] as ReplyFields),
  },
};
