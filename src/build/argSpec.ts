/**
 * The types a script header gives its arguments, and the limits they refer to. One header line
 * is the whole contract of an argument:
 *
 *     -- @arg period   int[1..MAX_ATR_PERIOD]   ATR smoothing period
 *     -- @arg reward   num(0,100]?              target at this multiple of the risk, or ''
 *     -- @limit MAX_ATR_PERIOD 500              (in a script or an include)
 *
 * From it the build writes a Lua table the script validates its ARGV against (`read_args`), the
 * argument order and types the TypeScript side builds ARGV from by name, and the bounds its zod
 * schemas use. Types:
 *
 * | type | ARGV text | Lua value |
 * | --- | --- | --- |
 * | `int[lo..hi]` | a whole decimal number | number |
 * | `num(lo,hi]` (any of `(` `[` `)` `]`) | a plain decimal number in the interval | number |
 * | `price` | decimal rupees, at most 4 decimals, > 0 | whole price units |
 * | `epoch_ms` | whole epoch milliseconds | number |
 * | `flag` | `0` or `1` | boolean |
 * | `enum(a|b)` | one of the words | string |
 * | `bands` | 1 to 5 comma-separated multipliers in (0, 10] | list of numbers |
 * | `text` | anything (checked by the script) | string |
 * | `packed(<ddd>,lo..hi)` | binary little-endian doubles, lo..hi points | string, and `<name>_count` |
 *
 * A `?` after the type makes the argument optional: `''` stands for "not given" (Lua nil).
 */

import type { ArgSpec, ArgType, Limit } from "../core/manifest.js";

export type { ArgSpec, ArgType, Limit };

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const LIMIT_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Reads a bound: a number, or a limit's name. */
function bound(text: string, limits: ReadonlyMap<string, Limit>): number {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (t === "inf") return Number.POSITIVE_INFINITY;
  const limit = limits.get(t);
  if (limit) return limit.value;
  throw new Error(LIMIT_NAME.test(t) ? `unknown limit ${t}` : `bad bound ${JSON.stringify(t)}`);
}

const TYPE = /^(int|num|price|epoch_ms|flag|enum|bands|text|packed)((?:[[(].*?)?)(\?)?$/;

/**
 * Parses a type word (`int[1..500]`, `num(0,1]?`, ...). Throws an Error saying what is wrong;
 * returns undefined when the word is no type at all (a header not yet typed).
 */
export function parseArgType(word: string, limits: ReadonlyMap<string, Limit>): { type: ArgType; optional: boolean } | undefined {
  const match = TYPE.exec(word);
  if (!match) return undefined;
  const [, kind, rest = "", optional] = match;
  const range = (text: string, what: string) => {
    const m = /^\[([^.\]]+)\.\.([^\]]+)\]$/.exec(text);
    if (!m) throw new Error(`${what} needs a range [lo..hi], got ${JSON.stringify(text)}`);
    return { min: bound(m[1] as string, limits), max: bound(m[2] as string, limits) };
  };
  let type: ArgType;
  switch (kind) {
    case "int":
      type = { kind, ...range(rest, "int") };
      break;
    case "num": {
      const m = /^([([])([^,]+),([^\])]+)([)\]])$/.exec(rest);
      if (!m) throw new Error(`num needs an interval like (0,1], got ${JSON.stringify(rest)}`);
      type = { kind, min: bound(m[2] as string, limits), max: bound(m[3] as string, limits), minOpen: m[1] === "(", maxOpen: m[4] === ")" };
      break;
    }
    case "enum": {
      const m = /^\(([a-z0-9_]+(\|[a-z0-9_]+)*)\)$/.exec(rest);
      if (!m) throw new Error(`enum needs (a|b|...), got ${JSON.stringify(rest)}`);
      type = { kind, values: (m[1] as string).split("|") };
      break;
    }
    case "packed": {
      const m = /^\((<d+),(\[[^\]]+\])\)$/.exec(rest);
      if (!m) throw new Error(`packed needs (<dd...,[lo..hi]), got ${JSON.stringify(rest)}`);
      type = { kind, format: m[1] as string, width: (m[1] as string).length - 1, ...range(m[2] as string, "packed") };
      break;
    }
    default:
      if (rest !== "") throw new Error(`${kind} takes no parameters, got ${JSON.stringify(rest)}`);
      type = { kind: kind as "price" | "epoch_ms" | "flag" | "bands" | "text" };
  }
  return { type, optional: optional === "?" };
}

/** A Lua literal of a number (huge bounds as math.huge). */
function luaNumber(x: number): string {
  if (x === Number.POSITIVE_INFINITY) return "math.huge";
  if (x === Number.NEGATIVE_INFINITY) return "-math.huge";
  return String(x);
}

/**
 * The Lua table a script validates its ARGV against, in ARGV order: one row per argument,
 * `{ name, kind, optional, ... }` with the kind's bounds (see lua/includes/validate.lua, read_args).
 */
export function luaArgTable(args: readonly ArgSpec[]): string {
  const rows = args.map((a) => {
    const t = a.type as ArgType;
    const extra =
      t.kind === "int" ? [luaNumber(t.min), luaNumber(t.max)]
      : t.kind === "num" ? [luaNumber(t.min), luaNumber(t.max), String(t.minOpen), String(t.maxOpen)]
      : t.kind === "enum" ? [`{ ${t.values.map((v) => `'${v}'`).join(", ")} }`]
      : t.kind === "packed" ? [String(t.width), luaNumber(t.min), luaNumber(t.max)]
      : [];
    return `  { '${a.name}', '${t.kind}', ${a.optional === true}${extra.map((e) => `, ${e}`).join("")} },`;
  });
  return ["local ARGS = {", ...rows, "}"].join("\n");
}
