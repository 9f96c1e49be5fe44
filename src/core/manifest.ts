/**
 * The build's record of every script, as the runtime uses it, and the types a script header
 * gives its arguments (see src/build/argSpec.ts for the header syntax).
 */

/** The type of a script argument, as its header declares it; the build checks ARGV against it. */
export type ArgType =
  | { readonly kind: "int"; readonly min: number; readonly max: number }
  | { readonly kind: "num"; readonly min: number; readonly max: number; readonly minOpen: boolean; readonly maxOpen: boolean }
  | { readonly kind: "price" }
  | { readonly kind: "epoch_ms" }
  | { readonly kind: "flag" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "bands" }
  | { readonly kind: "text" }
  | { readonly kind: "bytes" }
  | { readonly kind: "packed"; readonly format: string; readonly width: number; readonly min: number; readonly max: number };

/** One argument as a header declares it; `type` is absent only in a header not yet typed. */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly type?: ArgType;
  /** `''` stands for "not given". */
  readonly optional?: boolean;
}

/** A limit (`-- @limit NAME value why`) of a script or one of its includes. */
export interface Limit {
  readonly name: string;
  readonly value: number;
  readonly description: string;
  readonly file: string;
}

/** One script of the manifest. */
export interface ScriptManifestEntry {
  /** Function name, e.g. `atr`; also the cache key's function segment. */
  readonly name: string;
  /** Semantic version from the script header; part of every cache key. */
  readonly version: string;
  /** SHA1 of `source`: the digest EVALSHA calls and SCRIPT LOAD must return. */
  readonly sha1: string;
  readonly numberOfKeys: number;
  /** Shebang flags: `no-writes` lets it run on a replica (EVALSHA_RO). */
  readonly flags: readonly string[];
  readonly keys: readonly { readonly name: string; readonly description: string }[];
  /** ARGV in order. */
  readonly args: readonly ArgSpec[];
  /** The final script text, includes inlined. */
  readonly source: string;
}

/** One script invocation: KEYS and ARGV as the script header declares them. */
export interface ScriptCall {
  readonly script: string;
  readonly keys: readonly string[];
  readonly args: readonly (string | Buffer)[];
}

/**
 * The name suffix of a caching script's read-only variant (`atr_ro`): the same math and cache
 * entries, `#!lua flags=no-writes`, no store on a miss; what replica reads run.
 */
export const READ_ONLY_SUFFIX = "_ro";

/**
 * The call as its script's read-only variant, where `scripts` has one (replica reads and
 * `store: false` calls); else the call as it is.
 */
export function readOnlyCall(call: ScriptCall, scripts: { has(name: string): boolean }): ScriptCall {
  const variant = `${call.script}${READ_ONLY_SUFFIX}`;
  return scripts.has(variant) ? { ...call, script: variant } : call;
}

/**
 * Scripts whose calls change state in the order they are sent, each building on the last
 * (`stream_update`, `stream_update_many`): a call of one may be resent only while no later call
 * of the same keys has got through. The others are pure or cache their results, and may be
 * resent in any order.
 */
const ORDERED_SCRIPTS: ReadonlySet<string> = new Set(["stream_update", "stream_update_many"]);

/** What orders a call among a batch's: its script and the keys it updates in order. */
export interface OrderKey {
  readonly script: string;
  readonly keys: string;
}

/** A call's {@link OrderKey} when its script is ordered; undefined when the order of its calls does not matter. */
export function orderKeyOf(call: ScriptCall): OrderKey | undefined {
  return ORDERED_SCRIPTS.has(call.script) ? { script: call.script, keys: call.keys.join(" ") } : undefined;
}
