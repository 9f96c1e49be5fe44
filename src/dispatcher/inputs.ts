/**
 * Zod schemas for the inputs the functions share, and the one place zod's issues become
 * InvalidInputError. They mirror the Lua checks so bad input fails before any Redis call.
 */
import { z } from "zod";
import { type ARG_NAMES, SCRIPTS, type ScriptName } from "../generated/scripts.js";
import { SYMBOL_PATTERN } from "../keys/symbol.js";
import { InvalidInputError } from "../core/errors.js";
import { priceToUnits } from "../core/units.js";
import { MAX_POINTS, MAX_PRICE, MAX_VOLUME } from "./limits.js";

/** Formats a zod path as the field name the Lua uses: `bars[3].high`. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("") || "input";
}

/** Validates `input`, throwing InvalidInputError for the first problem. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  throw new InvalidInputError(fieldName(issue.path), issue.message);
}

export const symbolSchema = z
  .string({ error: "must be a string" })
  .regex(SYMBOL_PATTERN, { error: `must match ${SYMBOL_PATTERN.source} (upper case, at most 40 characters)` });

/** A price (number or decimal text), parsed into whole price units. */
export const priceSchema = z.unknown().transform((value, ctx) => {
  const units = priceToUnits(value, MAX_PRICE);
  if (typeof units === "string") {
    ctx.addIssue({ code: "custom", message: units });
    return z.NEVER;
  }
  return units;
});

/** A finite number, with NaN and infinities named as such. */
export const finiteSchema = z.unknown().transform((value, ctx) => {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    ctx.addIssue({ code: "custom", message: `must be a finite number, got ${String(value)}` });
    return z.NEVER;
  }
  return value;
});

export function integerSchema(min: number, max: number) {
  return z.unknown().transform((value, ctx) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      ctx.addIssue({ code: "custom", message: `must be an integer in ${min}..${max}, got ${String(value)}` });
      return z.NEVER;
    }
    return value;
  });
}

export const volumeSchema = integerSchema(0, MAX_VOLUME);

/** Checks high >= low and that close (and open, when given) lie within [low, high], as Lua's check_bar does. */
export function checkBarOrder(bar: { high: number; low: number; close: number; open?: number }, ctx: z.RefinementCtx): void {
  if (bar.high < bar.low) ctx.addIssue({ code: "custom", path: ["high"], message: "is below low" });
  else if (bar.close < bar.low || bar.close > bar.high) {
    ctx.addIssue({ code: "custom", path: ["close"], message: "lies outside [low, high]" });
  }
  if (bar.open !== undefined && (bar.open < bar.low || bar.open > bar.high)) {
    ctx.addIssue({ code: "custom", path: ["open"], message: "lies outside [low, high]" });
  }
}

const VOLUME_RANGE = `must be an integer in 0..${MAX_VOLUME}`;

/** A volume, or why it is none (the message of `volumeSchema`). */
function volumeOf(value: unknown): number | string {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_VOLUME ? value : `${VOLUME_RANGE}, got ${String(value)}`;
}

/**
 * A bad field of a point, thrown by a conversion and turned into the zod issue by `pointsOf`:
 * one throw on the error path costs less than a closure over zod's context on every call.
 */
class PointIssue {
  constructor(
    readonly path: PropertyKey[],
    readonly message: string,
  ) {}
}

function fail(path: PropertyKey[], message: string): never {
  throw new PointIssue(path, message);
}

/** Converts one point's field, failing with its path (`bars[3].high`) when it is bad. */
function field(parsed: number | string, index: number, name: string): number {
  return typeof parsed === "string" ? fail([index, name], parsed) : parsed;
}

/**
 * An array of 1..MAX_POINTS points, each checked and converted by `convert` in one plain loop: a
 * zod object per point costs more client time than the script costs Redis. Errors name the
 * field as zod would (`bars[3].high`).
 */
function pointsOf<Point>(convert: (item: Record<string, unknown>, index: number) => Point) {
  return z.unknown().transform((value, ctx): Point[] => {
    try {
      if (!Array.isArray(value)) fail([], "must be an array");
      const items = value as unknown[];
      if (items.length === 0) fail([], "must not be empty");
      if (items.length > MAX_POINTS) fail([], `at most ${MAX_POINTS} points per call`);
      const points = new Array<Point>(items.length);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== "object" || item === null) fail([i], "must be an object");
        points[i] = convert(item as Record<string, unknown>, i);
      }
      return points;
    } catch (error) {
      if (!(error instanceof PointIssue)) throw error;
      ctx.addIssue({ code: "custom", path: error.path, message: error.message });
      return z.NEVER;
    }
  });
}

type Bar = { high: number; low: number; close: number; open?: number };

/** A bar's prices in units, in Lua's check_bar order (see checkBarOrder). */
function barOf(item: Record<string, unknown>, i: number): Bar {
  const high = field(priceToUnits(item.high, MAX_PRICE), i, "high");
  const low = field(priceToUnits(item.low, MAX_PRICE), i, "low");
  const close = field(priceToUnits(item.close, MAX_PRICE), i, "close");
  if (high < low) fail([i, "high"], "is below low");
  if (close < low || close > high) fail([i, "close"], "lies outside [low, high]");
  if (item.open === undefined) return { high, low, close };
  const open = field(priceToUnits(item.open, MAX_PRICE), i, "open");
  if (open < low || open > high) fail([i, "open"], "lies outside [low, high]");
  return { high, low, close, open };
}

/** OHLC bars (open optional), prices in units. */
export const barsSchema = pointsOf<Bar>(barOf);

/** The fields of a bar the scripts take, in their packed order (`'<ddd'` in the headers). */
export const BAR_FIELDS = ["high", "low", "close"] as const;

/** OHLC bars with their volume. */
export const volumeBarsSchema = pointsOf<Bar & { volume: number }>((item, i) => ({
  ...barOf(item, i),
  volume: field(volumeOf(item.volume), i, "volume"),
}));

/** Ticks: price and volume. */
export const ticksSchema = pointsOf<{ price: number; volume: number }>((item, i) => ({
  price: field(priceToUnits(item.price, MAX_PRICE), i, "price"),
  volume: field(volumeOf(item.volume), i, "volume"),
}));

/** A finite number in an interval; `open` marks the ends that are excluded. */
export function rangeSchema(min: number, max: number, open: { min?: boolean; max?: boolean } = {}) {
  const text = `${open.min ? "(" : "["}${min}, ${max}${open.max ? ")" : "]"}`;
  return finiteSchema.refine((x) => (open.min ? x > min : x >= min) && (open.max ? x < max : x <= max), {
    error: `must be in ${text}`,
  });
}

export const sideSchema = z.enum(["long", "short"], { error: "must be 'long' or 'short'" });

/** Whole epoch milliseconds (exact in a double). */
export const epochMsSchema = integerSchema(0, 9e15);

/** ARGV text of an optional number: '' when absent. */
export function optionalArg(value: number | undefined): string {
  return value === undefined ? "" : String(value);
}

/**
 * The zod schema of a numeric script argument, with the bounds its script header declares
 * (`-- @arg risk num(0,1]`): the one statement of that range, for Lua and TypeScript alike.
 */
export function headerBounds<S extends ScriptName>(script: S, arg: (typeof ARG_NAMES)[S][number]) {
  const type = SCRIPTS.find((s) => s.name === script)?.args.find((a) => a.name === arg)?.type;
  if (type?.kind === "int") return integerSchema(type.min, type.max);
  if (type?.kind === "num") return rangeSchema(type.min, type.max, { min: type.minOpen, max: type.maxOpen });
  throw new Error(`lua/${script}.lua declares no numeric argument ${arg}`);
}
