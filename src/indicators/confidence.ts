/**
 * Confidence in log-odds, on decimal.js: the oracle for `lua/includes/confidence.lua`.
 * z = logit(c0) + w_vol * clamp(ln r, -2, 2) + w_news * boost / maxBoost;
 * confidence = clamp(sigmoid(z), min, max).
 */
import { Dec, dec, type Numeric } from "./decimal.js";
import { CONFIDENCE_DEFAULTS } from "../core/defaults.js";

/** Inputs of {@link confidenceReference}; the defaults are {@link CONFIDENCE_DEFAULTS}. */
export interface ConfidenceParams {
  /** The detector's confidence, (0, 1). */
  base: Numeric;
  /** Current volume / baseline; no volume term when absent. */
  volumeRatio?: Numeric;
  /** The news boost (see {@link newsBoostReference}). */
  boost: Numeric;
  /** The boost cap the news term is scaled by. Default 0.15. */
  maxBoost?: Numeric;
  /** Log-odds weight of the volume term. Default 0.5. */
  volumeWeight?: Numeric;
  /** Log-odds weight of the news term. Default 0.75. */
  newsWeight?: Numeric;
  /** Lower clamp. Default 0.05. */
  min?: Numeric;
  /** Upper clamp. Default 0.95. */
  max?: Numeric;
}


/** What {@link confidenceReference} returns: the confidence and its log-odds terms. */
export interface ConfidenceReference {
  /** sigmoid(z), clamped to [min, max]. */
  confidence: Dec;
  /** sigmoid(z) before the clamp. */
  unclamped: Dec;
  /** logit(base). */
  baseTerm: Dec;
  /** w_vol * clamp(ln r, -2, 2); 0 without a volume ratio. */
  volumeTerm: Dec;
  /** w_news * boost / maxBoost. */
  newsTerm: Dec;
}

function clamp(x: Dec, lo: Numeric, hi: Numeric): Dec {
  return Dec.min(hi, Dec.max(lo, x));
}

/** The adjusted confidence of a signal, exactly as `lua/confidence.lua` computes it (docs/FORMULAS.md). */
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
