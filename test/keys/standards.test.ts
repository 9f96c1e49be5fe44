import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KEY_FAMILIES } from "../../src/keys/grammar.js";

describe("docs/REDIS_KEY_STANDARDS.md", () => {
  const doc = readFileSync(join(import.meta.dirname, "../../docs/REDIS_KEY_STANDARDS.md"), "utf8");
  it.each(KEY_FAMILIES.map((k) => [k.family, k]))("documents the family %s with its shape", (_, spec) => {
    const shape = spec.segments.map((s) => (typeof s === "string" ? s : `{${s.field === "symbol" ? "SYMBOL" : s.field}}`)).join(":");
    expect(doc).toContain(`| \`${spec.family}\` | \`${shape}\` |`);
  });
});
