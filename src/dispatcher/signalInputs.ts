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
import { ConnectionError, StoredDataError } from "../core/errors.js";
import { connectionFailureOf } from "../redis/config.js";
import { classifyError } from "../redis/ResilientRedis.js";
import { MAX_NEWS_ITEMS } from "./limits.js";
import { newsItemSchema, type NewsItemInput } from "./newsBoost.js";

/** What one signal needs read. */
export interface SignalInputRequest {
  symbol: string;
  /** Epoch ms of the signal; picks the baseline minute, and no stored news may be later. */
  time: number;
  /** How far a news item's time may lie after `time` (clocks differ). */
  clockSkewMs: number;
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

function parseNews(key: string, text: string, request: SignalInputRequest): NewsItemInput[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StoredDataError(key, "is not JSON");
  }
  const parsed = storedNewsSchema.safeParse(json);
  const items = parsed.success ? parsed.data : undefined;
  const checked = items?.map((item) => newsItemSchema.safeParse(item));
  const bad = checked ? checked.findIndex((c) => !c.success) : 0;
  if (!items || bad >= 0) {
    // what is wrong with it, where there is an item to say it of (a published_at in seconds, say)
    const issue = checked?.[bad]?.error?.issues[0];
    const field = issue?.path.map((name) => (name === "publishedAt" ? "published_at" : String(name))).join(".");
    const why = issue ? `: ${field} ${issue.message}` : "";
    throw new StoredDataError(key, `item ${bad} is not { sentiment in [-1, 1], relevance in [0, 1], published_at epoch ms }${why}`);
  }
  if (items.length > MAX_NEWS_ITEMS) throw new StoredDataError(key, `holds ${items.length} items, at most ${MAX_NEWS_ITEMS} are allowed`);
  const future = items.findIndex((item) => item.publishedAt > request.time + request.clockSkewMs);
  if (future >= 0) throw new StoredDataError(key, `item ${future} is published after the signal's time`);
  return items;
}

function parseBaseline(key: string, text: string | null): number | undefined {
  if (text === null) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new StoredDataError(key, `field average is not a volume: ${text}`);
  return value > 0 ? value : undefined; // a zero baseline gives no ratio
}

/** One reply per command: its text, or the error Redis answered for that key. */
export type KeyReply = string | null | Error;

/**
 * Runs single-key read commands (`["get", key]`, `["hget", key, field]`) and answers one reply per
 * command, in order; throws when the connection failed (so a policy may retry).
 */
export type KeyReader = (commands: [string, ...string[]][]) => Promise<KeyReply[]>;

/** A {@link KeyReader} on one server's connection: one pipeline. */
export function pipelineReader(redis: Redis): KeyReader {
  return async (commands) => {
    if (commands.length === 0) return [];
    const results = (await redis.pipeline(commands).exec()) ?? [];
    return results.map(([error, value]) => {
      if (error && classifyError(error) !== "final") throw error; // the connection: the policy retries
      return error ?? (value as string | null);
    });
  };
}

/**
 * A stored value or the typed reason it cannot be used: a read the ACL refuses (NOPERM) is the
 * client's permission, a ConnectionError of failure `denied` naming the server `address`, as the
 * client's policy types any other command the ACL refuses; any other error (a WRONGTYPE, for one)
 * is the stored data's shape.
 */
function storedText(key: string, reply: KeyReply | undefined, address: string): string | null {
  if (reply instanceof Error) {
    if (connectionFailureOf(reply) === "denied") throw new ConnectionError(address, "denied", `reading ${key}: ${reply.message}`, { cause: reply });
    throw new StoredDataError(key, `cannot be read: ${reply.message}`);
  }
  return reply ?? null;
}

/**
 * Reads news (DB 11) and baselines (DB 5) for many signals in one round trip (on a cluster, one
 * pipeline per master in parallel). A signal whose stored data is malformed gets a
 * StoredDataError in its place, and one whose key the ACL refuses a `denied` ConnectionError
 * naming `address`; the others are unaffected.
 */
export async function readSignalInputs(
  newsDb: KeyReader,
  volumeDb: KeyReader,
  requests: readonly SignalInputRequest[],
  keyOptions: KeyOptions,
  address: string,
): Promise<(StoredSignalInputs | StoredDataError | ConnectionError)[]> {
  const newsKeys = requests.map((r) => (r.news ? newsLatestKey(r.symbol, keyOptions) : undefined));
  const baselineKeys = requests.map((r) => {
    if (!r.baseline) return undefined;
    const { hour, minute } = istTime(r.time);
    return volumeBaselineKey(r.symbol, hour, minute, keyOptions);
  });
  const wanted = (keys: (string | undefined)[]) => keys.filter((k): k is string => k !== undefined);
  const [newsTexts, baselineTexts] = await Promise.all([
    newsDb(wanted(newsKeys).map((k) => ["get", k])),
    volumeDb(wanted(baselineKeys).map((k) => ["hget", k, "average"])),
  ]);
  let nextNews = 0;
  let nextBaseline = 0;
  return requests.map((_, i) => {
    const found: StoredSignalInputs = {};
    const newsKey = newsKeys[i];
    const newsReply = newsKey ? newsTexts[nextNews++] : undefined;
    const baselineKey = baselineKeys[i];
    const baselineReply = baselineKey ? baselineTexts[nextBaseline++] : undefined;
    try {
      if (newsKey) {
        const newsText = storedText(newsKey, newsReply, address);
        found.news = newsText ? parseNews(newsKey, newsText, requests[i] as SignalInputRequest) : [];
      }
      const baseline = baselineKey ? parseBaseline(baselineKey, storedText(baselineKey, baselineReply, address)) : undefined;
      if (baseline !== undefined) found.baselineVolume = baseline;
      return found;
    } catch (error) {
      if (error instanceof StoredDataError || error instanceof ConnectionError) return error;
      throw error;
    }
  });
}
