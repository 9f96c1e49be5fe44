/**
 * Where tests get Redis: REDIS_URL if set; else a testcontainers Redis when a Docker engine
 * answers; else `redis-server` from PATH on a free loopback port. Tests that stop, restart or
 * flush a server call {@link ownRedis} and get one of their own.
 *
 * Test files share a server and assume it is theirs while they run (they read INFO commandstats,
 * flush scripts, FLUSHALL at the end), so two files never use one server at once: the run's
 * test workers ({@link TEST_WORKERS}, the files running side by side) get a server each, and a
 * run given one REDIS_URL runs its files one at a time (vitest.config.ts).
 */
import { Redis } from "ioredis";
import { inject } from "vitest";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";

/**
 * Test files running side by side when the harness starts the servers: two, on the 2-core
 * machines CI runs on, where one file at a time left a core idle while files waited on Redis.
 */
export const TEST_WORKERS = 2;

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

/** The shared Redis servers of a test run: REDIS_URL's alone, or one per test worker. */
export async function provideRedis(): Promise<ProvidedRedis[]> {
  if (process.env.REDIS_URL) return [{ url: process.env.REDIS_URL, source: "REDIS_URL", stop: async () => undefined }];
  const servers: ProvidedRedis[] = [];
  try {
    for (let worker = 0; worker < TEST_WORKERS; worker++) servers.push(await provideOneRedis());
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return servers;
}

/** This test file's shared server: its worker's (VITEST_POOL_ID is 1..maxWorkers). */
export function sharedRedisUrl(): string {
  const urls = inject("redisUrls");
  const url = urls[Number(process.env.VITEST_POOL_ID ?? 1) - 1];
  if (url === undefined) throw new Error(`no shared Redis for test worker ${process.env.VITEST_POOL_ID}: ${urls.length} started`);
  return url;
}

async function provideOneRedis(): Promise<ProvidedRedis> {
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
