import type { Dec } from "../../src/indicators/decimal.js";

/** Relative tolerance of continuous outputs, Lua doubles against decimal.js (docs/FORMULAS.md). */
export const RELATIVE_TOLERANCE = 1e-12;
/**
 * Absolute floor for outputs that can cancel to zero (news sentiment and boost, confidence
 * terms): their rounding error is a few ulps of the terms (at most 1), not of the result.
 */
export const ABSOLUTE_FLOOR = 1e-14;

/** A point as a VWAP weighs it: its price (a bar's typical price) and its volume. */
export interface WeightedPrice {
  price: number;
  volume: number;
}

/** The value a VWAP's sums are shifted by (docs/FORMULAS.md, "VWAP"): the first point with volume's price. */
export function vwapOrigin(points: readonly WeightedPrice[]): number {
  const first = points.find((p) => p.volume > 0);
  if (!first) throw new Error("no point has volume");
  return first.price;
}

/**
 * The absolute error docs/FORMULAS.md allows a VWAP besides its relative tolerance: each product
 * v (x - origin) rounds once and so does the quotient of their sum, so the VWAP errs by about
 * 2 u times the volume-weighted mean distance of the points from the origin, which passes 1e-12
 * of the VWAP only when the points lie thousands of times further apart than the VWAP is high
 * (4 u here: 2 Number.EPSILON).
 */
export function vwapAllowance(points: readonly WeightedPrice[]): number {
  const origin = vwapOrigin(points);
  let weight = 0;
  let distance = 0;
  for (const p of points) {
    weight += p.volume;
    distance += p.volume * Math.abs(p.price - origin);
  }
  return (2 * Number.EPSILON * distance) / weight;
}

/**
 * The absolute error docs/FORMULAS.md allows a VWAP's sigma besides its relative tolerance: West's
 * update on values shifted by the origin ({@link vwapOrigin}) errs by about n u |mean - origin|,
 * which passes 1e-12 of a tiny sigma when the origin lies far from the rest (8 n u here:
 * 4 n Number.EPSILON).
 */
export function westAllowance(points: number, vwap: number, origin: number): number {
  return 4 * points * Number.EPSILON * Math.abs(vwap - origin);
}

/** Whether `actual` is within `relative` of the exact `expected`, or within `absolute` of it. */
export function withinTolerance(actual: number, expected: Dec, relative = RELATIVE_TOLERANCE, absolute = 0): boolean {
  return expected.minus(actual).abs().lte(expected.abs().times(relative).plus(absolute));
}

/** Throws with both values when they differ by more than the tolerance. */
export function expectClose(actual: number, expected: Dec, what: string, relative = RELATIVE_TOLERANCE, absolute = 0): void {
  if (!withinTolerance(actual, expected, relative, absolute)) {
    const error = expected.minus(actual).abs();
    throw new Error(
      `${what}: Lua ${actual} vs reference ${expected.toSignificantDigits(20).toString()} ` +
        `(difference ${error.toExponential(3)}, allowed ${relative} relative + ${absolute} absolute)`,
    );
  }
}
