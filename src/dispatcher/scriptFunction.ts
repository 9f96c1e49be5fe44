/**
 * A typed script function: how to validate its input, lay it out as ARGV and read its reply.
 * Each function file (atr.ts, vwap.ts, ...) exports one; {@link MathDispatcher} runs them.
 */
import type { z } from "zod";
import { ScriptExecutionError } from "../core/errors.js";
import { type KeyOptions } from "../keys/symbol.js";
import { patternCacheKey } from "../keys/patternCache.js";
import { parseInput } from "./inputs.js";
import { inputsDigest } from "./inputsDigest.js";
import type { ArgSpec, ScriptManifestEntry } from "../core/manifest.js";
import { cacheStatus, type CacheStatus, decodeReply } from "./reply.js";
import type { Chunking } from "./chunked.js";
import type { ScriptCall } from "./scriptRunner.js";

/** A script's arguments by the names its header gives them. */
export type NamedArgs = Readonly<Record<string, string | Buffer>>;

/**
 * ARGV in the order of the script's header, from arguments by name; a name the header does not
 * declare, or one it declares and the call lacks, is a bug of the caller's code.
 */
export function orderArgs(entry: ScriptManifestEntry, named: NamedArgs): (string | Buffer)[] {
  const ordered = entry.args.map((arg) => named[arg.name]);
  // every declared name present and no other: the common case needs no search by name
  if (!ordered.includes(undefined) && Object.keys(named).length === ordered.length) return ordered as (string | Buffer)[];
  const unknown = Object.keys(named).filter((name) => !entry.args.some((a) => a.name === name));
  if (unknown.length > 0) throw new ScriptExecutionError(entry.name, `takes no argument named ${unknown.join(", ")}`);
  const missing = entry.args.find((arg) => named[arg.name] === undefined) as ArgSpec;
  throw new ScriptExecutionError(entry.name, `argument ${missing.name} is missing`);
}

/** One script function: its Lua script, the ARGV it sends and how it reads the reply. */
export interface ScriptFunction<Parsed extends { symbol: string }, Result> {
  /** The manifest name of the Lua script. */
  readonly script: string;
  /** The script's arguments by name (the header's names); `scriptCall` puts them in order. */
  args(input: Parsed): NamedArgs;
  /** Reads the script's reply fields into a new typed result object (decodeResult adds to it). @internal */
  decode(fields: ReturnType<typeof decodeReply>): Result;
  /** For a series longer than one call may carry: how to run it in chunks (see chunked.ts). @internal */
  readonly chunking?: Chunking<Parsed, Result>;
}

/** A script function whose input is validated by a zod schema. */
export interface ValidatedFunction<Schema extends z.ZodType<{ symbol: string }>, Result>
  extends ScriptFunction<z.output<Schema>, Result> {
  /** Validates and normalises the input (prices to units, defaults filled in). */
  readonly schema: Schema;
}

/** Every result says where it came from. */
export interface ResultMeta {
  /** `hit` when DB 10 already held this result for these exact inputs and script version. */
  cache: CacheStatus;
  /** The semantic version of the script that computed it. */
  scriptVersion: string;
}

/** Validates an input and lays it out as a script call with its cache key. */
export function prepareCall(
  fn: ValidatedFunction<z.ZodType<{ symbol: string }>, unknown>,
  entry: ScriptManifestEntry,
  input: unknown,
  keyOptions: KeyOptions,
): ScriptCall {
  return scriptCall(fn, entry, parseInput(fn.schema, input), keyOptions);
}

/** Lays out an input that is already validated as a script call with its cache key. */
export function scriptCall<Parsed extends { symbol: string }>(
  fn: ScriptFunction<Parsed, unknown>,
  entry: ScriptManifestEntry,
  parsed: Parsed,
  keyOptions: KeyOptions,
): ScriptCall {
  const args = orderArgs(entry, fn.args(parsed));
  const key = patternCacheKey(entry.name, entry.version, parsed.symbol, inputsDigest(args), keyOptions);
  return { script: fn.script, keys: [key], args };
}

/** Decodes a raw reply into the function's result plus its cache status and version. */
export function decodeResult<Result>(
  fn: Pick<ScriptFunction<never, Result>, "decode">,
  entry: ScriptManifestEntry,
  reply: unknown,
): Result & ResultMeta {
  const fields = decodeReply(reply);
  // completed in place: V8 copies an object with double fields slowly, spread or not
  const meta: ResultMeta = { cache: cacheStatus(fields), scriptVersion: entry.version };
  return Object.assign(fn.decode(fields) as Result & object, meta);
}
