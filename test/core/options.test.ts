import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ConfigurationError, InvalidInputError, type MathDispatcherError } from "../../src/core/errors.js";
import { unknownOptionReason } from "../../src/core/options.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { collectHealth } from "../../src/health/healthReport.js";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { thrown } from "../support/thrown.js";
import { sharedRedisUrl } from "../support/redis.js";

/** The error `fn` throws or rejects with. */
async function refusal(fn: () => unknown): Promise<MathDispatcherError> {
  try {
    await fn();
  } catch (error) {
    return error as MathDispatcherError;
  }
  throw new Error("expected a refusal");
}

describe("option names", () => {
  it("suggests the nearest name a typo meant, or lists them all", () => {
    const known = ["deadlineMs", "store"];
    expect(unknownOptionReason("deadlinMs", known)).toBe("unknown option; did you mean deadlineMs?");
    expect(unknownOptionReason("DeadlineMS", known)).toBe("unknown option; did you mean deadlineMs?");
    expect(unknownOptionReason("timeout", known)).toBe("unknown option; the options are deadlineMs, store");
    expect(unknownOptionReason("hots", ["host", "port"], "setting")).toBe("unknown setting; did you mean host?");
    // the nearest, not the first within reach; and a short name gets one edit at most
    expect(unknownOptionReason("crt", ["ca", "cert", "key", "servername"], "setting")).toBe("unknown setting; did you mean cert?");
    expect(unknownOptionReason("pem", ["ca", "cert", "key", "servername"], "setting")).toBe("unknown setting; the settings are ca, cert, key, servername");
  });

  // plain JavaScript: TypeScript would refuse these at compile time, hence the casts
  it("refuses what a client is built with that it does not have, or a value it does not take, as a ConfigurationError, naming it, before anything is sent", async () => {
    const url = sharedRedisUrl();
    const cases: [() => unknown, string, string][] = [
      [() => MathDispatcher.connect(url, { deadlinMs: 200 } as never), "deadlinMs", "deadlinMs: unknown option; did you mean deadlineMs?"],
      [() => MathDispatcher.connect(url, { hashtag: true } as never), "hashtag", "hashtag: unknown option; did you mean hashTag?"],
      [() => MathDispatcher.connect(url, { resultCache: { maxEntires: 10, maxBytes: 1000 } } as never), "resultCache.maxEntires", "resultCache.maxEntires: unknown option; did you mean maxEntries?"],
      [() => new ResilientRedis({ breakerTreshold: 3 } as never), "breakerTreshold", "breakerTreshold: unknown option; did you mean breakerThreshold?"],
      [() => new ResilientRedis("redis://127.0.0.1" as never), "options", 'options: must be an object of options, got "redis://127.0.0.1"'],
      [() => MathDispatcher.connect({ hots: "127.0.0.1" } as never), "hots", "hots: unknown setting; did you mean host?"],
      [() => MathDispatcher.connect({ databases: { patern: 12 } } as never), "databases.patern", "databases.patern: unknown setting; did you mean patterns?"],
      [() => MathDispatcher.connect({ tls: { servrname: "redis" } } as never), "tls.servrname", "tls.servrname: unknown setting; did you mean servername?"],
      [() => collectHealth({ url, timeout: 200 } as never), "timeout", "timeout: unknown option; did you mean timeoutMs?"],
      // a cluster's startup nodes: a `prot` would leave ioredis's default port, 6379
      [() => MathDispatcher.connect({ cluster: [{ host: "127.0.0.1", prot: 7000 }] } as never), "cluster[0].prot", "cluster[0].prot: unknown setting; did you mean port?"],
      [() => new ResilientRedis({ cluster: [{ host: "127.0.0.1" }] } as never), "cluster[0].port", "cluster[0].port: must be an integer in 1..65535, got null"],
      [() => new ResilientRedis({ cluster: [] }), "cluster", "cluster: must be an ioredis Cluster or a list of at least one { host, port }"],
      [() => collectHealth({ cluster: [{ hots: "127.0.0.1", port: 7000 }] } as never), "cluster[0].hots", "cluster[0].hots: unknown setting; did you mean host?"],
      // a value it does not take: `function` ran EVALSHA, `replicas` read from the master
      [() => MathDispatcher.connect(url, { scriptMode: "function" } as never), "scriptMode", 'scriptMode: must be one of "evalsha", "functions", got "function"'],
      [() => MathDispatcher.connect(url, { readFrom: "replicas" } as never), "readFrom", 'readFrom: must be one of "master", "replica", got "replicas"'],
      [() => MathDispatcher.connect(url, { hashTag: "no" } as never), "hashTag", 'hashTag: must be one of true, false, got "no"'],
      [() => collectHealth({ url, scriptMode: "function" } as never), "scriptMode", 'scriptMode: must be one of "evalsha", "functions", got "function"'],
    ];
    for (const [fn, field, message] of cases) {
      const error = await refusal(fn);
      expect(error, message).toBeInstanceOf(ConfigurationError);
      expect([(error as ConfigurationError).setting, error.message]).toEqual([field, message]);
    }
  });

  it("refuses a call's, streaming()'s or a TickConsumer's option it does not have as an InvalidInputError", async () => {
    const url = sharedRedisUrl();
    const input = { symbol: "TYPO", period: 2, bars: [1, 2, 3].map((p) => ({ high: p + 1, low: p, close: p })) };
    const math = MathDispatcher.connect(url);
    const ticks = new Redis(url, { db: 4, lazyConnect: true });
    try {
      const cases: [() => unknown, string][] = [
        [() => math.atr(input, { stor: false } as never), "stor: unknown option; did you mean store?"],
        [() => math.atr(input, [] as never), "options: must be an object of options, got a list"],
        [() => math.load({ deadline: 500 } as never), "deadline: unknown option; did you mean deadlineMs?"],
        [() => math.streaming({ atrPerod: 21 } as never), "atrPerod: unknown option; did you mean atrPeriod?"],
        [() => new TickConsumer(ticks, math.streaming(), { symbols: ["NIFTY"], blockMS: 100 } as never), "blockMS: unknown option; did you mean blockMs?"],
      ];
      for (const [fn, message] of cases) {
        const error = await refusal(fn);
        expect(error, message).toBeInstanceOf(InvalidInputError);
        expect(error.message).toBe(message);
      }
      expect((await math.atr(input, { store: false })).atr).toBeGreaterThan(0); // the names it has still go
    } finally {
      ticks.disconnect();
      await math.close();
    }
  });
});
