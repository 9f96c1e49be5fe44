import type { Dec } from "../../src/indicators/decimal.js";

/** Relative tolerance of continuous outputs, Lua doubles against decimal.js (docs/FORMULAS.md). */
export const RELATIVE_TOLERANCE = 1e-12;
/**
 * Absolute floor for outputs that can cancel to zero (news sentiment and boost, confidence
 * terms): their rounding error is a few ulps of the terms (at most 1), not of the result.
 */
export const ABSOLUTE_FLOOR = 1e-14;

/**
 * The absolute error docs/FORMULAS.md allows a VWAP's sigma besides its relative tolerance: West's
 * update on values shifted by the origin (the series' first point, with volume or not) errs by
 * about n u |mean - origin|, which passes 1e-12 of a tiny sigma when the first point lies far
 * from the rest (8 n u here: 4 n Number.EPSILON).
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
