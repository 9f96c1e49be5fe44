import fc from "fast-check";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ScriptExecutionError } from "../../src/core/errors.js";
import type { ScriptManifestEntry } from "../../src/core/manifest.js";
import { packDoubles } from "../../src/core/units.js";
import { inputsDigest } from "../../src/dispatcher/inputsDigest.js";
import { orderArgs } from "../../src/dispatcher/scriptFunction.js";
import { SCRIPTS } from "../../src/generated/scripts.js";

const atr = SCRIPTS.find((s) => s.name === "atr") as ScriptManifestEntry;

describe("packDoubles", () => {
  it("lays out little-endian doubles, point after point, wherever the pool slice starts", () => {
    const points = [
      [1.5, -2.25, 1e300],
      [Number.MIN_VALUE, 0, 520000500],
    ];
    const expected = Buffer.alloc(48);
    points.flat().forEach((x, i) => expected.writeDoubleLE(x, i * 8));
    for (let shift = 0; shift < 9; shift++) {
      Buffer.allocUnsafe(shift); // moves the pool's offset
      expect(packDoubles(points, 3).equals(expected)).toBe(true);
    }
  });
});

describe("inputsDigest", () => {
  it("is 40 lowercase hex digits, the same for the same arguments", () => {
    const args = ["14", "0", "", packDoubles([[1, 2, 3]], 3)];
    expect(inputsDigest(args)).toMatch(/^[0-9a-f]{40}$/);
    expect(inputsDigest(args)).toBe(inputsDigest(["14", "0", "", packDoubles([[1, 2, 3]], 3)]));
  });

  it("is SHA1 over each argument prefixed by its byte length and ':', the layout other clients reproduce", () => {
    const args = ["14", "é", "", packDoubles([[1, 2, 3]], 3)];
    const reference = createHash("sha1");
    for (const arg of args) {
      const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
      reference.update(`${bytes.length}:`).update(bytes);
    }
    expect(inputsDigest(args)).toBe(reference.digest("hex"));
  });

  it("equals the reference layout for any mix of text and bytes, long or short, call after call", () => {
    const reference = (args: readonly (string | Buffer)[]) => {
      const hash = createHash("sha1");
      for (const arg of args) {
        const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
        hash.update(`${bytes.length}:`).update(bytes);
      }
      return hash.digest("hex");
    };
    const arg = fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.uint8Array({ maxLength: 6000, size: "max" }).map((b) => Buffer.from(b)));
    fc.assert(fc.property(fc.array(arg, { maxLength: 8 }), (args) => inputsDigest(args) === reference(args)), { numRuns: 200, endOnFailure: true });
  });

  it("tells apart arguments whose bytes only differ in where they split", () => {
    const digests = [
      inputsDigest(["ab", "c"]),
      inputsDigest(["a", "bc"]),
      inputsDigest(["abc"]),
      inputsDigest(["abc", ""]),
      inputsDigest(["1:a"]),
      inputsDigest(["é"]),
      inputsDigest(["e"]),
    ];
    expect(new Set(digests).size).toBe(digests.length);
  });

  it("depends on the bytes sent, not on whether they were given as text or as a Buffer", () => {
    expect(inputsDigest([Buffer.from("a"), "bc"])).toBe(inputsDigest(["a", "bc"]));
  });
});

describe("orderArgs", () => {
  const named = { period: "14", series: "0", state: "", bars: "x" };

  it("puts the arguments in the header's order", () => {
    expect(orderArgs(atr, { bars: "x", state: "", series: "0", period: "14" })).toEqual(atr.args.map((a) => named[a.name as keyof typeof named]));
  });

  it("refuses a name the header does not declare, before a missing one", () => {
    const { bars: _bars, ...withoutBars } = named;
    expect(() => orderArgs(atr, { ...withoutBars, width: "3" })).toThrow(new ScriptExecutionError("atr", "takes no argument named width"));
    expect(() => orderArgs(atr, withoutBars)).toThrow(new ScriptExecutionError("atr", "argument bars is missing"));
  });
});
