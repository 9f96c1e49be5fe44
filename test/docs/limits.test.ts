import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/generated/scripts.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DOCS = ["README.md", "CHANGELOG.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** Every "`NAME` (value)" a document gives, for the limits the Lua headers declare. */
export function quotedLimits(text: string): { name: string; value: number }[] {
  return [...text.matchAll(/`([A-Z][A-Z_]+)` \(([\d,]+)\)/g)]
    .filter((m) => (m[1] as string) in LIMITS)
    .map((m) => ({ name: m[1] as string, value: Number((m[2] as string).replaceAll(",", "")) }));
}

// The limits are written once, in the Lua headers (`@limit`); the documents quote them as
// "`MAX_POINTS` (500)", and this test fails when a quote no longer matches the header.
describe("limits quoted in the documents", () => {
  it("finds the quotes it checks", () => {
    expect(quotedLimits("at most `MAX_POINTS` (1,000) points, `NOT_A_LIMIT` (3)")).toEqual([{ name: "MAX_POINTS", value: 1000 }]);
    expect(DOCS.flatMap((doc) => quotedLimits(readFileSync(join(ROOT, doc), "utf8"))).length).toBeGreaterThanOrEqual(5);
  });

  it.each(DOCS)("%s quotes every limit as the Lua headers declare it", (doc) => {
    for (const { name, value } of quotedLimits(readFileSync(join(ROOT, doc), "utf8"))) {
      expect({ name, value }).toEqual({ name, value: LIMITS[name as keyof typeof LIMITS] });
    }
  });
});
