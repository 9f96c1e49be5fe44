/**
 * Where tests get Redis: REDIS_URL if set; else a testcontainers Redis when a Docker engine
 * answers; else `redis-server` from PATH on a free loopback port. Tests that stop, restart or
 * flush a server call {@link ownRedis} and get one of their own.
 */
import { Redis } from "ioredis";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";

export interface ProvidedRedis {
  url: string;
  source: "REDIS_URL" | "testcontainers" | "redis-server";
  stop(): Promise<void>;
}

async function fromTestcontainers(): Promise<ProvidedRedis | undefined> {
  const { GenericContainer, getContainerRuntimeClient } = await import("testcontainers");
  try {
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no Docker engine answers
  }
  const container = await new GenericContainer("redis:7.0").withExposedPorts(6379).start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: "testcontainers",
    stop: async () => void (await container.stop()),
  };
}

/** The shared Redis of a test run. */
export async function provideRedis(): Promise<ProvidedRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: "REDIS_URL", stop: async () => undefined };
  const container = await fromTestcontainers();
  if (container) return container;
  try {
    const server = await startLocalRedis();
    return { url: server.url, source: "redis-server", stop: server.stop };
  } catch (error) {
    throw new Error(
      "No Redis for the tests: set REDIS_URL=redis://host:port, start a Docker engine, " +
        `or put redis-server on PATH (apt-get install redis-server). Cause: ${(error as Error).message}`,
    );
  }
}

/** A server of the test's own, for tests that stop, restart or flush it. */
export function ownRedis(): Promise<LocalRedisServer> {
  return startLocalRedis();
}

/** A client on `db` of the run's shared Redis (URL from the global setup). */
export function sharedClient(url: string, db: number): Redis {
  return new Redis(url, { db, maxRetriesPerRequest: 1 });
}

/**
 * Runs a script on `redis` that holds its server for `ms`: the server answers no other client
 * meanwhile, or BUSY once the script has run `busy-reply-threshold` ms. Resolves when it ends.
 */
export function holdServer(redis: Redis, ms: number): Promise<unknown> {
  const script =
    "local t = redis.call('TIME') while true do local n = redis.call('TIME') " +
    "if (n[1] - t[1]) * 1e6 + (n[2] - t[2]) > tonumber(ARGV[1]) then break end end return 1";
  return redis.eval(script, 0, String(ms * 1000));
}

/** `calls` of a command in INFO commandstats (e.g. `fcall_ro`), 0 when never called. */
export async function commandCalls(node: Redis, command: string): Promise<number> {
  const info = await node.info("commandstats");
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info);
  return m ? Number(m[1]) : 0;
}
