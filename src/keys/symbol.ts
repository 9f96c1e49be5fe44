/** Trading symbols as they appear in keys: NSE style, upper case, at most 40 characters. */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9&_.-]{0,39}$/;

/** Options shared by every key builder. */
export interface KeyOptions {
  /**
   * Wrap the symbol in a Redis Cluster hash tag (`{BANKNIFTY}`) so that every key of one symbol
   * hashes to one slot and a script may touch them together on a cluster.
   */
  hashTag?: boolean;
}
