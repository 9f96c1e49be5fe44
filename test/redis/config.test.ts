import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/core/errors.js";
import { resolveRedisConfig } from "../../src/redis/config.js";
import { thrown } from "../support/thrown.js";


describe("redis configuration", () => {
  it("defaults to 127.0.0.1:6379 with the canonical DB map", () => {
    const config = resolveRedisConfig({}, {});
    expect(config).toMatchObject({ host: "127.0.0.1", port: 6379, tls: false, commandTimeoutMs: 1000 });
    expect(config.databases.patterns).toBe(10);
  });

  it("reads REDIS_URL and the documented variables; options win", () => {
    const env = { REDIS_URL: "rediss://ops:s3cret@redis.internal:6380", MATHD_DB_PATTERNS: "12", MATHD_COMMAND_TIMEOUT_MS: "250" };
    expect(resolveRedisConfig({}, env)).toMatchObject({
      host: "redis.internal",
      port: 6380,
      username: "ops",
      password: "s3cret",
      tls: true,
      commandTimeoutMs: 250,
      databases: expect.objectContaining({ patterns: 12, news: 11 }),
    });
    expect(resolveRedisConfig({ url: "redis://10.0.0.5:7000", databases: { patterns: 9 } }, env)).toMatchObject({
      host: "10.0.0.5",
      port: 7000,
      tls: false,
      databases: expect.objectContaining({ patterns: 9 }),
    });
    expect(resolveRedisConfig({}, { REDIS_HOST: "cache", REDIS_PORT: "6390", REDIS_TLS: "true" })).toMatchObject({ host: "cache", port: 6390, tls: true });
  });

  it.each([
    [{}, { REDIS_PORT: "http" }, "REDIS_PORT"],
    [{}, { REDIS_PORT: "70000" }, "REDIS_PORT"],
    [{}, { REDIS_URL: "http://x" }, "REDIS_URL"],
    [{}, { REDIS_URL: "not a url" }, "REDIS_URL"],
    [{}, { REDIS_TLS: "yes" }, "REDIS_TLS"],
    [{}, { MATHD_DB_NEWS: "16" }, "MATHD_DB_NEWS"],
    [{ port: 0 }, {}, "port"],
    [{ databases: { alerts: -1 } }, {}, "databases.alerts"],
    [{ commandTimeoutMs: 0 }, {}, "commandTimeoutMs"],
    [{ password: "" }, {}, "password"],
  ])("fails at start-up naming the setting: %j %j", (options, env, setting) => {
    const error = thrown(() => resolveRedisConfig(options as never, env));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe(setting);
  });
});
