import { describe, expect, it } from "vitest";
import { withoutComment } from "../../src/build/luaText.js";

describe("withoutComment", () => {
  it("drops a comment that starts the line or follows white space", () => {
    expect(withoutComment("-- a whole-line comment")).toBe("");
    expect(withoutComment("  local x = 1 -- return early")).toBe("  local x = 1 ");
    expect(withoutComment("if x then\t-- why")).toBe("if x then\t");
  });

  it("leaves a -- inside code alone", () => {
    expect(withoutComment("local s = 'a--b'")).toBe("local s = 'a--b'");
    expect(withoutComment("return x")).toBe("return x");
  });
});
