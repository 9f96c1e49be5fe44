/**
 * Option objects are checked for names they do not have. TypeScript catches a mistyped option,
 * plain JavaScript does not: `{ deadlinMs: 200 }` would be dropped without a word and the default
 * used, a 2 s deadline where 200 ms was meant.
 */
import { InvalidInputError } from "./errors.js";

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
 * Why `name` is not one of `known` (`kind`: "option", "setting"): the known name it most likely
 * meant (the same but for case, or at most two edits away), or the list of them all.
 */
export function unknownOptionReason(name: string, known: readonly string[], kind = "option"): string {
  const meant = known.find((k) => k.toLowerCase() === name.toLowerCase()) ?? known.find((k) => distance(k, name) <= 2);
  return meant === undefined ? `unknown ${kind}; the ${kind}s are ${known.join(", ")}` : `unknown ${kind}; did you mean ${meant}?`;
}

/** The first own property of `given` that is not in `known`, or undefined. */
export function unknownOption(given: object, known: readonly string[]): string | undefined {
  return Object.keys(given).find((name) => !known.includes(name));
}

/** Throws an InvalidInputError naming the first option of `given` that is not in `known` (`prefix` before its name). */
export function refuseUnknownOptions(given: object, known: readonly string[], prefix = ""): void {
  const name = unknownOption(given, known);
  if (name !== undefined) throw new InvalidInputError(`${prefix}${name}`, unknownOptionReason(name, known));
}
