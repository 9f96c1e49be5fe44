/**
 * Zod schemas for the inputs the functions share, and the one place zod's issues become
 * InvalidInputError. They mirror the Lua checks so bad input fails before any Redis call.
 */
import { z } from "zod";
import { type ARG_NAMES, SCRIPTS, type ScriptName } from "../generated/scripts.js";
import { SYMBOL_PATTERN } from "../keys/symbol.js";
import { InvalidInputError, shownValue } from "../core/errors.js";
import { type PackedPoints, priceToUnits } from "../core/units.js";
import { MAX_EPOCH_MS, MAX_POINTS, MAX_PRICE, MAX_VOLUME, MIN_EPOCH_MS } from "./limits.js";

/** Formats a zod path as the field name the Lua uses: `bars[3].high`. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("") || "input";
}

/**
 * Validates `input`, throwing InvalidInputError for the first problem; also when reading the input
 * throws (a getter or Proxy of the caller's), with the caller's error as its cause.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  let result: z.ZodSafeParseResult<z.output<T>>;
  try {
    result = schema.safeParse(input);
  } catch (error) {
    throw new InvalidInputError("input", `could not be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
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

/*
 * The number schemas are zod's own types with the messages worded here: a field of a
 * `z.unknown().transform()` pipe cost a parse five times as much (0.7-0.9 us against 0.14 in an
 * object, hot), and a scalar call's input has a dozen of them once its settings' defaults count.
 * zod 4's number refuses NaN and the infinities, and its int() whatever is not a safe integer.
 */
const finiteMessage = (issue: { input?: unknown }) => `must be a finite number, got ${shownValue(issue.input)}`;

/** A finite number, with NaN and infinities named as such. */
export const finiteSchema = z.number({ error: finiteMessage });

export function integerSchema(min: number, max: number) {
  const error = (issue: { input?: unknown }) => `must be an integer in ${min}..${max}, got ${shownValue(issue.input)}`;
  return z.number({ error }).int({ error }).gte(min, { error }).lte(max, { error });
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
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_VOLUME ? value : `${VOLUME_RANGE}, got ${shownValue(value)}`;
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

/** Checks one point's fields and writes them at `data[at..]` in the order its script unpacks them. */
type PointWriter = (item: Record<string, unknown>, index: number, data: Float64Array, at: number) => void;

/**
 * An array of 1..MAX_POINTS points, each checked and written by `write` straight into the layout
 * the script unpacks (`width` doubles per point) in one plain loop: a zod object per point cost
 * more client time than the script costs Redis, and an object per point more garbage-collector
 * time than the rest of a call. Errors name the field as zod would (`bars[3].high`).
 */
function pointsOf(width: number, write: PointWriter) {
  return z.unknown().transform((value, ctx): PackedPoints => {
    try {
      if (!Array.isArray(value)) fail([], "must be an array");
      const items = value as unknown[];
      if (items.length === 0) fail([], "must not be empty");
      if (items.length > MAX_POINTS) fail([], `at most ${MAX_POINTS} points in all (longer than one call takes, they go in chunks)`);
      const data = new Float64Array(items.length * width);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== "object" || item === null) fail([i], "must be an object");
        write(item as Record<string, unknown>, i, data, i * width);
      }
      return { count: items.length, width, data };
    } catch (error) {
      if (!(error instanceof PointIssue)) throw error;
      ctx.addIssue({ code: "custom", path: error.path, message: error.message });
      return z.NEVER;
    }
  });
}

/**
 * A bar's prices in units, checked in Lua's check_bar order (see checkBarOrder), written as
 * high, low, close (the scripts' `'<ddd'`); open, when given, is checked and not sent.
 */
const writeBar: PointWriter = (item, i, data, at) => {
  const high = field(priceToUnits(item.high, MAX_PRICE), i, "high");
  const low = field(priceToUnits(item.low, MAX_PRICE), i, "low");
  const close = field(priceToUnits(item.close, MAX_PRICE), i, "close");
  if (high < low) fail([i, "high"], "is below low");
  if (close < low || close > high) fail([i, "close"], "lies outside [low, high]");
  if (item.open !== undefined) {
    const open = field(priceToUnits(item.open, MAX_PRICE), i, "open");
    if (open < low || open > high) fail([i, "open"], "lies outside [low, high]");
  }
  data[at] = high;
  data[at + 1] = low;
  data[at + 2] = close;
};

/** OHLC bars (open optional), packed as the scripts' `'<ddd'`: high, low, close in units. */
export const barsSchema = pointsOf(3, writeBar);

/** OHLC bars with their volume, packed as `'<dddd'`: high, low, close, volume. */
export const volumeBarsSchema = pointsOf(4, (item, i, data, at) => {
  writeBar(item, i, data, at);
  data[at + 3] = field(volumeOf(item.volume), i, "volume");
});

/** Ticks, packed as `'<dd'`: price in units, volume. */
export const ticksSchema = pointsOf(2, (item, i, data, at) => {
  data[at] = field(priceToUnits(item.price, MAX_PRICE), i, "price");
  data[at + 1] = field(volumeOf(item.volume), i, "volume");
});

/** A finite number in an interval; `open` marks the ends that are excluded. */
export function rangeSchema(min: number, max: number, open: { min?: boolean; max?: boolean } = {}) {
  const error = `must be in ${open.min ? "(" : "["}${min}, ${max}${open.max ? ")" : "]"}`;
  const above = open.min ? finiteSchema.gt(min, { error }) : finiteSchema.gte(min, { error });
  return open.max ? above.lt(max, { error }) : above.lte(max, { error });
}

export const sideSchema = z.enum(["long", "short"], { error: "must be 'long' or 'short'" });

/** Whole epoch milliseconds in {@link MIN_EPOCH_MS}..{@link MAX_EPOCH_MS}, worded as the scripts word it (validate.lua, check_epoch_ms). */
export const epochMsSchema = (() => {
  const error = (issue: { input?: unknown }) => {
    const { input } = issue;
    const unit =
      typeof input !== "number" ? "" : input >= 0 && input < MIN_EPOCH_MS ? " (a time in seconds?)" : input > MAX_EPOCH_MS && input < Infinity ? " (a time in microseconds?)" : "";
    return `must be whole epoch milliseconds in ${MIN_EPOCH_MS}..${MAX_EPOCH_MS}, got ${shownValue(input)}${unit}`;
  };
  return z.number({ error }).int({ error }).gte(MIN_EPOCH_MS, { error }).lte(MAX_EPOCH_MS, { error });
})();

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
