/**
 * An in-process tier in front of the DB 10 cache (opt-in). A cache key names the script, its
 * version and a digest of its exact arguments, so the result stored under a key is the same
 * until its TTL: a repeated call in one process can be answered with no round trip at all.
 * Bounded by entries and by an estimate of the bytes held; the least recently used go first.
 */
import { DEFAULT_TTL_SECONDS } from "../redis/databases.js";

/** Bounds of the in-process tier. */
export interface ResultTierOptions {
  /** At most this many results. */
  maxEntries: number;
  /** At most about this many bytes of results (strings counted at 2 bytes a character). */
  maxBytes: number;
}

interface Held {
  value: unknown;
  bytes: number;
  expires: number;
}

/** Roughly how many bytes a decoded result holds. */
function sizeOf(value: unknown): number {
  if (typeof value === "string") return 2 * value.length + 16;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeOf(v), 16);
  if (value && typeof value === "object") return Object.entries(value).reduce((n, [k, v]) => n + 2 * k.length + sizeOf(v), 16);
  return 8;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class ResultTier {
  private readonly held = new Map<string, Held>();
  private bytes = 0;

  constructor(private readonly options: ResultTierOptions) {}

  /** The result held for a cache key (frozen: shared by every caller), or undefined. */
  get(key: string): unknown {
    const held = this.held.get(key);
    if (!held) return undefined;
    this.held.delete(key);
    if (held.expires <= Date.now()) {
      this.bytes -= held.bytes;
      return undefined;
    }
    this.held.set(key, held); // most recently used last
    return held.value;
  }

  /** Keeps a result for its key, evicting the least recently used beyond the bounds. */
  set(key: string, value: unknown): void {
    const bytes = sizeOf(value) + 2 * key.length;
    if (bytes > this.options.maxBytes) return;
    const previous = this.held.get(key);
    if (previous) {
      this.bytes -= previous.bytes;
      this.held.delete(key);
    }
    this.held.set(key, { value: deepFreeze(value), bytes, expires: Date.now() + DEFAULT_TTL_SECONDS * 1000 });
    this.bytes += bytes;
    for (const [oldest, held] of this.held) {
      if (this.held.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes) break;
      this.held.delete(oldest);
      this.bytes -= held.bytes;
    }
  }

  /** Entries and estimated bytes held now. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.held.size, bytes: this.bytes };
  }
}
