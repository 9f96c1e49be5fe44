/**
 * The types a script header gives its arguments, and the limits they refer to. One header line
 * is the whole contract of an argument:
 *
 *     -- @arg period   int[1..MAX_ATR_PERIOD]   ATR smoothing period
 *     -- @arg reward   num(0,100]?              target at this multiple of the risk, or ''
 *     -- @limit MAX_ATR_PERIOD 500              (in a script or an include)
 *
 * From it the build writes the Lua function that validates the script's ARGV (`read_args`), the
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
 * | `bytes` | binary of any length (checked by the script: vwap's points, whose width its mode sets) | string |
 * | `packed(<ddd>,lo..hi)` | binary little-endian doubles, lo..hi points | string, and `<name>_count` |
 *
 * A `?` after the type makes the argument optional: `''` stands for "not given" (Lua nil). Every
 * argument but `bytes` and `packed` (whose length the point count bounds) is at most
 * `MAX_ARG_TEXT` bytes (lua/includes/validate.lua), checked before anything reads it.
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

const TYPE = /^(int|num|price|epoch_ms|flag|enum|bands|text|bytes|packed)((?:[[(].*?)?)(\?)?$/;

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
      type = { kind: kind as "price" | "epoch_ms" | "flag" | "bands" | "text" | "bytes" };
  }
  return { type, optional: optional === "?" };
}

/** A Lua literal of a number (huge bounds as math.huge). */
function luaNumber(x: number): string {
  if (x === Number.POSITIVE_INFINITY) return "math.huge";
  if (x === Number.NEGATIVE_INFINITY) return "-math.huge";
  return String(x);
}

/** A Lua string literal of plain text (names and enum words: no quotes or backslashes). */
const luaText = (text: string) => `'${text}'`;

/**
 * `x` from the decimal text in `s`: the common form ('12', '-12.5') inline, anything else (an
 * exponent, a bad or non-finite number) through parse_decimal, which reads it or names the fault.
 * `s * 1` reads a text the pattern has passed with one conversion, the same value bit for bit
 * (-0 included); tonumber converts twice (lua_isnumber, then lua_tonumber).
 */
const plainDecimal = (name: string) => [
  `x = find(s, '^-?%d+%.?%d*$') and byte(s, -1) ~= 46 and s * 1`,
  `if not x or x - x ~= 0 then x = parse_decimal(s, ${name}) end`,
];

/**
 * The Lua statements that check one argument, already in `s`, and store its value in `a`. Each
 * check is one inline condition on the common path; the message is built only once it fails, by
 * the helpers of lua/includes/args.lua and validate.lua (so every script words it the same way).
 */
function luaArgCheck(arg: ArgSpec): string[] {
  const t = arg.type as ArgType;
  const name = luaText(arg.name);
  const field = argLocal(arg.name);
  switch (t.kind) {
    case "int":
      return [
        `if not find(s, '^-?%d+$') then invalid(${name}, 'not an integer: ' .. shown(s)) end`,
        `x = s * 1`,
        `if x < ${luaNumber(t.min)} or x > ${luaNumber(t.max)} then int_out_of_range(${name}, s, ${luaNumber(t.min)}, ${luaNumber(t.max)}) end`,
        `${field} = x`,
      ];
    case "num": {
      const below = t.minOpen ? `x <= ${luaNumber(t.min)}` : `x < ${luaNumber(t.min)}`;
      const above = t.maxOpen ? `x >= ${luaNumber(t.max)}` : `x > ${luaNumber(t.max)}`;
      return [
        ...plainDecimal(name),
        `if ${below} or ${above} then num_out_of_range(${name}, ${luaNumber(t.min)}, ${luaNumber(t.max)}, ${t.minOpen}, ${t.maxOpen}) end`,
        `${field} = x`,
      ];
    }
    case "price":
      return [`${field} = parse_price(s, ${name})`];
    case "epoch_ms":
      return [...plainDecimal(name), `if not (x >= MIN_EPOCH_MS and x <= MAX_EPOCH_MS and x % 1 == 0) then check_epoch_ms(${name}, x) end`, `${field} = x`];
    case "flag":
      return [`if s == '1' then ${field} = true elseif s == '0' then ${field} = false else invalid(${name}, "must be '0' or '1', got " .. shown(s)) end`];
    case "enum":
      return [
        `if ${t.values.map((v) => `s == ${luaText(v)}`).join(" or ")} then ${field} = s`,
        `else invalid(${name}, 'must be one of ${t.values.join(", ")}, got ' .. shown(s)) end`,
      ];
    case "bands":
      return [`${field} = parse_bands(s, ${name})`];
    case "packed": {
      const bytes = 8 * t.width;
      return [
        `x = #s / ${bytes}`,
        `if x % 1 ~= 0 then packed_misaligned(${name}, s, ${t.width}) end`,
        `if x < ${luaNumber(t.min)} or x > ${luaNumber(t.max)} then packed_out_of_range(${name}, x, ${luaNumber(t.min)}, ${luaNumber(t.max)}) end`,
        `${field}, ${argLocal(`${arg.name}_count`)} = s, x`,
      ];
    }
    case "text":
    case "bytes":
      return [`${field} = s`];
  }
}

/** Whether an argument's text is bounded by `MAX_ARG_TEXT`: all but binary ones (`flag` and `enum` compare whole). */
const boundedText = (t: ArgType) => !["bytes", "packed", "flag", "enum"].includes(t.kind);

/** The local that holds an argument's value inside `read_args()`. */
const argLocal = (name: string) => `a_${name}`;

/** The names `read_args()` returns: each argument's, and a packed argument's point count. */
const resultNames = (args: readonly ArgSpec[]) => args.flatMap((arg) => ((arg.type as ArgType).kind === "packed" ? [arg.name, `${arg.name}_count`] : [arg.name]));

/**
 * `read_args()`, written from the header: ARGV checked argument by argument in ARGV order, in
 * straight-line code (no table describing the arguments, no loop deciding each one's kind),
 * returning the values by name. An optional argument sent as '' stays nil. The values live in
 * locals until one table constructor returns them: Lua sizes that table once, where a table
 * filled field by field is rebuilt each time it doubles (five times for a dispatch).
 */
export function luaArgReader(args: readonly ArgSpec[]): string {
  const body = args.flatMap((arg, i) => {
    const check = luaArgCheck(arg);
    return [
      `  s = argv[${i + 1}]`,
      `  if s == nil then invalid('${arg.name}', 'missing (ARGV[${i + 1}])') end`,
      ...(boundedText(arg.type as ArgType) ? [`  if #s > MAX_ARG_TEXT then text_too_long('${arg.name}', s) end`] : []),
      ...(arg.optional ? ["  if s ~= '' then", ...check.map((line) => `    ${line}`), "  end"] : check.map((line) => `  ${line}`)),
    ];
  });
  const names = resultNames(args);
  return [
    "local function read_args() -- written by the build from the header (src/build/argSpec.ts)",
    // argv: under EVAL, ARGV is a global, a table lookup each time it is named
    "  local argv, find, byte, s, x = ARGV, string.find, string.byte",
    `  if #argv > ${args.length} then invalid('ARGV[${args.length + 1}]', 'this script takes ${args.length} arguments') end`,
    ...(names.length > 0 ? [`  local ${names.map(argLocal).join(", ")}`] : []),
    ...body,
    `  return { ${names.map((name) => `${name} = ${argLocal(name)}`).join(", ")} }`,
    "end",
  ].join("\n");
}

/**
 * The struct format of a cache entry's lengths, which {@link luaCacheStore} writes and
 * {@link luaCacheHit} reads right after the tag: the argument count, each argument's byte length,
 * the reply's (lua/includes/cache_entry.lua has the whole layout).
 */
const entryLengths = (args: number) => `<${"I4".repeat(args + 2)}`;

/** The line of lua/includes/cache_entry.lua the build replaces with {@link luaCacheHit}. */
export const CACHE_HIT_MARK = "-- @cache_hit";

/** The first line of the hit check {@link luaCacheHit} writes; the block ends at the next `end` at column 0. */
export const CACHE_HIT_START = "do -- the hit check, written by the build from the header (src/build/argSpec.ts, luaCacheHit)";

/**
 * The cache hit check, written from the header for a caching script in place of
 * {@link CACHE_HIT_MARK} (lua/includes/cache_entry.lua has the entry's layout and why): one GET, then,
 * for an entry of this script's tag, one `struct.unpack` for the count and every length, the
 * lengths compared with this call's arguments, and one plain `string.find` per non-empty argument
 * at its place. Only then does it return the stored reply text. `tag` is the script's
 * SCRIPT_TAG, whose length fixes where the lengths start.
 */
export function luaCacheHit(args: readonly ArgSpec[], tag: string): string {
  const n = args.length;
  if (n === 0) throw new Error("the cache hit check needs at least one argument");
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const lengthsAt = tag.length + 1;
  const replyAt = lengthsAt + 4 * (n + 2); // each length an '<I4'
  return [
    CACHE_HIT_START,
    "  -- pcall: a key of another type answers an error table, refused below (invalid() is not defined yet)",
    "  local stored = #KEYS == 1 and redis.pcall('GET', KEYS[1])",
    "  local argv, find, kind = ARGV, string.find, type(stored)",
    `  if kind == 'string' and #argv == ${n} and #stored >= ${replyAt - 1} and find(stored, CACHE_TAG, 1, true) == 1 then`,
    `    local count, ${all.map((i) => `l${i}`).join(", ")}, reply_length = struct.unpack('${entryLengths(n)}', stored, ${lengthsAt})`,
    // argument i is stored at at<i>, after the reply and the arguments before it
    `    local at1 = ${replyAt} + reply_length`,
    ...all.slice(1).map((i) => `    local at${i} = at${i - 1} + l${i - 1}`),
    `    if count == ${n} and ${all.map((i) => `l${i} == #argv[${i}]`).join(" and ")} and at${n} + l${n} == #stored + 1`,
    ...all.map((i) => `        and (l${i} == 0 or find(stored, argv[${i}], at${i}, true) == at${i})${i === n ? " then" : ""}`),
    `      return string.sub(stored, ${replyAt}, at1 - 1)`,
    "    end",
    "  end",
    "  if kind == 'table' then error({ err = 'MATHD_INVALID cache_key: holds a value of another type, not a cache entry' }) end",
    "end",
  ].join("\n");
}

/**
 * `cache_store(fields)`, written from the header for a caching script (lua/includes/cache_entry.lua has
 * the entry's layout): `fields` is the reply's text after its cache status. The argument count is
 * the header's, so the lengths are one `struct.pack` and the entry one concatenation written by
 * one SET, with no table, loop or `unpack` at run time (cache_entry.lua says why not an APPEND of
 * the longest argument). The reply leaves as one text with 'miss', the entry holds it with 'hit'.
 * Reached only after `read_args()` accepted exactly these arguments.
 */
export function luaCacheStore(args: readonly ArgSpec[]): string {
  const n = args.length;
  if (n === 0) throw new Error("cache_store needs at least one argument");
  const argv = (i: number) => `argv[${i}]`;
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const stored = all.map((i) => ` .. ${argv(i)}`).join("");
  const hitLines = "cache\nhit\n"; // the stored reply's first two lines
  return [
    "local function cache_store(fields) -- written by the build from the header (src/build/argSpec.ts)",
    "  if CACHE_WRITES then",
    "    local argv = ARGV",
    `    local lengths = struct.pack('${entryLengths(n)}', ${n}, ${all.map((i) => `#${argv(i)}`).join(", ")}, ${hitLines.length} + #fields)`,
    `    redis.call('SET', KEYS[1], CACHE_TAG .. lengths .. '${hitLines.replaceAll("\n", "\\n")}' .. fields${stored}, 'EX', CACHE_TTL_SECONDS)`,
    "  end",
    "  return 'cache\\nmiss\\n' .. fields",
    "end",
  ].join("\n");
}
