/**
 * The inputs every benchmark uses: a realistic intraday call of each function (ATR(14) over 30
 * five-minute bars, VWAP over a 375-minute session, a BANKNIFTY signal).
 */
import type { BatchCall } from "../src/dispatcher/MathDispatcher.js";
import type { Signal } from "../src/dispatcher/dispatch.js";
import type { StreamUpdateInput } from "../src/dispatcher/streaming.js";

const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST

function walk(count: number) {
  let seed = 42;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  let ticks = 1_040_000; // 52,000.00 in 0.05 ticks
  return Array.from({ length: count }, () => {
    const open = ticks;
    ticks += Math.round((random() - 0.5) * 1500);
    const high = Math.max(open, ticks) + Math.round(random() * 600);
    const low = Math.min(open, ticks) - Math.round(random() * 600);
    const price = (t: number) => (t * 500) / 10_000;
    return { high: price(high), low: price(low), close: price(ticks), volume: 20_000 + Math.round(random() * 80_000) };
  });
}

export const BARS_30 = walk(30);
export const SESSION_375 = walk(375);
export const BARS_5000 = walk(5000);
export const NOW = OPEN + 30 * 60_000;

/** Each single function's call, for a given symbol (vary it to defeat the result cache). */
export function functionCalls(symbol: string): BatchCall[] {
  return [
    { fn: "atr", input: { symbol, period: 14, bars: BARS_30 } },
    { fn: "vwap", input: { symbol, ticks: SESSION_375.map((b) => ({ price: b.close, volume: b.volume })) } },
    { fn: "stopLoss", input: { symbol, side: "long", entry: 51980.05, atr: 53.14, rewardRatio: 2 } },
    { fn: "positionSize", input: { symbol, capital: 2_000_000, risk: 0.01, entry: 51980.05, stop: 51900.05, lotSize: 35, confidence: 0.7 } },
    {
      fn: "newsBoost",
      input: {
        symbol,
        side: "long",
        now: NOW,
        items: [0.6, -0.2, 0.9, 0.1, 0.4].map((sentiment, i) => ({ sentiment, relevance: 0.8, publishedAt: NOW - i * 900_000 })),
      },
    },
    { fn: "confidence", input: { symbol, base: 0.62, volumeRatio: 1.8, boost: 0.05 } },
  ];
}

/**
 * The dispatch signal: ATR given, news given empty and the volume ratio given, so it reads nothing
 * first and carries no binary argument (which redis-benchmark could not send).
 */
export function signal(symbol: string): Signal {
  return {
    symbol,
    side: "long",
    entry: 51980.05,
    time: NOW,
    baseConfidence: 0.62,
    atr: 53.14,
    volumeRatio: 1.8,
    news: [],
    stop: { rewardRatio: 2 },
    account: { capital: 2_000_000, risk: 0.01, lotSize: 35, maxExposure: 4 },
  };
}

/** `count` five-minute bars of the same walk (the first 30 are BARS_30). */
export function barsOf(count: number) {
  return walk(count);
}

/** `count` ticks: the closes and volumes of {@link barsOf}. */
export function ticksOf(count: number) {
  return walk(count).map((b) => ({ price: b.close, volume: b.volume }));
}

/** `count` news items, one every 90 s back from NOW. */
export function newsItems(count: number) {
  return Array.from({ length: count }, (_, i) => ({ sentiment: ((i * 37) % 21) / 10 - 1, relevance: 0.8, publishedAt: NOW - i * 90_000 }));
}

/**
 * `perSymbol` streaming updates of each of `symbols` symbols, interleaved (symbol i % symbols),
 * ticks or one-minute bars, with sequence numbers (and timestamps) from `first`.
 */
export function liveUpdates(kind: "tick" | "bar", symbols: number, perSymbol: number, first: number): StreamUpdateInput[] {
  return Array.from({ length: symbols * perSymbol }, (_, i) => {
    const s = first + i;
    const symbol = `LIVE${kind.toUpperCase()}${symbols}X${i % symbols}`;
    return kind === "tick"
      ? { symbol, ts: NOW + s, seq: s, price: 100 + (s % 7) * 0.05, volume: 10 }
      : { symbol, ts: NOW + s, seq: s, high: 101, low: 99, close: 100 + (s % 7) * 0.05, volume: 10 };
  });
}
