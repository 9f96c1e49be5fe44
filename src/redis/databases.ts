/**
 * The trading stack's Redis database map: which logical database holds what. On a Redis Cluster
 * only DB 0 exists; there the names become key prefixes.
 */
import { z } from "zod";
import { LIMITS } from "../generated/scripts.js";
import { MathDispatcherError } from "../core/errors.js";

/** Default TTL of everything the stack writes: 16 hours, one trading day and its evening. */
export const DEFAULT_TTL_SECONDS: number = LIMITS.TTL_SECONDS;

/** A database of the map. */
export interface DatabaseSpec {
  /** Database number, 0 to 15. */
  readonly db: number;
  /** Name in the map (`patterns`). */
  readonly name: string;
  /** TTL of what the stack writes there, in seconds. */
  readonly ttlSeconds: number;
  /** Data types stored there, as `getDatabaseForDataType` resolves them. */
  readonly dataTypes: readonly string[];
}

const databaseSpecSchema = z.object({
  db: z.number().int().min(0).max(15),
  name: z.string().regex(/^[a-z_]+$/),
  ttlSeconds: z.number().int().positive(),
  dataTypes: z.array(z.string().regex(/^[a-z_]+$/)).min(1),
});

function spec(db: number, name: string, dataTypes: string[]): DatabaseSpec {
  return databaseSpecSchema.parse({ db, name, ttlSeconds: DEFAULT_TTL_SECONDS, dataTypes });
}

/** The canonical map, by name. */
export const DATABASES = {
  system: spec(0, "system", ["system_config", "service_heartbeat", "script_manifest"]),
  prices: spec(2, "prices", ["last_price", "ohlc", "quotes"]),
  premarket: spec(3, "premarket", ["premarket_orders", "preopen_price"]),
  continuous_market: spec(4, "continuous_market", ["ticks", "tick_stream", "bars"]),
  cumulative_volume: spec(5, "cumulative_volume", ["volume_baseline", "volume_bucket", "cumulative_volume"]),
  alerts: spec(6, "alerts", ["alerts", "alert_metadata", "alert_validation_queue"]),
  microstructure: spec(8, "microstructure", ["order_book", "ict", "microstructure"]),
  patterns: spec(10, "patterns", ["pattern_alerts", "patterns", "pattern_cache", "indicator_state"]),
  news: spec(11, "news", ["news", "news_latest", "sentiment"]),
  metrics: spec(13, "metrics", ["metrics", "latency", "script_stats"]),
} as const satisfies Record<string, DatabaseSpec>;

/** Name of a database of the map (`patterns`, `news`, ...): the keys of {@link DATABASES}. */
export type DatabaseName = keyof typeof DATABASES;

/** The data type is not in the map; `known` lists the ones that are. */
export class UnknownDataTypeError extends MathDispatcherError {
  constructor(
    readonly dataType: string,
    readonly known: readonly string[],
  ) {
    super(`unknown data type "${dataType}"; known: ${known.join(", ")}`);
  }
}

const byDataType = new Map<string, DatabaseSpec>(
  Object.values(DATABASES).flatMap((database) => database.dataTypes.map((t) => [t, database] as const)),
);

/** The database that holds a data type, e.g. `pattern_alerts` -> DB 10. */
export function getDatabaseForDataType(dataType: string): DatabaseSpec {
  const database = byDataType.get(dataType);
  if (!database) throw new UnknownDataTypeError(dataType, [...byDataType.keys()].sort());
  return database;
}
