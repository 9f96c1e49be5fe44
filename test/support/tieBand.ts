import type { Dec } from "../../src/indicators/decimal.js";
import { distanceToGrid, GRID_SNAP } from "../../src/indicators/grid.js";

/**
 * The documented tie band (docs/FORMULAS.md): Lua and the reference may round a value onto a
 * different grid point only when its exact pre-rounding value lies within 2e-9 steps of a grid
 * point, i.e. near the 1e-9 snap threshold where a double's error can decide the snap.
 */
export const TIE_BAND = 2 * GRID_SNAP;

export function inTieBand(exact: Dec): boolean {
  return distanceToGrid(exact).lte(TIE_BAND);
}

/**
 * Asserts Lua's grid value equals the reference's, or that they differ by one step with the
 * exact value inside the tie band. Returns whether it was a tie.
 */
export function expectGridEqual(lua: number, reference: number, exact: Dec, what: string): boolean {
  if (lua === reference) return false;
  if (Math.abs(lua - reference) === 1 && inTieBand(exact)) return true;
  throw new Error(`${what}: Lua ${lua} vs reference ${reference}; exact ${exact.toString()} is not within ${TIE_BAND} of a grid point`);
}
