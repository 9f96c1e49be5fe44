import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../src/generated/scripts.js";
import type { ScriptManifestEntry } from "../../src/core/manifest.js";
import {
  buildFunctionsLibrary,
  functionName,
  FunctionsLibraryError,
  scriptOfFunction,
  splitErrorSuffix,
  splitScriptBody,
} from "../../src/build/functionsLibrary.js";
import { CACHE_HIT_START } from "../../src/build/argSpec.js";
import { libraryState, loadLibrary } from "../../src/cluster/loader.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";

function script(name: string, source: string, numberOfKeys = 0): ScriptManifestEntry {
  return {
    name,
    version: "1.0.0",
    sha1: createHash("sha1").update(source).digest("hex"),
    numberOfKeys,
    flags: /^#!lua flags=(\S+)/.exec(source)?.[1]?.split(",") ?? [],
    keys: [],
    args: [],
    source,
  };
}

/** A script with `n` top-level locals: fine alone (Lua allows 200 per function). */
function manyLocals(name: string, n: number): ScriptManifestEntry {
  const lines = Array.from({ length: n }, (_, i) => `local v${i} = ${i}`);
  return script(name, `#!lua\n${lines.join("\n")}\nreturn v${n - 1} + #ARGV\n`);
}

let server: LocalRedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startLocalRedis();
  redis = new Redis(server.port, "127.0.0.1");
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("buildFunctionsLibrary", () => {
  const library = buildFunctionsLibrary(SCRIPTS);

  it("registers every manifest script under its versioned name, no-writes scripts flagged", () => {
    expect(library.code.startsWith("#!lua name=mathd\n")).toBe(true);
    expect(library.functions.map((f) => f.script).sort()).toEqual(SCRIPTS.map((s) => s.name).sort());
    for (const s of SCRIPTS) {
      const fn = library.functions.find((f) => f.script === s.name)!;
      expect(fn.functionName).toBe(`${s.name}_v${s.version.replaceAll(".", "_")}`);
      expect(fn.readOnly).toBe(s.source.startsWith("#!lua flags=no-writes\n"));
    }
    expect(library.functions.filter((f) => f.readOnly).map((f) => f.script)).toContain("stream_snapshot");
  });

  it("is deterministic, and its digest follows every script's text", () => {
    expect(buildFunctionsLibrary([...SCRIPTS].reverse())).toEqual(library);
    const changed = SCRIPTS.map((s, i) => (i === 0 ? { ...s, sha1: "0".repeat(40) } : s));
    expect(buildFunctionsLibrary(changed).digest).not.toBe(library.digest);
  });

  it("defines each script's helpers once, at load: no callback defines a function; the hit check and the script's own lines run per call", () => {
    for (const s of SCRIPTS) {
      const name = functionName(s.name, s.version);
      const block = new RegExp(`\\ndo -- ${name}\\n([^]*?)\\n {2}callback = function\\(keys, args\\)\\n([^]*?)\\n {2}end,\\n\\}\\nend\\n`).exec(library.code);
      expect(block, name).not.toBeNull();
      const [, once, perCall] = block as unknown as [string, string, string];
      expect(perCall, name).not.toMatch(/\blocal function\b/);
      expect(once, name).toMatch(/^local function /m);
      expect(perCall.startsWith("  KEYS, ARGV = keys, args\n"), name).toBe(true);
      expect(perCall.includes(CACHE_HIT_START), name).toBe(s.source.includes(CACHE_HIT_START));
    }
  });

  it("splits a script: the build's constants and the includes once, the hit check and the script's own lines per call, each in order", () => {
    const body = [
      "local SCRIPT_NAME = 'x'",
      "-- @name x",
      "-- begin include cache",
      "local function helper() return 1 end",
      CACHE_HIT_START,
      "  if hit then return 'hit' end",
      "end",
      "-- begin include keys",
      "local MAX = 40",
      "-- end include keys",
      "-- end include cache",
      "local cached = helper()",
      "-- begin include args",
      "local function read() return ARGV[1] end",
      "-- end include args",
      "return read()",
    ];
    const { once, perCall } = splitScriptBody(body.join("\n"));
    expect(once).toEqual(["local SCRIPT_NAME = 'x'", ...body.slice(2, 4), ...body.slice(7, 11), ...body.slice(12, 15)]);
    expect(perCall).toEqual(["-- @name x", ...body.slice(4, 7), "local cached = helper()", "return read()"]);
    expect(splitScriptBody("local v = 1\nreturn v")).toEqual({ once: [], perCall: ["local v = 1", "return v"] });
  });

  it("maps function names back to scripts", () => {
    expect(functionName("stop_loss", "1.2.3")).toBe("stop_loss_v1_2_3");
    expect(scriptOfFunction("stop_loss_v1_2_3")).toEqual({ script: "stop_loss", version: "1.2.3" });
    expect(scriptOfFunction("x_v2_v1_0_0")).toEqual({ script: "x_v2", version: "1.0.0" });
    expect(scriptOfFunction("atr")).toBeUndefined();
    expect(() => functionName("atr", "1.0")).toThrow(FunctionsLibraryError);
  });

  it("refuses shebang flags it does not carry over, flags the manifest does not match, two entries of one version", () => {
    expect(() => buildFunctionsLibrary([script("a", "#!lua flags=allow-oom\nreturn 1\n")])).toThrow(/allow-oom/);
    expect(() => buildFunctionsLibrary([script("a", "return 1\n"), script("a", "return 2\n")])).toThrow(/two entries/);
    expect(() => buildFunctionsLibrary([{ ...script("a", "#!lua flags=no-writes\nreturn 1\n"), flags: [] }])).toThrow(/differ from the shebang/);
  });

  it("loads on Redis; FCALL answers as EVALSHA does; errors keep the script's name", async () => {
    expect(await loadLibrary(redis, library)).toBe(true);
    expect(await libraryState(redis, library)).toBe("current");
    expect(await loadLibrary(redis, library)).toBe(false);

    const confidence = SCRIPTS.find((s) => s.name === "confidence")!;
    const fn = functionName("confidence", confidence.version);
    const key = `pattern_cache:confidence:v${confidence.version}:NIFTY:${"0".repeat(40)}`;
    const args = ["0.6", "1.5", "0.05", "0.1", "0.1", "0.1", "0.05", "0.95"];
    const viaEval = await redis.eval(confidence.source, 1, key, ...args);
    await redis.del(key);
    expect(await redis.fcall(fn, 1, key, ...args)).toEqual(viaEval);

    const bad = ["x", ...args.slice(1)];
    const evalError = await redis.eval(confidence.source, 1, key, ...bad).then(String, (e: Error) => e.message);
    const functionError = await redis.fcall(fn, 1, key, ...bad).then(String, (e: Error) => e.message);
    expect(evalError).toMatch(/ script: [0-9a-f]{40}, on @user_script:\d+\.$/);
    expect(functionError).toMatch(new RegExp(` script: ${fn}, on @user_function:\\d+\\.$`));
    expect(splitErrorSuffix(evalError).text).toMatch(/^MATHD_INVALID \w+: /);
    expect(splitErrorSuffix(functionError)).toEqual({ text: splitErrorSuffix(evalError).text, script: "confidence" });
  });

  it("keeps each script's locals in its own function: three scripts of 150 locals load as one library", async () => {
    const scripts = ["a", "b", "c"].map((name) => manyLocals(name, 150));
    const big = buildFunctionsLibrary(scripts);
    await redis.call("FUNCTION", "LOAD", "REPLACE", big.code);
    expect(await redis.fcall("b_v1_0_0", 0, "x", "y")).toBe(151);
    // the same bodies at the library's top level exceed Lua's 200 locals per function
    const flat = `#!lua name=flat\n${scripts.map((s) => s.source.replace(/^#!lua\n/, "").replace(/return .*\n$/, "")).join("\n")}\nredis.register_function('f', function() return 1 end)\n`;
    await expect(redis.call("FUNCTION", "LOAD", "REPLACE", flat)).rejects.toThrow(/more than 200 local variables/);
  });
});
