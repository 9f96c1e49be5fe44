import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { CommandTimeoutError, InvalidInputError, UpdateHeldBackError } from "../../src/core/errors.js";
import { MAX_STREAM_UPDATES_PER_CALL, MAX_VOLUME } from "../../src/dispatcher/limits.js";
import { StreamingReference } from "../../src/indicators/streaming.js";
import type { Dec } from "../../src/indicators/decimal.js";
import { indicatorKey } from "../../src/keys/indicator.js";
import type { StreamUpdateInput } from "../../src/dispatcher/streaming.js";
import type { ResultMeta } from "../../src/dispatcher/scriptFunction.js";
import type { VwapResult } from "../../src/dispatcher/vwap.js";
import { unitsToText } from "../../src/core/units.js";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { barSeries, type GeneratedBar } from "../support/arbitraries.js";
import { expectClose, vwapOrigin, westAllowance } from "../support/compare.js";
import { expectRejectedBeforeRedis, sharedDispatcher } from "../support/dispatcher.js";
import { commandCalls, ownRedis, sharedRedisUrl } from "../support/redis.js";
import { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";

const dispatcher = sharedDispatcher();
const streaming = dispatcher.streaming({ atrPeriod: 5, rsiPeriod: 4 });
const redis = new Redis(sharedRedisUrl(), { db: 10 });
afterAll(async () => {
  await dispatcher.close();
  redis.disconnect();
});

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
const MINUTE = 60_000;
let symbolCounter = 0;
/** A fresh symbol per property run, so runs never share state. */
const freshSymbol = (prefix: string) => `${prefix}${symbolCounter++}`;

function barUpdates(symbol: string, bars: GeneratedBar[], start = OPEN): StreamUpdateInput[] {
  return bars.map((b, i) => ({ symbol, ts: start + i * MINUTE, seq: i, volume: b.volume, high: b.high, low: b.low, close: b.close }));
}

/** RSI's tolerance against the reference (docs/FORMULAS.md, "RSI"): 1e-12 relative plus 1e-12 absolute. */
const expectRsi = (actual: number, expected: Dec, what: string) => expectClose(actual, expected, what, 1e-12, 1e-12);

describe("streaming ATR, RSI and VWAP", () => {
  it("after every bar equal the batch scripts to the last digit, and the decimal.js reference", async () => {
    await fc.assert(
      fc.asyncProperty(barSeries(1, 40), fc.integer({ min: 2, max: 8 }), async (bars, rsiPeriod) => {
        const symbol = freshSymbol("STREAM");
        const live = dispatcher.streaming({ atrPeriod: 5, rsiPeriod });
        const outcomes = await live.updateMany(barUpdates(symbol, bars));
        const reference = new StreamingReference(5, rsiPeriod);
        const batchAtr = await dispatcher.batch(
          bars.map((_, k) => ({ fn: "atr" as const, input: { symbol, period: 5, bars: bars.slice(0, k + 1) } })),
        );
        const batchRsi = await dispatcher.batch(
          bars.map((_, k) => ({ fn: "rsi" as const, input: { symbol, period: rsiPeriod, closes: bars.slice(0, k + 1).map((b) => b.close) } })),
        );
        const batchVwap = await dispatcher.batch(
          bars.map((_, k) => ({ fn: "vwap" as const, input: { symbol, bars: bars.slice(0, k + 1) } })),
        );
        outcomes.forEach((outcome, k) => {
          if (!outcome.ok) throw outcome.error;
          const r = outcome.value;
          expect(r.atrStatus).toBe("applied");
          expect(r.rsiStatus).toBe("applied");
          reference.update({ ...bars[k]!, ts: OPEN + k * MINUTE, seq: k });
          const rsi = batchRsi[k]!;
          if (k + 1 >= rsiPeriod + 1) {
            if (!rsi.ok) throw rsi.error;
            expect(r.rsi).toBe((rsi.value as { rsi: number }).rsi); // bit for bit: the same rsi_run step
            expectRsi(r.rsi!, reference.rsi!, `rsi(${rsiPeriod}) after bar ${k}`);
          } else {
            expect(r.rsi).toBeUndefined();
            expect(reference.rsi).toBeUndefined();
          }
          const batch = batchAtr[k]!;
          if (k + 1 >= 6) {
            expect(batch.ok && (batch.value as { atr: number }).atr).toBe(r.atr); // bit for bit
            expectClose(r.atr!, reference.atr!, `atr after bar ${k}`);
          } else {
            expect(r.atr).toBeUndefined();
          }
          const vwap = batchVwap[k]!;
          if (vwap.ok) {
            const { cache: _c, scriptVersion: _v, ...batchValues } = vwap.value as VwapResult & ResultMeta;
            expect(r.vwap).toEqual(batchValues); // bit for bit: vwap, sigma, bands
            expectClose(r.vwap!.vwap, reference.vwap!.vwap, `vwap after bar ${k}`);
            const points = bars.slice(0, k + 1).map((b) => ({ price: (b.high + b.low + b.close) / 3, volume: b.volume }));
            const allowed = westAllowance(k + 1, r.vwap!.vwap, vwapOrigin(points));
            expectClose(r.vwap!.sigma, reference.vwap!.sigma, `sigma after bar ${k}`, undefined, allowed);
          } else {
            expect(r.vwap).toBeUndefined(); // no volume yet in the session
          }
        });
        const last = outcomes[outcomes.length - 1]!;
        const snapshot = await live.snapshot(symbol);
        expect(last.ok && last.value.rsi).toBe(snapshot.rsi ?? undefined);
      }),
      { numRuns: 40 },
    );
  });

  it("RSI over a long series of bars equals the batch script's to the last digit (many Wilder steps)", async () => {
    const bars = fc.sample(barSeries(300, 300), { numRuns: 1, seed: 11 })[0]!;
    const symbol = freshSymbol("LONGRSI");
    const live = dispatcher.streaming({ atrPeriod: 14, rsiPeriod: 14 });
    const outcomes = await live.updateMany(barUpdates(symbol, bars));
    const reference = new StreamingReference(14, 14);
    const closes = bars.map((b) => b.close);
    const batch = await dispatcher.rsi({ symbol, period: 14, closes, series: true });
    outcomes.forEach((outcome, k) => {
      if (!outcome.ok) throw outcome.error;
      reference.update({ ...bars[k]!, ts: OPEN + k * MINUTE, seq: k });
      if (k >= 14) {
        expect(outcome.value.rsi).toBe(batch.series![k - 14]); // bit for bit
        expectRsi(outcome.value.rsi!, reference.rsi!, `rsi after bar ${k}`);
      } else {
        expect(outcome.value.rsi).toBeUndefined();
      }
    });
    expect((await live.snapshot(symbol)).rsi).toBe(batch.rsi);
  });

  it("after every tick equal the batch script over the ticks so far to the last digit, and the reference", async () => {
    // market-like ticks (docs/FORMULAS.md's tolerance assumes prices of one session near each
    // other) with 0 to 4 decimals, so the fast path parses every form; zero volumes among them
    const tick = fc.record({
      offset: fc.integer({ min: -500_000, max: 500_000 }),
      whole: fc.boolean(),
      volume: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000 })),
    });
    const series = fc.tuple(fc.integer({ min: 100, max: 50_000 }), fc.array(tick, { minLength: 1, maxLength: 30 }));
    await fc.assert(
      fc.asyncProperty(series, async ([level, raw]) => {
        const ticks = raw.map((t) => {
          const units = level * 10_000 + t.offset;
          return { units: t.whole ? Math.round(units / 10_000) * 10_000 : units, volume: t.volume };
        });
        const symbol = freshSymbol("TICKS");
        const updates = ticks.map((t, i) => ({ symbol, ts: OPEN + i * 1000, seq: i, price: unitsToText(t.units), volume: t.volume }));
        const outcomes = await streaming.updateMany(updates);
        const batch = await dispatcher.batch(
          ticks.map((_, k) => ({ fn: "vwap" as const, input: { symbol, ticks: updates.slice(0, k + 1).map((u) => ({ price: u.price, volume: u.volume })) } })),
        );
        const reference = new StreamingReference(5);
        outcomes.forEach((outcome, k) => {
          if (!outcome.ok) throw outcome.error;
          const r = outcome.value;
          expect([r.atrStatus, r.vwapStatus, r.rsiStatus, r.atrBars, r.atr, r.rsi]).toEqual(["skipped", "applied", "skipped", 0, undefined, undefined]);
          reference.update({ ...updates[k]!, price: updates[k]!.price });
          const b = batch[k]!;
          if (b.ok) {
            const { cache: _c, scriptVersion: _v, ...batchValues } = b.value as VwapResult & ResultMeta;
            expect(r.vwap).toEqual(batchValues); // bit for bit: vwap, sigma, volume, points, bands
            expectClose(r.vwap!.vwap, reference.vwap!.vwap, `vwap after tick ${k}`);
            const allowed = westAllowance(k + 1, r.vwap!.vwap, vwapOrigin(ticks.slice(0, k + 1).map((t) => ({ price: t.units / 10_000, volume: t.volume }))));
            expectClose(r.vwap!.sigma, reference.vwap!.sigma, `sigma after tick ${k}`, undefined, allowed);
          } else {
            expect(r.vwap).toBeUndefined(); // no volume yet in the session
          }
        });
      }),
      { numRuns: 40 },
    );
  });

  it("answers a tick the same on its fast path and on the general path (a raw call with bands)", async () => {
    const update = SCRIPTS.find((s) => s.name === "stream_update")!;
    const fast = freshSymbol("FAST");
    const general = freshSymbol("GENERAL");
    const keys = (symbol: string) => [indicatorKey("atr5", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol)];
    // seeded ATR and RSI first (bars take the general path), so the fast path reports both
    const bars = [["101", "99", "100"], ["103", "100", "102"], ["104", "98", "99"], ["102", "99", "101.5"], ["103", "100", "100.25"], ["104", "101", "103"]];
    for (const [i, [high, low, close]] of bars.entries()) {
      for (const symbol of [fast, general]) {
        await redis.evalsha(update.sha1, 3, ...keys(symbol), "5", "4", String(OPEN - 100 + i), String(i), "", "1", high!, low!, close!, "");
      }
    }
    const rsiBefore = await redis.getBuffer(indicatorKey("rsi4", fast));
    const ticks = [["100.05", "10"], ["101", "0"], ["99.1234", "7"], ["100.1", "3"], ["100.123", "5"]];
    for (const [i, [price, volume]] of ticks.entries()) {
      const args = (bands: string) => ["5", "4", String(OPEN + i), String(i), price!, volume!, "", "", "", bands];
      const a = (await redis.evalsha(update.sha1, 3, ...keys(fast), ...args(""))) as unknown[];
      const b = (await redis.evalsha(update.sha1, 3, ...keys(general), ...args("1,2"))) as unknown[];
      expect(a).toHaveLength(11);
      expect(a.slice(0, 3)).toEqual(["skipped", "applied", "skipped"]);
      expect(a[3]).not.toBe(""); // atr, seeded
      expect(a[5]).not.toBe(""); // rsi, seeded
      expect(b.slice(0, 11)).toEqual(a);
      expect(b.slice(11)).toHaveLength(3); // band_k, band_lower, band_upper
    }
    expect(await redis.getBuffer(indicatorKey("vwap", fast))).toEqual(await redis.getBuffer(indicatorKey("vwap", general)));
    expect(await redis.getBuffer(indicatorKey("rsi4", fast))).toEqual(rsiBefore); // ticks leave RSI as it is
  });

  it("answers a bar the same on its fast path and on the general path, and stores the same states", async () => {
    await dispatcher.load(); // raw calls below
    const update = SCRIPTS.find((s) => s.name === "stream_update")!;
    const fast = freshSymbol("FASTBAR");
    const general = freshSymbol("GENERALBAR");
    const keys = (symbol: string) => [indicatorKey("atr5", symbol, { hashTag: true }), indicatorKey("vwap", symbol, { hashTag: true }), indicatorKey("rsi4", symbol, { hashTag: true })];
    // which keys a step gave a fresh TTL (each key's TTL is cut to 100 s after every step)
    const fresh = (symbol: string) => Promise.all(keys(symbol).map(async (key) => (await redis.pttl(key)) > 57_000_000));
    const day = 86_400_000;
    // prices with 0 to 4 decimals; ATR and RSI seed (bar 6, close 5) and smooth; a repeat, an older
    // bar, a pre-open bar of the next day (ATR and RSI take it, VWAP does not) and the next session
    const bars: [ts: number, seq: number, high: string, low: string, close: string, volume: string][] = [
      [OPEN, 0, "101", "99", "100", "10"],
      [OPEN + MINUTE, 1, "103.5", "100.25", "102", "0"],
      [OPEN + 2 * MINUTE, 2, "104.125", "98", "99.0001", "7"],
      [OPEN + 3 * MINUTE, 3, "102", "99", "101.5", "3"],
      [OPEN + 4 * MINUTE, 4, "103", "100", "100.25", "5"],
      [OPEN + 5 * MINUTE, 5, "104", "101", "103", "9"],
      [OPEN + 5 * MINUTE, 5, "110", "90", "100", "9"], // the same (ts, seq): a duplicate everywhere
      [OPEN + 6 * MINUTE, 6, "105.05", "102.1", "104.95", "12"],
      [OPEN + 3 * MINUTE, 9, "200", "100", "150", "1"], // older: a duplicate everywhere
      [OPEN + 7 * MINUTE, 7, "104", "103", "103", "4"],
      [OPEN + day - 10 * MINUTE, 8, "106", "104", "105", "2"], // 09:05 the next day: pre-open for VWAP
      [OPEN + day, 9, "107", "105", "106.5", "6"], // 09:15 the next day: a new session
      [OPEN + day + MINUTE, 10, "108", "106", "107", "6"],
    ];
    for (const [ts, seq, high, low, close, volume] of bars) {
      const args = (bands: string) => ["5", "4", String(ts), String(seq), "", volume, high, low, close, bands];
      const a = (await redis.evalsha(update.sha1, 3, ...keys(fast), ...args(""))) as unknown[];
      const b = (await redis.evalsha(update.sha1, 3, ...keys(general), ...args("1,2"))) as unknown[];
      expect(b.slice(0, 11), `bar ${seq} at ${ts}`).toEqual(a);
      expect(b.slice(11)).toHaveLength(a.length === 11 ? 3 : 0); // the bands, once the session has volume
      for (const [k, key] of keys(fast).entries()) expect(await redis.getBuffer(key), `${key} after bar ${seq}`).toEqual(await redis.getBuffer(keys(general)[k]!));
      expect(await fresh(fast), `TTLs after bar ${seq}`).toEqual(await fresh(general));
      for (const key of [...keys(fast), ...keys(general)]) await redis.pexpire(key, 100_000);
    }
    const last = (await redis.evalsha(update.sha1, 3, ...keys(fast), "5", "4", String(OPEN + day + 2 * MINUTE), "11", "", "1", "109", "107", "108", "")) as unknown[];
    expect(last.slice(0, 3)).toEqual(["applied", "applied", "applied"]);
    expect(last[3]).not.toBe(""); // atr, seeded
    expect(last[5]).not.toBe(""); // rsi, seeded
    expect(await fresh(fast)).toEqual([true, false, true]); // ATR and RSI refreshed, VWAP's kept within its session
  });

  it("answers a tick and a bar over a state written by hand the same on every path, writing nothing when it refuses", async () => {
    // states of the right length holding values no update writes, as a raw writer could leave them
    const atrState = (atr: number, bars = 6) => [5, bars, 1_000_000, 0, atr, OPEN - 100, 1];
    const rsiState = (gain: number, loss: number, closes = 5) => [4, closes, 1_000_000, 0, 0, gain, loss, OPEN - 100, 1];
    const session = Math.floor((OPEN + 19_800_000) / 86_400_000);
    const vwapState = (origin: number, weight: number, sum: number, lastTs = OPEN - 100, lastSeq = 0) => [session, 3, origin, weight, sum, sum, 0, 0, lastTs, lastSeq];
    // [label, ATR, RSI, VWAP or none, the field every path refuses (MATHD_INVALID <field>:) or none]
    const cases: [string, number[], number[], number[] | undefined, string | undefined][] = [
      ["atr NaN", atrState(NaN), rsiState(1, 1), undefined, "atr_state.atr"],
      ["atr inf", atrState(Infinity), rsiState(1, 1), undefined, "atr_state.atr"],
      ["atr -0", atrState(-0), rsiState(1, 1), undefined, undefined],
      ["atr bars NaN", atrState(12_345, NaN), rsiState(1, 1), undefined, "atr_state.bars"],
      ["rsi NaN", atrState(10_000), rsiState(NaN, 1), undefined, "rsi_state.avg_gain"],
      ["rsi inf", atrState(10_000), rsiState(Infinity, 1), undefined, "rsi_state.avg_gain"],
      ["rsi -0", atrState(10_000), rsiState(-0, 5), undefined, undefined],
      ["rsi closes NaN", atrState(10_000), rsiState(1, 2, NaN), undefined, "rsi_state.closes"],
      ["vwap weight NaN", atrState(10_000), rsiState(1, 1), vwapState(3_000_000, NaN, 0), "vwap_state.weight"],
      ["vwap weight -5", atrState(10_000), rsiState(1, 1), vwapState(3_000_000, -5, 0), "vwap_state.weight"],
      ["vwap origin -0", atrState(10_000), rsiState(1, 1), vwapState(-0, 10, -0), "vwap_state.origin"],
      ["vwap sum -0", atrState(10_000), rsiState(1, 1), vwapState(3_000_000, 10, -0), undefined],
      ["vwap last ts NaN", atrState(10_000), rsiState(1, 1), vwapState(3_000_000, 10, 0, NaN), "vwap_state.last_ts"],
      ["vwap last seq NaN", atrState(10_000), rsiState(1, 1), vwapState(3_000_000, 10, 0, OPEN, NaN), "vwap_state.last_seq"],
    ];
    // every field of every state, one at a time: NaN, infinite, negative, past its range and (for
    // a whole number) a fraction, each refused naming the field (sum_comp's through sum, the VWAP
    // it gives); the field's values a state may hold (a sum of -1) are left out
    const fields: Record<"atr" | "rsi" | "vwap", [name: string, bad: number[], reportedAs?: string][]> = {
      atr: [
        ["period", [NaN, Infinity, -1, 501, 2.5]],
        ["bars", [NaN, Infinity, -1, 0, 1e16, 6.5]],
        ["prev_close", [NaN, Infinity, -1, 0, 1e12 + 1, 2.5]],
        ["tr_sum", [NaN, Infinity, -1, 5e12 + 1, 2.5]],
        ["atr", [NaN, Infinity, -1, 1e12 + 1]],
        ["last_ts", [NaN, Infinity, -1, 1e9, 1e13 + 1, OPEN + 0.5]],
        ["last_seq", [NaN, Infinity, -1, 1e16, 2.5]],
      ],
      rsi: [
        ["period", [NaN, Infinity, -1, 501, 2.5]],
        ["closes", [NaN, Infinity, -1, 0, 1e16, 5.5]],
        ["prev", [NaN, Infinity, -1, 0, 1e12 + 1, 2.5]],
        ["gain_sum", [NaN, Infinity, -1, 4e12 + 1, 2.5]],
        ["loss_sum", [NaN, Infinity, -1, 4e12 + 1, 2.5]],
        ["avg_gain", [NaN, Infinity, -1, 1e12 + 1]],
        ["avg_loss", [NaN, Infinity, -1, 1e12 + 1]],
        ["last_ts", [NaN, Infinity, -1, 1e9, 1e13 + 1, OPEN + 0.5]],
        ["last_seq", [NaN, Infinity, -1, 1e16, 2.5]],
      ],
      vwap: [
        ["session", [NaN, Infinity, -1, 0, 200_000, session + 0.5]],
        ["points", [NaN, Infinity, -1, 0, 1e16, 2.5]],
        ["origin", [NaN, Infinity, -1, 0, 3e12 + 1, 2.5]],
        ["weight", [NaN, Infinity, -1, 3e10 + 1, 2.5]],
        ["sum", [NaN, Infinity, -1e20, 1e20]],
        ["sum_comp", [NaN, Infinity, -1e20, 1e20], "sum"],
        ["mean", [NaN, Infinity, -1e13, 1e13]],
        ["m2", [NaN, Infinity, -1, 1e300]],
        ["last_ts", [NaN, Infinity, -1, 1e9, 1e13 + 1, OPEN + 0.5]],
        ["last_seq", [NaN, Infinity, -1, 1e16, 2.5]],
      ],
    };
    const good = { atr: atrState(10_000), rsi: rsiState(1, 1), vwap: [session, 3, 3_000_000, 10, 30, 0, 3, 100, OPEN - 100, 0] };
    for (const [kind, list] of Object.entries(fields) as [keyof typeof good, (typeof fields)["atr"]][]) {
      for (const [index, [name, values, reportedAs]] of list.entries()) {
        for (const value of values) {
          const states = { ...good, [kind]: good[kind].map((x, i) => (i === index ? value : x)) };
          cases.push([`${kind}.${name} ${value}`, states.atr, states.rsi, states.vwap, `${kind}_state.${reportedAs ?? name}`]);
        }
      }
    }
    const pack = (values: number[]) => Buffer.concat(values.map((x) => Buffer.from(new Float64Array([x]).buffer)));
    const update = SCRIPTS.find((s) => s.name === "stream_update")!;
    const many = SCRIPTS.find((s) => s.name === "stream_update_many")!;
    const snapshot = SCRIPTS.find((s) => s.name === "stream_snapshot")!;
    for (const script of [update, many, snapshot]) await redis.script("LOAD", script.source);
    // a tick, and a bar; volume 0 so that a stored VWAP of -0 stays -0
    const points = [
      { kind: "tick", args: ["100", "0", "", "", ""], row: [OPEN, 1, 0, 1_000_000, 0, 0, 0] },
      { kind: "bar", args: ["", "0", "101", "99", "100"], row: [OPEN, 1, 0, 0, 1_010_000, 990_000, 1_000_000] },
    ];
    // Redis appends where the script raised the error: each path raises it in another place
    const message = (error: Error) => error.message.replace(/ script: .*$/, "");
    for (const [label, atr, rsi, vwap, refused] of cases) {
      for (const point of points) {
        const what = `${label}, a ${point.kind}`;
        const answers = [];
        for (const path of ["fast", "general", "many", "snapshot"]) {
          const symbol = freshSymbol("HAND");
          const keys = [indicatorKey("atr5", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol)];
          const states = [pack(atr), vwap ? pack(vwap) : undefined, pack(rsi)];
          for (const [i, state] of states.entries()) if (state) await redis.set(keys[i]!, state, "PX", 100_000);
          const call =
            path === "many"
              ? redis.evalsha(many.sha1, 3, ...keys, "5", "4", pack(point.row))
              : path === "snapshot"
                ? redis.evalsha(snapshot.sha1, 3, ...keys, "5", "4", "1")
                : redis.evalsha(update.sha1, 3, ...keys, "5", "4", String(OPEN), "1", ...point.args, path === "fast" ? "" : "1");
          // stream_update_many gives every update 11 places, '' after a session without volume
          const answer = (reply: unknown) => (path === "snapshot" ? reply : (reply as unknown[]).slice(0, (reply as unknown[])[7] === "" ? 8 : 11));
          const outcome = await call.then(answer, message);
          if (path === "snapshot") {
            if (refused) expect(outcome, `${what}, snapshot`).toBe(answers[0]);
            else expect(outcome, `${what}, snapshot`).not.toMatch(/^MATHD_/);
          } else {
            answers.push(outcome);
          }
          if (refused) {
            // nothing written: the very bytes, and the TTL they were given (a write sets 57,600 s or keeps it)
            for (const [i, key] of keys.entries()) {
              expect(await redis.getBuffer(key), `${what}, ${path}: ${key}`).toEqual(states[i] ?? null);
              const ttl = await redis.pttl(key);
              if (states[i]) expect(ttl > 90_000 && ttl <= 100_000, `${what}, ${path}: TTL of ${key} (${ttl})`).toBe(true);
              else expect(ttl).toBe(-2);
            }
          }
        }
        expect(answers[0], what).toEqual(answers[1]);
        expect(answers[2], what).toEqual(answers[1]);
        if (refused) expect(answers[0], what).toMatch(new RegExp(`^MATHD_INVALID ${refused.replace(/\./g, "\\.")}: `));
        else expect(answers[0], what).not.toContain("-0");
      }
    }
  });

  it("ignores an update at or before the last applied one and reports it as a duplicate", async () => {
    const symbol = freshSymbol("DUP");
    const tick = { symbol, ts: OPEN + MINUTE, seq: 7, price: 100, volume: 10 };
    const first = await streaming.update(tick);
    const again = await streaming.update(tick);
    const older = await streaming.update({ ...tick, seq: 6, price: 200 });
    expect([first.vwapStatus, again.vwapStatus, older.vwapStatus]).toEqual(["applied", "duplicate", "duplicate"]);
    expect(again.vwap).toEqual(first.vwap);
    expect(older.vwap).toEqual(first.vwap);
    expect(first.atrStatus).toBe("skipped"); // a tick is not a bar
    expect(first.rsiStatus).toBe("skipped");
  });

  it("applies a bar's close to RSI once: repeats and older bars are duplicates, ticks never move it", async () => {
    const symbol = freshSymbol("RSIDUP");
    const bars = fc.sample(barSeries(12, 12), { numRuns: 1, seed: 3 })[0]!;
    const updates = barUpdates(symbol, bars);
    const reference = new StreamingReference(5, 4);
    const rsiKey = indicatorKey("rsi4", symbol);
    for (const [k, u] of updates.entries()) {
      const first = await streaming.update(u);
      const again = await streaming.update(u); // a retry of a lost reply
      const older = k > 0 ? await streaming.update({ ...updates[k - 1]!, close: updates[k - 1]!.high }) : undefined; // an older bar, other values
      expect(first.rsiStatus).toBe("applied");
      expect(reference.update({ ...u }).rsiStatus).toBe("applied");
      expect(reference.update({ ...u }).rsiStatus).toBe("duplicate");
      expect([again.rsiStatus, again.rsi]).toEqual(["duplicate", first.rsi]);
      if (older) expect([older.rsiStatus, older.rsi]).toEqual(["duplicate", first.rsi]);
      // a tick after the bar: VWAP takes it, RSI (and its stored state) stays as it was
      const before = await redis.getBuffer(rsiKey);
      const tick = await streaming.update({ symbol, ts: u.ts, seq: u.seq + 1000, price: 100, volume: 1 });
      expect([tick.rsiStatus, tick.vwapStatus, tick.rsi]).toEqual(["skipped", "applied", first.rsi]);
      expect(await redis.getBuffer(rsiKey)).toEqual(before);
      if (k >= 4) expectRsi(first.rsi!, reference.rsi!, `rsi after bar ${k}`);
      else expect(first.rsi).toBeUndefined();
    }
    const batch = await dispatcher.rsi({ symbol, period: 4, closes: bars.map((b) => b.close) });
    expect((await streaming.snapshot(symbol)).rsi).toBe(batch.rsi); // counted once each, bit for bit
  });

  it("keeps RSI's own (ts, seq): a bar older than the last tick still advances ATR and RSI", async () => {
    const symbol = freshSymbol("RSIORDER");
    const tick = await streaming.update({ symbol, ts: OPEN + 10 * MINUTE, seq: 1, price: 100, volume: 5 });
    expect(tick.vwapStatus).toBe("applied");
    const bar = await streaming.update({ symbol, ts: OPEN + MINUTE, seq: 1, high: 101, low: 99, close: 100, volume: 5 });
    expect([bar.atrStatus, bar.rsiStatus, bar.vwapStatus]).toEqual(["applied", "applied", "duplicate"]);
  });

  it("resets VWAP at the first tick of a new IST session and ignores pre-open ticks", async () => {
    const symbol = freshSymbol("SESSION");
    await streaming.update({ symbol, ts: OPEN + MINUTE, seq: 1, price: 100, volume: 10 });
    const day1 = await streaming.update({ symbol, ts: OPEN + 2 * MINUTE, seq: 2, price: 110, volume: 10 });
    expect(day1.vwap!.vwap).toBe(105);
    const preopen = await streaming.update({ symbol, ts: OPEN + 86_400_000 - 10 * MINUTE, seq: 3, price: 500, volume: 10 }); // 09:05 next day
    expect(preopen.vwapStatus).toBe("preopen");
    expect(preopen.vwap!.vwap).toBe(105); // still the previous session's
    const day2 = await streaming.update({ symbol, ts: OPEN + 86_400_000, seq: 4, price: 120, volume: 5 }); // 09:15 next day
    expect(day2.vwapStatus).toBe("applied");
    expect(day2.session).toBe(day1.session! + 1);
    expect(day2.vwap).toMatchObject({ vwap: 120, volume: 5, points: 1 });
  });

  it("keeps its state in indicator:{name}:{SYMBOL} strings of packed doubles with TTL 57,600 s, one hash tag per symbol", async () => {
    const tagged = dispatcher.streaming({ atrPeriod: 14, rsiPeriod: 14, hashTag: true });
    const symbol = freshSymbol("LAYOUT");
    await tagged.update({ symbol, ts: OPEN, seq: 1, high: 101, low: 99, close: 100, volume: 1 });
    const atrKey = indicatorKey("atr14", symbol, { hashTag: true });
    const vwapKey = indicatorKey("vwap", symbol, { hashTag: true });
    const rsiKey = indicatorKey("rsi14", symbol, { hashTag: true });
    expect(rsiKey).toBe(`indicator:rsi14:{${symbol}}`);
    for (const key of [atrKey, vwapKey, rsiKey]) {
      expect(key).toContain(`{${symbol}}`);
      expect(await redis.type(key)).toBe("string");
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(57_000);
      expect(ttl).toBeLessThanOrEqual(57_600);
    }
    const doubles = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => b.readDoubleLE(8 * i));
    // period, bars, prev_close, tr_sum, atr (0 until seeded), last_ts, last_seq
    expect(doubles((await redis.getBuffer(atrKey))!)).toEqual([14, 1, 1_000_000, 0, 0, OPEN, 1]);
    // session, points, origin, weight, sum, sum_comp, mean, m2, last_ts, last_seq
    expect(doubles((await redis.getBuffer(vwapKey))!)).toEqual([Math.floor((OPEN + 19_800_000) / 86_400_000), 1, 3_000_000, 1, 0, 0, 0, 0, OPEN, 1]);
    // period, closes, prev_close, gain_sum, loss_sum, avg_gain, avg_loss (0 until seeded), last_ts, last_seq
    expect(doubles((await redis.getBuffer(rsiKey))!)).toEqual([14, 1, 1_000_000, 0, 0, 0, 0, OPEN, 1]);
    await tagged.update({ symbol, ts: OPEN + 1, seq: 2, high: 102, low: 99, close: 101.5, volume: 1 });
    expect(doubles((await redis.getBuffer(rsiKey))!)).toEqual([14, 2, 1_015_000, 15_000, 0, 0, 0, OPEN + 1, 2]);
  });

  it("sets the VWAP TTL at a session's first tick and keeps it within the session; every bar refreshes the ATR's and RSI's", async () => {
    const symbol = freshSymbol("TTL");
    const atrKey = indicatorKey("atr5", symbol);
    const vwapKey = indicatorKey("vwap", symbol);
    const rsiKey = indicatorKey("rsi4", symbol);
    await streaming.update({ symbol, ts: OPEN, seq: 1, high: 101, low: 99, close: 100, volume: 1 });
    await redis.expire(vwapKey, 1000);
    await redis.expire(atrKey, 1000);
    await redis.expire(rsiKey, 1000);
    await streaming.update({ symbol, ts: OPEN + 1, seq: 2, price: 100, volume: 1 }); // tick: same session
    expect(await redis.ttl(vwapKey)).toBeLessThanOrEqual(1000);
    expect(await redis.ttl(rsiKey)).toBeLessThanOrEqual(1000); // a tick does not touch RSI
    await streaming.update({ symbol, ts: OPEN + 2, seq: 3, high: 101, low: 99, close: 100, volume: 1 }); // bar: same session
    expect(await redis.ttl(vwapKey)).toBeLessThanOrEqual(1000);
    expect(await redis.ttl(atrKey)).toBeGreaterThan(57_000);
    expect(await redis.ttl(rsiKey)).toBeGreaterThan(57_000);
    await streaming.update({ symbol, ts: OPEN + 86_400_000, seq: 4, price: 100, volume: 1 }); // the next session
    expect(await redis.ttl(vwapKey)).toBeGreaterThan(57_000);
  });

  it("starts afresh over state of another form (a hash of 1.1.0) and refuses a string that is no state", async () => {
    const symbol = freshSymbol("OLD");
    await redis.hset(indicatorKey("vwap", symbol), "points", "3", "weight", "30");
    await redis.hset(indicatorKey("atr5", symbol), "bars", "3");
    const r = await streaming.update({ symbol, ts: OPEN, seq: 1, high: 101, low: 99, close: 100, volume: 2 });
    expect([r.atrBars, r.vwap?.points, r.vwap?.volume]).toEqual([1, 1, 2]);
    expect(await redis.type(indicatorKey("vwap", symbol))).toBe("string");
    await redis.set(indicatorKey("vwap", symbol), "not a state");
    await expect(streaming.update({ symbol, ts: OPEN + 1, seq: 2, price: 100, volume: 1 })).rejects.toThrow(/vwap_state: holds 11 bytes/);
    await expect(streaming.snapshot(symbol)).rejects.toThrow(/vwap_state: holds 11 bytes/);
    const other = freshSymbol("OLDRSI");
    await redis.set(indicatorKey("rsi4", other), "not a state");
    await expect(streaming.update({ symbol: other, ts: OPEN, seq: 1, price: 100, volume: 1 })).rejects.toThrow(/rsi_state: holds 11 bytes/);
    await expect(streaming.snapshot(other)).rejects.toThrow(/rsi_state: holds 11 bytes/);
    // a state of another period at the key (written by hand): refused, naming rsi_period
    const state = Buffer.alloc(72);
    [3, 1, 1_000_000, 0, 0, 0, 0, OPEN, 1].forEach((x, i) => state.writeDoubleLE(x, 8 * i));
    await redis.set(indicatorKey("rsi4", other), state);
    await expect(streaming.update({ symbol: other, ts: OPEN + 1, seq: 2, high: 101, low: 99, close: 100, volume: 1 })).rejects.toThrow(/rsi_period: the state at this key has period 3/);
    expect(await redis.getBuffer(indicatorKey("rsi4", other))).toEqual(state);
    expect(await redis.exists(indicatorKey("atr5", other), indicatorKey("vwap", other))).toBe(0); // nothing written
  });

  it("refuses a key of another type at a state key on every path, leaving it and the other keys as they were", async () => {
    const update = SCRIPTS.find((s) => s.name === "stream_update")!;
    const many = SCRIPTS.find((s) => s.name === "stream_update_many")!;
    const snapshot = SCRIPTS.find((s) => s.name === "stream_snapshot")!;
    for (const script of [update, many, snapshot]) await redis.script("LOAD", script.source);
    const pack = (values: number[]) => Buffer.concat(values.map((x) => Buffer.from(new Float64Array([x]).buffer)));
    const session = Math.floor((OPEN + 19_800_000) / 86_400_000);
    // good states beside the odd key, so that only the type can be what is refused
    const good = [pack([5, 6, 1_000_000, 0, 10_000, OPEN - 100, 1]), pack([session, 3, 3_000_000, 10, 30, 0, 3, 100, OPEN - 100, 0]), pack([4, 5, 1_000_000, 0, 0, 1, 1, OPEN - 100, 1])];
    const kinds: [string, (key: string) => Promise<unknown>][] = [
      ["list", (key) => redis.rpush(key, "a", "b")],
      ["set", (key) => redis.sadd(key, "a")],
      ["zset", (key) => redis.zadd(key, 1, "a")],
      ["stream", (key) => redis.xadd(key, "*", "tick", "1")],
    ];
    const calls: [string, (keys: string[]) => Promise<unknown>][] = [
      ["a tick (fast path)", (keys) => redis.evalsha(update.sha1, 3, ...keys, "5", "4", String(OPEN), "1", "100", "1", "", "", "", "")],
      ["a bar (fast path)", (keys) => redis.evalsha(update.sha1, 3, ...keys, "5", "4", String(OPEN), "1", "", "1", "101", "99", "100", "")],
      ["a bar (general path)", (keys) => redis.evalsha(update.sha1, 3, ...keys, "5", "4", String(OPEN), "1", "", "1", "101", "99", "100", "1")],
      ["stream_update_many", (keys) => redis.evalsha(many.sha1, 3, ...keys, "5", "4", pack([OPEN, 1, 1, 0, 1_010_000, 990_000, 1_000_000]))],
      ["stream_snapshot", (keys) => redis.evalsha(snapshot.sha1, 3, ...keys, "5", "4", "1")],
    ];
    for (const [slot, name] of ["atr_state", "vwap_state", "rsi_state"].entries()) {
      for (const [kind, write] of kinds) {
        for (const withOthers of [true, false]) {
          for (const [label, call] of calls) {
            const what = `${kind} at ${name}${withOthers ? "" : " alone"}, ${label}`;
            const symbol = freshSymbol("TYPE");
            const keys = [indicatorKey("atr5", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol)];
            await write(keys[slot]!);
            if (withOthers) for (const [i, key] of keys.entries()) if (i !== slot) await redis.set(key, good[i]!, "PX", 100_000);
            const before = await Promise.all(keys.map((key) => redis.dumpBuffer(key)));
            const ttls = await Promise.all(keys.map((key) => redis.pttl(key)));
            await expect(call(keys), what).rejects.toThrow(new RegExp(`^MATHD_INVALID ${name}: holds a value of another type \\(${kind}\\)`));
            expect(await Promise.all(keys.map((key) => redis.dumpBuffer(key))), what).toEqual(before);
            for (const [i, key] of keys.entries()) {
              const ttl = await redis.pttl(key);
              expect(ttl <= ttls[i]! && (ttls[i]! < 0 ? ttl === ttls[i] : ttl > ttls[i]! - 10_000), `${what}: TTL of ${key}`).toBe(true);
            }
          }
        }
      }
    }
    // the hash of versions before 1.2.0 still reads as no state (docs/STREAMING.md), on the fast path's form too
    const symbol = freshSymbol("TYPEHASH");
    const keys = [indicatorKey("atr5", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol)];
    await redis.hset(keys[2]!, "closes", "3");
    expect(await redis.evalsha(snapshot.sha1, 3, ...keys, "5", "4", "1")).toBe("atr\n\natr_bars\n0\nrsi\n\nsession\n\nvwap\n");
    const reply = (await calls[1]![1](keys)) as unknown[];
    expect(reply.slice(0, 3)).toEqual(["applied", "applied", "applied"]);
    expect(await Promise.all(keys.map((key) => redis.type(key)))).toEqual(["string", "string", "string"]);
  });

  it("refuses an update that would take a session's volume past the state's limit, on every path, writing nothing", async () => {
    const update = SCRIPTS.find((s) => s.name === "stream_update")!;
    const many = SCRIPTS.find((s) => s.name === "stream_update_many")!;
    for (const script of [update, many]) await redis.script("LOAD", script.source);
    const pack = (values: number[]) => Buffer.concat(values.map((x) => Buffer.from(new Float64Array([x]).buffer)));
    const session = Math.floor((OPEN + 19_800_000) / 86_400_000);
    const LIMIT = 9e15; // MAX_STREAM_COUNT (lua/includes/vwap_state.lua); a stored weight past it is refused
    // a session at price 100 whose volume is 5e9 short of the limit: 900,000 points of 1e10 at most each
    const nearLimit = pack([session, 900_000, 3_000_000, LIMIT - 5e9, 0, 0, 0, 0, OPEN - 100, 0]);
    const tick = (volume: number) => ({
      fast: (keys: string[]) => redis.evalsha(update.sha1, 3, ...keys, "5", "4", String(OPEN), "1", "100", String(volume), "", "", "", ""),
      general: (keys: string[]) => redis.evalsha(update.sha1, 3, ...keys, "5", "4", String(OPEN), "1", "100", String(volume), "", "", "", "1"),
      many: (keys: string[]) => redis.evalsha(many.sha1, 3, ...keys, "5", "4", pack([OPEN, 1, volume, 1_000_000, 0, 0, 0])),
    });
    for (const [path, field] of [["fast", "volume"], ["general", "volume"], ["many", "updates\\[0\\]\\.volume"]] as const) {
      const keysOf = () => {
        const symbol = freshSymbol("CAP");
        return [indicatorKey("atr5", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol)];
      };
      const refusedKeys = keysOf();
      await redis.set(refusedKeys[1]!, nearLimit, "PX", 100_000);
      await expect(tick(5e9 + 1)[path](refusedKeys), path).rejects.toThrow(new RegExp(`^MATHD_INVALID ${field}: would take the session's volume past 9000000000000000`));
      expect(await redis.getBuffer(refusedKeys[1]!), `${path}: the state as it was`).toEqual(nearLimit);
      expect(await redis.exists(refusedKeys[0]!, refusedKeys[2]!), `${path}: nothing else written`).toBe(0);
      // up to the limit itself the update is applied, and the next update can read the state
      const fullKeys = keysOf();
      await redis.set(fullKeys[1]!, nearLimit, "PX", 100_000);
      const reply = (await tick(5e9)[path](fullKeys)) as unknown[];
      expect(reply.slice(1, 2).concat(reply.slice(9, 11)), path).toEqual(["applied", LIMIT, 900_001]);
    }
    // through the SDK: a typed error naming the field, as for any refused input
    const symbol = freshSymbol("CAPSDK");
    await redis.set(indicatorKey("vwap", symbol), nearLimit, "PX", 100_000);
    const refused = await streaming.update({ symbol, ts: OPEN, seq: 1, price: 100, volume: 1e10 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect(refused).toMatchObject({ field: "volume" });
  });

  it("shows in a snapshot every update made before it, those still in flight too", async () => {
    const symbol = freshSymbol("READ");
    const updates = Array.from({ length: 50 }, (_, i) => streaming.update({ symbol, ts: OPEN + i, seq: i, price: 100 + i * 0.05, volume: 1 }));
    const [one] = await streaming.snapshots([symbol]); // made before any of the updates settled
    expect(one?.ok && one.value.vwap?.points).toBe(50);
    await Promise.all(updates);
  });

  it("sends lone updates of a symbol made while its earlier call is in flight as one call a group, not one call each", async () => {
    const server = await ownRedis(); // counts the server's script calls
    const math = MathDispatcher.connect(server.url);
    const counter = new Redis(server.url);
    try {
      const live = math.streaming({ atrPeriod: 5, rsiPeriod: 4 });
      await math.load();
      await counter.config("RESETSTAT");
      const ticks = Array.from({ length: 100 }, (_, i) => ({ symbol: "FIRED", ts: OPEN + i, seq: i, price: 100 + (i % 9) * 0.05, volume: 1 + (i % 4) }));
      const results = await Promise.all(ticks.map((t) => live.update(t))); // none awaited before the next is made
      expect(results.map((r) => r.vwap?.points)).toEqual(ticks.map((_, i) => i + 1));
      // the first alone, the 99 made behind it in groups of at most MAX_STREAM_UPDATES_PER_CALL
      expect(await commandCalls(counter, "evalsha")).toBe(1 + Math.ceil(99 / MAX_STREAM_UPDATES_PER_CALL));
      // awaited one by one, each goes alone
      await counter.config("RESETSTAT");
      for (const t of ticks.slice(0, 5)) await live.update({ ...t, symbol: "AWAITED" });
      expect(await commandCalls(counter, "evalsha")).toBe(5);
      // an update whose budget is spent before it goes fails and leaves its symbol as it was: two
      // made at once then go as usual, one alone and one behind it (left "in flight" for ever, the
      // symbol sent both as one group)
      const spent = await live.update({ ...(ticks[0] as StreamUpdateInput), symbol: "SPENT" }, { deadlineMs: 1e-6 }).catch((e: unknown) => e);
      expect(spent).toBeInstanceOf(CommandTimeoutError);
      await counter.config("RESETSTAT");
      await Promise.all(ticks.slice(1, 3).map((t) => live.update({ ...t, symbol: "SPENT" })));
      expect(await commandCalls(counter, "evalsha")).toBe(2);
    } finally {
      counter.disconnect();
      await math.close();
      await server.stop();
    }
  });

  it("keeps a lone update made after an updateMany of its symbol behind it, out of the group made before it", async () => {
    const symbol = freshSymbol("ORDER");
    const tick = (i: number) => ({ symbol, ts: OPEN + i, seq: i, price: 100 + i * 0.05, volume: 1 });
    const first = streaming.update(tick(0)); // in flight while the rest are made
    const grouped = streaming.update(tick(1)); // opens a group behind it
    const many = streaming.updateMany([tick(2), tick(3)]);
    const after = streaming.update(tick(4)); // made after the updateMany: must not go with tick 1
    const statuses = [(await first).vwapStatus, (await grouped).vwapStatus, ...(await many).map((o) => o.ok && o.value.vwapStatus), (await after).vwapStatus];
    expect(statuses).toEqual(["applied", "applied", "applied", "applied", "applied"]);
  });

  it("refuses a ts in seconds before anything is sent, naming it: read as milliseconds it is January 1970", async () => {
    const symbol = freshSymbol("SECONDS");
    const error = await streaming.update({ symbol, ts: Math.floor(OPEN / 1000), seq: 0, price: 100, volume: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("ts");
    expect((error as InvalidInputError).message).toMatch(/\(a time in seconds\?\)$/);
    const [many] = await streaming.updateMany([{ symbol, ts: Math.floor(OPEN / 1000), seq: 0, price: 100, volume: 1 }]);
    expect(!many!.ok && many!.error instanceof InvalidInputError && many!.error.field).toBe("ts");
    expect(await redis.exists(indicatorKey("vwap", symbol))).toBe(0);
  });

  it("refuses a ts further ahead of the clock than clockSkewMs, so that one tick of IST taken as UTC cannot make the rest of the day duplicates", async () => {
    const symbol = freshSymbol("FUTURE");
    const now = Date.now();
    const ahead = { symbol, ts: now + 330 * MINUTE, seq: 0, price: 100, volume: 1 }; // IST wall time read as UTC
    const error = await streaming.update(ahead).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ field: "ts" });
    expect((error as Error).message).toMatch(/^ts: is 330\.0 min ahead of this machine's clock \(clockSkewMs 900000\)/);
    const [many] = await streaming.updateMany([ahead]);
    expect(!many!.ok && many!.error instanceof InvalidInputError && many!.error.field).toBe("ts");
    expect(await redis.exists(indicatorKey("vwap", symbol))).toBe(0);
    // the ticks after it are no duplicates (applied, or pre-open before 09:15 IST): a clock a few
    // minutes off still takes live ticks
    for (let i = 1; i <= 3; i++) expect((await streaming.update({ symbol, ts: now + i * MINUTE, seq: i, price: 100 + i, volume: 1 })).vwapStatus).not.toBe("duplicate");
    // a replay of data stamped ahead raises the bound; a bound that is no whole number of ms is refused
    const replay = dispatcher.streaming({ atrPeriod: 5, rsiPeriod: 4, clockSkewMs: 400 * MINUTE });
    expect((await replay.update({ ...ahead, symbol: freshSymbol("REPLAY") })).vwapStatus).not.toBe("duplicate");
    expect(() => dispatcher.streaming({ clockSkewMs: -1 })).toThrow(InvalidInputError);
  });

  it("reads a snapshot of one symbol and of many in one round trip", async () => {
    const a = freshSymbol("SNAPA");
    const b = freshSymbol("SNAPB");
    await streaming.update({ symbol: a, ts: OPEN, seq: 1, price: 50, volume: 2 });
    await streaming.update({ symbol: b, ts: OPEN, seq: 1, price: 70, volume: 3 });
    expect((await streaming.snapshot(a)).vwap!.vwap).toBe(50);
    const many = await streaming.snapshots([a, b, "NOSUCH", "bad symbol"]);
    expect(many.map((o) => o.ok && o.value.vwap?.vwap)).toEqual([50, 70, undefined, false]);
    expect(!many[3]!.ok && many[3]!.error).toBeInstanceOf(InvalidInputError);
  });

  it("answers every index of a sparse updates or symbols array: a hole gets an InvalidInputError naming it, in place", async () => {
    const symbol = freshSymbol("SPARSE");
    const updates: StreamUpdateInput[] = [];
    updates[1] = { symbol, ts: OPEN, seq: 1, price: 50, volume: 2 }; // updates[0] and updates[2] are holes
    updates.length = 3;
    const outcomes = await streaming.updateMany(updates);
    expect(Object.keys(outcomes)).toEqual(["0", "1", "2"]);
    expect(outcomes.map((o) => (o.ok ? "ok" : o.error instanceof InvalidInputError && o.error.field))).toEqual(["inputs[0]", "ok", "inputs[2]"]);
    const symbols: string[] = [];
    symbols[2] = symbol; // symbols[0] and symbols[1] are holes
    const snapshots = await streaming.snapshots(symbols);
    expect(Object.keys(snapshots)).toEqual(["0", "1", "2"]);
    expect(snapshots.map((o) => (o.ok ? o.value.vwap?.points : o.error instanceof InvalidInputError && o.error.field))).toEqual(["symbols[0]", "symbols[1]", 1]);
  });

  it("several clients updating the same symbols at once, with duplicates and retries, end where a serial run ends", async () => {
    const symbols = [freshSymbol("CONC"), freshSymbol("CONC"), freshSymbol("CONC")];
    const bars = fc.sample(barSeries(60, 60), { numRuns: 1, seed: 7 })[0]!;
    const feeds = symbols.map((s) => barUpdates(s, bars));
    const clients = Array.from({ length: 4 }, () => sharedDispatcher());
    // every client replays every symbol's feed in order, retrying some updates (a lost reply)
    await Promise.all(
      clients.map(async (client, c) => {
        const s = client.streaming({ atrPeriod: 5, rsiPeriod: 4 });
        for (let i = 0; i < 60; i++) {
          for (const feed of feeds) {
            await s.update(feed[i]!);
            if ((i + c) % 7 === 0) await s.update(feed[i]!); // retry: must not count twice
          }
        }
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    const serialSymbol = freshSymbol("SERIAL");
    for (const u of barUpdates(serialSymbol, bars)) await streaming.update(u);
    const serial = await streaming.snapshot(serialSymbol);
    for (const symbol of symbols) expect(await streaming.snapshot(symbol)).toEqual(serial);
    expect(serial.atrBars).toBe(60);
    // every bar's close counted once: the batch script over the same closes, bit for bit
    expect(serial.rsi).toBe((await dispatcher.rsi({ symbol: serialSymbol, period: 4, closes: bars.map((b) => b.close) })).rsi);
  });
});

describe("updateMany: each symbol's updates in one atomic call", () => {
  const keysOf = (symbol: string) => [indicatorKey("atr5", symbol), indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol)];
  /** Each state's bytes, and whether it has a TTL (a session's first VWAP write sets it, later ones keep it). */
  const statesOf = (symbol: string) => Promise.all(keysOf(symbol).map(async (key) => [await redis.getBuffer(key), (await redis.ttl(key)) > 0]));

  /** All of `updates` at once as lone `update` calls, none awaited before the next is made: each symbol's wait as groups. */
  const fired = async (updates: StreamUpdateInput[]) =>
    (await Promise.allSettled(updates.map((u) => streaming.update(u)))).map((s) => (s.status === "fulfilled" ? { ok: true as const, value: s.value } : { ok: false as const, error: s.reason as Error }));

  /**
   * Sends `feed` (updates of the symbols `names[0..]`) with updateMany (or `send`) and one by one,
   * each awaited, on fresh symbols: both must agree.
   */
  async function expectSameAsOneByOne(feed: (Omit<StreamUpdateInput, "symbol"> & { of: number })[], names: number, send = (updates: StreamUpdateInput[]) => streaming.updateMany(updates)) {
    const many = Array.from({ length: names }, () => freshSymbol("MANY"));
    const single = Array.from({ length: names }, () => freshSymbol("ONE"));
    const outcomes = await send(feed.map(({ of, ...u }) => ({ ...u, symbol: many[of]! })));
    const expected: unknown[] = []; // each result, or its error's class
    for (const { of, ...u } of feed) expected.push(await streaming.update({ ...u, symbol: single[of]! }).catch((error: Error) => error.constructor));
    expect(outcomes.map((o) => (o.ok ? o.value : o.error.constructor))).toEqual(expected);
    for (let i = 0; i < names; i++) expect(await statesOf(many[i]!)).toEqual(await statesOf(single[i]!));
    return outcomes;
  }

  it("answers and stores as the same updates sent one by one: ticks, bars, repeats, pre-open ticks, a new session, bad inputs", async () => {
    const event = fc.record({
      of: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom("tick", "tick", "bar", "bar", "repeat", "preopen", "nextSession", "bad"),
      offset: fc.integer({ min: -2_000, max: 2_000 }), // price units around 100 rupees
      volume: fc.oneof(fc.constant(0), fc.constant(-0), fc.integer({ min: 1, max: 100_000 })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 60 }), async (events) => {
        const sent: (Omit<StreamUpdateInput, "symbol"> & { of: number })[][] = [[], [], []];
        const day = [0, 0, 0];
        const feed = events.map(({ of, kind, offset, volume }, i) => {
          const earlier = sent[of]!;
          if (kind === "repeat" && earlier.length > 0) return earlier[offset % 2 === 0 ? earlier.length - 1 : 0]!;
          if (kind === "nextSession") day[of]! += 1;
          const ts = (kind === "preopen" ? OPEN - 3_600_000 : OPEN) + day[of]! * 86_400_000 + i * 1000;
          const seq = i === 0 ? -0 : i; // -0 is accepted as 0: stored as 0 either way
          const price = (1_000_000 + offset) / 10_000;
          const update =
            kind === "bar"
              ? { of, ts, seq, volume, high: price + 1, low: price - 1, close: price }
              : { of, ts, seq, volume, price: kind === "bad" ? -price : price };
          earlier.push(update);
          return update;
        });
        await expectSameAsOneByOne(feed, 3);
        await expectSameAsOneByOne(feed, 3, fired); // lone updates made at once, which go in groups
      }),
      { numRuns: 40 },
    );
  });

  it("sends more updates of one symbol than a call takes in several calls, one after another, in order", async () => {
    const count = 2 * MAX_STREAM_UPDATES_PER_CALL + 7;
    const feed = Array.from({ length: count }, (_, i) =>
      i % 3 === 0 ? { of: 0, ts: OPEN + i, seq: i, volume: 10, high: 101 + (i % 5), low: 99, close: 100 + (i % 7) * 0.05 } : { of: 0, ts: OPEN + i, seq: i, volume: i % 11, price: 100 + (i % 13) * 0.05 },
    );
    const outcomes = await expectSameAsOneByOne(feed, 1);
    expect(outcomes.every((o) => o.ok && o.value.vwapStatus === "applied")).toBe(true);
    await expectSameAsOneByOne(feed, 1, fired);
  });

  it("carries the VWAP's compensated sum from each tick of a call to the next: prices far apart, volumes up to the limit", async () => {
    // weighted terms far beyond 2^53, so every addition rounds and the compensation is never 0
    const feed = Array.from({ length: MAX_STREAM_UPDATES_PER_CALL }, (_, i) => ({
      of: 0,
      ts: OPEN + i,
      seq: i,
      price: 10_000 + ((i * 7_919) % 180_000) + (i % 4) * 0.05,
      volume: MAX_VOLUME - i * 123_457_891,
    }));
    await expectSameAsOneByOne(feed, 1);
  });

  it("holds back a symbol's later calls once one fails, and applies nothing of them", async () => {
    const symbol = freshSymbol("HELD");
    await redis.set(indicatorKey("atr5", symbol), "not a state");
    const other = freshSymbol("FREE");
    const feed = Array.from({ length: 2 * MAX_STREAM_UPDATES_PER_CALL + 3 }, (_, i) => ({ symbol, ts: OPEN + i, seq: i, volume: 1, high: 101, low: 99, close: 100 }));
    const outcomes = await streaming.updateMany([...feed, { symbol: other, ts: OPEN, seq: 0, volume: 1, price: 100 }]);
    const first = outcomes.slice(0, MAX_STREAM_UPDATES_PER_CALL);
    const held = outcomes.slice(MAX_STREAM_UPDATES_PER_CALL, -1);
    expect(first.every((o) => !o.ok && o.error instanceof InvalidInputError && o.error.field === "atr_state")).toBe(true);
    expect(held).toHaveLength(MAX_STREAM_UPDATES_PER_CALL + 3); // the second call and the third
    for (const o of held) {
      expect(!o.ok && o.error).toBeInstanceOf(UpdateHeldBackError);
      expect(!o.ok && o.error.cause).toBe(!first[0]!.ok && first[0]!.error);
    }
    expect(outcomes.at(-1)?.ok).toBe(true); // another symbol goes on
    expect(await redis.exists(indicatorKey("vwap", symbol), indicatorKey("rsi4", symbol))).toBe(0);
  });
});

describe("streaming input validation", () => {
  const tick = { symbol: "NIFTY", ts: OPEN, seq: 1, price: 100, volume: 5 };
  const cases: [string, object, string][] = [
    ["NaN price", { price: Number.NaN }, "price"],
    ["negative price", { price: -1 }, "price"],
    ["negative volume", { volume: -1 }, "volume"],
    ["infinite volume", { volume: Number.POSITIVE_INFINITY }, "volume"],
    ["a timestamp in seconds with a fraction", { ts: 1_764_000_000.5 }, "ts"],
    ["a negative timestamp", { ts: -5 }, "ts"],
    ["a missing price", { price: undefined }, "price"],
    ["a missing sequence number", { seq: undefined }, "seq"],
    ["half a bar", { price: undefined, high: 101 }, "high"],
    ["a bar whose close lies outside it", { price: undefined, high: 101, low: 99, close: 102 }, "close"],
  ];
  it.each(cases)("rejects %s naming %s, before Redis", async (_, patch, field) => {
    await expectRejectedBeforeRedis((offline) => offline.streaming().update({ ...tick, ...patch } as never), field);
  });
  it.each([0, -5, "abc"])("rejects a deadlineMs of %s in updateMany as update() does, before anything is sent", async (deadlineMs) => {
    for (const inputs of [[tick], []]) {
      const error = await streaming.updateMany(inputs, { deadlineMs } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe("deadlineMs");
    }
  });
  it.each([1, 501, 2.5])("rejects rsiPeriod %s (bounds of stream_update's header: 2..500)", (rsiPeriod) => {
    const error = (() => {
      try {
        dispatcher.streaming({ rsiPeriod });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("rsiPeriod");
  });
});
