import Decimal from "decimal.js";
import { afterAll, describe, expect, it } from "vitest";
import { retrieveByDataType, storeByDataType } from "../../src/redis/dataStore.js";
import { JsonEncodingError, decodeJson, encodeJson } from "../../src/redis/jsonCodec.js";
import { ResilientRedis } from "../../src/redis/ResilientRedis.js";
import { UnknownDataTypeError } from "../../src/redis/databases.js";
import { thrown } from "../support/thrown.js";
import { sharedRedisUrl } from "../support/redis.js";

const client = new ResilientRedis({ config: { url: sharedRedisUrl() } });
afterAll(() => client.close());

describe("JSON codec", () => {
  it("keeps Decimal, bigint and Date exact", () => {
    const value = { price: new Decimal("24350.05000000000000000001"), qty: 2n ** 70n, at: new Date("2026-11-25T03:45:00.123Z"), list: [1, "a", null] };
    const back = decodeJson(encodeJson(value)) as typeof value;
    expect(back.price.equals(value.price)).toBe(true);
    expect(back.qty).toBe(value.qty);
    expect(back.at.getTime()).toBe(value.at.getTime());
    expect(back.list).toEqual([1, "a", null]);
  });

  it.each([
    [{ a: Number.NaN }, "$.a"],
    [{ a: [1, Number.POSITIVE_INFINITY] }, "$.a[1]"],
    [{ d: new Decimal(Number.NaN) }, "$.d"],
    [{ when: new Date("nope") }, "$.when"],
  ])("refuses %o at %s instead of writing null", (value, path) => {
    const error = thrown(() => encodeJson(value));
    expect(error).toBeInstanceOf(JsonEncodingError);
    expect((error as JsonEncodingError).path).toBe(path);
  });
});

describe("storeByDataType / retrieveByDataType", () => {
  it("writes under the data type's database with its TTL and reads it back exactly", async () => {
    const value = { symbol: "NIFTY", stop: new Decimal("24282.55"), lots: 3n };
    await storeByDataType(client, "pattern_alerts", "patterns:breakout:NIFTY", value);
    const patterns = client.connection("patterns");
    expect(patterns.options.db).toBe(10);
    const ttl = await patterns.ttl("patterns:breakout:NIFTY");
    expect(ttl).toBeGreaterThan(57_000);
    expect(ttl).toBeLessThanOrEqual(57_600);
    const back = (await retrieveByDataType(client, "pattern_alerts", "patterns:breakout:NIFTY")) as typeof value;
    expect(back.stop.toString()).toBe("24282.55");
    expect(back.lots).toBe(3n);
    expect(await retrieveByDataType(client, "news_latest", "news:latest:NOSUCH")).toBeUndefined();
  });

  it("refuses NaN before writing, and unknown data types", async () => {
    await expect(storeByDataType(client, "pattern_alerts", "patterns:nan:NIFTY", { x: Number.NaN })).rejects.toThrow(JsonEncodingError);
    expect(await client.connection("patterns").exists("patterns:nan:NIFTY")).toBe(0);
    await expect(storeByDataType(client, "pattern_alert", "k", 1)).rejects.toThrow(UnknownDataTypeError);
  });
});
