/**
 * The limits the scripts declare (`-- @limit NAME value` in lua/, built into LIMITS), in the
 * units the TypeScript side checks them in: written once, in the Lua, and read here.
 */
import { PRICE_UNITS } from "../core/units.js";
import { LIMITS } from "../generated/scripts.js";

/** The highest price, in rupees (Rs 100,000,000): sums of 500 ranges stay far below 2^53. */
export const MAX_PRICE = LIMITS.MAX_PRICE_UNITS / PRICE_UNITS;
/** Per point: 100,000 points then keep the total volume below 2^53, exact in a double. */
export const MAX_VOLUME = LIMITS.MAX_VOLUME;
/** Points (bars or ticks) in one series, over all the calls of a chunked run. */
export const MAX_POINTS = LIMITS.MAX_HISTORY;
/**
 * Points one script call takes: keeps every call under 2 ms of server time (bench/). A longer
 * series runs as several calls that carry the indicator state from one to the next
 * (src/dispatcher/chunked.ts), so Redis serves others in between.
 */
export const MAX_POINTS_PER_CALL = LIMITS.MAX_POINTS;
/** Bars one ATR call, or closes one RSI call, takes when it returns the series: each %.17g value doubles a point's cost. */
export const MAX_SERIES_POINTS_PER_CALL = LIMITS.MAX_SERIES_POINTS;
/** The longest ATR period. */
export const MAX_ATR_PERIOD = LIMITS.MAX_ATR_PERIOD;
/** The longest RSI period (the shortest is 2). */
export const MAX_RSI_PERIOD = LIMITS.MAX_RSI_PERIOD;
/**
 * The earliest and the latest time the scripts take, in epoch milliseconds (1970-04-26 and
 * 2286-11-20): a time in seconds lies below the range and one in microseconds above it
 * (lua/includes/epoch.lua says why that matters).
 */
export const MIN_EPOCH_MS = LIMITS.MIN_EPOCH_MS;
/** See {@link MIN_EPOCH_MS}. */
export const MAX_EPOCH_MS = LIMITS.MAX_EPOCH_MS;
/**
 * The largest fraction of capital one trade may risk (0.1, 10 %): a risk of 1 meant as 1 % would
 * stake the whole capital on one trade, and size the position a hundred times too large.
 */
export const MAX_RISK = LIMITS.MAX_RISK;
/** News items one call takes. */
export const MAX_NEWS_ITEMS = LIMITS.MAX_NEWS_ITEMS;

/** ATR bars one dispatch call takes with its news; the SDK computes the ATR of more bars with `atr` first. */
export const MAX_DISPATCH_BARS = LIMITS.MAX_DISPATCH_BARS;

/**
 * Updates of one symbol one `stream_update_many` call applies: a call of bars stays under 2 ms of
 * server time. `updateMany` sends more in several calls, and the tick consumer reads at most this
 * many entries of a stream at a time, so each read is one call per symbol.
 */
export const MAX_STREAM_UPDATES_PER_CALL = LIMITS.MAX_STREAM_UPDATES;
