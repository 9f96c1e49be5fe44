/**
 * A pattern detector on the streaming state. The streaming indicators (ATR and session VWAP with
 * sigma bands) live in Redis, so a detector keeps none: each bar's update answers with the
 * values after it, and when the close stretches beyond VWAP -/+ k sigma, records a `sigma_stretch` pattern
 * toward VWAP in `patterns:sigma_stretch:{SYMBOL}` (DB 10, a sorted set by time, TTL 57,600 s
 * on every write: docs/REDIS_KEY_STANDARDS.md). The risk manager (risk-manager.ts) takes them.
 *
 *   npx tsx examples/pattern-detector.ts      # REDIS_URL, or a throwaway redis-server
 *
 * In your project, import from "math-dispatcher" instead of "../src/index.js".
 */
import { fileURLToPath } from "node:url";
import { buildKey, DEFAULT_TTL_SECONDS, type IndicatorSnapshot, MathDispatcher, ResilientRedis } from "../src/index.js";
import { exampleRedis, type SampleBar, sampleSession } from "./shared.js";

/** A detected pattern, as the detector stores it (JSON, the sorted set's member). */
export interface DetectedPattern {
  /** Unique and valid as an `alerts:meta:{id}` id: symbol, pattern and time. */
  id: string;
  pattern: "sigma_stretch";
  symbol: string;
  side: "long" | "short";
  /** The bar's close, on the 0.05 grid. */
  entry: number;
  time: number;
  /** The detector's own confidence, before volume and news (dispatch adjusts it). */
  baseConfidence: number;
  atr: number;
  vwap: number;
  sigma: number;
}

/**
 * The pattern a close makes against a snapshot, or undefined: beyond the k-sigma band, with an
 * ATR to size the stop by. Its confidence grows with the stretch, capped below 1.
 */
export function sigmaStretch(symbol: string, bar: SampleBar, snapshot: IndicatorSnapshot, k = 1): DetectedPattern | undefined {
  if (snapshot.atr === undefined || snapshot.vwap === undefined || snapshot.vwap.sigma === 0) return undefined;
  const { vwap, sigma } = snapshot.vwap;
  const stretch = (bar.close - vwap) / sigma;
  if (Math.abs(stretch) < k) return undefined;
  return {
    id: `${symbol}.sigma_stretch.${bar.ts}`,
    pattern: "sigma_stretch",
    symbol,
    side: stretch < 0 ? "long" : "short", // back toward VWAP
    entry: bar.close,
    time: bar.ts,
    baseConfidence: Math.min(0.5 + 0.1 * (Math.abs(stretch) - k), 0.8),
    atr: snapshot.atr,
    vwap,
    sigma,
  };
}

/**
 * Feeds the bars to the streaming state one at a time (standing in for `mathd consume`) and
 * stores the patterns each update's own values show (the state right after that bar: a snapshot
 * read later could already hold later bars). A bar the state had already applied (`duplicate`:
 * a run again over the same session) was judged when it was applied, and is skipped: its reply
 * holds the latest state, not that bar's. Only a fresh stretch counts: a close that stays
 * beyond the band bar after bar is one pattern, not many.
 */
export async function runDetector(client: ResilientRedis, symbol: string, bars: readonly SampleBar[]): Promise<DetectedPattern[]> {
  const math = MathDispatcher.withClient(client);
  const live = math.streaming({ atrPeriod: 14, bands: [1, 2] });
  const found: DetectedPattern[] = [];
  let stretched = false;
  for (const bar of bars) {
    const after = await live.update({ symbol, ts: bar.ts, seq: bar.seq, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume });
    if (after.atrStatus === "duplicate") continue;
    const pattern = sigmaStretch(symbol, bar, after);
    if (pattern && !stretched) {
      const key = buildKey("patterns", { pattern: pattern.pattern, symbol });
      await client.run("patterns", (redis) => redis.multi().zadd(key, pattern.time, JSON.stringify(pattern)).expire(key, DEFAULT_TTL_SECONDS).exec());
      found.push(pattern);
    }
    stretched = pattern !== undefined;
  }
  await math.close();
  return found;
}

async function main(): Promise<void> {
  const redis = await exampleRedis();
  const client = new ResilientRedis({ config: { url: redis.url } });
  try {
    const { symbol, updates } = sampleSession();
    const patterns = await runDetector(client, symbol, updates);
    for (const p of patterns) {
      const clock = new Date(p.time + 19_800_000).toISOString().slice(11, 16);
      console.log(`${clock} IST ${p.symbol} ${p.pattern} ${p.side.padEnd(5)} entry ${p.entry}  VWAP ${p.vwap.toFixed(2)}  sigma ${p.sigma.toFixed(2)}  ATR ${p.atr.toFixed(2)}  confidence ${p.baseConfidence.toFixed(2)}`);
    }
    console.log(`${patterns.length} patterns in patterns:sigma_stretch:${symbol} (DB 10)`);
  } finally {
    await client.close();
    await redis.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
