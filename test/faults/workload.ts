/**
 * A deterministic mixed workload for the fault tests: call `i` always has the same inputs, so its
 * result on a healthy server is the expected value of the same call made under faults.
 */
import type { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";

export type CallKind = "atr" | "vwap" | "stopLoss" | "dispatch" | "batch";
export const CALL_KINDS: readonly CallKind[] = ["atr", "vwap", "stopLoss", "dispatch", "batch"];

/** `distinct` different inputs per kind; call i uses input i % distinct. */
export function mixedCall(i: number, distinct = 200): { kind: CallKind; run: (math: MathDispatcher) => Promise<unknown> } {
  const kind = CALL_KINDS[i % CALL_KINDS.length] as CallKind;
  const v = Math.floor(i / CALL_KINDS.length) % distinct;
  const symbol = `F${v % 20}`;
  const bars = Array.from({ length: 30 }, (_, j) => {
    const low = 24000 + ((j * 7 + v) % 40) * 0.05;
    return { high: low + 1 + (j % 5) * 0.5, low, close: low + 0.5 };
  });
  const ticks = Array.from({ length: 50 }, (_, j) => ({ price: 24000 + ((j * 13 + v) % 60) * 0.05, volume: 1 + ((j + v) % 9) * 25 }));
  const entry = 24000 + v * 0.05;
  switch (kind) {
    case "atr":
      return { kind, run: (math) => math.atr({ symbol, period: 14, bars }) };
    case "vwap":
      // every other input with store: false, so the faults meet the read-only variants too
      return { kind, run: (math) => math.vwap({ symbol, ticks, bands: [1, 2] }, v % 2 ? { store: false } : {}) };
    case "stopLoss":
      return { kind, run: (math) => math.stopLoss({ symbol, side: v % 2 ? "long" : "short", entry, atr: 20 + v / 10, rewardRatio: 2 }) };
    case "dispatch":
      return {
        kind,
        run: (math) =>
          math.dispatch({
            symbol,
            side: "long",
            entry,
            time: 1_764_000_000_000,
            baseConfidence: 0.6,
            atrBars: { period: 14, bars },
            volumeRatio: 1 + v / 100,
            news: [{ sentiment: 0.5, relevance: 0.8, publishedAt: 1_764_000_000_000 - 60_000 }],
            account: { capital: 2_000_000, risk: 0.01, lotSize: 75 },
          }),
      };
    case "batch":
      return {
        kind,
        run: async (math) =>
          (
            await math.batch([
              { fn: "atr", input: { symbol, period: 14, bars } },
              { fn: "stopLoss", input: { symbol, side: "long", entry, atr: 25 } },
            ])
          ).map((o) => {
            if (!o.ok) throw o.error; // a failed entry is a failed call
            return o.value;
          }),
      };
  }
}

/** A result without the fields that legitimately differ between runs (cache status). */
export function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "cache" ? undefined : v)));
}
