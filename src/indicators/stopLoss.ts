/**
 * Stop-loss and target on the tick grid, on decimal.js: the oracle for `lua/includes/stop_loss.lua`.
 * The stop goes k * ATR from the entry, rounded onto the grid away from it, at least one tick and
 * at least the min fraction's distance (rounded away too), at most the max fraction's (rounded
 * toward the entry); the target goes R times that distance beyond the entry, rounded toward it.
 */
import { type Dec, dec, decPrice, type Numeric } from "./decimal.js";
import { ceilOnGrid, floorOnGrid } from "./grid.js";
import { STOP_LOSS_DEFAULTS } from "../core/defaults.js";
import { InvalidInputError } from "../core/errors.js";

/** Direction of a trade: a long stop sits below the entry, a short stop above. */
export type Side = "long" | "short";

/** Inputs of {@link stopLossReference}. */
export interface StopLossParams {
  /** Long or short. */
  side: Side;
  /** On the tick grid. */
  entry: Numeric;
  /** The ATR the distance is a multiple of. */
  atr: Numeric;
  /** k, default 1.5. */
  multiplier?: Numeric;
  /** Tick size, default 0.05. */
  tick?: Numeric;
  /** Smallest distance, as a fraction of the entry; no floor when absent. */
  minFraction?: Numeric;
  /** Largest distance, as a fraction of the entry; no cap when absent. */
  maxFraction?: Numeric;
  /** Reward-to-risk ratio for a target; none when absent. */
  rewardRatio?: Numeric;
}

/** What {@link stopLossReference} returns. */
export interface StopLossReference {
  /** The stop, on the tick grid. */
  stop: Dec;
  /** The target, on the tick grid; only with a `rewardRatio`. */
  target?: Dec;
  /** |entry - stop|, a whole number of ticks. */
  distance: Dec;
  /** `distance` in ticks. */
  distanceTicks: number;
  /** Which bound, if any, set the distance: the min fraction's whole ticks raised k * ATR's, or the max fraction's capped them. */
  clamped: "none" | "min" | "max";
  /** The exact values before rounding onto the grid, in ticks: where the tie band is judged. */
  exact: { distanceTicks: Dec; minTicks?: Dec; capTicks?: Dec; targetTicks?: Dec };
}


export function sideSign(side: Side): 1 | -1 {
  return side === "long" ? 1 : -1;
}

/**
 * Stop and target for an entry, exactly as `lua/stop_loss.lua` computes them (docs/FORMULAS.md).
 * The accepted range is the SDK's and the script's to check, not the reference's: a short's stop
 * or a target above the largest price (`MAX_PRICE`), which they refuse, is computed here.
 * @throws InvalidInputError when the entry is not on the tick grid, or the stop or the target is
 * at or below zero, or the max fraction leaves less than a tick, or no whole tick at or above the
 * min fraction's distance.
 */
export function stopLossReference(p: StopLossParams): StopLossReference {
  const tick = decPrice(p.tick ?? STOP_LOSS_DEFAULTS.tick);
  const entryTicks = decPrice(p.entry).div(tick);
  if (!entryTicks.isInteger()) throw new InvalidInputError("entry", "must lie on the tick grid");
  const sign = sideSign(p.side);
  // k * ATR, away from the entry and at least one tick (a distance within the grid's snap of zero
  // rounds to none, and a stop at the entry is none); then the bounds, each in whole ticks
  const distance = dec(p.multiplier ?? STOP_LOSS_DEFAULTS.multiplier).times(p.atr).div(tick);
  let distanceTicks = Math.max(ceilOnGrid(distance), 1);
  let clamped: StopLossReference["clamped"] = "none";
  const min = p.minFraction === undefined ? undefined : entryTicks.times(p.minFraction);
  const minTicks = min === undefined ? undefined : ceilOnGrid(min);
  if (minTicks !== undefined && minTicks > distanceTicks) {
    distanceTicks = minTicks;
    clamped = "min";
  }
  const cap = p.maxFraction === undefined ? undefined : entryTicks.times(p.maxFraction);
  if (cap !== undefined) {
    const capTicks = floorOnGrid(cap);
    if (capTicks < 1) throw new InvalidInputError("maxFraction", "leaves less than one tick between the stop and the entry");
    if (distanceTicks > capTicks) {
      if (minTicks !== undefined && capTicks < minTicks) throw new InvalidInputError("maxFraction", "leaves no whole tick between the minFraction and maxFraction distances");
      distanceTicks = capTicks;
      clamped = "max";
    }
  }
  const stopTicks = entryTicks.minus(sign * distanceTicks);
  if (stopTicks.lte(0)) throw new InvalidInputError("stop", "would be at or below zero");
  const result: StopLossReference = {
    stop: stopTicks.times(tick),
    distance: tick.times(distanceTicks),
    distanceTicks,
    clamped,
    exact: { distanceTicks: distance, ...(min ? { minTicks: min } : {}), ...(cap ? { capTicks: cap } : {}) },
  };
  if (p.rewardRatio !== undefined) {
    const exactTarget = dec(p.rewardRatio).times(distanceTicks);
    const targetTicks = entryTicks.plus(sign * floorOnGrid(exactTarget));
    if (targetTicks.lte(0)) throw new InvalidInputError("target", "would be at or below zero");
    result.target = targetTicks.times(tick);
    result.exact.targetTicks = exactTarget;
  }
  return result;
}

