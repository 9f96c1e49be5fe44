/**
 * Reads what a signal leaves out from the stack's databases: recent news from DB 11 and the
 * volume baseline of the signal's IST minute from DB 5. Both databases are asked at once (one
 * pipeline each, in parallel), so a batch of signals costs one round trip of latency.
 */
import type { Redis } from "ioredis";
import { z } from "zod";
import { newsLatestKey, volumeBaselineKey } from "../keys/marketData.js";
import type { KeyOptions } from "../keys/symbol.js";
import { istTime } from "../market/istClock.js";
import { StoredDataError } from "../core/errors.js";
import { newsItemSchema, type NewsItemInput } from "./newsBoost.js";

/** What one signal needs read. */
export interface SignalInputRequest {
  symbol: string;
  /** Epoch ms of the signal; picks the baseline minute. */
  time: number;
  news: boolean;
  baseline: boolean;
}

/** What was found; absent when not asked for or not stored. */
export interface StoredSignalInputs {
  news?: NewsItemInput[];
  baselineVolume?: number;
}

/** The stored shape of `news:latest:{SYMBOL}`: `[{ sentiment, relevance, published_at }, ...]`. */
const storedNewsSchema = z.array(
  z.object({ sentiment: z.number(), relevance: z.number(), published_at: z.number() }).transform((n) => ({
    sentiment: n.sentiment,
    relevance: n.relevance,
    publishedAt: n.published_at,
  })),
);

function parseNews(key: string, text: string): NewsItemInput[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StoredDataError(key, "is not JSON");
  }
  const parsed = storedNewsSchema.safeParse(json);
  const items = parsed.success ? parsed.data : undefined;
  const bad = items ? items.findIndex((item) => !newsItemSchema.safeParse(item).success) : 0;
  if (!items || bad >= 0) {
    throw new StoredDataError(key, `item ${bad} is not { sentiment in [-1, 1], relevance in [0, 1], published_at epoch ms }`);
  }
  return items;
}

function parseBaseline(key: string, text: string | null): number | undefined {
  if (text === null) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new StoredDataError(key, `field average is not a volume: ${text}`);
  return value > 0 ? value : undefined; // a zero baseline gives no ratio
}

async function pipelined(redis: Redis, commands: [string, ...string[]][]): Promise<(string | null)[]> {
  if (commands.length === 0) return [];
  const results = (await redis.pipeline(commands).exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value as string | null;
  });
}

/**
 * Reads news (DB 11) and baselines (DB 5) for many signals in one round trip. A signal whose
 * stored data is malformed gets a StoredDataError in its place; the others are unaffected.
 */
export async function readSignalInputs(
  newsDb: Redis,
  volumeDb: Redis,
  requests: readonly SignalInputRequest[],
  keyOptions: KeyOptions,
): Promise<(StoredSignalInputs | StoredDataError)[]> {
  const newsKeys = requests.map((r) => (r.news ? newsLatestKey(r.symbol, keyOptions) : undefined));
  const baselineKeys = requests.map((r) => {
    if (!r.baseline) return undefined;
    const { hour, minute } = istTime(r.time);
    return volumeBaselineKey(r.symbol, hour, minute, keyOptions);
  });
  const wanted = (keys: (string | undefined)[]) => keys.filter((k): k is string => k !== undefined);
  const [newsTexts, baselineTexts] = await Promise.all([
    pipelined(newsDb, wanted(newsKeys).map((k) => ["get", k])),
    pipelined(volumeDb, wanted(baselineKeys).map((k) => ["hget", k, "average"])),
  ]);
  let nextNews = 0;
  let nextBaseline = 0;
  return requests.map((_, i) => {
    const found: StoredSignalInputs = {};
    const newsKey = newsKeys[i];
    const newsText = newsKey ? newsTexts[nextNews++] : undefined;
    const baselineKey = baselineKeys[i];
    const baselineText = baselineKey ? (baselineTexts[nextBaseline++] ?? null) : null;
    try {
      if (newsKey) found.news = newsText ? parseNews(newsKey, newsText) : [];
      const baseline = baselineKey ? parseBaseline(baselineKey, baselineText) : undefined;
      if (baseline !== undefined) found.baselineVolume = baseline;
      return found;
    } catch (error) {
      if (error instanceof StoredDataError) return error;
      throw error;
    }
  });
}
