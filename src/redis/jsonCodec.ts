/**
 * JSON for stored values that keeps Decimal, bigint and Date exact and refuses NaN and Infinity
 * (plain JSON.stringify writes them as null, silently). Special values become tagged objects:
 * `{"$type": "decimal" | "bigint" | "date", "value": "<text>"}`.
 */
import { Decimal } from "decimal.js";
import { MathDispatcherError } from "../core/errors.js";

/** A value cannot be stored as JSON; `path` says where it is (`$.stops[2]`). */
export class JsonEncodingError extends MathDispatcherError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

type Tagged = { $type: "decimal" | "bigint" | "date"; value: string };

function toJsonSafe(value: unknown, path: string): unknown {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new JsonEncodingError(path, `${value} has no JSON form; refusing to write null`);
    return value;
  }
  if (typeof value === "bigint") return { $type: "bigint", value: value.toString() } satisfies Tagged;
  if (Decimal.isDecimal(value)) {
    const d = value as Decimal;
    if (!d.isFinite()) throw new JsonEncodingError(path, `Decimal ${d.toString()} has no JSON form`);
    return { $type: "decimal", value: d.toString() } satisfies Tagged;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new JsonEncodingError(path, "is an invalid Date");
    return { $type: "date", value: value.toISOString() } satisfies Tagged;
  }
  if (Array.isArray(value)) return value.map((item, i) => toJsonSafe(item, `${path}[${i}]`));
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSafe(v, `${path}.${k}`)]));
  }
  throw new JsonEncodingError(path, `a ${typeof value} cannot be stored`);
}

/** Encodes a value as JSON text; throws JsonEncodingError for NaN, Infinity and the like. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(toJsonSafe(value, "$"));
}

function isTagged(value: unknown): value is Tagged {
  if (typeof value !== "object" || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && "$type" in value && "value" in value && typeof (value as Tagged).value === "string";
}

/** Decodes JSON text written by {@link encodeJson}, restoring Decimal, bigint and Date. */
export function decodeJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (!isTagged(value)) return value;
    if (value.$type === "decimal") return new Decimal(value.value);
    if (value.$type === "bigint") return BigInt(value.value);
    if (value.$type === "date") return new Date(value.value);
    return value;
  });
}
