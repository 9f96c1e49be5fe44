/**
 * Named blocks: one statement of a hot step that several loops run inline.
 *
 * A call per point costs Redis a fifth of a VWAP loop, so the step is written inline where it
 * runs; to write it once, the first place marks it
 *
 *     -- @block vwap_step
 *     if volume > 0 then ... end
 *     -- @end vwap_step
 *
 * and every other place names it, `-- @paste "vwap_state" vwap_step` (the include that holds it,
 * then the block): the build puts the block's lines there, at the indentation of the paste. The
 * block uses the names of the place it is pasted into, so each paste site must have the same
 * locals in scope; the comment above a block says which.
 */

/** A malformed `@block` or `@paste`, with the line (1-based, in the text given) that is wrong. */
export class BlockError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = "BlockError";
  }
}

const BLOCK = /^(\s*)--\s*@block\s+([a-z_][a-z0-9_]*)\s*$/;
const END = (name: string) => new RegExp(`^\\s*--\\s*@end\\s+${name}\\s*$`);
const PASTE = /^(\s*)--\s*@paste\s+"([a-z0-9_]+)"\s+([a-z_][a-z0-9_]*)\s*$/;

/** The lines of block `name` in `lines`, without their common indentation; undefined if there is none. */
export function blockLines(lines: readonly string[], name: string): string[] | undefined {
  const start = lines.findIndex((line) => BLOCK.exec(line)?.[2] === name);
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && END(name).test(line));
  if (end < 0) throw new BlockError(start + 1, `@block ${name} has no -- @end ${name}`);
  const indent = (BLOCK.exec(lines[start] as string)?.[1] ?? "").length;
  return lines.slice(start + 1, end).map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)));
}

/**
 * Replaces each `-- @paste "include" name` of `lines` with that block's lines; `linesOf` reads an
 * include's source by name.
 */
export function pasteBlocks(lines: readonly string[], linesOf: (include: string) => readonly string[] | undefined): string[] {
  return lines.flatMap((line, i) => {
    const paste = PASTE.exec(line);
    if (!paste) return [line];
    const [, indent = "", include = "", name = ""] = paste;
    const source = linesOf(include);
    if (!source) throw new BlockError(i + 1, `@paste: no include "${include}"`);
    const block = blockLines(source, name);
    if (!block) throw new BlockError(i + 1, `@paste: includes/${include}.lua has no @block ${name}`);
    return [`${indent}-- ${name}, the block of ${include}.lua, pasted by the build (src/build/blocks.ts)`, ...block.map((text) => (text ? indent + text : text))];
  });
}
