/**
 * `batch` and `run` are typed by each call's `fn`: a caller reads an ATR outcome's `atr` without
 * narrowing a union of every result. These are compile-time checks (`npm test` type-checks the
 * tests first); the test body only makes vitest count them.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type { AnyResult, BatchOutcomes, MathDispatcher, ResultOf } from "../../src/dispatcher/MathDispatcher.js";
import type { BatchOutcome } from "../../src/dispatcher/batch.js";
import type { AtrInput, AtrResult } from "../../src/dispatcher/atr.js";
import type { BatchCall } from "../../src/dispatcher/functions.js";
import type { ResultMeta } from "../../src/dispatcher/scriptFunction.js";
import type { VwapInput, VwapResult } from "../../src/dispatcher/vwap.js";

/** Never run: what the compiler infers for calls written as a caller writes them. */
async function inferred(math: MathDispatcher, atr: AtrInput, vwap: VwapInput, any: BatchCall[]) {
  const [first, second] = await math.batch([
    { fn: "atr", input: atr },
    { fn: "vwap", input: vwap },
  ]);
  expectTypeOf(first).toEqualTypeOf<BatchOutcome<AtrResult & ResultMeta>>();
  expectTypeOf(second).toEqualTypeOf<BatchOutcome<VwapResult & ResultMeta>>();
  expectTypeOf(await math.batch(any)).toEqualTypeOf<BatchOutcome<AnyResult>[]>(); // a list of any calls: any result
  expectTypeOf(await math.run({ fn: "vwap", input: vwap })).toEqualTypeOf<ResultOf<"vwap">>();
}

describe("batch and run types", () => {
  it("type each outcome by its call's fn (checked by the compiler)", () => {
    expectTypeOf<BatchOutcomes<[{ fn: "atr"; input: AtrInput }]>>().toEqualTypeOf<[BatchOutcome<AtrResult & ResultMeta>]>();
    expect(typeof inferred).toBe("function");
  });
});
