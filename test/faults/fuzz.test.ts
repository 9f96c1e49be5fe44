import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, InvalidInputError, MathDispatcherError, StoredDataError } from "../../src/core/errors.js";
import { FUNCTION_NAMES } from "../../src/dispatcher/functions.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { sharedRedisUrl } from "../support/redis.js";

// Garbage through every public entry point: whatever comes back must be a result or a
// MathDispatcherError subclass, never a TypeError or a raw Redis error.
const math = MathDispatcher.connect(sharedRedisUrl());
const live = math.streaming();
afterAll(() => math.close());

const tally = new Map<string, { tried: number; typed: number }>();
async function outcome(fuzzClass: string, call: () => Promise<unknown>): Promise<unknown> {
  const counts = tally.get(fuzzClass) ?? { tried: 0, typed: 0 };
  tally.set(fuzzClass, counts);
  counts.tried++;
  try {
    return await call();
  } catch (error) {
    if (error instanceof MathDispatcherError) counts.typed++;
    return error;
  }
}
afterAll(() => console.log("fuzz classes (tried / typed errors):", Object.fromEntries([...tally].map(([k, v]) => [k, `${v.tried}/${v.typed}`]))));

const garbage = fc.oneof(fc.anything(), fc.constantFrom(null, undefined, NaN, Infinity, -1, "", "x", [], {}, () => 1, Symbol("s")));

describe("fuzz: every failure a caller sees is typed", () => {
  it("single functions with garbage inputs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FUNCTION_NAMES), garbage, async (fn, input) => {
        const result = await outcome("function inputs", () => (math[fn] as (i: unknown) => Promise<unknown>)(input));
        expect(result).toBeInstanceOf(InvalidInputError);
      }),
      { numRuns: 300 },
    );
  });

  it("good inputs with garbage call options: a result, an InvalidInputError naming the option, or the timeout a valid tiny deadline earns", async () => {
    const bars = Array.from({ length: 20 }, (_, i) => ({ high: 101 + (i % 3), low: 99, close: 100 }));
    const options = fc.oneof(garbage, fc.record({ deadlineMs: garbage, store: garbage }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        const result = await outcome("call options", () => math.atr({ symbol: "FUZZOPT", period: 14, bars }, o as never));
        // an option it does not have is named too (a typo in plain JavaScript)
        if (result instanceof InvalidInputError) expect(["options", "deadlineMs", "store", ...(typeof o === "object" && o !== null ? Object.keys(o) : [])]).toContain(result.field);
        else if (result instanceof Error) {
          // a deadline of 5e-324 ms is a valid one, and runs out (as a short one may on a loaded machine)
          expect(result).toBeInstanceOf(CommandTimeoutError);
          expect((o as { deadlineMs: number }).deadlineMs).toBeLessThan(2_000);
        } else expect((result as { atr: number }).atr).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it("run, batch, dispatchMany, updateMany, snapshots with arguments of the wrong shape", async () => {
    const calls: [string, (x: unknown) => Promise<unknown>][] = [
      ["run", (x) => math.run(x as never)],
      ["batch", (x) => math.batch(x as never)],
      ["dispatchMany", (x) => math.dispatchMany(x as never)],
      ["updateMany", (x) => live.updateMany(x as never)],
      ["snapshots", (x) => live.snapshots(x as never)],
      ["dispatch", (x) => math.dispatch(x as never)],
      ["update", (x) => live.update(x as never)],
      ["snapshot", (x) => live.snapshot(x as never)],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...calls), garbage, async ([name, call], x) => {
        const result = await outcome(`${name} arguments`, () => call(x));
        if (result instanceof Error) expect(result).toBeInstanceOf(InvalidInputError);
        else if (Array.isArray(result)) {
          // a list call answers each entry in place: a value, or a typed error
          for (const o of result as { ok: boolean; error?: unknown }[]) expect(o.ok || o.error instanceof MathDispatcherError).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
    for (const name of ["batch", "dispatchMany", "updateMany", "snapshots"]) {
      const error = await calls.find(([n]) => n === name)![1](null).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
    }
    const unknown = await math.batch([{ fn: "nope", input: {} } as never]);
    expect(unknown[0]).toMatchObject({ ok: false, error: { field: "calls[0].fn" } });
    await expect(math.run({ fn: "nope", input: {} } as never)).rejects.toMatchObject({ field: "fn" });
  });

  it("stored news and baselines of any shape or type give StoredDataError naming the key", async () => {
    const news = new Redis(sharedRedisUrl(), { db: 11 });
    const volume = new Redis(sharedRedisUrl(), { db: 5 });
    const time = Date.UTC(2025, 10, 24, 4, 40);
    const signal = { symbol: "FUZZ", side: "long" as const, entry: 100, time, baseConfidence: 0.6, atr: 2, currentVolume: 100, account: { capital: 1e6, risk: 0.01, lotSize: 1 } };
    const stored = fc.oneof(
      fc.string().map((text) => ({ type: "string" as const, text })),
      fc.jsonValue().map((v) => ({ type: "string" as const, text: JSON.stringify(v) })),
      fc.constant({ type: "string" as const, text: JSON.stringify(Array.from({ length: 1001 }, () => ({ sentiment: 0, relevance: 0, published_at: time }))) }),
      fc.constant({ type: "string" as const, text: JSON.stringify([{ sentiment: 0.5, relevance: 1, published_at: time + 3_600_000 }]) }),
      fc.constant({ type: "hash" as const, text: "" }),
    );
    await fc.assert(
      fc.asyncProperty(stored, stored, async (n, b) => {
        await news.del("news:latest:FUZZ");
        await volume.del("volume:baseline:FUZZ:10:10");
        if (n.type === "hash") await news.hset("news:latest:FUZZ", "x", "1");
        else await news.set("news:latest:FUZZ", n.text);
        if (b.type === "hash") await volume.set("volume:baseline:FUZZ:10:10", "not a hash");
        else await volume.hset("volume:baseline:FUZZ:10:10", "average", b.text);
        const result = await outcome("stored inputs", () => math.dispatch(signal));
        if (result instanceof Error) {
          expect(result).toBeInstanceOf(StoredDataError);
          expect((result as StoredDataError).key).toMatch(/^(news:latest:FUZZ|volume:baseline:FUZZ:10:10)$/);
        }
      }),
      { numRuns: 150 },
    );
    news.disconnect();
    volume.disconnect();
  });
});
