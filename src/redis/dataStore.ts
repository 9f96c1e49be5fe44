/**
 * JSON values stored by data type: the DB map decides the database and the TTL, the codec keeps
 * Decimal, bigint and Date exact and refuses NaN and Infinity.
 */
import { type DatabaseName, DATABASES, getDatabaseForDataType } from "./databases.js";
import { decodeJson, encodeJson } from "./jsonCodec.js";
import type { ResilientRedis } from "./ResilientRedis.js";

function databaseName(dataType: string): DatabaseName {
  return getDatabaseForDataType(dataType).name as DatabaseName; // the map's names are its keys
}

/** Writes `value` as JSON under `key` in the data type's database, with that database's TTL. */
export async function storeByDataType(client: ResilientRedis, dataType: string, key: string, value: unknown): Promise<void> {
  const database = databaseName(dataType);
  const text = encodeJson(value); // before any Redis call: a NaN never reaches the server
  await client.run(database, (redis) => redis.set(key, text, "EX", DATABASES[database].ttlSeconds));
}

/** Reads a value written by {@link storeByDataType}; undefined when the key does not exist. */
export async function retrieveByDataType(client: ResilientRedis, dataType: string, key: string): Promise<unknown> {
  const text = await client.run(databaseName(dataType), (redis) => redis.get(key));
  return text === null ? undefined : decodeJson(text);
}
