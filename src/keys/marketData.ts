/** Keys of the market data the dispatcher and the tick consumer read (docs/REDIS_KEY_STANDARDS.md). */
import { twoDigits } from "../market/istClock.js";
import { buildKey } from "./grammar.js";
import type { KeyOptions } from "./symbol.js";

/** `news:latest:{SYMBOL}` in DB 11: a JSON array of the symbol's recent news items. */
export function newsLatestKey(symbol: string, options: KeyOptions = {}): string {
  return buildKey("news_latest", { symbol }, options);
}

/** `volume:baseline:{SYMBOL}:{HH}:{MM}` in DB 5: a hash whose field `average` is the baseline volume of that IST minute. */
export function volumeBaselineKey(symbol: string, hour: number, minute: number, options: KeyOptions = {}): string {
  return buildKey("volume_baseline", { symbol, hour: twoDigits(hour), minute: twoDigits(minute) }, options);
}

/** `ticks:{SYMBOL}` in DB 4: the stream the market-data ingesters XADD ticks and bars to. */
export function tickStreamKey(symbol: string, options: KeyOptions = {}): string {
  return buildKey("ticks", { symbol }, options);
}

/** `ticks:dead:{SYMBOL}` in DB 4: entries the tick consumer could not apply, with the reason. */
export function deadLetterKey(symbol: string, options: KeyOptions = {}): string {
  return buildKey("ticks_dead", { symbol }, options);
}
