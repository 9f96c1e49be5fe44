/** Keys of the inputs the dispatcher reads (see docs/REDIS_KEY_STANDARDS.md). */
import { type KeyOptions, symbolSegment } from "./symbol.js";
import { twoDigits } from "../market/istClock.js";

/** `news:latest:{SYMBOL}` in DB 11: a JSON array of the symbol's recent news items. */
export function newsLatestKey(symbol: string, options: KeyOptions = {}): string {
  return `news:latest:${symbolSegment(symbol, options)}`;
}

/** `volume:baseline:{SYMBOL}:{HH}:{MM}` in DB 5: a hash whose field `average` is the baseline volume of that IST minute. */
export function volumeBaselineKey(symbol: string, hour: number, minute: number, options: KeyOptions = {}): string {
  return `volume:baseline:${symbolSegment(symbol, options)}:${twoDigits(hour)}:${twoDigits(minute)}`;
}

/** `ticks:{SYMBOL}` in DB 4: the stream the market-data ingesters XADD ticks and bars to. */
export function tickStreamKey(symbol: string, options: KeyOptions = {}): string {
  return `ticks:${symbolSegment(symbol, options)}`;
}

/** `ticks:dead:{SYMBOL}` in DB 4: entries the tick consumer could not apply, with the reason. */
export function deadLetterKey(symbol: string, options: KeyOptions = {}): string {
  return `ticks:dead:${symbolSegment(symbol, options)}`;
}
