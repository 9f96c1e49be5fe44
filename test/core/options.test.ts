import { Redis } from "ioredis";
import { describe, expect, inject, it } from "vitest";
import { ConfigurationError, InvalidInputError } from "../../src/core/errors.js";
import { unknownOptionReason } from "../../src/core/options.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { TickConsumer } from "../../src/streaming/tickConsumer.js";
import { thrown } from "../support/thrown.js";

describe("option names", () => {
  it("suggests the name a typo meant, or lists them all", () => {
    const known = ["deadlineMs", "store"];
    expect(unknownOptionReason("deadlinMs", known)).toBe("unknown option; did you mean deadlineMs?");
    expect(unknownOptionReason("DeadlineMS", known)).toBe("unknown option; did you mean deadlineMs?");
    expect(unknownOptionReason("timeout", known)).toBe("unknown option; the options are deadlineMs, store");
    expect(unknownOptionReason("hots", ["host", "port"], "setting")).toBe("unknown setting; did you mean host?");
  });

  // plain JavaScript: TypeScript would refuse these at compile time, hence the casts
  it("refuses a mistyped option of connect, a call, the result tier or the resilient client, naming it, before anything is sent", async () => {
    const url = inject("redisUrl");
    const input = { symbol: "TYPO", period: 2, bars: [1, 2, 3].map((p) => ({ high: p + 1, low: p, close: p })) };
    const refused = (fn: () => unknown) => thrown(fn) as InvalidInputError;
    const connectTypo = refused(() => MathDispatcher.connect(url, { deadlinMs: 200 } as never));
    expect(connectTypo).toBeInstanceOf(InvalidInputError);
    expect(connectTypo.message).toBe("deadlinMs: unknown option; did you mean deadlineMs?");
    expect(refused(() => MathDispatcher.connect(url, { hashtag: true } as never)).field).toBe("hashtag");
    expect(refused(() => MathDispatcher.connect(url, { resultCache: { maxEntry: 10, maxBytes: 1000 } } as never)).field).toBe("resultCache.maxEntry");
    expect(refused(() => new ResilientRedis({ breakerTreshold: 3 } as never)).message).toBe("breakerTreshold: unknown option; did you mean breakerThreshold?");
    const ticks = new Redis(url, { db: 4, lazyConnect: true });
    expect(refused(() => new TickConsumer(ticks, {} as never, { symbols: ["NIFTY"], blockMS: 100 } as never)).message).toBe("blockMS: unknown option; did you mean blockMs?");
    ticks.disconnect();

    const math = MathDispatcher.connect(url);
    try {
      const callTypo = await math.atr(input, { stor: false } as never).catch((e: unknown) => e);
      expect(callTypo).toBeInstanceOf(InvalidInputError);
      expect((callTypo as InvalidInputError).message).toBe("stor: unknown option; did you mean store?");
      expect(((await math.atr(input, [] as never).catch((e: unknown) => e)) as InvalidInputError).message).toBe("options: must be an object, got an array");
      expect((await math.atr(input, { store: false })).atr).toBeGreaterThan(0); // the names it has still go
    } finally {
      await math.close();
    }
  });

  it("refuses a mistyped connection setting with a ConfigurationError naming it", () => {
    const settingTypo = thrown(() => MathDispatcher.connect({ hots: "127.0.0.1" } as never));
    expect(settingTypo).toBeInstanceOf(ConfigurationError);
    expect((settingTypo as ConfigurationError).message).toBe("hots: unknown setting; did you mean host?");
    expect((thrown(() => MathDispatcher.connect({ databases: { patern: 12 } } as never)) as ConfigurationError).setting).toBe("databases.patern");
    expect((thrown(() => MathDispatcher.connect({ tls: { servrname: "redis" } } as never)) as ConfigurationError).setting).toBe("tls.servrname");
  });
});
