/**
 * The error classes as users catch them: `instanceof` by class, across the package's two module
 * forms too (.ci/consumer/check.sh loads the real ESM and CommonJS builds side by side).
 */
import { describe, expect, it } from "vitest";
import { ConnectionError, InvalidInputError, MathDispatcherError } from "../../src/core/errors.js";

/** What the other module form's copy of the classes looks like: same names, same brand, other identities. */
function otherCopy() {
  class CopyError extends Error {}
  Object.defineProperty(CopyError, "name", { value: "MathDispatcherError" });
  Object.defineProperty(CopyError.prototype, Symbol.for("math-dispatcher.error"), { value: true });
  class CopyInvalid extends CopyError {}
  Object.defineProperty(CopyInvalid, "name", { value: "InvalidInputError" });
  return { CopyError, CopyInvalid };
}

describe("error classes", () => {
  it("instanceof by class, and across the other module form's copy by class name", () => {
    const own = new InvalidInputError("period", "must be a positive integer");
    expect([own instanceof InvalidInputError, own instanceof MathDispatcherError, own instanceof Error, own instanceof ConnectionError]).toEqual([true, true, true, false]);
    const { CopyError, CopyInvalid } = otherCopy();
    const copied = new CopyInvalid("period: must be a positive integer");
    expect([copied instanceof InvalidInputError, copied instanceof MathDispatcherError, copied instanceof ConnectionError]).toEqual([true, true, false]);
    expect(new CopyError("x") instanceof InvalidInputError).toBe(false); // a parent is no instance of its child
    expect([new Error("x") instanceof MathDispatcherError, (null as unknown) instanceof MathDispatcherError]).toEqual([false, false]);
    // an unbranded look-alike is not one of ours
    class InvalidLookAlike extends Error {}
    Object.defineProperty(InvalidLookAlike, "name", { value: "InvalidInputError" });
    expect(new InvalidLookAlike("x") instanceof InvalidInputError).toBe(false);
  });
});
