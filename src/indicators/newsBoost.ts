/**
 * News boost on decimal.js: the oracle for `lua/includes/news_boost.lua`.
 * w_i = relevance_i * 0.5 ^ (age_i / half-life), items older than the window or lighter than
 * NEWS_MIN_WEIGHT dropped;
 * S = sum(w_i s_i) / sum(w_i); strength = 1 - exp(-sum(w_i)); boost = maxBoost * S * strength,
 * negated for a short. No items: boost 0.
 */
import { Dec, dec, type Numeric } from "./decimal.js";
import { sideSign, type Side } from "./stopLoss.js";
import { NEWS_BOOST_DEFAULTS } from "../core/defaults.js";
import { InvalidInputError } from "../core/errors.js";

/** One news item as the reference weighs it. */
export interface NewsItem {
  /** Sentiment, in [-1, 1]. */
  sentiment: Numeric;
  /** Relevance to the symbol, in [0, 1]. */
  relevance: Numeric;
  /** Epoch milliseconds. */
  publishedAt: number;
}

/** Inputs of {@link newsBoostReference}; the defaults are {@link NEWS_BOOST_DEFAULTS}. */
export interface NewsBoostParams {
  /** The symbol's news. */
  items: readonly NewsItem[];
  /** The time ages are measured from, epoch milliseconds. */
  now: number;
  /** The trade's side: a short negates the boost. */
  side: Side;
  /** An item's weight halves every this many minutes. Default 60. */
  halfLifeMinutes?: Numeric;
  /** Items older than this are dropped. Default 1440. */
  windowMinutes?: Numeric;
  /** The largest boost. Default 0.15. */
  maxBoost?: Numeric;
  /** How far in the future an item may be dated (clock skew). Default 5000. */
  clockSkewMs?: number;
}

/** Items weighing less are dropped (see lua/includes/news_boost.lua). */
export const NEWS_MIN_WEIGHT = 1e-12;


/** What {@link newsBoostReference} returns. */
export interface NewsBoostReference {
  /** maxBoost * S * strength, negated for a short. */
  boost: Dec;
  /** S, the weighted mean sentiment. */
  sentiment: Dec;
  /** The sum of the weights. */
  weight: Dec;
  /** Items counted. */
  count: number;
}

/**
 * The news boost of a signal, exactly as `lua/news_boost.lua` computes it (docs/FORMULAS.md).
 * @throws InvalidInputError when an item is dated beyond the clock skew in the future.
 */
export function newsBoostReference(p: NewsBoostParams): NewsBoostReference {
  const halfLife = dec(p.halfLifeMinutes ?? NEWS_BOOST_DEFAULTS.halfLifeMinutes);
  const window = Number(p.windowMinutes ?? NEWS_BOOST_DEFAULTS.windowMinutes);
  const skew = p.clockSkewMs ?? NEWS_BOOST_DEFAULTS.clockSkewMs;
  let weight = new Dec(0);
  let signed = new Dec(0);
  let count = 0;
  for (const item of p.items) {
    if (item.publishedAt > p.now + skew) throw new InvalidInputError("news", "an item is dated in the future beyond the clock skew");
    // in the window or not: decided on the doubles the script compares (a subtraction and a division,
    // rounded alike in both), so that an item at the window's very edge counts in both or in neither
    if (Math.max(0, p.now - item.publishedAt) / 60_000 > window) continue;
    const ageMinutes = dec(Math.max(0, p.now - item.publishedAt)).div(60_000);
    const w = dec(item.relevance).times(Dec.pow(0.5, ageMinutes.div(halfLife)));
    if (w.lt(NEWS_MIN_WEIGHT)) continue;
    weight = weight.plus(w);
    signed = signed.plus(w.times(item.sentiment));
    count += 1;
  }
  const sentiment = weight.isZero() ? new Dec(0) : signed.div(weight);
  const strength = new Dec(1).minus(Dec.exp(weight.neg()));
  const boost = dec(p.maxBoost ?? NEWS_BOOST_DEFAULTS.maxBoost).times(sentiment).times(strength).times(sideSign(p.side));
  return { boost, sentiment, weight, count };
}
