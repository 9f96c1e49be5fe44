import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgType } from "../../src/build/argSpec.js";
import { buildAll, buildScript, LuaBuildError } from "../../src/build/luaBuild.js";
import { manifestModule } from "../../src/build/manifestModule.js";
import { thrown } from "../support/thrown.js";

const LUA = "/lua";
const tree = (files: Record<string, string[]>) => (path: string) => files[path];
const limits = new Map([["MAX_N", { name: "MAX_N", value: 500, description: "", file: "x" }]]);

describe("script headers as the contract", () => {
  it("parses every argument type, with limits by name and ? for optional", () => {
    expect(parseArgType("int[1..MAX_N]", limits)).toEqual({ type: { kind: "int", min: 1, max: 500 }, optional: false });
    expect(parseArgType("num(0,1]?", limits)).toEqual({ type: { kind: "num", min: 0, max: 1, minOpen: true, maxOpen: false }, optional: true });
    expect(parseArgType("enum(long|short)", limits)?.type).toEqual({ kind: "enum", values: ["long", "short"] });
    expect(parseArgType("packed(<ddd,[1..MAX_N])", limits)?.type).toEqual({ kind: "packed", format: "<ddd", width: 3, min: 1, max: 500 });
    expect(parseArgType("price", limits)?.type).toEqual({ kind: "price" });
    expect(parseArgType("integer", limits)).toBeUndefined(); // a word, not a type
    expect(() => parseArgType("int[1..MAX_M]", limits)).toThrow(/unknown limit MAX_M/);
    expect(() => parseArgType("num(0,1", limits)).toThrow(/interval/);
  });

  it("keeps multi-line text whole, reads flags, limits, and writes the limit locals and, where args.lua is inlined, read_args()", () => {
    const script = buildScript(
      join(LUA, "demo.lua"),
      LUA,
      tree({
        "/lua/demo.lua": [
          "#!lua flags=no-writes",
          "-- @name demo",
          "-- @version 1.0.0",
          "-- @key state    indicator:demo:<symbol>",
          "-- @arg period   int[1..MAX_N]   the period,",
          "--               over two lines",
          "-- @arg ratio    num[0,MAX_N)?    a ratio",
          '-- @include "lim"',
          '-- @include "args"',
          "return read_args()",
        ],
        "/lua/includes/lim.lua": ["-- @limit MAX_N 500 the most"],
        "/lua/includes/args.lua": ["-- the messages"],
      }),
    );
    expect(script.flags).toEqual(["no-writes"]);
    expect(script.args[0]).toMatchObject({ name: "period", description: "the period, over two lines", type: { kind: "int", min: 1, max: 500 } });
    expect(script.limits).toEqual([{ name: "MAX_N", value: 500, description: "the most", file: "demo.lua" }]);
    expect(script.source).toContain("local MAX_N = 500");
    const reader = /-- the messages\n(local function read_args\(\)[^]*?\nend)\n-- end include args/.exec(script.source)?.[1];
    expect(reader).toContain("if #argv > 2 then invalid('ARGV[3]', 'this script takes 2 arguments') end");
    expect(reader).toContain("local a_period, a_ratio\n");
    expect(reader).toContain("if x < 1 or x > 500 then int_out_of_range('period', s, 1, 500) end\n  a_period = x");
    expect(reader).toMatch(/ {2}if s ~= '' then\n {4}x = .*\n {4}if not x or x - x ~= 0 then x = parse_decimal\(s, 'ratio'\) end\n {4}if x < 0 or x >= 500 then num_out_of_range\('ratio', 0, 500, false, true\) end\n {4}a_ratio = x\n {2}end/);
    expect(reader).toMatch(/\n {2}return \{ period = a_period, ratio = a_ratio \}\nend$/);
    expect(thrown(() => buildScript(join(LUA, "demo.lua"), LUA, tree({ "/lua/demo.lua": ["#!lua flags=sometimes", "-- @name demo", "-- @version 1.0.0"] })))).toBeInstanceOf(LuaBuildError);
  });

  it("writes the hit check where cache_entry.lua marks it and cache_store() at its end, for the header's argument count: one unpack of the lengths; one pack, one concatenation, no APPEND", () => {
    const script = buildScript(
      join(LUA, "cached.lua"),
      LUA,
      tree({
        "/lua/cached.lua": ["-- @name cached", "-- @version 1.0.0", "-- @arg period int[1..9]", "-- @arg bars text", '-- @include "cache_entry"', "return cache_store('x\\n1')"],
        "/lua/includes/cache_entry.lua": ["-- the cache", "-- @cache_hit"],
      }),
    );
    const hit = /-- the cache\n(do -- the hit check[^]*?\nend)\n/.exec(script.source)?.[1];
    expect(hit).toContain("if kind == 'string' and #argv == 2 and #stored >= 29 and find(stored, CACHE_TAG, 1, true) == 1 then");
    expect(hit).toContain("if kind == 'table' then error({ err = 'MATHD_INVALID cache_key: holds a value of another type, not a cache entry' }) end");
    expect(hit).toContain("local count, l1, l2, reply_length = struct.unpack('<I4I4I4I4', stored, 14)"); // after 'cached 1.0.0;' (13 bytes)
    expect(hit).toContain("local at1 = 30 + reply_length\n    local at2 = at1 + l1\n");
    expect(hit).toContain("if count == 2 and l1 == #argv[1] and l2 == #argv[2] and at2 + l2 == #stored + 1\n");
    expect(hit).toContain("and (l2 == 0 or find(stored, argv[2], at2, true) == at2) then\n      return string.sub(stored, 30, at1 - 1)");
    const unmarked = { "/lua/cached.lua": ["-- @name cached", "-- @version 1.0.0", "-- @arg bars text", '-- @include "cache_entry"'], "/lua/includes/cache_entry.lua": ["-- the cache"] };
    expect(thrown(() => buildScript(join(LUA, "cached.lua"), LUA, tree(unmarked)))).toBeInstanceOf(LuaBuildError);
    const store = /\n(local function cache_store\(fields\)[^]*?\nend)\n-- end include cache_entry/.exec(script.source)?.[1];
    expect(store).toContain("local lengths = struct.pack('<I4I4I4I4', 2, #argv[1], #argv[2], 10 + #fields)");
    expect(store).toContain("redis.call('SET', KEYS[1], CACHE_TAG .. lengths .. 'cache\\nhit\\n' .. fields .. argv[1] .. argv[2], 'EX', CACHE_TTL_SECONDS)");
    expect(store).not.toContain("APPEND");
    expect(store).toContain("return 'cache\\nmiss\\n' .. fields");
  });

  it("composes the ARGV of a script that @uses others: in order, less the chained, own declarations winning", () => {
    const files: Record<string, string[]> = {
      "/lua/a.lua": ["-- @name a", "-- @version 1.0.0", "-- @arg side enum(long|short)", "-- @arg x num(0,1]", "-- @arg y num(0,1]"],
      "/lua/b.lua": ["-- @name b", "-- @version 1.0.0", "-- @arg side enum(long|short)", "-- @arg y num(0,1]", "-- @arg z num(0,1]"],
      "/lua/chain.lua": ["-- @name chain", "-- @version 1.0.0", "-- @uses a b", "-- @chained y", "-- @arg x num(0,1]?", "-- @arg bars text"],
    };
    const readdir = Object.keys(files).map((p) => p.slice(5));
    const built = buildAllFrom(files, readdir);
    const chain = built.find((s) => s.name === "chain")!;
    expect(chain.args.map((a) => a.name)).toEqual(["side", "x", "z", "bars"]);
    expect(chain.args[1]).toMatchObject({ name: "x", optional: true });
    expect(manifestModule(built)).toContain('"chain": [\n    "side",\n    "x",\n    "z",\n    "bars"\n  ]');
  });
});

/** buildAll over an in-memory tree (buildAll lists the folder, so give it the file names). */
function buildAllFrom(files: Record<string, string[]>, names: string[]) {
  const read = tree(files);
  return names.sort().map((f) =>
    buildScript(join(LUA, f), LUA, read, (used) => (used === "a" || used === "b" ? buildScript(join(LUA, `${used}.lua`), LUA, read).args : undefined)),
  );
}

it("buildAll composes over the real lua/ tree", () => {
  expect(buildAll(join(import.meta.dirname, "..", "..", "lua")).length).toBeGreaterThan(0);
});
