import { Redis } from "ioredis";
import { inject } from "vitest";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";

/** A dispatcher on DB 10 of the run's shared Redis. */
export function sharedDispatcher(): MathDispatcher {
  return new MathDispatcher(new Redis(inject("redisUrl"), { db: 10 }));
}

/** A dispatcher whose connection never opens: proves validation happens before any Redis call. */
export function offlineDispatcher(): { dispatcher: MathDispatcher; redis: Redis } {
  const redis = new Redis(inject("redisUrl"), { db: 10, lazyConnect: true });
  return { dispatcher: new MathDispatcher(redis), redis };
}
