import { type KeyOptions, symbolSegment } from "./symbol.js";

/**
 * `pattern_cache:{function}:v{version}:{SYMBOL}:{inputs digest}` in DB 10: a script's cached
 * result. The version is part of the key, so a new script version never reads an old result.
 */
export function patternCacheKey(
  fn: string,
  version: string,
  symbol: string,
  inputsDigest: string,
  options: KeyOptions = {},
): string {
  return `pattern_cache:${fn}:v${version}:${symbolSegment(symbol, options)}:${inputsDigest}`;
}
