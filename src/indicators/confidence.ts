/**
 * Confidence in log-odds, on decimal.js: the oracle for `lua/includes/confidence.lua`.
 * z = logit(c0) + w_vol * clamp(ln r, -2, 2) + w_news * boost / maxBoost;
 * confidence = clamp(sigmoid(z), min, max).
 */
import { Dec, dec, type Numeric } from "./decimal.js";
import { CONFIDENCE_DEFAULTS } from "../core/defaults.js";

export interface ConfidenceParams {
  /** The detector's confidence, (0, 1). */
  base: Numeric;
  /** Current volume / baseline; no volume term when absent. */
  volumeRatio?: Numeric;
  boost: Numeric;
  maxBoost?: Numeric;
  volumeWeight?: Numeric;
  newsWeight?: Numeric;
  min?: Numeric;
  max?: Numeric;
}


export interface ConfidenceReference {
  confidence: Dec;
  unclamped: Dec;
  baseTerm: Dec;
  volumeTerm: Dec;
  newsTerm: Dec;
}

function clamp(x: Dec, lo: Numeric, hi: Numeric): Dec {
  return Dec.min(hi, Dec.max(lo, x));
}

export function confidenceReference(p: ConfidenceParams): ConfidenceReference {
  const d = { ...CONFIDENCE_DEFAULTS, ...p };
  const base = dec(p.base);
  const baseTerm = base.div(dec(1).minus(base)).ln();
  const volumeTerm =
    p.volumeRatio === undefined ? new Dec(0) : dec(d.volumeWeight).times(clamp(dec(p.volumeRatio).ln(), -2, 2));
  const newsTerm = dec(d.newsWeight).times(dec(p.boost).div(d.maxBoost));
  const z = baseTerm.plus(volumeTerm).plus(newsTerm);
  const unclamped = new Dec(1).div(new Dec(1).plus(Dec.exp(z.neg())));
  return { confidence: clamp(unclamped, d.min, d.max), unclamped, baseTerm, volumeTerm, newsTerm };
}
