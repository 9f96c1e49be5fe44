/**
 * `-- @unroll N`: the loop below it reads N points per `struct.unpack` call instead of one.
 *
 * Redis spends about 600 instructions on a `struct.unpack` call before its first value (the call,
 * the format, the argument checks), which is a third of a VWAP tick's cost; reading N points at
 * once pays that once per N. The source keeps the plain loop, which runs unchanged without the
 * build and is the one statement of the step; the build writes the unrolled form:
 *
 *     -- @unroll 8                                  do
 *     for i = 1, count do                             for i0 = 0, count - 8, 8 do
 *       x, volume, pos = unpack('<dd', data, pos)       local u1, ..., u16
 *       <body>                                          u1, ..., u16, pos = unpack('<dd...', data, pos)
 *     end                                               do <body, x as u1, volume as u2, i as (i0 + 1)> end
 *                                                       ...                          (8 copies)
 *                                                     end
 *                                                     for i = count - count % 8 + 1, count do
 *                                                       x, volume, pos = unpack('<dd', data, pos)
 *                                                       <body>                       (the rest, one by one)
 *                                                     end
 *                                                   end
 *
 * Each copy reads its point's values straight from the slots the call filled (names are replaced
 * in code, never in strings or comments), so a point costs fewer bytecodes than in the plain
 * loop: no copies into the loop's variables, no loop counter.
 *
 * The loop must have exactly that shape: `for <i> = 1, <count> do` (the count a name or a
 * field), then one line assigning the point's values (locals declared before the loop) and the
 * next position from `<unpack>('<fmt>', <data>, <pos>)`, then a body that neither assigns the
 * loop variable nor leaves the loop (`break`, `return`), closed by `end` at the `for`'s
 * indentation. The values' variables are the loop's own: the code after the loop may not read
 * them (the unrolled copies never set them), and the body may not use them as table keys
 * (`{ x = 1 }`). The values come in the same order and the body runs the same arithmetic in the
 * same order, so the results are the same to the last bit (test/build/unroll.test.ts runs both
 * forms on Redis).
 */

import { withoutComment } from "./luaText.js";

/** A malformed `@unroll`, with the line (1-based, in the text given) that is wrong. */
export class UnrollError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = "UnrollError";
  }
}

const UNROLL = /^(\s*)--\s*@unroll\s+(\S+)\s*$/;
/** The count is a name or a field (`count`, `p.count`): the unrolled form repeats it in arithmetic. */
const FOR = /^(\s*)for ([A-Za-z_]\w*) = 1, ([A-Za-z_][\w.]*) do$/;
const READ = /^\s*((?:[A-Za-z_]\w*, )+)([A-Za-z_]\w*) = ([A-Za-z_][\w.]*)\('<(d+)', ([A-Za-z_][\w.]*), \2\)$/;
const COMMENT = /^\s*--/;
/** An identifier of Lua code, not a field (`a.x`) or a method (`a:x`). */
const IDENTIFIER = (name: string) => new RegExp(`(?<![\\w.:])${name}(?!\\w)`);
/** A comment, a quoted string, or an identifier: strings and comments are kept as they are. */
const TOKEN = /--.*$|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|(?<![\w.:])[A-Za-z_]\w*/g;

/** A line of Lua with the identifiers of `names` replaced, outside strings and comments. */
function renamed(text: string, names: ReadonlyMap<string, string>): string {
  return text.replace(TOKEN, (token) => names.get(token) ?? token);
}

/** Expands every `-- @unroll N` loop of a script's lines (see the module comment). */
export function unrollLoops(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (let at = 0; at < lines.length; at++) {
    const mark = UNROLL.exec(lines[at] as string);
    if (!mark) {
      out.push(lines[at] as string);
      continue;
    }
    const line = at + 1;
    const n = Number(mark[2]);
    if (!Number.isInteger(n) || n < 2 || n > 16) throw new UnrollError(line, `@unroll needs a whole number of points in 2..16, got ${mark[2]}`);
    const loop = FOR.exec(lines[at + 1] ?? "");
    if (!loop) throw new UnrollError(line + 1, "@unroll must stand right above `for <i> = 1, <count> do`, the count a name or a field");
    const [, indent = "", index = "", count = ""] = loop;
    const read = READ.exec(lines[at + 2] ?? "");
    if (!read) throw new UnrollError(line + 2, "the loop's first line must be `<values>, <pos> = <unpack>('<d...>', <data>, <pos>)`");
    const [, valueList = "", pos = "", unpack = "", doubles = "", data = ""] = read;
    const values = valueList.split(", ").filter(Boolean);
    if (values.length !== doubles.length) throw new UnrollError(line + 2, `the format reads ${doubles.length} values, the line assigns ${values.length}`);
    const end = lines.indexOf(`${indent}end`, at + 3);
    if (end < 0) throw new UnrollError(line + 1, "the loop has no `end` at the indentation of its `for`");
    const body = lines.slice(at + 3, end);
    body.forEach((text, i) => {
      if (/(^|[^\w.])(break|return)([^\w]|$)/.test(withoutComment(text))) throw new UnrollError(at + 4 + i, "an unrolled loop's body may not break or return");
      if (new RegExp(`(^|[^\\w.])${index}\\s*=[^=]`).test(text)) throw new UnrollError(at + 4 + i, `an unrolled loop's body may not assign ${index}`);
    });
    const code = body.filter((text) => !COMMENT.test(text)); // the comments stay with the first copy
    const width = values.length;
    const slots = Array.from({ length: n * width }, (_, k) => `u${k + 1}`);
    const first = `${index}0`;
    const taken = [first, ...slots].find((name) => body.some((text) => IDENTIFIER(name).test(text)));
    if (taken) throw new UnrollError(line + 3, `the body may not use ${taken}: the unrolled loop names its values so`);
    // copy k of the body reads point first + k + 1 straight from its slots: no copy into the
    // loop's variables, no counter
    const copy = (k: number, text: readonly string[]) => {
      const names = new Map<string, string>(values.map((value, j) => [value, slots[k * width + j] as string]));
      names.set(index, `(${first} + ${k + 1})`);
      return [`${indent}    do`, ...text.map((t) => `    ${renamed(t, names)}`), `${indent}    end`];
    };
    out.push(
      `${indent}do -- @unroll ${n}: ${n} points per ${unpack} call (src/build/unroll.ts)`,
      `${indent}  for ${first} = 0, ${count} - ${n}, ${n} do`,
      `${indent}    local ${slots.join(", ")}`,
      `${indent}    ${slots.join(", ")}, ${pos} = ${unpack}('<${doubles.repeat(n)}', ${data}, ${pos})`,
      ...Array.from({ length: n }, (_, k) => copy(k, k === 0 ? body : code)).flat(),
      `${indent}  end`,
      `${indent}  for ${index} = ${count} - ${count} % ${n} + 1, ${count} do`,
      `${indent}    ${valueList}${pos} = ${unpack}('<${doubles}', ${data}, ${pos})`,
      ...code.map((t) => `  ${t}`),
      `${indent}  end`,
      `${indent}end`,
    );
    at = end;
  }
  return out;
}
