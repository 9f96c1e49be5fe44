/**
 * The key grammar of the trading stack: every key family with its segments, database, value type
 * and TTL, one builder and one parser over the same table (docs/REDIS_KEY_STANDARDS.md).
 * Segments are joined with ':'; literal segments are lower case and symbols upper case, which
 * keeps every key parseable back into exactly one family.
 */
import { InvalidInputError } from "../core/errors.js";
import { DEFAULT_TTL_SECONDS, type DatabaseName } from "../redis/databases.js";
import { type KeyOptions, SYMBOL_PATTERN } from "./symbol.js";

/** A field a key builder refused, or a key no family matches. */
export class KeyGrammarError extends InvalidInputError {}

/** The kinds of variable segment of a key family. */
export type FieldKind = "symbol" | "name" | "id" | "version" | "digest" | "hour" | "minute" | "date";

/** The text a kind of segment accepts, and how an error message describes it (a RegExp is one). */
interface FieldText {
  test(value: string): boolean;
  readonly source: string;
}

/** YYYY-MM-DD of a day the calendar has: a metrics key of 2026-02-31 is a bug in its writer. */
const CALENDAR_DATE: FieldText = {
  source: "YYYY-MM-DD, a day the calendar has",
  test: (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString().startsWith(value),
};

/** The kinds of variable segment, each with the text it accepts. */
const FIELD_KINDS: Readonly<Record<FieldKind, FieldText>> = {
  symbol: SYMBOL_PATTERN,
  name: /^[a-z][a-z0-9_]{0,39}$/,
  id: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
  version: /^v\d+\.\d+\.\d+$/,
  digest: /^[0-9a-f]{40}$/,
  hour: /^([01]\d|2[0-3])$/,
  minute: /^[0-5]\d$/,
  date: CALENDAR_DATE,
};

/** One segment of a key family: literal text, or a named field of a kind. */
export type Segment = string | { field: string; kind: FieldKind };

/** One key family of the grammar. */
export interface KeyFamily {
  readonly family: string;
  readonly segments: readonly Segment[];
  readonly database: DatabaseName;
  readonly valueType: "string" | "hash" | "stream" | "zset" | "list";
  /** TTL policy in seconds; every family's keys expire. */
  readonly ttlSeconds: number;
  readonly writers: string;
  readonly readers: string;
}

const f = (field: string, kind: FieldKind) => ({ field, kind });
const SYMBOL = f("symbol", "symbol");
const family = (
  name: string,
  segments: Segment[],
  database: DatabaseName,
  valueType: KeyFamily["valueType"],
  writers: string,
  readers: string,
): KeyFamily => ({ family: name, segments, database, valueType, ttlSeconds: DEFAULT_TTL_SECONDS, writers, readers });

/** Every family, in the order the parser tries them. */
export const KEY_FAMILIES: readonly KeyFamily[] = [
  family("ticks", ["ticks", SYMBOL], "continuous_market", "stream", "market-data ingesters (XADD)", "tick consumer (XREADGROUP)"),
  family("ticks_dead", ["ticks", "dead", SYMBOL], "continuous_market", "stream", "tick consumer", "operators"),
  family("indicator", ["indicator", f("name", "name"), SYMBOL], "patterns", "string", "stream_update, stream_update_many scripts", "detectors (stream_snapshot)"),
  family("volume_baseline", ["volume", "baseline", SYMBOL, f("hour", "hour"), f("minute", "minute")], "cumulative_volume", "hash", "volume baseline job", "dispatch (field average)"),
  family("volume_bucket", ["volume", "bucket", SYMBOL, f("date", "date"), f("hour", "hour"), f("minute", "minute")], "cumulative_volume", "hash", "volume aggregator", "volume baseline job, detectors"),
  family("patterns", ["patterns", f("pattern", "name"), SYMBOL], "patterns", "zset", "pattern detectors", "risk manager, alerts"),
  family("pattern_cache", ["pattern_cache", f("function", "name"), f("version", "version"), SYMBOL, f("digest", "digest")], "patterns", "string", "the math scripts", "the math scripts"),
  family("ict", ["ict", f("concept", "name"), SYMBOL], "microstructure", "hash", "ICT detectors", "pattern detectors"),
  family("alert_validation_queue", ["alerts", "pending", "validation"], "alerts", "stream", "pattern detectors", "alert validator"),
  family("alert_metadata", ["alerts", "meta", f("id", "id")], "alerts", "hash", "alert validator", "alert UI, audit"),
  family("alerts", ["alerts", SYMBOL, f("id", "id")], "alerts", "string", "alert validator", "alert UI, notifier"),
  family("news_latest", ["news", "latest", SYMBOL], "news", "string", "news ingester", "dispatch"),
  family("news_item", ["news", "item", f("id", "id")], "news", "hash", "news ingester", "news ingester, audit"),
  family("metrics", ["metrics", f("metric", "name"), f("date", "date")], "metrics", "hash", "every service", "health, dashboards"),
];

const BY_NAME = new Map(KEY_FAMILIES.map((k) => [k.family, k]));

/** A key taken apart. */
export interface ParsedKey {
  family: string;
  fields: Record<string, string>;
  /** Whether the symbol was in a Redis Cluster hash tag. */
  hashTag: boolean;
}

/** The family spec by name; a KeyGrammarError for an unknown one. */
export function keyFamily(name: string): KeyFamily {
  const spec = BY_NAME.get(name);
  if (!spec) throw new KeyGrammarError("family", `unknown key family "${name}"`);
  return spec;
}

function checkField(segment: { field: string; kind: FieldKind }, value: unknown): string {
  if (typeof value !== "string" || !FIELD_KINDS[segment.kind].test(value)) {
    throw new KeyGrammarError(segment.field, `${JSON.stringify(value)} does not match ${FIELD_KINDS[segment.kind].source}`);
  }
  return value;
}

/** Builds a key of a family from its fields, refusing any field that would break the grammar. */
export function buildKey(name: string, fields: Record<string, string>, options: KeyOptions = {}): string {
  return keyFamily(name)
    .segments.map((segment) => {
      if (typeof segment === "string") return segment;
      const value = checkField(segment, fields[segment.field]);
      return segment.kind === "symbol" && options.hashTag ? `{${value}}` : value;
    })
    .join(":");
}

function match(spec: KeyFamily, parts: string[]): ParsedKey | undefined {
  if (parts.length !== spec.segments.length) return undefined;
  const fields: Record<string, string> = {};
  let hashTag = false;
  for (const [i, segment] of spec.segments.entries()) {
    let part = parts[i] as string;
    if (typeof segment === "string") {
      if (part !== segment) return undefined;
      continue;
    }
    if (segment.kind === "symbol" && part.startsWith("{") && part.endsWith("}")) {
      part = part.slice(1, -1);
      hashTag = true;
    }
    if (!FIELD_KINDS[segment.kind].test(part)) return undefined;
    fields[segment.field] = part;
  }
  return { family: spec.family, fields, hashTag };
}

/** Takes a key apart into its family and fields; a KeyGrammarError if it follows no family. */
export function parseKey(key: string): ParsedKey {
  const parts = key.split(":");
  for (const spec of KEY_FAMILIES) {
    const parsed = match(spec, parts);
    if (parsed) return parsed;
  }
  throw new KeyGrammarError("key", `${JSON.stringify(key)} follows no key family`);
}

/** The family of a key, or undefined (for audits that meet foreign keys). */
export function familyOf(key: string): KeyFamily | undefined {
  try {
    return keyFamily(parseKey(key).family);
  } catch {
    return undefined;
  }
}
