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

export interface NewsItem {
  /** [-1, 1]. */
  sentiment: Numeric;
  /** [0, 1]. */
  relevance: Numeric;
  /** Epoch milliseconds. */
  publishedAt: number;
}

export interface NewsBoostParams {
  items: readonly NewsItem[];
  /** Epoch milliseconds. */
  now: number;
  side: Side;
  halfLifeMinutes?: Numeric;
  windowMinutes?: Numeric;
  maxBoost?: Numeric;
  clockSkewMs?: number;
}

/** Items weighing less are dropped (see lua/includes/news_boost.lua). */
export const NEWS_MIN_WEIGHT = 1e-12;


export interface NewsBoostReference {
  boost: Dec;
  sentiment: Dec;
  weight: Dec;
  count: number;
}

export function newsBoostReference(p: NewsBoostParams): NewsBoostReference {
  const halfLife = dec(p.halfLifeMinutes ?? NEWS_BOOST_DEFAULTS.halfLifeMinutes);
  const window = dec(p.windowMinutes ?? NEWS_BOOST_DEFAULTS.windowMinutes);
  const skew = p.clockSkewMs ?? NEWS_BOOST_DEFAULTS.clockSkewMs;
  let weight = new Dec(0);
  let signed = new Dec(0);
  let count = 0;
  for (const item of p.items) {
    if (item.publishedAt > p.now + skew) throw new RangeError("news item in the future beyond the clock skew");
    const ageMinutes = dec(Math.max(0, p.now - item.publishedAt)).div(60_000);
    const w = dec(item.relevance).times(Dec.pow(0.5, ageMinutes.div(halfLife)));
    if (ageMinutes.gt(window) || w.lt(NEWS_MIN_WEIGHT)) continue;
    weight = weight.plus(w);
    signed = signed.plus(w.times(item.sentiment));
    count += 1;
  }
  const sentiment = weight.isZero() ? new Dec(0) : signed.div(weight);
  const strength = new Dec(1).minus(Dec.exp(weight.neg()));
  const boost = dec(p.maxBoost ?? NEWS_BOOST_DEFAULTS.maxBoost).times(sentiment).times(strength).times(sideSign(p.side));
  return { boost, sentiment, weight, count };
}
