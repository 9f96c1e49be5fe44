/** The command line's Redis connections: fail at once, naming the server and the real cause. */
import { Redis } from "ioredis";
import { CLUSTER_NODES_ENV, clusterNodesFromEnv, refuseDatabaseSettings } from "../cluster/config.js";
import { ConfigurationError } from "../core/errors.js";
import { addressOf, connectionFailureOf, connectionOptions, type RedisConfig, resolveRedisConfig, selectDatabase, toConnectionError } from "../redis/config.js";
import type { DatabaseName } from "../redis/databases.js";
import { guardSocketErrors } from "../redis/socketErrors.js";

/**
 * The settings of a command that works on one server (`scripts load|list`, `chart --symbol`):
 * `url`, else the environment's. With MATHD_CLUSTER_NODES set and no `url` such a command would
 * quietly talk to REDIS_URL or 127.0.0.1:6379 instead of the cluster, so it refuses.
 */
export function oneServerConfig(url: string | undefined, command: string): RedisConfig {
  if (url === undefined && clusterNodesFromEnv() !== undefined) {
    throw new ConfigurationError(
      CLUSTER_NODES_ENV,
      `is set, but mathd ${command} works on one server: give --url of one node (mathd health --cluster shows every node's scripts; the SDK loads them on each node itself)`,
    );
  }
  return resolveRedisConfig(url === undefined ? {} : { url });
}

/** A connection of {@link connectOnce}. */
export interface OneServer {
  redis: Redis;
  /** The database it is on: the map's, or 0 on a cluster node. */
  db: number;
  /** The server said it is a cluster node (its answer to the SELECT of a database other than 0): DB 0 only, where every key family lives. */
  cluster: boolean;
}

/** A cluster node's answer to a SELECT of a database other than 0. */
const CLUSTER_MODE_SELECT = /^ERR SELECT is not allowed in cluster mode/;

/**
 * A connection on `db` that does not retry: a command-line tool should say the server is
 * unreachable, not wait. ioredis rejects `connect()` with a bare "Connection is closed" and
 * reports the cause (ECONNREFUSED, ENOTFOUND, a TLS error) only as an 'error' event, so the last
 * such event becomes the ConnectionError's cause. A server that refuses the database is a
 * ConfigurationError (ioredis's own SELECT on connecting would leave the connection on DB 0),
 * except a cluster node, which has DB 0 only: the connection stays there, as the SDK's cluster
 * mode does (a `MATHD_DB_*` setting is refused as it refuses it). The node is told by its SELECT
 * reply, not by INFO: every user of docs/SECURITY.md may SELECT, and none but health's may INFO.
 * Every command, the handshake's and SELECT included, times out after `commandTimeoutMs`: a
 * server that accepts the connection and never answers (frozen, or not Redis) fails the command
 * instead of hanging it. No INFO ready check, nor CLIENT SETINFO: both are refused to a
 * least-privilege user (docs/SECURITY.md), and ioredis prints a warning for the refused INFO.
 */
export async function connectOnce(config: RedisConfig, database: DatabaseName): Promise<OneServer> {
  const redis = new Redis({
    ...connectionOptions(config),
    db: config.databases[database],
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    disableClientInfo: true,
  });
  guardSocketErrors(redis);
  let cause: unknown;
  redis.on("error", (error: unknown) => (cause = error));
  try {
    await redis.connect();
    // the first answer, so that a server that takes the connection and resets it (a TLS port,
    // for a plain client) fails here, with its reset as the cause, under ioredis 5 as under 6
    // (whose HELLO on connecting is such an answer); a PING the ACL refuses is an answer too
    await redis.ping().catch((error: unknown) => {
      if (connectionFailureOf(error) !== "denied") throw error;
    });
  } catch (error) {
    redis.disconnect();
    throw toConnectionError(config, cause ?? error);
  }
  try {
    return { redis, ...(await selectOrStayOnClusterNode(redis, config, database)) };
  } catch (error) {
    redis.disconnect();
    throw error instanceof ConfigurationError ? error : toConnectionError(config, error);
  }
}

/** SELECTs `database`'s number of the map on `redis`; a cluster node's refusal leaves it on DB 0 (see {@link connectOnce}). */
async function selectOrStayOnClusterNode(redis: Redis, config: RedisConfig, database: DatabaseName): Promise<Omit<OneServer, "redis">> {
  const db = config.databases[database];
  try {
    if (db !== 0) await selectDatabase(redis, database, db, addressOf(config));
    return { db, cluster: false };
  } catch (error) {
    const clusterNode = error instanceof ConfigurationError && error.cause instanceof Error && CLUSTER_MODE_SELECT.test(error.cause.message);
    if (!clusterNode) throw error;
    refuseDatabaseSettings();
    return { db: 0, cluster: true };
  }
}
