import { Redis } from "ioredis";
import { expect } from "vitest";
import { InvalidInputError } from "../../src/core/errors.js";
import { type ConnectOptions, MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { sharedRedisUrl } from "./redis.js";

/** A dispatcher on the run's shared Redis (results in DB 10); close it after the tests. */
export function sharedDispatcher(options?: ConnectOptions): MathDispatcher {
  return MathDispatcher.connect(sharedRedisUrl(), options);
}

/**
 * Asserts that `call` rejects with an InvalidInputError naming `field`, made on a dispatcher
 * whose connection never opens: proof that validation happens before any Redis call.
 */
export async function expectRejectedBeforeRedis(call: (offline: MathDispatcher) => Promise<unknown>, field: string): Promise<void> {
  const redis = new Redis(sharedRedisUrl(), { db: 10, lazyConnect: true });
  const error = await call(new MathDispatcher(redis)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidInputError);
  expect((error as InvalidInputError).field).toBe(field);
  expect(redis.status).toBe("wait");
}
