/** News boost through `lua/news_boost.lua`. */
import { z } from "zod";
import { NEWS_BOOST_DEFAULTS } from "../core/defaults.js";
import { headerBounds, epochMsSchema, rangeSchema, sideSchema, symbolSchema } from "./inputs.js";
import { numberField, type ReplyFields } from "./reply.js";
import type { ValidatedFunction } from "./scriptFunction.js";
import { packFields } from "../core/units.js";
import { MAX_NEWS_ITEMS } from "./limits.js";
import type { ScriptArgs } from "../generated/scripts.js";

/** One news item. */
export interface NewsItemInput {
  /** [-1, 1]. */
  sentiment: number;
  /** [0, 1]. */
  relevance: number;
  /** Epoch milliseconds. */
  publishedAt: number;
}

/** How news is weighted; all optional. */
export interface NewsSettings {
  /** Default 60. */
  halfLifeMinutes?: number;
  /** Items older than this are dropped. Default 1440 (24 h). */
  windowMinutes?: number;
  /** Default 0.15. */
  maxBoost?: number;
  /** Items newer than now by more than this are rejected. Default 5000. */
  clockSkewMs?: number;
}

/** Input of {@link MathDispatcher.newsBoost}. */
export interface NewsBoostInput extends NewsSettings {
  symbol: string;
  side: "long" | "short";
  items: readonly NewsItemInput[];
  /** Epoch ms; default Date.now(). */
  now?: number;
}

/** Result of {@link MathDispatcher.newsBoost}. */
export interface NewsBoostResult {
  /** maxBoost * S * strength, negated for a short. */
  boost: number;
  /** S, the weighted mean sentiment. */
  sentiment: number;
  /** sum of the weights. */
  weight: number;
  /** Items inside the window. */
  count: number;
}


export const newsItemSchema = z.object({
  sentiment: rangeSchema(-1, 1),
  relevance: rangeSchema(0, 1),
  publishedAt: epochMsSchema,
});

export const newsSettingsSchema = z.object({
  halfLifeMinutes: headerBounds("news_boost", "half_life_minutes").default(NEWS_BOOST_DEFAULTS.halfLifeMinutes),
  windowMinutes: headerBounds("news_boost", "window_minutes").default(NEWS_BOOST_DEFAULTS.windowMinutes),
  maxBoost: headerBounds("news_boost", "max_boost").default(NEWS_BOOST_DEFAULTS.maxBoost),
  clockSkewMs: headerBounds("news_boost", "clock_skew_ms").default(NEWS_BOOST_DEFAULTS.clockSkewMs),
});

export const newsItemsSchema = z.array(newsItemSchema).max(MAX_NEWS_ITEMS, { error: `at most ${MAX_NEWS_ITEMS} items` });

/** Rejects items from the future beyond the clock-skew allowance. */
export function checkNotFuture(
  items: readonly { publishedAt: number }[],
  now: number,
  skew: number,
  ctx: z.RefinementCtx,
  path: PropertyKey[],
): void {
  items.forEach((item, i) => {
    if (item.publishedAt > now + skew) {
      ctx.addIssue({
        code: "custom",
        path: [...path, i, "publishedAt"],
        message: `is in the future beyond the clock-skew allowance of ${skew} ms`,
      });
    }
  });
}

const newsBoostSchema = z
  .object({
    symbol: symbolSchema,
    side: sideSchema,
    items: newsItemsSchema,
    now: epochMsSchema.default(() => Date.now()),
  })
  .extend(newsSettingsSchema.shape) // one object, not an intersection (stopLoss.ts says why)
  .superRefine((input, ctx) => checkNotFuture(input.items, input.now, input.clockSkewMs, ctx, ["items"]));

type NewsArgsInput = z.output<typeof newsSettingsSchema> & { items: readonly NewsItemInput[]; now: number };

/** The news_boost ARGV section without the side (6 slots, the binary items last). */
export function newsBoostArgs(input: NewsArgsInput & { side: string }): ScriptArgs<"news_boost"> {
  return {
    side: input.side,
    now: String(input.now),
    half_life_minutes: String(input.halfLifeMinutes),
    window_minutes: String(input.windowMinutes),
    max_boost: String(input.maxBoost),
    clock_skew_ms: String(input.clockSkewMs),
    items:
      input.items.length === 0
        ? ""
        : packFields(input.items, ["sentiment", "relevance", "publishedAt"]),
  };
}

/** Reads the news_boost fields of a reply (also part of the dispatch reply). */
export function decodeNewsBoost(fields: ReplyFields): NewsBoostResult {
  return {
    boost: numberField(fields, "boost"),
    sentiment: numberField(fields, "sentiment"),
    weight: numberField(fields, "weight"),
    count: numberField(fields, "count"),
  };
}

export const newsBoostFunction: ValidatedFunction<typeof newsBoostSchema, NewsBoostResult> = {
  script: "news_boost",
  schema: newsBoostSchema,
  args: newsBoostArgs,
  decode: decodeNewsBoost,
};
