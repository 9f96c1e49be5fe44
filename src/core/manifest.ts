/** The build's record of one script, as the runtime uses it. */
export interface ScriptManifestEntry {
  /** Function name, e.g. `atr`; also the cache key's function segment. */
  readonly name: string;
  /** Semantic version from the script header; part of every cache key. */
  readonly version: string;
  /** SHA1 of `source`: the digest EVALSHA calls and SCRIPT LOAD must return. */
  readonly sha1: string;
  readonly numberOfKeys: number;
  readonly keys: readonly { readonly name: string; readonly description: string }[];
  readonly args: readonly { readonly name: string; readonly description: string }[];
  /** The final script text, includes inlined. */
  readonly source: string;
}
