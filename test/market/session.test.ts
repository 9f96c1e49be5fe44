import { join } from "node:path";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { buildScript } from "../../src/build/luaBuild.js";
import { istTime } from "../../src/market/istClock.js";
import { sessionOf } from "../../src/market/session.js";
import { sharedRedisUrl } from "../support/redis.js";

const redis = new Redis(sharedRedisUrl());
afterAll(() => redis.disconnect());

// Runs lua/includes/session.lua itself: the Lua and TypeScript rules must agree on every instant.
const LUA = join(import.meta.dirname, "../../lua");
const probe = buildScript(join(LUA, "session_probe.lua"), LUA, (path) =>
  path.endsWith("session_probe.lua")
    ? ["-- @name session_probe", "-- @version 0.0.0", '-- @include "session"', "local day, open = session_of(tonumber(ARGV[1]))", "return { day, open and 1 or 0 }"]
    : readFileSync(path, "utf8").split("\n"),
);

async function luaSessionOf(ts: number) {
  const [session, open] = (await redis.eval(probe.source, 0, String(ts))) as [number, number];
  return { session, open: open === 1 };
}

describe("the session rule", () => {
  it("09:14:59.999 IST is pre-open, 09:15 IST opens, both on the IST date", () => {
    const open = Date.UTC(2026, 10, 25, 3, 45);
    expect(sessionOf(open - 1)).toEqual({ session: sessionOf(open).session, open: false });
    expect(sessionOf(open).open).toBe(true);
    expect(istTime(open)).toEqual({ hour: 9, minute: 15 });
    // 23:59 IST and 00:01 IST the next day are different sessions (UTC 18:29 and 18:31)
    expect(sessionOf(Date.UTC(2026, 10, 25, 18, 31)).session).toBe(sessionOf(open).session + 1);
    expect(sessionOf(Date.UTC(2026, 10, 25, 18, 29)).session).toBe(sessionOf(open).session);
  });

  it("Lua and TypeScript agree on random instants", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 4_102_444_800_000 }), async (ts) => {
        expect(await luaSessionOf(ts)).toEqual(sessionOf(ts));
      }),
      { numRuns: 300 },
    );
  });
});
