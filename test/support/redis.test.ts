import { describe, expect, it } from "vitest";
import { provideRedis } from "./redis.js";

describe("the test harness", () => {
  it("fails with one clear message when no Redis can be had", async () => {
    const saved = { path: process.env.PATH, url: process.env.REDIS_URL };
    process.env.PATH = "/nonexistent";
    delete process.env.REDIS_URL;
    try {
      await expect(provideRedis()).rejects.toThrow(/No Redis for the tests: set REDIS_URL=.*or put redis-server on PATH/);
    } finally {
      process.env.PATH = saved.path;
      if (saved.url !== undefined) process.env.REDIS_URL = saved.url;
    }
  });
});
