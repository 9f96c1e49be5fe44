import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/core/errors.js";
import { Dec } from "../../src/indicators/decimal.js";
import { confidenceReference } from "../../src/indicators/confidence.js";
import { newsBoostReference } from "../../src/indicators/newsBoost.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";
import { ABSOLUTE_FLOOR, expectClose } from "../support/compare.js";

const dispatcher = sharedDispatcher();
afterAll(() => dispatcher.close());

const NOW = Date.UTC(2026, 10, 25, 4, 0); // 09:30 IST
const MINUTE = 60_000;

describe("newsBoost known answers", () => {
  it("one fresh, fully relevant, fully positive item: boost = 0.15 (1 - 1/e)", async () => {
    const r = await dispatcher.newsBoost({ symbol: "NB", side: "long", now: NOW, items: [{ sentiment: 1, relevance: 1, publishedAt: NOW }] });
    expectClose(r.boost, new Dec(1).minus(new Dec(-1).exp()).times("0.15"), "boost", 1e-15);
    expect(r).toMatchObject({ sentiment: 1, weight: 1, count: 1 });
  });

  it("halves the weight every half-life, drops items outside the window, flips for a short", async () => {
    const items = [
      { sentiment: 0.8, relevance: 1, publishedAt: NOW - 60 * MINUTE }, // weight 0.5
      { sentiment: -1, relevance: 1, publishedAt: NOW - 25 * 60 * MINUTE }, // outside 24 h
    ];
    const r = await dispatcher.newsBoost({ symbol: "NB", side: "short", now: NOW, items });
    expect(r.weight).toBe(0.5);
    expect(r.count).toBe(1);
    expectClose(r.sentiment, new Dec("0.8"), "S", 1e-15);
    expectClose(r.boost, new Dec("-0.15").times("0.8").times(new Dec(1).minus(new Dec("-0.5").exp())), "boost", 1e-15);
  });

  it("no items: boost 0", async () => {
    const r = await dispatcher.newsBoost({ symbol: "NB", side: "long", now: NOW, items: [] });
    expect(r).toMatchObject({ boost: 0, sentiment: 0, weight: 0, count: 0 });
  });
});

describe("confidence known answers", () => {
  it("c0 0.5, volume ratio e, no news: sigmoid(0.5 * 1)", async () => {
    const r = await dispatcher.confidence({ symbol: "CF", base: 0.5, volumeRatio: Math.E, boost: 0 });
    expectClose(r.confidence, new Dec(1).div(new Dec(1).plus(new Dec("-0.5").exp())), "confidence", 1e-15);
    expect(r.baseTerm).toBe(0);
    expectClose(r.volumeTerm, new Dec("0.5"), "volume term", 1e-15);
    expect(r.newsTerm).toBe(0);
  });

  it("clamps ln(r) to [-2, 2] and the result to [0.05, 0.95]", async () => {
    const r = await dispatcher.confidence({ symbol: "CF", base: 0.9, volumeRatio: 1000, boost: 0.15 });
    expectClose(r.volumeTerm, new Dec(1), "volume term clamped at 2, times 0.5", 1e-15);
    expectClose(r.newsTerm, new Dec("0.75"), "news term", 1e-15);
    expect(r.confidence).toBe(0.95);
    expect(r.unclamped).toBeGreaterThan(0.95);
  });
});

const newsItem = fc.record({
  sentiment: fc.double({ min: -1, max: 1, noNaN: true }),
  relevance: fc.double({ min: 0, max: 1, noNaN: true }),
  ageMs: fc.integer({ min: -5_000, max: 30 * 60 * MINUTE }),
});

describe("newsBoost and confidence against decimal.js", () => {
  it("newsBoost within 1e-12 relative (1e-14 absolute near zero)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(newsItem, { maxLength: 40 }),
        fc.constantFrom("long" as const, "short" as const),
        fc.double({ min: 1, max: 600, noNaN: true }),
        async (raw, side, halfLifeMinutes) => {
          const items = raw.map((n) => ({ sentiment: n.sentiment, relevance: n.relevance, publishedAt: NOW - n.ageMs }));
          const input = { symbol: "PROPNB", side, now: NOW, items, halfLifeMinutes };
          const lua = await dispatcher.newsBoost(input);
          const ref = newsBoostReference(input);
          expectClose(lua.boost, ref.boost, "boost", 1e-12, ABSOLUTE_FLOOR);
          expectClose(lua.sentiment, ref.sentiment, "sentiment", 1e-12, ABSOLUTE_FLOOR);
          expectClose(lua.weight, ref.weight, "weight", 1e-12, ABSOLUTE_FLOOR);
          expect(lua.count).toBe(ref.count);
        },
      ),
      { numRuns: 200 },
    );
  });

  // the window's edge: an item exactly as old as the window (a window of 20,000 ms is 1/3 minute,
  // not a decimal) counts in the script and the reference alike
  it("newsBoost counts an item at the window's very edge as the reference does", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1440 * 60_000 }), async (windowMs) => {
        const input = { symbol: "PROPNW", side: "long" as const, now: NOW, items: [{ sentiment: 1, relevance: 1, publishedAt: NOW - windowMs }], windowMinutes: windowMs / 60_000 };
        expect((await dispatcher.newsBoost(input)).count).toBe(newsBoostReference(input).count);
      }),
      { numRuns: 100, examples: [[20_000]] },
    );
  });

  it("confidence within 1e-12 relative (1e-14 absolute for terms near zero)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          base: fc.double({ min: 0.001, max: 0.999, noNaN: true }),
          volumeRatio: fc.option(fc.double({ min: 0.001, max: 1000, noNaN: true }), { nil: undefined }),
          boostFraction: fc.double({ min: -1, max: 1, noNaN: true }),
          volumeWeight: fc.double({ min: 0, max: 2, noNaN: true }),
          newsWeight: fc.double({ min: 0, max: 2, noNaN: true }),
        }),
        async (p) => {
          const input = { symbol: "PROPCF", ...p, boost: p.boostFraction * 0.15 };
          const lua = await dispatcher.confidence(input);
          const ref = confidenceReference(input);
          for (const key of ["confidence", "unclamped", "baseTerm", "volumeTerm", "newsTerm"] as const) {
            expectClose(lua[key], ref[key], key, 1e-12, ABSOLUTE_FLOOR);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("news and confidence input validation (before any Redis call)", () => {
  const item = { sentiment: 0.5, relevance: 0.5, publishedAt: NOW };
  const newsCases: [string, object, string][] = [
    ["sentiment above 1", { items: [{ ...item, sentiment: 1.5 }] }, "items[0].sentiment"],
    ["negative relevance", { items: [{ ...item, relevance: -0.1 }] }, "items[0].relevance"],
    ["non-finite timestamp", { items: [{ ...item, publishedAt: Number.POSITIVE_INFINITY }] }, "items[0].publishedAt"],
    ["an item from the future", { items: [{ ...item, publishedAt: NOW + 6_000 }] }, "items[0].publishedAt"],
    ["NaN now", { now: Number.NaN }, "now"],
    ["a side other than long or short", { side: "flat" }, "side"],
    ["half-life 0", { halfLifeMinutes: 0 }, "halfLifeMinutes"],
  ];
  it.each(newsCases)("newsBoost rejects %s naming %s", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.newsBoost({ symbol: "NIFTY", side: "long", now: NOW, items: [item], ...patch } as never), field);
  });

  const confidenceCases: [string, object, string][] = [
    ["base 0", { base: 0 }, "base"],
    ["base 1", { base: 1 }, "base"],
    ["volume ratio 0", { volumeRatio: 0 }, "volumeRatio"],
    ["boost beyond maxBoost", { boost: 0.2 }, "boost"],
    ["min above max", { min: 0.9, max: 0.1 }, "min"],
  ];
  it.each(confidenceCases)("confidence rejects %s naming %s", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.confidence({ symbol: "NIFTY", base: 0.6, boost: 0, ...patch } as never), field);
  });
});
