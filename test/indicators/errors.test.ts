/**
 * The decimal.js reference is public (an offline way to compute), so its refusals are the SDK's
 * errors too: an InvalidInputError naming the field, never a bare RangeError.
 */
import { describe, expect, it } from "vitest";
import { InvalidInputError, MathDispatcherError } from "../../src/core/errors.js";
import { AtrReference, atrReference } from "../../src/indicators/atr.js";
import { positionSizeReference } from "../../src/indicators/positionSize.js";
import { RsiReference, rsiReference } from "../../src/indicators/rsi.js";
import { stopLossReference } from "../../src/indicators/stopLoss.js";
import { VwapReference } from "../../src/indicators/vwap.js";
import { thrown } from "../support/thrown.js";

describe("the reference's refusals", () => {
  it.each([
    ["period", () => new AtrReference(0)],
    ["bars", () => atrReference([{ high: 101, low: 99, close: 100 }], 14)],
    ["period", () => new RsiReference(1)],
    ["closes", () => rsiReference([100, 101], 14)],
    ["entry", () => stopLossReference({ side: "long", entry: 100.01, atr: 2 })],
    ["stop", () => stopLossReference({ side: "long", entry: 1, atr: 100 })],
    ["stop", () => positionSizeReference({ capital: 1_000_000, riskFraction: 0.01, entry: 100, stop: 100, lotSize: 1 } as never)],
    ["points", () => new VwapReference().vwap],
  ])("names %s in an InvalidInputError", (field, call) => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toBeInstanceOf(MathDispatcherError);
    expect((error as InvalidInputError).field).toBe(field);
  });
});
