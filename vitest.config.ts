import { defineConfig } from "vitest/config";
import { TEST_WORKERS } from "./test/support/redis.js";

export default defineConfig({
  test: {
    globalSetup: ["test/support/globalSetup.ts"],
    include: ["test/**/*.test.ts"],
    // each worker has a shared server of its own (test/support/redis.ts); one REDIS_URL is one server
    maxWorkers: process.env.REDIS_URL ? 1 : TEST_WORKERS,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
