/**
 * Decodes script replies. Scripts answer a flat list `field, value, field, value, ...` whose
 * values are `%.17g` text or lists of it. Under RESP3 with ioredis's `replyMapping: "resp3"`
 * a double may arrive as a JS number instead; both decode the same way.
 */
import { Buffer } from "node:buffer"; // the global Buffer is a getter, called on every use
import { ReplyFormatError } from "../core/errors.js";

/** A reply value: scalar text or number, or a list of them. */
export type ReplyValue = string | number | ReplyValue[];

/** A decoded reply: field name to raw value. */
export type ReplyFields = ReadonlyMap<string, ReplyValue>;

function scalarText(value: unknown): string | number {
  if (typeof value === "string" || typeof value === "number") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  throw new ReplyFormatError(`unexpected reply value ${JSON.stringify(value)}`);
}

function decodeValue(value: unknown): ReplyValue {
  return Array.isArray(value) ? value.map(decodeValue) : scalarText(value);
}

/** Turns the flat field/value list of a script reply into a map. */
export function decodeReply(raw: unknown): ReplyFields {
  if (!Array.isArray(raw) || raw.length % 2 !== 0) {
    throw new ReplyFormatError(`expected a field/value list, got ${JSON.stringify(raw)}`);
  }
  const fields = new Map<string, ReplyValue>();
  for (let i = 0; i < raw.length; i += 2) fields.set(String(scalarText(raw[i])), decodeValue(raw[i + 1]));
  return fields;
}

function field(fields: ReplyFields, name: string): ReplyValue {
  const value = fields.get(name);
  if (value === undefined) throw new ReplyFormatError(`reply lacks field ${name}`);
  return value;
}

function toNumber(value: ReplyValue, name: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (Array.isArray(value) || !Number.isFinite(n)) {
    throw new ReplyFormatError(`field ${name} is not a finite number: ${JSON.stringify(value)}`);
  }
  return n;
}

/** A numeric field; `%.17g` text parses back to the very double the script computed. */
export function numberField(fields: ReplyFields, name: string): number {
  return toNumber(field(fields, name), name);
}

/** A list of numbers. */
export function numberListField(fields: ReplyFields, name: string): number[] {
  const value = field(fields, name);
  if (!Array.isArray(value)) throw new ReplyFormatError(`field ${name} is not a list`);
  return value.map((item) => toNumber(item, name));
}

/**
 * A series of numbers sent as one text, `%.17g` values separated by commas ('' for none): the
 * scripts send a long list this way, as one reply string (lua/includes/format.lua, fmt_list).
 */
export function numberSeriesField(fields: ReplyFields, name: string): number[] {
  const text = textField(fields, name);
  return text === "" ? [] : text.split(",").map((item) => toNumber(item, name));
}

/**
 * The `series` of one reply, or of consecutive chunk replies joined in order; undefined when the
 * call asked for none (the replies then carry no series field).
 */
export function seriesOf(replies: readonly ReplyFields[]): number[] | undefined {
  return replies[0]?.has("series") ? replies.flatMap((fields) => numberSeriesField(fields, "series")) : undefined;
}

/** A text field. */
export function textField(fields: ReplyFields, name: string): string {
  const value = field(fields, name);
  if (Array.isArray(value)) throw new ReplyFormatError(`field ${name} is not text`);
  return String(value);
}

/** `hit`: DB 10 held the result; `miss`: the script computed it; `memory`: the in-process tier held it. */
export type CacheStatus = "hit" | "miss" | "memory";

/** The `cache` field every caching script puts first. */
export function cacheStatus(fields: ReplyFields): CacheStatus {
  const status = textField(fields, "cache");
  if (status !== "hit" && status !== "miss") throw new ReplyFormatError(`bad cache status ${status}`);
  return status;
}
