/**
 * Option objects are checked for names they do not have. TypeScript catches a mistyped option,
 * plain JavaScript does not: `{ deadlinMs: 200 }` would be dropped without a word and the default
 * used, a 2 s deadline where 200 ms was meant.
 */
import { InvalidInputError, type MathDispatcherError, shownValue } from "./errors.js";

/**
 * The option names of `T`, listed at run time. Every name must be given (`Record<keyof T, true>`),
 * so an option added to the type and not here fails to compile.
 */
export function optionNames<T extends object>(names: Record<keyof T, true>): readonly string[] {
  return Object.keys(names);
}

/** Edit distance (insertions, deletions, substitutions), for suggesting the name a typo meant. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/**
 * Why `name` is not one of `known` (`kind`: "option", "setting"): the nearest known name (the same
 * but for case, else the fewest edits away: one for a name of up to three letters, two beyond),
 * or the list of them all.
 */
export function unknownOptionReason(name: string, known: readonly string[], kind = "option"): string {
  let meant = known.find((k) => k.toLowerCase() === name.toLowerCase());
  if (meant === undefined) {
    let fewest = (name.length <= 3 ? 1 : 2) + 1;
    for (const k of known) {
      const edits = distance(k.toLowerCase(), name.toLowerCase());
      if (edits < fewest) [fewest, meant] = [edits, k];
    }
  }
  return meant === undefined ? `unknown ${kind}; the ${kind}s are ${known.join(", ")}` : `unknown ${kind}; did you mean ${meant}?`;
}

/** How {@link refuseUnknownOptions} words and types a refusal. */
export interface OptionsCheck {
  /** The object's own name (`options`, `config`, `resultCache`): names a non-object, and prefixes each key (`resultCache.maxEntry`) unless `bare`. */
  name: string;
  /** Keys are named without the object's name (`deadlineMs`, not `options.deadlineMs`). */
  bare?: boolean;
  /** "option" (default) or "setting". */
  kind?: string;
  /** The error class: InvalidInputError (a call's input, the default) or ConfigurationError (what a client is built with). */
  error?: new (field: string, reason: string) => MathDispatcherError;
}

/**
 * Throws `Refusal`, naming the option, when `value` is given (not undefined) and is none of
 * `allowed`: a misspelt value (`scriptMode: "function"`) would otherwise pick the default.
 */
export function refuseUnlistedValue(
  value: unknown,
  name: string,
  allowed: readonly unknown[],
  Refusal: new (field: string, reason: string) => MathDispatcherError,
): void {
  if (value === undefined || allowed.includes(value)) return;
  throw new Refusal(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${shownValue(value)}`);
}

/**
 * Throws, naming it, when `given` is not a plain object or has a key that `known` lacks; an
 * absent object (undefined) passes. Checked before any value, so a typo is never mistaken for
 * an absent option.
 */
export function refuseUnknownOptions(given: unknown, known: readonly string[], check: OptionsCheck): void {
  if (given === undefined) return;
  const { name, bare = false, kind = "option", error: Refusal = InvalidInputError } = check;
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new Refusal(name, `must be an object of ${kind}s, got ${Array.isArray(given) ? "a list" : shownValue(given)}`);
  }
  const unknown = Object.keys(given).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new Refusal(bare ? unknown : `${name}.${unknown}`, unknownOptionReason(unknown, known, kind));
}
