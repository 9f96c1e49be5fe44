/**
 * Turns the sources in `lua/` into the final script texts that Redis runs.
 *
 * A script names the helpers it needs with `-- @include "name"` (resolved to
 * `lua/includes/name.lua`); each include is inlined once, in dependency order, where its first
 * directive stands. `-- @paste "include" block` puts a named block of an include there
 * (blocks.ts), and a loop marked `-- @unroll N` is written out to read N points per
 * `struct.unpack` call (unroll.ts), except in a script whose own file says `-- @no-unroll` (one
 * that runs its loops on one point at a time, where the copies only lengthen the text Redis
 * compiles while every other client waits: SCRIPT LOAD and FUNCTION LOAD). A header of
 * `-- @name`, `-- @version`, `-- @key` and `-- @arg` lines declares what the script is and what
 * it takes; the number of `@key` lines is the script's numkeys.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { READ_ONLY_SUFFIX } from "../core/manifest.js";
import { type ArgSpec, CACHE_HIT_MARK, type Limit, luaArgReader, luaCacheHit, luaCacheStore, parseArgType } from "./argSpec.js";
import { BlockError, pasteBlocks } from "./blocks.js";
import { withoutComment } from "./luaText.js";
import { UnrollError, unrollLoops } from "./unroll.js";

/** A failure to build a script, pointing at the file and line that caused it. */
export class LuaBuildError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = "LuaBuildError";
  }
}

/** One declared KEYS slot, as written in a script header (multi-line text kept whole). */
export interface ScriptSlot {
  name: string;
  description: string;
}

/** One declared ARGV slot: its type once the header gives one (see argSpec.ts). */
export type ArgSlot = ArgSpec;

/** A script ready to send to Redis, with what its header declares. */
export interface BuiltScript {
  name: string;
  version: string;
  /** SHA1 of `source`, the digest Redis uses for EVALSHA. */
  sha1: string;
  numberOfKeys: number;
  /** Shebang flags (`no-writes`: may run on a replica with EVALSHA_RO). */
  flags: string[];
  /** The includes inlined into it, directly or through other includes. */
  includes: string[];
  keys: ScriptSlot[];
  args: ArgSlot[];
  /** The `@limit`s of the script and its includes. */
  limits: Limit[];
  /** Final script text with every include inlined. */
  source: string;
}

const INCLUDE = /^\s*--\s*@include\s+"([a-z0-9_]+)"\s*$/;
const NO_UNROLL = /^--\s*@no-unroll\b/;
const TAG = /^--\s*@(name|version|key|arg|limit|uses|chained)\b\s*(.*)$/;
/** A comment line indented past its tag continues the tag's text. */
const CONTINUATION = /^--\s{2,}(\S.*)$/;
const SEMVER = /^\d+\.\d+\.\d+$/;
const SCRIPT_NAME = /^[a-z][a-z0-9_]*$/;
const SHEBANG_FLAGS = /^#!lua(?:\s+flags=([a-z-]+(?:,[a-z-]+)*))?\s*$/;
/** The script flags Redis 7 knows (EVAL's shebang). */
const KNOWN_FLAGS = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

/** Reads a file's lines; injectable so tests can build from an in-memory tree. */
export type ReadLines = (path: string) => string[] | undefined;

const readFromDisk: ReadLines = (path) =>
  existsSync(path) ? readFileSync(path, "utf8").split(/\r?\n/) : undefined;

/**
 * Inlines the includes of one file. `stack` holds the include chain for cycle reports;
 * `done` the includes already inlined into this script (each goes in once).
 */
function expand(
  path: string,
  luaDir: string,
  readLines: ReadLines,
  stack: string[],
  done: Set<string>,
  unroll: boolean,
): string[] {
  const read = readLines(path);
  if (!read) throw new LuaBuildError(relative(luaDir, path), 0, "file not found");
  let lines = read;
  try {
    lines = pasteBlocks(read, (include) => readLines(join(luaDir, "includes", `${include}.lua`)));
    if (unroll) lines = unrollLoops(lines);
  } catch (error) {
    if (error instanceof BlockError) throw new LuaBuildError(relative(luaDir, path), error.line, error.message);
    // an @unroll error counts the lines of the pasted blocks too: its text says where it is
    if (error instanceof UnrollError) throw new LuaBuildError(relative(luaDir, path), error.line, `${error.message}, at ${JSON.stringify((lines[error.line - 1] ?? "").trim())}`);
    throw error;
  }
  const out: string[] = [];
  lines.forEach((line, index) => {
    const match = INCLUDE.exec(line);
    if (!match) {
      out.push(line);
      return;
    }
    const name = match[1] as string;
    const includePath = join(luaDir, "includes", `${name}.lua`);
    const here = relative(luaDir, path);
    if (stack.includes(includePath)) {
      const chain = [...stack, includePath].map((p) => relative(luaDir, p)).join(" -> ");
      throw new LuaBuildError(here, index + 1, `include cycle: ${chain}`);
    }
    if (done.has(includePath)) return;
    if (!readLines(includePath)) {
      throw new LuaBuildError(here, index + 1, `missing include "${name}" (looked for includes/${name}.lua)`);
    }
    done.add(includePath);
    out.push(`-- begin include ${name}`);
    out.push(...expand(includePath, luaDir, readLines, [...stack, includePath], done, unroll));
    out.push(`-- end include ${name}`);
  });
  return out;
}

/** A tag line of a header with its text, continuation lines joined. */
interface Tag {
  tag: string;
  text: string;
  line: number;
}

function tagsOf(lines: readonly string[]): Tag[] {
  const tags: Tag[] = [];
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const match = TAG.exec(line);
    if (match) {
      tags.push({ tag: match[1] as string, text: (match[2] as string).trim(), line: index + 1 });
      return;
    }
    const last = tags.at(-1);
    const more = CONTINUATION.exec(raw);
    if (last && more && last.line === index && (last.tag === "arg" || last.tag === "key" || last.tag === "limit")) {
      last.text += ` ${(more[1] as string).trim()}`;
      last.line = index + 1; // the next continuation follows this line
    }
  });
  return tags;
}

/** The `@limit NAME value why` lines of a built body (the script and its includes). */
function limitsOf(file: string, body: readonly string[]): Limit[] {
  const limits = new Map<string, Limit>();
  for (const t of tagsOf(body).filter((t) => t.tag === "limit")) {
    const [name = "", value = "", ...why] = t.text.split(/\s+/);
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) {
      throw new LuaBuildError(file, t.line, `@limit needs NAME value, got ${JSON.stringify(t.text)}`);
    }
    const previous = limits.get(name);
    if (previous && previous.value !== Number(value)) throw new LuaBuildError(file, t.line, `@limit ${name} is declared twice with different values`);
    limits.set(name, { name, value: Number(value), description: why.join(" "), file });
  }
  return [...limits.values()];
}

interface Header {
  name: string;
  version: string;
  keys: ScriptSlot[];
  args: ArgSlot[];
  uses: string[];
  chained: string[];
}

function parseHeader(file: string, lines: readonly string[], limits: readonly Limit[]): Header {
  const byName = new Map(limits.map((l) => [l.name, l]));
  const header: Partial<Header> & Pick<Header, "keys" | "args" | "uses" | "chained"> = { keys: [], args: [], uses: [], chained: [] };
  const keyLines = new Map<string, number>();
  for (const { tag, text, line } of tagsOf(lines)) {
    if (tag === "name") header.name = text;
    else if (tag === "version") header.version = text;
    else if (tag === "uses") header.uses.push(...text.split(/\s+/));
    else if (tag === "chained") header.chained.push(...text.split(/\s+/));
    else if (tag === "key" || tag === "arg") {
      const [slot = "", word = "", ...rest] = text.split(/\s+/);
      if (!slot) throw new LuaBuildError(file, line, `@${tag} needs a name`);
      if (tag === "key") {
        header.keys.push({ name: slot, description: [word, ...rest].join(" ").trim() });
        keyLines.set(slot, line);
        continue;
      }
      let typed: ReturnType<typeof parseArgType>;
      try {
        typed = parseArgType(word, byName);
      } catch (error) {
        throw new LuaBuildError(file, line, `@arg ${slot}: ${(error as Error).message}`);
      }
      header.args.push(
        typed ? { name: slot, ...typed, description: rest.join(" ") } : { name: slot, description: [word, ...rest].join(" ").trim() },
      );
    }
  }
  if (!header.name || !SCRIPT_NAME.test(header.name)) throw new LuaBuildError(file, 1, "header lacks a valid @name");
  if (!header.version || !SEMVER.test(header.version)) {
    throw new LuaBuildError(file, 1, "header lacks a semantic @version (x.y.z)");
  }
  // a cache key's description spells the version out (pattern_cache:atr:v3.0.1:...): the same one
  for (const key of header.keys) {
    const spelled = /:v(\d+\.\d+\.\d+):/.exec(key.description)?.[1];
    if (spelled !== undefined && spelled !== header.version) {
      throw new LuaBuildError(file, keyLines.get(key.name) ?? 1, `@key ${key.name} says v${spelled}, the @version is ${header.version}`);
    }
  }
  return header as Header;
}

/**
 * The ARGV of a script that `@uses` others (dispatch): their arguments in order, less those the
 * chain fills (`@chained`) and those already taken, then its own; its own declaration of a name
 * it inherits replaces the inherited one in place.
 */
function composeArgs(file: string, header: Header, argsOf: (script: string) => ArgSlot[] | undefined): ArgSlot[] {
  if (header.uses.length === 0) return header.args;
  const own = new Map(header.args.map((a) => [a.name, a]));
  const composed: ArgSlot[] = [];
  const taken = new Set<string>();
  for (const used of header.uses) {
    const args = argsOf(used);
    if (!args) throw new LuaBuildError(file, 1, `@uses ${used}: no such script`);
    for (const arg of args) {
      if (header.chained.includes(arg.name) || taken.has(arg.name)) continue;
      taken.add(arg.name);
      composed.push(own.get(arg.name) ?? arg);
    }
  }
  for (const arg of header.args) if (!taken.has(arg.name)) composed.push(arg);
  return composed;
}

/**
 * Builds one script. The build prepends `SCRIPT_NAME` and `SCRIPT_VERSION` (so the script can
 * check that a cache key it is handed is its own version's), `SCRIPT_TAG` ('<name> <version>;',
 * which starts every cache entry: a literal, where a concatenation cost each call a string) and
 * the `@limit`s as locals, and
 * writes `read_args()`, the function that validates ARGV, at the end of `args.lua` where it is inlined.
 * @param argsOf the arguments of another script, for `@uses`.
 */
export function buildScript(
  path: string,
  luaDir: string,
  readLines: ReadLines = readFromDisk,
  argsOf: (script: string) => ArgSlot[] | undefined = () => undefined,
): BuiltScript {
  const file = relative(luaDir, path);
  const lines = readLines(path);
  if (!lines) throw new LuaBuildError(file, 0, "file not found");
  const inlined = new Set<string>();
  const body = expand(path, luaDir, readLines, [path], inlined, !lines.some((line) => NO_UNROLL.test(line)));
  const limits = limitsOf(file, body);
  const header = parseHeader(file, lines, limits);
  const args = composeArgs(file, header, argsOf);
  const shebang = body[0]?.startsWith("#!") ? [body.shift() as string] : [];
  const flagsMatch = shebang[0] ? SHEBANG_FLAGS.exec(shebang[0]) : null;
  const flags = flagsMatch?.[1]?.split(",") ?? [];
  if ((shebang[0] && !flagsMatch) || flags.some((f) => !KNOWN_FLAGS.has(f))) {
    throw new LuaBuildError(file, 1, `unknown shebang ${JSON.stringify(shebang[0])}; flags are ${[...KNOWN_FLAGS].join(", ")}`);
  }
  // read_args() goes at the end of args.lua (after the helpers it uses): after a caching
  // script's hit path, which then never defines it, and nowhere in a script that reads its
  // arguments itself
  const argsEnd = body.indexOf("-- end include args");
  if (argsEnd >= 0) {
    if (!args.every((a) => a.type)) throw new LuaBuildError(file, 1, "read_args needs a type on every @arg");
    body.splice(argsEnd, 0, luaArgReader(args));
  }
  // cache_store() goes at the end of cache_entry.lua, after the locals it uses; the hit check
  // where cache_entry.lua marks it, right after CACHE_TAG
  const cacheEnd = body.indexOf("-- end include cache_entry");
  if (cacheEnd >= 0) body.splice(cacheEnd, 0, luaCacheStore(args));
  const hitMark = body.indexOf(CACHE_HIT_MARK);
  if (cacheEnd >= 0 && hitMark < 0) throw new LuaBuildError(file, 1, `the cache_entry include has no ${CACHE_HIT_MARK} line for the hit check`);
  if (hitMark >= 0) body.splice(hitMark, 1, luaCacheHit(args, scriptTag(header.name, header.version)));
  const source = [
    ...shebang,
    `local SCRIPT_NAME = '${header.name}'`,
    `local SCRIPT_VERSION = '${header.version}'`,
    `local SCRIPT_TAG = '${scriptTag(header.name, header.version)}'`,
    ...limits.flatMap((l) => [`local ${l.name} = ${l.value}`, ...(mentions(body, `${l.name}_TEXT`) ? [`local ${l.name}_TEXT = '${l.value}'`] : [])]),
    ...dropUnusedFunctions(body),
  ].join("\n");
  return {
    name: header.name,
    version: header.version,
    keys: header.keys,
    args,
    limits,
    flags,
    numberOfKeys: header.keys.length,
    includes: [...inlined].map((p) => relative(join(luaDir, "includes"), p).replace(/\.lua$/, "")).sort(),
    sha1: createHash("sha1").update(source).digest("hex"),
    source,
  };
}

/**
 * Whether a script's text names `name` (a whole word). A limit's `<NAME>_TEXT`, its value as a
 * text literal, is written only for scripts that use it: Redis takes a text argument as it is,
 * where a Lua number costs a conversion to text in every call that passes it.
 */
const mentions = (body: readonly string[], name: string) => {
  const word = new RegExp(`\\b${name}\\b`);
  return body.some((line) => word.test(line));
};

/** The tag that starts every cache entry of a script version (lua/includes/cache_entry.lua). */
const scriptTag = (name: string, version: string) => `${name} ${version};`;

const FUNCTION_START = /^local function ([A-Za-z_][A-Za-z0-9_]*)\(/;

const KEPT_COMMENT = /^-- (begin include|end include|@)/;

/**
 * Drops the top-level `local function`s a script never names, with the comment lines just above
 * each. An include brings all its helpers, and Redis runs a script's whole text on every call, so
 * each unused definition would cost a closure (and its upvalues) per call. A top-level function
 * starts with `local function name(` at column 0 and ends at the next line that is `end`; a name
 * that appears anywhere else in the code keeps it (a comment that names it does not). Repeats
 * until nothing changes, so a helper that only a dropped one used goes too.
 */
export function dropUnusedFunctions(body: readonly string[]): string[] {
  let lines = body.flatMap((line) => line.split("\n"));
  for (let dropped = true; dropped; ) {
    dropped = false;
    const code = lines.map(withoutComment);
    const text = code.join("\n");
    for (let start = 0; start < lines.length; start++) {
      const name = FUNCTION_START.exec(lines[start] as string)?.[1];
      if (!name) continue;
      const end = lines.indexOf("end", start);
      if (end < 0) throw new Error(`local function ${name} has no 'end' at column 0`);
      const word = new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`, "g");
      const uses = text.match(word)?.length ?? 0;
      const inside = code.slice(start, end + 1).join("\n").match(word)?.length ?? 0;
      if (uses > inside) continue;
      let from = start;
      while (from > 0 && (lines[from - 1] as string).startsWith("--") && !KEPT_COMMENT.test(lines[from - 1] as string)) from--;
      lines = [...lines.slice(0, from), ...lines.slice(end + 1)];
      dropped = true;
      break;
    }
  }
  return lines;
}

/** Builds every `lua/*.lua` script; names must be unique; `@uses` may name any of them. */
export function buildAll(luaDir: string, readLines: ReadLines = readFromDisk): BuiltScript[] {
  const files = readdirSync(luaDir)
    .filter((f) => f.endsWith(".lua"))
    .sort();
  const built = new Map<string, BuiltScript>();
  const fileOf = new Map<string, string>();
  for (const f of files) {
    const name = tagsOf(readLines(join(luaDir, f)) ?? []).find((t) => t.tag === "name")?.text ?? f.replace(/\.lua$/, "");
    const other = fileOf.get(name);
    if (other) throw new LuaBuildError(f, 1, `@name ${name} is also used by ${other}`);
    fileOf.set(name, f);
  }
  const build = (name: string, stack: string[]): BuiltScript | undefined => {
    const f = fileOf.get(name);
    if (!f) return undefined;
    if (stack.includes(name)) throw new LuaBuildError(f, 1, `@uses cycle: ${[...stack, name].join(" -> ")}`);
    let script = built.get(name);
    if (!script) {
      script = buildScript(join(luaDir, f), luaDir, readLines, (used) => build(used, [...stack, name])?.args);
      built.set(name, script);
    }
    return script;
  };
  const scripts = [...fileOf.keys()].sort().map((name) => build(name, []) as BuiltScript);
  return [...scripts, ...scripts.flatMap((script) => readOnlyVariant(script) ?? [])];
}

/**
 * The read-only variant of a caching script, for replicas (EVALSHA_RO / FCALL_RO): the same
 * math and the same cache entries (its SCRIPT_NAME is the script's, so it reads the very keys
 * the script writes), `#!lua flags=no-writes`, and CACHE_WRITES false (lua/includes/cache_entry.lua):
 * a miss computes without storing. Undefined for a script without the cache or one that is
 * read-only already.
 */
export function readOnlyVariant(script: BuiltScript): BuiltScript | undefined {
  if (!script.includes.includes("cache") || script.flags.includes("no-writes")) return undefined;
  const lines = script.source.split("\n");
  if (lines[0]?.startsWith("#!")) lines.shift();
  const writes = lines.indexOf("local CACHE_WRITES = true");
  if (writes < 0) throw new LuaBuildError(`${script.name}.lua`, 1, "the cache include is not inlined as the build expects");
  lines[writes] = "local CACHE_WRITES = false -- read-only variant: a miss is not stored";
  const source = ["#!lua flags=no-writes", ...lines].join("\n");
  return {
    ...script,
    name: `${script.name}${READ_ONLY_SUFFIX}`,
    flags: ["no-writes"],
    sha1: createHash("sha1").update(source).digest("hex"),
    source,
  };
}
