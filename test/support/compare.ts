import type { Dec } from "../../src/indicators/decimal.js";

/** Relative tolerance of continuous outputs, Lua doubles against decimal.js (docs/FORMULAS.md). */
export const RELATIVE_TOLERANCE = 1e-12;

/** Whether `actual` is within `relative` of the exact `expected` (relative to |expected|). */
export function withinRelative(actual: number, expected: Dec, relative = RELATIVE_TOLERANCE): boolean {
  return expected.minus(actual).abs().lte(expected.abs().times(relative));
}

/** Throws with both values when they differ by more than the tolerance. */
export function expectClose(actual: number, expected: Dec, what: string, relative = RELATIVE_TOLERANCE): void {
  if (!withinRelative(actual, expected, relative)) {
    const error = expected.minus(actual).abs().div(expected.abs().isZero() ? 1 : expected.abs());
    throw new Error(`${what}: Lua ${actual} vs reference ${expected.toSignificantDigits(20).toString()} (relative error ${error.toExponential(3)} > ${relative})`);
  }
}
