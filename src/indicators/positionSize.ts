/**
 * Fixed-fractional, lot-aware position size on decimal.js: the oracle for
 * `lua/includes/position_size.lua`.
 * multiplier = floor + (1 - floor) * confidence (1 without a confidence);
 * lots = floor(capital * risk * multiplier / (|entry - stop| * lot size)), then capped by
 * max lots and by floor(capital * max exposure / (entry * lot size)).
 */
import { type Dec, dec, type Numeric } from "./decimal.js";
import { floorOnGrid } from "./grid.js";
import { DEFAULT_CONFIDENCE_FLOOR, type SizeBound } from "../core/defaults.js";

export interface PositionSizeParams {
  capital: Numeric;
  /** Fraction of capital at risk per trade, (0, 1]. */
  risk: Numeric;
  entry: Numeric;
  stop: Numeric;
  /** Units per lot; 1 for cash equities. */
  lotSize: number;
  maxLots?: number;
  /** Notional cap as a fraction of capital. */
  maxExposure?: Numeric;
  /** [0, 1]: scales the risk from `confidenceFloor` (at 0) to 1 (at 1). */
  confidence?: Numeric;
  /** Default 0.5. */
  confidenceFloor?: Numeric;
}


export interface PositionSizeReference {
  lots: number;
  quantity: number;
  moneyAtRisk: Dec;
  notional: Dec;
  boundBy: SizeBound;
  riskMultiplier: Dec;
  /** The exact lot counts before flooring: where the tie band is judged. */
  exact: { riskLots: Dec; exposureLots?: Dec };
}


export function positionSizeReference(p: PositionSizeParams): PositionSizeReference {
  const floor = dec(p.confidenceFloor ?? DEFAULT_CONFIDENCE_FLOOR);
  const riskMultiplier = p.confidence === undefined ? dec(1) : floor.plus(dec(1).minus(floor).times(p.confidence));
  const riskPerUnit = dec(p.entry).minus(p.stop).abs();
  if (riskPerUnit.isZero()) throw new RangeError("entry equals stop");
  const riskLots = dec(p.capital).times(p.risk).times(riskMultiplier).div(riskPerUnit.times(p.lotSize));
  let lots = floorOnGrid(riskLots);
  let boundBy: SizeBound = "risk";
  if (p.maxLots !== undefined && p.maxLots < lots) {
    lots = p.maxLots;
    boundBy = "max_lots";
  }
  let exposureLots: Dec | undefined;
  if (p.maxExposure !== undefined) {
    exposureLots = dec(p.capital).times(p.maxExposure).div(dec(p.entry).times(p.lotSize));
    const cap = floorOnGrid(exposureLots);
    if (cap < lots) {
      lots = cap;
      boundBy = "max_exposure";
    }
  }
  const quantity = lots * p.lotSize;
  return {
    lots,
    quantity,
    moneyAtRisk: riskPerUnit.times(quantity),
    notional: dec(p.entry).times(quantity),
    boundBy,
    riskMultiplier,
    exact: exposureLots ? { riskLots, exposureLots } : { riskLots },
  };
}
