/**
 * Decodes script replies. A script answers one text: its fields and values on lines of their
 * own (`field\nvalue\nfield\nvalue...`), every number `%.17g` text and every list one text of
 * comma-separated values (lua/includes/format.lua). Redis sends one string as it
 * is, and a cache hit returns the stored text unchanged.
 */
import { Buffer } from "node:buffer"; // the global Buffer is a getter, called on every use
import { ReplyFormatError } from "../core/errors.js";

/** A decoded reply: field name to its text. */
export type ReplyFields = ReadonlyMap<string, string>;

/** Turns the text of a script reply into a map of its fields. */
export function decodeReply(raw: unknown): ReplyFields {
  const text = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : undefined;
  const lines = text?.split("\n");
  if (!lines || lines.length % 2 !== 0) throw new ReplyFormatError(`expected the text of a field/value list, got ${JSON.stringify(raw)}`);
  const fields = new Map<string, string>();
  for (let i = 0; i < lines.length; i += 2) fields.set(lines[i] as string, lines[i + 1] as string);
  return fields;
}

/** A text field. */
export function textField(fields: ReplyFields, name: string): string {
  const value = fields.get(name);
  if (value === undefined) throw new ReplyFormatError(`reply lacks field ${name}`);
  return value;
}

function toNumber(value: string, name: string): number {
  const n = Number(value);
  if (value === "" || !Number.isFinite(n)) throw new ReplyFormatError(`field ${name} is not a finite number: ${JSON.stringify(value)}`);
  return n;
}

/** A numeric field; `%.17g` text parses back to the very double the script computed. */
export function numberField(fields: ReplyFields, name: string): number {
  return toNumber(textField(fields, name), name);
}

/** A list of numbers: one text of `%.17g` values separated by commas ('' for none; format.lua, fmt_list). */
export function numberListField(fields: ReplyFields, name: string): number[] {
  const text = textField(fields, name);
  return text === "" ? [] : text.split(",").map((item) => toNumber(item, name));
}

/**
 * The `series` of one reply, or of consecutive chunk replies joined in order; undefined when the
 * call asked for none (the replies then carry no series field).
 */
export function seriesOf(replies: readonly ReplyFields[]): number[] | undefined {
  return replies[0]?.has("series") ? replies.flatMap((fields) => numberListField(fields, "series")) : undefined;
}

/** `hit`: DB 10 held the result; `miss`: the script computed it; `memory`: the in-process tier held it. */
export type CacheStatus = "hit" | "miss" | "memory";

/** The `cache` field every caching script puts first. */
export function cacheStatus(fields: ReplyFields): CacheStatus {
  const status = textField(fields, "cache");
  if (status !== "hit" && status !== "miss") throw new ReplyFormatError(`bad cache status ${status}`);
  return status;
}
