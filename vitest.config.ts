import { defineConfig } from "vitest/config";
import { TEST_WORKERS } from "./test/support/redis.js";

/**
 * Files that time things against deadlines under load (the fault suite, the 3-master clusters,
 * health's included): they run after the others, one at a time, so that no other file's work on
 * the same 2 cores moves a deadline they assert.
 */
const ALONE = ["test/faults/**/*.test.ts", "test/cluster/**/*.test.ts", "test/health/cluster.test.ts"];

export default defineConfig({
  test: {
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        // each worker has a shared server of its own (test/support/redis.ts); one REDIS_URL is one server
        test: { name: "side by side", include: ["test/**/*.test.ts"], exclude: ALONE, maxWorkers: process.env.REDIS_URL ? 1 : TEST_WORKERS },
      },
      { extends: true, test: { name: "alone", include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
