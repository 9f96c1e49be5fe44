import { describe, expect, it } from "vitest";
import { UpdateOvertakenError } from "../../src/core/errors.js";
import { orderKeyOf } from "../../src/core/manifest.js";
import { type Outcome, resendable } from "../../src/cluster/pipeline.js";

// Which commands of a batch may be sent again after the server turned them away for a moment
// (NOSCRIPT, BUSY, LOADING): all of a pure script's; of a streaming update's, only those no later
// update of the same symbol overtook, since a resent one would land behind it and be dropped.
describe("resendable", () => {
  const update = (symbol: string) => orderKeyOf({ script: "stream_update", keys: [`indicator:atr14:${symbol}`, `indicator:vwap:${symbol}`, `indicator:rsi14:${symbol}`], args: [] });
  const atr = orderKeyOf({ script: "atr", keys: ["pattern_cache:atr:v3.0.0:NIFTY:0"], args: [] });
  const turnedAway = (): Outcome => ({ ok: false, error: new Error("NOSCRIPT No matching script") });
  const answered = (): Outcome => ({ ok: true, reply: [] });

  it("keeps every command of a pure script, in order", () => {
    const outcomes = [turnedAway(), answered(), turnedAway()];
    expect(atr).toBeUndefined();
    expect(resendable([0, 2], outcomes, [atr, atr, atr])).toEqual([0, 2]);
    expect(resendable([0, 2], outcomes, undefined)).toEqual([0, 2]);
  });

  it("fails an update a later one of its symbol overtook, and resends the rest", () => {
    // NIFTY: 0 turned away, 1 got through, 2 turned away; BANKNIFTY: 3 turned away, nothing after it
    const outcomes = [turnedAway(), answered(), turnedAway(), turnedAway()];
    const order = [update("NIFTY"), update("NIFTY"), update("NIFTY"), update("BANKNIFTY")];
    expect(resendable([0, 2, 3], outcomes, order)).toEqual([2, 3]);
    const first = outcomes[0] as Outcome;
    expect(first.ok).toBe(false);
    expect(!first.ok && first.error).toBeInstanceOf(UpdateOvertakenError);
    expect(!first.ok && (first.error as UpdateOvertakenError).script).toBe("stream_update");
  });
});
