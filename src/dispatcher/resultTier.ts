/**
 * An in-process tier in front of the DB 10 cache (opt-in). A cache key names the script, its
 * version and a digest of its exact arguments, so the result stored under a key is the same
 * until its TTL: a repeated call in one process can be answered with no round trip at all.
 * Bounded by entries and by an estimate of the bytes held; the least recently used go first.
 */
import { integer } from "../redis/config.js";
import { DEFAULT_TTL_SECONDS } from "../redis/databases.js";
import { ConfigurationError } from "../core/errors.js";
import { optionNames, refuseUnknownOptions } from "../core/options.js";

/** Bounds of the in-process tier: positive whole numbers (a ConfigurationError names one that is not). */
export interface ResultTierOptions {
  /** At most this many results. */
  maxEntries: number;
  /**
   * At most about this many bytes of heap for the results held, counted as V8 holds them: 24
   * bytes a number (boxed), 2 a character of a string or of an entry's key, and 160 more an
   * entry. A result larger than this alone is not kept.
   */
  maxBytes: number;
}

interface Held {
  value: unknown;
  bytes: number;
  expires: number;
}

/*
 * The heap V8 (64-bit Node) gives a held result, from measuring a tier filled to its bound with a
 * forced GC (test/dispatcher/resultTier.test.ts): a frozen array keeps each number boxed, as an
 * object's field does, so a number costs its 8-byte slot and a 16-byte heap number, not 8 bytes.
 */
const SLOT = 8;
const NUMBER = SLOT + 16;
/** A JSArray and its elements' header, or a JSObject and its out-of-object properties' header. */
const CONTAINER = SLOT + 48;
/** Per entry besides its result: the Map's slot, the record with its boxed expiry, the key's header. */
const ENTRY = 160;

/** About the heap bytes a decoded result takes (strings at 2 bytes a character). */
function sizeOf(value: unknown): number {
  if (typeof value === "number") return NUMBER;
  if (typeof value === "string") return SLOT + 16 + 2 * value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeOf(v), CONTAINER);
  // the keys are a shape's, shared by every object of it
  if (value && typeof value === "object") return Object.values(value).reduce((n: number, v) => n + sizeOf(v), CONTAINER);
  return SLOT;
}

/** A frozen deep copy: what every later caller shares, while the caller who got `value` keeps it as it was. */
function frozenCopy<T>(value: T): T {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  if (value && typeof value === "object") {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) copy[k] = frozenCopy(v);
    return Object.freeze(copy) as T;
  }
  return value;
}

const RESULT_TIER_OPTIONS = optionNames<ResultTierOptions>({ maxEntries: true, maxBytes: true });

export class ResultTier {
  private readonly held = new Map<string, Held>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private closed = false;

  /** @throws ConfigurationError naming `resultCache.maxEntries` or `resultCache.maxBytes` when it is not a positive whole number. */
  constructor(options: ResultTierOptions) {
    refuseUnknownOptions(options, RESULT_TIER_OPTIONS, { name: "resultCache", error: ConfigurationError });
    const bound = (name: keyof ResultTierOptions) => integer({ value: options?.[name] ?? null, setting: `resultCache.${name}` }, 1, Number.MAX_SAFE_INTEGER, 0);
    this.maxEntries = bound("maxEntries");
    this.maxBytes = bound("maxBytes");
  }

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

  /** Keeps a copy of a result for its key, evicting the least recently used beyond the bounds. */
  set(key: string, value: unknown): void {
    const bytes = ENTRY + 2 * key.length + sizeOf(value);
    if (bytes > this.maxBytes || this.closed) return;
    const previous = this.held.get(key);
    if (previous) {
      this.bytes -= previous.bytes;
      this.held.delete(key);
    }
    this.held.set(key, { value: frozenCopy(value), bytes, expires: Date.now() + DEFAULT_TTL_SECONDS * 1000 });
    this.bytes += bytes;
    for (const [oldest, held] of this.held) {
      if (this.held.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.held.delete(oldest);
      this.bytes -= held.bytes;
    }
  }

  /** Drops every entry and keeps none from now on (the dispatcher's close: a closed dispatcher answers nothing, and a call in flight then stores nothing). */
  close(): void {
    this.closed = true;
    this.held.clear();
    this.bytes = 0;
  }

  /** Entries and estimated bytes held now. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.held.size, bytes: this.bytes };
  }
}
