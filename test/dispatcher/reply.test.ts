import { describe, expect, it } from "vitest";
import { ReplyFormatError } from "../../src/core/errors.js";
import { cacheStatus, decodeReply, numberField, numberListField, seriesOf, textField } from "../../src/dispatcher/reply.js";

// The reply shape of lua/includes/format.lua: one text, a line per field and per value.
describe("decodeReply", () => {
  const text = "cache\nhit\natr\n45.002017961606839\nstate\n\nband_k\n1,2.5\nseries\n";

  it("reads the fields of a reply text, from a string or a Buffer, empty values included", () => {
    for (const raw of [text, Buffer.from(text)]) {
      const fields = decodeReply(raw);
      expect(cacheStatus(fields)).toBe("hit");
      expect(numberField(fields, "atr")).toBe(45.002017961606839);
      expect(textField(fields, "state")).toBe("");
      expect(numberListField(fields, "band_k")).toEqual([1, 2.5]);
      expect(numberListField(fields, "series")).toEqual([]);
    }
  });

  it("joins the series of chunk replies in order, and has none when the calls asked for none", () => {
    const chunks = ["cache\nmiss\nseries\n1,2", "cache\nmiss\nseries\n3"].map(decodeReply);
    expect(seriesOf(chunks)).toEqual([1, 2, 3]);
    expect(seriesOf([decodeReply("cache\nmiss\natr\n1")])).toBeUndefined();
  });

  it("refuses what is not a reply text: a list (the 2.0 shape), a lone field, a missing or non-numeric value", () => {
    expect(() => decodeReply(["cache", "miss"])).toThrow(ReplyFormatError);
    expect(() => decodeReply("cache\nmiss\natr")).toThrow(ReplyFormatError);
    expect(() => decodeReply(null)).toThrow(ReplyFormatError);
    const fields = decodeReply("cache\nmiss\natr\n\nnatr\nnan");
    expect(() => numberField(fields, "atr")).toThrow(ReplyFormatError);
    expect(() => numberField(fields, "natr")).toThrow(ReplyFormatError);
    expect(() => numberField(fields, "bars")).toThrow(/lacks field bars/);
    expect(() => numberListField(decodeReply("k\n1,,2"), "k")).toThrow(ReplyFormatError);
  });
});
