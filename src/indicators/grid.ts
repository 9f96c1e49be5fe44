/**
 * Rounding onto a grid of whole steps (ticks, lots), as `lua/includes/grid.lua` does: a value
 * within GRID_SNAP of a grid point counts as on it, then floor or ceil.
 */
import { Dec } from "./decimal.js";

/** How close (in steps) to a grid point a value must be to count as on it. */
export const GRID_SNAP = 1e-9;

/** Distance from q to the nearest whole number. */
export function distanceToGrid(q: Dec): Dec {
  return q.minus(q.round()).abs();
}

function snapToGrid(q: Dec): Dec {
  return distanceToGrid(q).lte(GRID_SNAP) ? q.round() : q;
}

export function floorOnGrid(q: Dec): number {
  return snapToGrid(q).floor().toNumber();
}

export function ceilOnGrid(q: Dec): number {
  return snapToGrid(q).ceil().toNumber();
}
