/**
 * Builds the Redis Functions libraries from the script manifest: each script version is one
 * library of one function, where (unlike the EVALSHA script cache) it is replicated, persisted in
 * RDB/AOF and survives a failover.
 *
 * A library per script version, named after it (`mathd_atr_v3_0_0`, registering `atr_v3_0_0`),
 * for two reasons:
 * - FUNCTION LOAD compiles the whole library while every other client waits. All scripts in one
 *   library were 683 KB of Lua, which held Redis for about 20 ms per load; one script is at most
 *   a few tens of KB, about as long to load as its SCRIPT LOAD (bench/results, "longest load").
 * - Two generations of the SDK share a server during a rolling upgrade. A library of every
 *   script could hold one generation's versions only, so each generation replaced the other's
 *   library whenever one of its functions went missing: a load on nearly every call. A library
 *   per version lets both generations' versions stand side by side; a version one generation
 *   dropped stays until `mathd scripts prune` removes it (a caller that still needs it loads it
 *   again). The version lock (lua/versions.lock) keeps one version's text fixed, so two
 *   generations never hold different code under one library name; a different build of the same
 *   text (another library layout) replaces the library with code of the same contract.
 *
 * Each library holds its script's text in two parts ({@link splitScriptBody}):
 * - what can run once, when FUNCTION LOAD runs the library: the build's constants and the
 *   includes, which define only helper functions and constants. EVAL runs a script's whole text
 *   on every call, so Lua creates every helper anew each time (a closure per function, with its
 *   upvalues: 3-8 % of a VWAP or dispatch miss by callgrind, and a fifth of an ATR miss before
 *   `atr` 3.0.3's fast path, which runs before any is defined); a library function creates them once.
 * - what must run on every call: the cache hit check and the script's own statements, as the
 *   registered callback. Functions have no global KEYS/ARGV: the library declares them as
 *   locals, which the helpers see as they saw the globals, and the callback sets them on entry
 *   (Redis runs one call at a time). Nothing at load time calls Redis (Redis refuses
 *   `redis.call` there).
 * - A script whose shebang says `flags=no-writes` is registered with `flags = { 'no-writes' }`,
 *   so FCALL_RO accepts it, on a replica too.
 *
 * The function's description carries the library's digest, so a loader can read FUNCTION LIST
 * and tell whether a server holds this very library without downloading its code.
 */
import { createHash } from "node:crypto";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { CACHE_HIT_START } from "./argSpec.js";

/** Every library's name is this prefix and its function's name. */
export const LIBRARY_PREFIX = "mathd_";

/**
 * The libraries' layout, part of each digest: a layout change gives the same scripts new
 * digests, so loaders replace libraries of the old layout. 2: helpers defined once, at load.
 * 3: a library per script version.
 */
const LIBRARY_LAYOUT = 3;

/** One script as the function of its library. */
export interface LibraryFunction {
  /** Function name, `<script>_v<major>_<minor>_<patch>`. */
  readonly functionName: string;
  readonly script: string;
  readonly version: string;
  /** SHA1 of the script text the function wraps (the manifest's EVALSHA digest). */
  readonly sha1: string;
  readonly numberOfKeys: number;
  /** True for `#!lua flags=no-writes` scripts: callable with FCALL_RO, on replicas too. */
  readonly readOnly: boolean;
}

/** One script version as a Functions library: its name, text and the function it registers. */
export interface FunctionsLibrary {
  /** `mathd_<function name>`, e.g. `mathd_atr_v3_0_0`. */
  readonly name: string;
  /**
   * SHA1 over the layout and the function's name, script SHA1 and flags: changes whenever the
   * script's text or version changes, and is found in the function's description on a server.
   */
  readonly digest: string;
  /** The `FUNCTION LOAD` payload, starting `#!lua name=<name>`. */
  readonly code: string;
  /** The one function it registers. */
  readonly fn: LibraryFunction;
}

const SHEBANG = /^#!lua((?:[ \t]+[^\r\n]*)?)\r?\n/;
const FLAGS = /(?:^|[ \t])flags=([^ \t\r\n]*)/;
const SCRIPT_NAME = /^[a-z][a-z0-9_]*$/;
const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;
const FUNCTION_NAME = /^([a-z][a-z0-9_]*)_v(\d+)_(\d+)_(\d+)$/;

/** The library refused a manifest entry (a bug in the build, not in a caller's input). */
export class FunctionsLibraryError extends Error {
  constructor(
    readonly script: string,
    message: string,
  ) {
    super(`${script}: ${message}`);
    this.name = "FunctionsLibraryError";
  }
}

/** The function name of a script version: `atr`, `1.0.0` gives `atr_v1_0_0`. */
export function functionName(script: string, version: string): string {
  const v = VERSION.exec(version);
  if (!SCRIPT_NAME.test(script)) throw new FunctionsLibraryError(script, "script names are [a-z][a-z0-9_]*");
  if (!v) throw new FunctionsLibraryError(script, `version ${JSON.stringify(version)} is not major.minor.patch`);
  return `${script}_v${v[1]}_${v[2]}_${v[3]}`;
}

/**
 * The script and version a function name stands for; undefined for a name this library would
 * not register. Used to turn a Functions error (`script: atr_v1_0_0, on @user_function:N.`) back
 * into the manifest's script name.
 */
export function scriptOfFunction(name: string): { script: string; version: string } | undefined {
  const m = FUNCTION_NAME.exec(name);
  return m ? { script: m[1] as string, version: `${m[2]}.${m[3]}.${m[4]}` } : undefined;
}

/**
 * The text Redis appends to an error raised inside a script or a function:
 * ` script: <sha1>, on @user_script:N.` for EVAL/EVALSHA and
 * ` script: <function name>, on @user_function:N.` for FCALL. The runner's input-error pattern
 * (`INPUT_ERROR` in src/dispatcher/scriptRunner.ts) accepts only the first today; it must accept
 * both, e.g. by stripping the suffix with {@link splitErrorSuffix} before matching.
 */
export const ERROR_SUFFIX = / script: (?:[0-9a-f]{40}|[A-Za-z0-9_]+), on @user_(?:script|function):\d+\.$/s;

/**
 * Splits a script or function error message into its text and the script it came from (the
 * manifest name for a function of this library; undefined for EVALSHA, whose suffix names only
 * a SHA1, or when the message has no suffix).
 */
export function splitErrorSuffix(message: string): { text: string; script?: string } {
  const m = ERROR_SUFFIX.exec(message);
  if (!m) return { text: message };
  const text = message.slice(0, m.index);
  const fn = / script: ([A-Za-z0-9_]+), on @user_function:/.exec(m[0]);
  const script = fn ? scriptOfFunction(fn[1] as string)?.script : undefined;
  return script ? { text, script } : { text };
}

/** The shebang's flags of a script source, and the body without the shebang line. */
function splitShebang(entry: ScriptManifestEntry): { flags: string[]; body: string } {
  const m = SHEBANG.exec(entry.source);
  if (!m) return { flags: [], body: entry.source };
  const flags = FLAGS.exec(m[1] as string);
  return { flags: flags?.[1] ? (flags[1] as string).split(",").filter(Boolean) : [], body: entry.source.slice(m[0].length) };
}

/** A script's text for the library: what runs once, at load, and what runs on every call. */
export interface LibraryParts {
  readonly once: readonly string[];
  readonly perCall: readonly string[];
}

const INCLUDE_BEGIN = /^-- begin include /;
const INCLUDE_END = /^-- end include /;

/**
 * Splits a built script (without its shebang) for the library, each part in its order: the
 * build's constants (the lines before the header's `-- @name`) and the top-level includes run
 * once; the cache hit check the build writes into the cache include, and every line of the
 * script's own file, run per call. The per-call part may use anything the once part defines: the
 * includes define functions and constants only, and never a script's own locals, so running them
 * first changes nothing (test/build/functionsLibrary.test.ts holds every function to EVALSHA's
 * answers). A text without `-- @name` keeps all its own lines per call.
 */
export function splitScriptBody(body: string): LibraryParts {
  const lines = body.replace(/\s+$/, "").split("\n");
  const header = lines.findIndex((line) => line.startsWith("-- @name "));
  const once: string[] = lines.slice(0, Math.max(header, 0));
  const perCall: string[] = [];
  let depth = 0;
  let inHitCheck = false;
  for (const line of lines.slice(Math.max(header, 0))) {
    if (line === CACHE_HIT_START) inHitCheck = true;
    if (inHitCheck) {
      perCall.push(line);
      if (line === "end") inHitCheck = false;
      continue;
    }
    if (INCLUDE_BEGIN.test(line)) depth++;
    (depth > 0 ? once : perCall).push(line);
    if (INCLUDE_END.test(line)) depth--;
  }
  return { once, perCall };
}

/**
 * Builds one library per manifest entry. Deterministic: the same manifest always gives the same
 * libraries, ordered by name.
 */
export function buildFunctionsLibraries(entries: readonly ScriptManifestEntry[]): readonly FunctionsLibrary[] {
  const prepared = entries
    .map((entry) => {
      const { flags, body } = splitShebang(entry);
      // the shebang is what Redis reads for EVAL; the manifest's flags must say the same
      if ([...flags].sort().join(",") !== [...entry.flags].sort().join(",")) {
        throw new FunctionsLibraryError(entry.name, `manifest flags [${entry.flags.join(",")}] differ from the shebang's [${flags.join(",")}]`);
      }
      const unknown = flags.filter((flag) => flag !== "no-writes");
      // Other script flags (allow-oom, allow-stale, ...) would need deciding whether a function
      // should carry them too; no script uses them, so refuse rather than drop them silently.
      if (unknown.length > 0) throw new FunctionsLibraryError(entry.name, `unsupported shebang flags ${unknown.join(",")}`);
      const fn: LibraryFunction = {
        functionName: functionName(entry.name, entry.version),
        script: entry.name,
        version: entry.version,
        sha1: entry.sha1,
        numberOfKeys: entry.numberOfKeys,
        readOnly: flags.includes("no-writes"),
      };
      return { fn, body };
    })
    .sort((a, b) => (a.fn.functionName < b.fn.functionName ? -1 : a.fn.functionName > b.fn.functionName ? 1 : 0));

  const names = new Set<string>();
  for (const { fn } of prepared) {
    if (names.has(fn.functionName)) throw new FunctionsLibraryError(fn.script, `two entries register ${fn.functionName}`);
    names.add(fn.functionName);
  }
  return prepared.map(({ fn, body }) => libraryOf(fn, body));
}

function libraryOf(fn: LibraryFunction, body: string): FunctionsLibrary {
  const name = `${LIBRARY_PREFIX}${fn.functionName}`;
  const digest = createHash("sha1").update(`layout ${LIBRARY_LAYOUT}\n${fn.functionName} ${fn.sha1} ${fn.readOnly ? "no-writes" : "-"}\n`).digest("hex");
  const { once, perCall } = splitScriptBody(body);
  const code = [
    `#!lua name=${name}`,
    `-- Generated by src/build/functionsLibrary.ts from the script manifest; library ${digest}.`,
    "local KEYS, ARGV -- this call's, set by the callback on entry",
    ...once,
    "redis.register_function{",
    `  function_name = '${fn.functionName}',`,
    `  description = '${describe(fn, digest)}',`,
    `  flags = { ${fn.readOnly ? "'no-writes'" : ""} },`,
    "  callback = function(keys, args)",
    "  KEYS, ARGV = keys, args",
    ...perCall,
    "  end,",
    "}",
  ];
  return { name, digest, code: `${code.join("\n")}\n`, fn };
}

function describe(fn: LibraryFunction, digest: string): string {
  return `${fn.script} ${fn.version} sha1 ${fn.sha1} library ${digest}`;
}

/** Whether a function description read from FUNCTION LIST names this library digest. */
export function describesLibrary(description: string, digest: string): boolean {
  return description.endsWith(` library ${digest}`);
}
