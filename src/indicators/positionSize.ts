/**
 * Fixed-fractional, lot-aware position size on decimal.js: the oracle for
 * `lua/includes/position_size.lua`.
 * multiplier = floor + (1 - floor) * confidence (1 without a confidence);
 * lots = floor(capital * risk * multiplier / (|entry - stop| * lot size)), then capped by
 * max lots and by floor(capital * max exposure / (entry * lot size)).
 */
import { type Dec, dec, decPrice, type Numeric } from "./decimal.js";
import { floorOnGrid } from "./grid.js";
import { DEFAULT_CONFIDENCE_FLOOR, type SizeBound } from "../core/defaults.js";
import { InvalidInputError } from "../core/errors.js";

/** Inputs of {@link positionSizeReference}. */
export interface PositionSizeParams {
  /** Account capital, rupees. */
  capital: Numeric;
  /** Fraction of capital at risk per trade (0.01 is 1 %); the scripts take (0, 0.1] (`MAX_RISK`), this reference any. */
  risk: Numeric;
  /** Entry price. */
  entry: Numeric;
  /** Stop price; must differ from the entry. */
  stop: Numeric;
  /** Units per lot; 1 for cash equities. */
  lotSize: number;
  /** Cap on the lots; none when absent. */
  maxLots?: number;
  /** Notional cap as a fraction of capital. */
  maxExposure?: Numeric;
  /** Signal confidence in [0, 1]; it scales the risk from `confidenceFloor` (at 0) to 1 (at 1). */
  confidence?: Numeric;
  /** Default 0.5. */
  confidenceFloor?: Numeric;
}


/** What {@link positionSizeReference} returns. */
export interface PositionSizeReference {
  /** Whole lots. */
  lots: number;
  /** lots * lot size. */
  quantity: number;
  /** quantity * |entry - stop|. */
  moneyAtRisk: Dec;
  /** quantity * entry. */
  notional: Dec;
  /** Which bound decided the lots. */
  boundBy: SizeBound;
  /** The confidence's multiplier of the risk, 1 without a confidence. */
  riskMultiplier: Dec;
  /** The exact lot counts before flooring: where the tie band is judged. */
  exact: { riskLots: Dec; exposureLots?: Dec };
}


/**
 * Lots and quantity for a trade, exactly as `lua/position_size.lua` computes them (docs/FORMULAS.md).
 * The accepted range is the SDK's and the script's to check, not the reference's: a notional of
 * 2^53 price units or more, which they refuse, is computed here exactly.
 * @throws InvalidInputError when the entry equals the stop.
 */
export function positionSizeReference(p: PositionSizeParams): PositionSizeReference {
  const floor = dec(p.confidenceFloor ?? DEFAULT_CONFIDENCE_FLOOR);
  const riskMultiplier = p.confidence === undefined ? dec(1) : floor.plus(dec(1).minus(floor).times(p.confidence));
  const riskPerUnit = decPrice(p.entry).minus(decPrice(p.stop)).abs();
  if (riskPerUnit.isZero()) throw new InvalidInputError("stop", "equals the entry");
  const riskLots = dec(p.capital).times(p.risk).times(riskMultiplier).div(riskPerUnit.times(p.lotSize));
  let lots = floorOnGrid(riskLots);
  let boundBy: SizeBound = "risk";
  if (p.maxLots !== undefined && p.maxLots < lots) {
    lots = p.maxLots;
    boundBy = "max_lots";
  }
  let exposureLots: Dec | undefined;
  if (p.maxExposure !== undefined) {
    exposureLots = dec(p.capital).times(p.maxExposure).div(decPrice(p.entry).times(p.lotSize));
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
    notional: decPrice(p.entry).times(quantity),
    boundBy,
    riskMultiplier,
    exact: exposureLots ? { riskLots, exposureLots } : { riskLots },
  };
}
