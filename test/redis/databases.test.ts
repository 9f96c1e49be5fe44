import { describe, expect, it } from "vitest";
import { DATABASES, getDatabaseForDataType, UnknownDataTypeError } from "../../src/redis/databases.js";
import { thrown } from "../support/thrown.js";

describe("the DB map", () => {
  it("is the canonical map", () => {
    expect(Object.fromEntries(Object.values(DATABASES).map((d) => [d.db, d.name]))).toEqual({
      0: "system",
      2: "prices",
      3: "premarket",
      4: "continuous_market",
      5: "cumulative_volume",
      6: "alerts",
      8: "microstructure",
      10: "patterns",
      11: "news",
      13: "metrics",
    });
    for (const d of Object.values(DATABASES)) expect(d.ttlSeconds).toBe(57_600);
  });

  it("resolves data types to their database", () => {
    expect(getDatabaseForDataType("pattern_alerts").db).toBe(10);
    expect(getDatabaseForDataType("volume_baseline").db).toBe(5);
    expect(getDatabaseForDataType("news_latest").db).toBe(11);
    expect(getDatabaseForDataType("ticks").db).toBe(4);
  });

  it("names the known data types when it meets an unknown one", () => {
    const error = thrown(() => getDatabaseForDataType("pattern_alert")) as UnknownDataTypeError;
    expect(error).toBeInstanceOf(UnknownDataTypeError);
    expect(error.known).toContain("pattern_alerts");
    expect(error.message).toContain("known: ");
  });

  it("gives each data type one database", () => {
    const all = Object.values(DATABASES).flatMap((d) => d.dataTypes);
    expect(new Set(all).size).toBe(all.length);
  });
});
