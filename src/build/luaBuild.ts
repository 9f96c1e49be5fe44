/**
 * Turns the sources in `lua/` into the final script texts that Redis runs.
 *
 * A script names the helpers it needs with `-- @include "name"` (resolved to
 * `lua/includes/name.lua`); each include is inlined once, in dependency order, where its first
 * directive stands. A header of `-- @name`, `-- @version`, `-- @key` and `-- @arg` lines declares
 * what the script is and what it takes; the number of `@key` lines is the script's numkeys.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, relative } from "node:path";

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

/** One declared KEYS or ARGV slot, as written in a script header. */
export interface ScriptSlot {
  name: string;
  description: string;
}

/** A script ready to send to Redis, with what its header declares. */
export interface BuiltScript {
  name: string;
  version: string;
  /** SHA1 of `source`, the digest Redis uses for EVALSHA. */
  sha1: string;
  numberOfKeys: number;
  /** The includes inlined into it, directly or through other includes. */
  includes: string[];
  keys: ScriptSlot[];
  args: ScriptSlot[];
  /** Final script text with every include inlined. */
  source: string;
}

const INCLUDE = /^\s*--\s*@include\s+"([a-z0-9_]+)"\s*$/;
const HEADER = /^--\s*@(name|version|key|arg)\s+(.*)$/;
const SEMVER = /^\d+\.\d+\.\d+$/;
const SCRIPT_NAME = /^[a-z][a-z0-9_]*$/;

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
): string[] {
  const lines = readLines(path);
  if (!lines) throw new LuaBuildError(relative(luaDir, path), 0, "file not found");
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
    out.push(...expand(includePath, luaDir, readLines, [...stack, includePath], done));
    out.push(`-- end include ${name}`);
  });
  return out;
}

function parseHeader(file: string, lines: string[]) {
  let name: string | undefined;
  let version: string | undefined;
  const keys: ScriptSlot[] = [];
  const args: ScriptSlot[] = [];
  lines.forEach((line, index) => {
    const match = HEADER.exec(line.trim());
    if (!match) return;
    const [, tag, rest = ""] = match;
    const value = rest.trim();
    if (tag === "name") name = value;
    else if (tag === "version") version = value;
    else {
      const [slot = "", ...description] = value.split(/\s+/);
      if (!slot) throw new LuaBuildError(file, index + 1, `@${tag} needs a name`);
      (tag === "key" ? keys : args).push({ name: slot, description: description.join(" ") });
    }
  });
  if (!name || !SCRIPT_NAME.test(name)) throw new LuaBuildError(file, 1, "header lacks a valid @name");
  if (!version || !SEMVER.test(version)) {
    throw new LuaBuildError(file, 1, "header lacks a semantic @version (x.y.z)");
  }
  return { name, version, keys, args };
}

/**
 * Builds one script. The build prepends `SCRIPT_NAME` and `SCRIPT_VERSION` constants so the
 * script can check that a cache key it is handed belongs to its own version.
 */
export function buildScript(path: string, luaDir: string, readLines: ReadLines = readFromDisk): BuiltScript {
  const file = relative(luaDir, path);
  const lines = readLines(path);
  if (!lines) throw new LuaBuildError(file, 0, "file not found");
  const header = parseHeader(file, lines);
  const inlined = new Set<string>();
  const body = expand(path, luaDir, readLines, [path], inlined);
  const shebang = body[0]?.startsWith("#!") ? [body.shift() as string] : [];
  const source = [
    ...shebang,
    `local SCRIPT_NAME = '${header.name}'`,
    `local SCRIPT_VERSION = '${header.version}'`,
    ...body,
  ].join("\n");
  return {
    ...header,
    numberOfKeys: header.keys.length,
    includes: [...inlined].map((p) => relative(join(luaDir, "includes"), p).replace(/\.lua$/, "")).sort(),
    sha1: createHash("sha1").update(source).digest("hex"),
    source,
  };
}

/** Builds every `lua/*.lua` script; names must be unique. */
export function buildAll(luaDir: string): BuiltScript[] {
  const files = readdirSync(luaDir)
    .filter((f) => f.endsWith(".lua"))
    .sort();
  const scripts = files.map((f) => buildScript(join(luaDir, f), luaDir));
  const seen = new Map<string, string>();
  scripts.forEach((script, i) => {
    const other = seen.get(script.name);
    if (other) throw new LuaBuildError(files[i] as string, 1, `@name ${script.name} is also used by ${other}`);
    seen.set(script.name, files[i] as string);
  });
  return scripts;
}
