/**
 * Stop-loss and target on the tick grid, on decimal.js: the oracle for `lua/includes/stop_loss.lua`.
 * d = k * ATR, clamped to [min, max] * entry; the stop goes d from the entry, rounded onto the
 * grid away from it; the target goes R times the rounded distance beyond the entry, rounded
 * toward it.
 */
import { type Dec, dec, type Numeric } from "./decimal.js";
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
  /** Which bound, if any, set the distance: the min fraction raised k * ATR, or the max fraction's whole ticks capped it. */
  clamped: "none" | "min" | "max";
  /** The exact values before rounding onto the grid, in ticks: where the tie band is judged. */
  exact: { distanceTicks: Dec; capTicks?: Dec; targetTicks?: Dec };
}


export function sideSign(side: Side): 1 | -1 {
  return side === "long" ? 1 : -1;
}

/**
 * Stop and target for an entry, exactly as `lua/stop_loss.lua` computes them (docs/FORMULAS.md).
 * @throws InvalidInputError when the entry is not on the tick grid, or the stop, the target or a
 * max fraction that leaves less than a tick is impossible.
 */
export function stopLossReference(p: StopLossParams): StopLossReference {
  const tick = dec(p.tick ?? STOP_LOSS_DEFAULTS.tick);
  const entryTicks = dec(p.entry).div(tick);
  if (!entryTicks.isInteger()) throw new InvalidInputError("entry", "must lie on the tick grid");
  const sign = sideSign(p.side);
  let distance = dec(p.multiplier ?? STOP_LOSS_DEFAULTS.multiplier).times(p.atr).div(tick);
  let clamped: StopLossReference["clamped"] = "none";
  if (p.minFraction !== undefined && distance.lt(entryTicks.times(p.minFraction))) {
    distance = entryTicks.times(p.minFraction);
    clamped = "min";
  }
  // away from the entry, and at least one tick (a distance within the grid's snap of zero rounds to
  // none, and a stop at the entry is none); then the cap in whole ticks, toward the entry
  let distanceTicks = Math.max(ceilOnGrid(distance), 1);
  const cap = p.maxFraction === undefined ? undefined : entryTicks.times(p.maxFraction);
  if (cap !== undefined) {
    const capTicks = floorOnGrid(cap);
    if (capTicks < 1) throw new InvalidInputError("maxFraction", "leaves less than one tick between the stop and the entry");
    if (distanceTicks > capTicks) {
      if (p.minFraction !== undefined && capTicks < ceilOnGrid(entryTicks.times(p.minFraction))) {
        throw new InvalidInputError("maxFraction", "leaves no whole tick between the minFraction and maxFraction distances");
      }
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
    exact: { distanceTicks: distance, ...(cap ? { capTicks: cap } : {}) },
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

