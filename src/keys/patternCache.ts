import { buildKey } from "./grammar.js";
import type { KeyOptions } from "./symbol.js";

/**
 * `pattern_cache:{function}:v{version}:{SYMBOL}:{inputs digest}` in DB 10: a script's cached
 * result. The version is part of the key, so a new script version never reads an old result.
 */
export function patternCacheKey(fn: string, version: string, symbol: string, inputsDigest: string, options: KeyOptions = {}): string {
  return buildKey("pattern_cache", { function: fn, version: `v${version}`, symbol, digest: inputsDigest }, options);
}
