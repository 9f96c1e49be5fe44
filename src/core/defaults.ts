/**
 * The documented defaults of the risk functions and the status words of the streaming script:
 * one place that the runtime (src/dispatcher/) and the decimal.js reference (src/indicators/)
 * both import, so neither depends on the other. docs/FORMULAS.md explains each value.
 */

/** Stop-loss: distance k * ATR with k = 1.5; NSE options' tick 0.05. */
export const STOP_LOSS_DEFAULTS = { multiplier: 1.5, tick: 0.05 } as const;

/** News boost: half-life, window, cap and the clock skew allowed for items "from the future". */
export const NEWS_BOOST_DEFAULTS = { halfLifeMinutes: 60, windowMinutes: 1440, maxBoost: 0.15, clockSkewMs: 5000 } as const;

/**
 * Streaming: how far ahead of the machine's clock a tick's or bar's `ts` may be, 15 minutes. A
 * later `ts` is refused: applied, it would make every tick of the rest of the day a duplicate
 * (IST wall time taken as UTC is 5 h 30 min ahead), while a clock a few minutes off still takes
 * live ticks.
 */
export const STREAM_CLOCK_SKEW_MS = 15 * 60_000;

/** Confidence: the boost cap, the log-odds weights of volume and news, and the clamp. */
export const CONFIDENCE_DEFAULTS = { maxBoost: 0.15, volumeWeight: 0.5, newsWeight: 0.75, min: 0.05, max: 0.95 } as const;

/**
 * Position size: the risk multiplier at confidence 0. The risk taken is scaled by
 * `floor + (1 - floor) * confidence`, so confidence 0 still risks half (no confidence given: all
 * of it). It is no gate: a signal below some confidence that should take no lots must be
 * refused by the caller.
 */
export const DEFAULT_CONFIDENCE_FLOOR = 0.5;

/** Which bound decided the lots. */
export type SizeBound = "risk" | "max_lots" | "max_exposure";

/** What a streaming update did to the ATR: a tick is `skipped`, a repeat is a `duplicate`. */
export type AtrStatus = "applied" | "duplicate" | "skipped";

/** What a streaming update did to the session VWAP: before 09:15 IST it is `preopen`. */
export type VwapStatus = "applied" | "duplicate" | "preopen";
