import { buildKey } from "./grammar.js";
import type { KeyOptions } from "./symbol.js";

/**
 * `indicator:{name}:{SYMBOL}` in DB 10: a string of packed doubles, a streaming indicator's state, e.g.
 * `indicator:atr14:BANKNIFTY`, `indicator:vwap:BANKNIFTY`. With hash tags, one symbol's
 * indicators share a cluster slot, so one script call can advance them together.
 */
export function indicatorKey(name: string, symbol: string, options: KeyOptions = {}): string {
  return buildKey("indicator", { name, symbol }, options);
}
