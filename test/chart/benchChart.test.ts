/** The bench chart's reader takes the bench's files as they grow: unknown entries are skipped, not fatal. */
import { describe, expect, it } from "vitest";
import { ratioRows } from "../../scripts/bench-chart.js";

describe("bench-chart's reader", () => {
  it("takes value objects or plain numbers, the result's floor or else floors.json's, and skips what it does not know", () => {
    const results = {
      date: "2026-11-25",
      newTopLevelField: { anything: true },
      ratios: [
        { name: "a", value: { min: 0.3, median: 0.5, max: 0.6, p90: 0.59 }, floor: 0.15, unit: "x" },
        { name: "b", value: 1.8 },
        { name: "c", value: { median: "n/a" } },
        { value: { median: 1 } },
        "a future entry format",
      ],
    };
    const floors = { about: "...", ratios: { b: { floor: 0.9, why: "..." }, d: { floor: 0.7, why: "full suite only" } } };
    expect(ratioRows(results, floors)).toEqual({
      rows: [
        { name: "a", median: 0.5, min: 0.3, max: 0.6, floor: 0.15 },
        { name: "b", median: 1.8, floor: 0.9 },
      ],
      unmeasured: ["d"], // "c" was measured badly, and has no floor
    });
    expect(ratioRows({}, undefined)).toEqual({ rows: [], unmeasured: [] });
  });

  it("lists a floor of one suite only as unmeasured after a run of that suite", () => {
    const floors = { ratios: { s: { floor: 0.7, suite: "short" }, f: { floor: 0.7, suite: "full" }, any: { floor: 0.5 } } };
    expect(ratioRows({ mode: "short", ratios: [] }, floors).unmeasured).toEqual(["s", "any"]);
    expect(ratioRows({ mode: "full, server time only", ratios: [] }, floors).unmeasured).toEqual(["f", "any"]);
  });
});
