import { Redis } from "ioredis";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { pasteBlocks } from "../../src/build/blocks.js";
import { buildScript } from "../../src/build/luaBuild.js";
import { UnrollError, unrollLoops } from "../../src/build/unroll.js";
import { packDoubles } from "../../src/core/units.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { thrown } from "../support/thrown.js";
import { sharedRedisUrl } from "../support/redis.js";

/** A loop whose result depends on every value, its order and its index; an error names a point. */
const LOOP = [
  "local data, count = ARGV[1], tonumber(ARGV[2])",
  "local unpack, pos, a, b, acc = struct.unpack, 1",
  "local out = {}",
  "-- @unroll 4",
  "for i = 1, count do",
  "  a, b, pos = unpack('<dd', data, pos)",
  "  -- why: a comment that stays with the first copy",
  "  if a < 0 then error('point ' .. i .. ' is negative') end",
  "  local product = a * b",
  "  out[#out + 1] = i .. ' a b i ' .. product -- a, b and i in a string and a comment stay",
  "end",
  "return table.concat(out, ',') .. ';' .. pos",
];

function unrollError(lines: string[]): UnrollError {
  const error = thrown(() => unrollLoops(lines));
  expect(error).toBeInstanceOf(UnrollError);
  return error as UnrollError;
}

describe("@unroll", () => {
  const redis = new Redis(sharedRedisUrl());
  afterAll(() => redis.quit());

  it("writes the loop out to read N points per unpack call, the rest one by one", () => {
    const text = unrollLoops(LOOP).join("\n");
    expect(text).toContain("for i0 = 0, count - 4, 4 do");
    expect(text).toContain("u1, u2, u3, u4, u5, u6, u7, u8, pos = unpack('<dddddddd', data, pos)");
    expect(text).toContain("local product = u7 * u8"); // the fourth point, read from its slots
    expect(text).toContain("out[#out + 1] = (i0 + 4) .. ' a b i ' .. product -- a, b and i in a string and a comment stay");
    expect(text).toContain("for i = count - count % 4 + 1, count do");
    expect(text.match(/local product = /g)).toHaveLength(5); // four copies and the rest's loop
    expect(text.match(/a comment that stays/g)).toHaveLength(1);
    expect(text).not.toMatch(/-- @unroll 4$/m);
  });

  it("gives Redis the same results as the plain loop, errors included, at every count", async () => {
    const plain = LOOP.join("\n");
    const unrolled = unrollLoops(LOOP).join("\n");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: -2, max: 50 }), fc.double({ noNaN: true, noDefaultInfinity: true })), { maxLength: 19 }), async (points) => {
        const args = [packDoubles(points, 2), String(points.length)];
        const run = (source: string) => redis.eval(source, 0, ...args).catch((error: Error) => /point \d+ is negative/.exec(error.message)?.[0] ?? error.message);
        expect(await run(unrolled)).toEqual(await run(plain));
      }),
      { numRuns: 60 },
    );
  });

  it("leaves the loop's shape to the source and says what is wrong", () => {
    expect(unrollError(["-- @unroll 1", ...LOOP.slice(4)]).message).toMatch(/2\.\.16, got 1/);
    expect(unrollError(["-- @unroll 4", "while true do"]).line).toBe(2);
    expect(unrollError(["-- @unroll 4", "for i = 1, n - 1 do"]).message).toMatch(/the count a name or a field/);
    expect(unrollError(["-- @unroll 4", "for i = 1, n do", "  a = f(x)", "end"]).message).toMatch(/first line must be/);
    expect(unrollError(["-- @unroll 4", "for i = 1, n do", "  a, b, pos = unpack('<d', data, pos)", "end"]).message).toMatch(/reads 1 values, the line assigns 2/);
    expect(unrollError(["-- @unroll 4", "for i = 1, n do", "  a, pos = unpack('<d', data, pos)"]).message).toMatch(/no `end`/);
    expect(unrollError(["-- @unroll 4", "for i = 1, n do", "  a, pos = unpack('<d', data, pos)", "  if a then break end", "end"]).line).toBe(4);
    expect(unrollError(["-- @unroll 4", "for i = 1, n do", "  a, pos = unpack('<d', data, pos)", "  i = i + 1", "end"]).message).toMatch(/may not assign i/);
    expect(unrollError(["-- @unroll 4", "for i = 1, n do", "  a, pos = unpack('<d', data, pos)", "  local u3 = a", "end"]).message).toMatch(/may not use u3/);
  });

  it("reads the VWAP ticks, the VWAP bars, the ATR bars and the RSI closes eight at a time", () => {
    const source = (name: string) => SCRIPTS.find((s) => s.name === name)?.source ?? "";
    expect(source("vwap")).toContain(`unpack('<${"dd".repeat(8)}', data, pos)`);
    expect(source("vwap")).toContain(`unpack('<${"dddd".repeat(8)}', data, pos)`);
    expect(source("atr")).toContain(`unpack('<${"ddd".repeat(8)}', data, pos)`);
    expect(source("rsi")).toContain(`unpack('<${"d".repeat(8)}', data, pos)`);
    expect(source("dispatch")).toContain(`unpack('<${"ddd".repeat(8)}', data, pos)`);
  });

  it("leaves the loops of a script marked @no-unroll as written: the streaming updates, which run them on one point", () => {
    const files: Record<string, string[]> = {
      "/lua/includes/loop.lua": LOOP,
      "/lua/plain.lua": ["-- @name plain", "-- @version 1.0.0", "-- @no-unroll  one point at a time", '-- @include "loop"'],
      "/lua/unrolled.lua": ["-- @name unrolled", "-- @version 1.0.0", '-- @include "loop"'],
    };
    const build = (name: string) => buildScript(`/lua/${name}.lua`, "/lua", (path) => files[path]).source;
    expect(build("plain")).toContain(LOOP.join("\n"));
    expect(build("unrolled")).not.toContain("for i = 1, count do\n  a, b, pos = unpack('<dd', data, pos)");
    expect(build("unrolled")).toContain(`unpack('<${"dd".repeat(4)}', data, pos)`);
    for (const name of ["stream_update", "stream_update_many"]) {
      const source = SCRIPTS.find((s) => s.name === name)?.source ?? "";
      expect(source, name).toMatch(/^-- @no-unroll /m);
      expect(source, name).not.toMatch(/unpack\('<(ddd){2,}'/);
    }
  });
});

describe("@block and @paste", () => {
  const include = ["local function f()", "  -- @block step", "  if x > 0 then", "    y = y + x", "  end", "  -- @end step", "end"];

  it("puts the block's lines where it is pasted, at the paste's indentation", () => {
    const pasted = pasteBlocks(["for i = 1, 3 do", '    -- @paste "inc" step', "end"], (name) => (name === "inc" ? include : undefined));
    expect(pasted).toEqual(["for i = 1, 3 do", "    -- step, the block of inc.lua, pasted by the build (src/build/blocks.ts)", "    if x > 0 then", "      y = y + x", "    end", "end"]);
  });

  it("names a missing include, block or end", () => {
    expect(() => pasteBlocks(['-- @paste "none" step'], () => undefined)).toThrow(/no include "none"/);
    expect(() => pasteBlocks(['-- @paste "inc" other'], () => include)).toThrow(/has no @block other/);
    expect(() => pasteBlocks(['-- @paste "inc" step'], () => include.slice(0, 4))).toThrow(/@block step has no -- @end step/);
  });

  it("pastes vwap_run's step into the bar loop and the streaming tick's fast path", () => {
    for (const name of ["vwap", "stream_update"]) {
      const source = SCRIPTS.find((s) => s.name === name)?.source ?? "";
      expect({ name, pasted: source.includes("-- vwap_step, the block of vwap_state.lua, pasted by the build") }).toEqual({ name, pasted: true });
    }
  });
});

describe("the build's @unroll and @paste errors", () => {
  it("name the file, the line and its text", () => {
    const files: Record<string, string[]> = {
      "/lua/demo.lua": ["-- @name demo", "-- @version 1.0.0", '-- @include "loop"', "return 1"],
      "/lua/includes/loop.lua": ["-- @unroll 4", "for i = 1, n do", "  a = f(x)", "end"],
      "/lua/includes/other.lua": [],
    };
    expect(() => buildScript("/lua/demo.lua", "/lua", (path) => files[path])).toThrow(
      'includes/loop.lua:3: the loop\'s first line must be `<values>, <pos> = <unpack>(\'<d...>\', <data>, <pos>)`, at "a = f(x)"',
    );
    files["/lua/includes/loop.lua"] = ['-- @paste "other" step'];
    expect(() => buildScript("/lua/demo.lua", "/lua", (path) => files[path])).toThrow('includes/loop.lua:1: @paste: includes/other.lua has no @block step');
  });
});
