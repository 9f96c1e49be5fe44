/** The command line's Redis connections: fail at once, naming the server and the real cause. */
import { Redis } from "ioredis";
import { connectionOptions, type RedisConfig, toConnectionError } from "../redis/config.js";
import { guardSocketErrors } from "../redis/socketErrors.js";

/**
 * A connection on `db` that does not retry: a command-line tool should say the server is
 * unreachable, not wait. ioredis rejects `connect()` with a bare "Connection is closed" and
 * reports the cause (ECONNREFUSED, ENOTFOUND, a TLS error) only as an 'error' event, so the last
 * such event becomes the ConnectionError's cause. Every command, the ready check's INFO and
 * SELECT included, times out after `commandTimeoutMs`: a server that accepts the connection and
 * never answers (frozen, or not Redis) fails the command instead of hanging it.
 */
export async function connectOnce(config: RedisConfig, db: number): Promise<Redis> {
  const redis = new Redis({
    ...connectionOptions(config),
    db,
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  guardSocketErrors(redis);
  let cause: unknown;
  redis.on("error", (error: unknown) => (cause = error));
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw toConnectionError(config, cause ?? error);
  }
  return redis;
}
