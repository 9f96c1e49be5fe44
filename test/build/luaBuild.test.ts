import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAll, buildScript, dropUnusedFunctions, LuaBuildError } from "../../src/build/luaBuild.js";
import { LIMITS, SCRIPTS } from "../../src/generated/scripts.js";
import { thrown } from "../support/thrown.js";

const LUA = "/lua";
const HEADER = ["-- @name demo", "-- @version 1.2.3", "-- @key cache the cache key", "-- @arg x a number"];

function tree(files: Record<string, string[]>) {
  return (path: string) => files[path];
}

function buildError(files: Record<string, string[]>): LuaBuildError {
  const error = thrown(() => buildScript(join(LUA, "demo.lua"), LUA, tree(files)));
  expect(error).toBeInstanceOf(LuaBuildError);
  return error as LuaBuildError;
}

describe("lua build", () => {
  it("inlines includes once, in order, and reads the header", () => {
    const script = buildScript(
      join(LUA, "demo.lua"),
      LUA,
      tree({
        "/lua/demo.lua": ["#!lua", ...HEADER, '-- @include "b"', '-- @include "a"', "return 1"],
        "/lua/includes/a.lua": ["local a = 1"],
        "/lua/includes/b.lua": ['-- @include "a"', "local b = a"],
      }),
    );
    expect(script).toMatchObject({ name: "demo", version: "1.2.3", numberOfKeys: 1 });
    expect(script.args.map((a) => a.name)).toEqual(["x"]);
    const lines = script.source.split("\n");
    expect(lines[0]).toBe("#!lua"); // the shebang stays first
    expect(lines.filter((l) => l === "local a = 1")).toHaveLength(1);
    expect(lines.indexOf("local a = 1")).toBeLessThan(lines.indexOf("local b = a"));
    expect(script.source).toContain("local SCRIPT_VERSION = '1.2.3'");
    expect(script.sha1).toBe(createHash("sha1").update(script.source).digest("hex"));
  });

  it("fails on an include cycle with the file and line", () => {
    const error = buildError({
      "/lua/demo.lua": [...HEADER, '-- @include "a"'],
      "/lua/includes/a.lua": ["local a = 1", '-- @include "b"'],
      "/lua/includes/b.lua": ['-- @include "a"'],
    });
    expect(error.file).toBe("includes/b.lua");
    expect(error.line).toBe(1);
    expect(error.message).toContain("include cycle: demo.lua -> includes/a.lua -> includes/b.lua -> includes/a.lua");
  });

  it("fails on a missing include with the file and line", () => {
    const error = buildError({ "/lua/demo.lua": [...HEADER, "", '-- @include "nowhere"'] });
    expect(error.message).toBe('demo.lua:6: missing include "nowhere" (looked for includes/nowhere.lua)');
  });

  it("fails on a header without a semantic version", () => {
    const error = buildError({ "/lua/demo.lua": ["-- @name demo", "-- @version 1.2"] });
    expect(error.message).toContain("semantic @version");
  });

  it("fails on a cache key whose description spells another version than @version", () => {
    const error = buildError({ "/lua/demo.lua": ["-- @name demo", "-- @version 1.2.3", "-- @key cache_key pattern_cache:demo:v1.2.2:<symbol>:<sha1>"] });
    expect(error.message).toBe("demo.lua:3: @key cache_key says v1.2.2, the @version is 1.2.3");
  });

  it("the generated manifest is the build of lua/ as it is now", () => {
    const fresh = buildAll(join(import.meta.dirname, "../../lua"));
    expect(SCRIPTS.map((s) => [s.name, s.version, s.sha1])).toEqual(fresh.map((s) => [s.name, s.version, s.sha1]));
  });

  it("drops the top-level functions a script never names, with their comments, until none is left", () => {
    const body = [
      "-- begin include helpers",
      "-- a helper of the next one",
      "local function inner(x)",
      "  return x",
      "end",
      "-- never called, though this comment names used(x)",
      "local function unused(x)",
      "  return inner(x)",
      "end",
      "local function used(x)",
      "  return x + 1",
      "end",
      "-- what reply_text(x) would do: a name in a comment keeps no function",
      "local function reply_text(x)",
      "  return x",
      "end",
      "-- end include helpers",
      "return used(1) -- not inner(1)",
    ];
    expect(dropUnusedFunctions(body)).toEqual(["-- begin include helpers", "local function used(x)", "  return x + 1", "end", "-- end include helpers", "return used(1) -- not inner(1)"]);
    expect(() => dropUnusedFunctions(["local function broken()", "  return 1"])).toThrow(/no 'end'/);
  });

  it("ships no function a built script never calls (a mention in a comment is no call)", () => {
    for (const script of SCRIPTS) {
      const code = script.source.replace(/(^|\s)--.*$/gm, "$1");
      const names = [...code.matchAll(/^local function ([A-Za-z_]\w*)\(/gm)].map((m) => m[1] as string);
      const unused = names.filter((name) => (code.match(new RegExp(`(?<!\\w)${name}(?!\\w)`, "g")) ?? []).length < 2);
      expect({ script: script.name, unused }).toEqual({ script: script.name, unused: [] });
    }
  });

  it("declares every limit a built script names: a limit of an include it lacks (epoch.lua's MIN_EPOCH_MS) would be nil at run time", () => {
    for (const script of SCRIPTS) {
      const code = script.source.replace(/(^|\s)--.*$/gm, "$1");
      const named = Object.keys(LIMITS).filter((name) => new RegExp(`(?<!\\w)${name}(?!\\w)`).test(code));
      const undeclared = named.filter((name) => !code.includes(`local ${name} = `));
      expect({ script: script.name, undeclared }).toEqual({ script: script.name, undeclared: [] });
    }
  });
});
