import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** URLs of the test run's shared Redis servers, one per test worker (test/support/redis.ts). */
    redisUrls: string[];
  }
}
