import type { Dec } from "../../src/indicators/decimal.js";
import { distanceToGrid, GRID_SNAP } from "../../src/indicators/grid.js";

/**
 * The documented tie band (docs/FORMULAS.md): Lua and the reference may round a value onto a
 * different grid point only when its exact pre-rounding value lies within 2e-9 steps of a grid
 * point (near the 1e-9 snap threshold, where a double's error can decide the snap), plus
 * RELATIVE_TIE_BAND of the value itself: the doubles' own error, which only a huge count (a
 * position of 10^14 lots) makes larger than the fixed band.
 */
export const TIE_BAND = 2 * GRID_SNAP;
/** About ten roundings of 2^-53 each on the way to a value (its inputs' conversions included). */
export const RELATIVE_TIE_BAND = 2e-15;

export function inTieBand(exact: Dec): boolean {
  return distanceToGrid(exact).lte(exact.abs().times(RELATIVE_TIE_BAND).plus(TIE_BAND));
}

/**
 * Asserts Lua's grid value equals the reference's, or that they differ by one step with an exact
 * value it was rounded from inside the tie band (a stop's distance, or the cap that bound it).
 * Returns whether it was a tie.
 */
export function expectGridEqual(lua: number, reference: number, exact: Dec | readonly Dec[], what: string): boolean {
  if (lua === reference) return false;
  const values = Array.isArray(exact) ? (exact as readonly Dec[]) : [exact as Dec];
  if (Math.abs(lua - reference) === 1 && values.some(inTieBand)) return true;
  throw new Error(`${what}: Lua ${lua} vs reference ${reference}; exact ${values.join(", ")} not within the tie band (${TIE_BAND} + ${RELATIVE_TIE_BAND} of it) of a grid point`);
}
