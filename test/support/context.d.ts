import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the test run's shared Redis. */
    redisUrl: string;
  }
}
