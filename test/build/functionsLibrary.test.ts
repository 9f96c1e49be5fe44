import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS } from "../../src/generated/scripts.js";
import type { ScriptManifestEntry } from "../../src/core/manifest.js";
import {
  buildFunctionsLibraries,
  functionName,
  FunctionsLibraryError,
  scriptOfFunction,
  splitErrorSuffix,
  splitScriptBody,
} from "../../src/build/functionsLibrary.js";
import { CACHE_HIT_START } from "../../src/build/argSpec.js";
import { librariesOnNode, loadLibraries, pruneLibraries } from "../../src/cluster/loader.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";
import { OLDER_ATR_LIBRARY, OTHER_APPLICATION_LIBRARY, oneFunctionLibrary } from "../support/libraries.js";

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

describe("buildFunctionsLibraries", () => {
  const libraries = buildFunctionsLibraries(SCRIPTS);
  const functions = libraries.map((library) => library.fn);

  it("makes every manifest script a library of its own, named after its version, no-writes scripts flagged", () => {
    expect(functions.map((f) => f.script).sort()).toEqual(SCRIPTS.map((s) => s.name).sort());
    for (const s of SCRIPTS) {
      const library = libraries.find((l) => l.fn.script === s.name)!;
      expect(library.fn.functionName).toBe(`${s.name}_v${s.version.replaceAll(".", "_")}`);
      expect(library.name).toBe(`mathd_${library.fn.functionName}`);
      expect(library.code.startsWith(`#!lua name=${library.name}\n`)).toBe(true);
      expect(library.code.match(/redis\.register_function/g)).toHaveLength(1);
      expect(library.fn.readOnly).toBe(s.source.startsWith("#!lua flags=no-writes\n"));
    }
    expect(functions.filter((f) => f.readOnly).map((f) => f.script)).toContain("stream_snapshot");
  });

  it("is deterministic, and each library's digest follows its own script's text only", () => {
    expect(buildFunctionsLibraries([...SCRIPTS].reverse())).toEqual(libraries);
    const changed = buildFunctionsLibraries(SCRIPTS.map((s, i) => (i === 0 ? { ...s, sha1: "0".repeat(40) } : s)));
    const digests = (list: typeof libraries) => new Map(list.map((l) => [l.name, l.digest]));
    const [before, after] = [digests(libraries), digests(changed)];
    const first = `mathd_${functionName(SCRIPTS[0]!.name, SCRIPTS[0]!.version)}`;
    expect(after.get(first)).not.toBe(before.get(first));
    for (const [name, digest] of before) if (name !== first) expect(after.get(name), name).toBe(digest);
  });

  it("defines each script's helpers once, at load: no callback defines a function; the hit check and the script's own lines run per call", () => {
    for (const s of SCRIPTS) {
      const name = functionName(s.name, s.version);
      const library = libraries.find((l) => l.fn.functionName === name)!;
      const block = /^#!lua name=\w+\n([^]*?)\n {2}callback = function\(keys, args\)\n([^]*?)\n {2}end,\n\}\n$/.exec(library.code);
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
    expect(() => buildFunctionsLibraries([script("a", "#!lua flags=allow-oom\nreturn 1\n")])).toThrow(/allow-oom/);
    expect(() => buildFunctionsLibraries([script("a", "return 1\n"), script("a", "return 2\n")])).toThrow(/two entries/);
    expect(() => buildFunctionsLibraries([{ ...script("a", "#!lua flags=no-writes\nreturn 1\n"), flags: [] }])).toThrow(/differ from the shebang/);
  });

  it("loads on Redis, one library per command; FCALL answers as EVALSHA does; errors keep the script's name", async () => {
    await redis.call("FUNCTION", "FLUSH");
    await redis.config("RESETSTAT");
    expect(await loadLibraries(redis, libraries)).toEqual(libraries.map((l) => l.name));
    expect(await redis.info("commandstats")).toMatch(new RegExp(`^cmdstat_function\\|load:calls=${libraries.length},`, "m"));
    expect((await librariesOnNode(redis, libraries)).state).toBe("current");
    expect(await loadLibraries(redis, libraries)).toEqual([]);

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

  it("tells what a node holds: none, some, another build's, all; loads exactly what is missing", async () => {
    await redis.call("FUNCTION", "FLUSH");
    expect(await librariesOnNode(redis, libraries)).toEqual({ state: "absent", absent: libraries, otherBuild: [], others: [] });
    await loadLibraries(redis, libraries.slice(0, 3));
    // another build of a library this build has (its description names another digest)
    const rebuilt = libraries[3]!;
    await redis.call("FUNCTION", "LOAD", "REPLACE", rebuilt.code.replaceAll(rebuilt.digest, "0".repeat(40)));
    expect(await librariesOnNode(redis, libraries)).toEqual({ state: "stale", absent: libraries.slice(4), otherBuild: [rebuilt], others: [] });
    expect(await loadLibraries(redis, libraries)).toEqual([...libraries.slice(4), rebuilt].map((l) => l.name));
    expect((await librariesOnNode(redis, libraries)).state).toBe("current");
  });

  it("compiles each library once when many processes heal at once: the later loads are refused before compiling", async () => {
    await redis.call("FUNCTION", "FLUSH");
    await redis.config("RESETSTAT");
    const healers = Array.from({ length: 5 }, () => new Redis(server.port, "127.0.0.1"));
    const loaded = await Promise.all(healers.map((node) => loadLibraries(node, libraries)));
    for (const node of healers) node.disconnect();
    expect(loaded.flat().sort()).toEqual(libraries.map((l) => l.name).sort()); // each loaded by exactly one of them
    const stats = /^cmdstat_function\|load:calls=(\d+),.*failed_calls=(\d+)/m.exec(await redis.info("commandstats"));
    expect(Number(stats?.[1]) - Number(stats?.[2])).toBe(libraries.length);
    expect((await librariesOnNode(redis, libraries)).state).toBe("current");
  });

  it("deletes the earlier layout's one library before loading (it registers the same function names)", async () => {
    await redis.call("FUNCTION", "FLUSH");
    const names = libraries.map((l) => l.fn.functionName);
    const legacy = `#!lua name=mathd\n${names.map((n) => `redis.register_function('${n}', function() return 'legacy' end)`).join("\n")}\n`;
    await redis.call("FUNCTION", "LOAD", legacy);
    expect((await librariesOnNode(redis, libraries)).others).toEqual(["mathd"]);
    await loadLibraries(redis, libraries);
    expect(await librariesOnNode(redis, libraries)).toEqual({ state: "current", absent: [], otherBuild: [], others: [] });
  });

  it("prunes the libraries of this SDK that the build does not use, and nothing else", async () => {
    await redis.call("FUNCTION", "FLUSH");
    await loadLibraries(redis, libraries);
    // an earlier generation's version of a script, and a library of another application
    await redis.call("FUNCTION", "LOAD", OLDER_ATR_LIBRARY.code);
    await redis.call("FUNCTION", "LOAD", OTHER_APPLICATION_LIBRARY.code);
    expect((await librariesOnNode(redis, libraries)).others).toEqual([OLDER_ATR_LIBRARY.name]);
    expect(await pruneLibraries(redis, libraries)).toEqual([OLDER_ATR_LIBRARY.name]);
    // two prunes at once: each deletes what it finds first, neither fails on what the other deleted
    const old = Array.from({ length: 30 }, (_, i) => `mathd_old${i}_v0_1_0`);
    for (const name of old) await redis.call("FUNCTION", "LOAD", oneFunctionLibrary(name, name.slice(6)));
    const pruners = [new Redis(server.port, "127.0.0.1"), new Redis(server.port, "127.0.0.1")];
    const pruned = await Promise.all(pruners.map((node) => pruneLibraries(node, libraries)));
    for (const node of pruners) node.disconnect();
    expect(pruned.flat().sort()).toEqual([...old].sort());
    expect(await librariesOnNode(redis, libraries)).toEqual({ state: "current", absent: [], otherBuild: [], others: [] });
    expect(await redis.fcall(OTHER_APPLICATION_LIBRARY.fn, 0)).toBe(1);
  });

  it("keeps each script's locals to its own library: three scripts of 150 locals each load", async () => {
    const scripts = ["a", "b", "c"].map((name) => manyLocals(name, 150));
    const own = buildFunctionsLibraries(scripts);
    expect(await loadLibraries(redis, own)).toEqual(["mathd_a_v1_0_0", "mathd_b_v1_0_0", "mathd_c_v1_0_0"]);
    expect(await redis.fcall("b_v1_0_0", 0, "x", "y")).toBe(151);
    // the same bodies in one library exceed Lua's 200 locals per function
    const flat = `#!lua name=flat\n${scripts.map((s) => s.source.replace(/^#!lua\n/, "").replace(/return .*\n$/, "")).join("\n")}\nredis.register_function('f', function() return 1 end)\n`;
    await expect(redis.call("FUNCTION", "LOAD", "REPLACE", flat)).rejects.toThrow(/more than 200 local variables/);
  });
});
