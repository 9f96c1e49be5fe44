/**
 * A risk manager: takes the pending patterns the detectors wrote (`patterns:{pattern}:{SYMBOL}`,
 * DB 10), turns each into a signal, decides them all with one `dispatchMany` (one read round
 * trip for news and volume baselines, one pipeline of `dispatch` script calls), and publishes each
 * decision as an alert for validation: an entry on the stream `alerts:pending:validation` and its
 * details in the hash `alerts:meta:{id}` (DB 6), TTL 57,600 s on every write
 * (docs/REDIS_KEY_STANDARDS.md). A pattern leaves its set once its alert is published.
 *
 *   npx tsx examples/risk-manager.ts      # runs the detector first, on REDIS_URL or a throwaway redis-server
 *
 * In your project, import from "math-dispatcher" instead of "../src/index.js".
 */
import { fileURLToPath } from "node:url";
import {
  type AccountSettings,
  buildKey,
  type Decision,
  DEFAULT_TTL_SECONDS,
  MathDispatcher,
  ResilientRedis,
  type ResultMeta,
  type Signal,
} from "../src/index.js";
import { type DetectedPattern, runDetector } from "./pattern-detector.js";
import { exampleRedis, sampleSession } from "./shared.js";

/** An alert as published: the stream entry's fields (the hash holds the same and more). */
export interface PublishedAlert {
  id: string;
  symbol: string;
  pattern: string;
  side: "long" | "short";
  entry: number;
  stop: number;
  target?: number;
  lots: number;
  quantity: number;
  confidence: number;
}

/** The desk's account settings: 20 lakh capital, 1 % at risk per trade, BANKNIFTY lots of 35. */
export const ACCOUNT: AccountSettings = { capital: 2_000_000, risk: 0.01, lotSize: 35, maxExposure: 4 };

/** The pending patterns of these families and symbols, oldest first. */
async function pendingPatterns(client: ResilientRedis, patterns: readonly string[], symbols: readonly string[]): Promise<DetectedPattern[]> {
  const keys = patterns.flatMap((pattern) => symbols.map((symbol) => buildKey("patterns", { pattern, symbol })));
  const members = await client.run("patterns", (redis) => Promise.all(keys.map((key) => redis.zrange(key, "0", "-1"))));
  return members.flat().map((m) => JSON.parse(m) as DetectedPattern).sort((a, b) => a.time - b.time);
}

function toSignal(p: DetectedPattern): Signal {
  return {
    symbol: p.symbol,
    side: p.side,
    entry: p.entry,
    time: p.time,
    baseConfidence: p.baseConfidence,
    atr: p.atr,
    // news left out: dispatch reads news:latest:{SYMBOL} (DB 11) itself
    stop: { tick: 0.05, rewardRatio: 2 },
    account: ACCOUNT,
  };
}

function toAlert(p: DetectedPattern, d: Decision & ResultMeta): PublishedAlert {
  return {
    id: p.id,
    symbol: p.symbol,
    pattern: p.pattern,
    side: p.side,
    entry: p.entry,
    stop: d.stop.stop,
    ...(d.stop.target === undefined ? {} : { target: d.stop.target }),
    lots: d.size.lots,
    quantity: d.size.quantity,
    confidence: d.confidence.confidence,
  };
}

/**
 * One pass: decide every pending pattern and publish the alerts. Publishing is one MULTI per
 * alert (stream entry, metadata, TTLs); an alert whose metadata exists already is not published
 * again, so a pass that crashed after publishing and before removing its patterns repeats
 * nothing. Patterns the dispatcher refuses are removed too, with the reason logged: retrying
 * the same input cannot succeed.
 */
export async function runRiskManager(
  client: ResilientRedis,
  patterns: readonly string[],
  symbols: readonly string[],
  log: (line: string) => void = console.log,
): Promise<PublishedAlert[]> {
  const math = MathDispatcher.withClient(client);
  const pending = await pendingPatterns(client, patterns, symbols);
  const outcomes = await math.dispatchMany(pending.map(toSignal));
  const published: PublishedAlert[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const pattern = pending[i]!;
    if (outcome.ok) {
      const alert = toAlert(pattern, outcome.value);
      const meta = buildKey("alert_metadata", { id: alert.id });
      const queue = buildKey("alert_validation_queue", {});
      const fresh = await client.run("alerts", async (redis) => {
        if (await redis.exists(meta)) return false;
        const fields = Object.entries(alert).flatMap(([k, v]) => [k, String(v)]);
        const decision = outcome.value;
        await redis
          .multi()
          .xadd(queue, "*", ...fields)
          .expire(queue, DEFAULT_TTL_SECONDS)
          .hset(meta, ...fields, "atr", String(decision.atr), "distance_ticks", String(decision.stop.distanceTicks),
            "money_at_risk", String(decision.size.moneyAtRisk), "bound_by", decision.size.boundBy,
            "news_boost", String(decision.news.boost), "news_source", decision.sources.news,
            "script_version", decision.scriptVersion, "decided_at", String(Date.now()))
          .expire(meta, DEFAULT_TTL_SECONDS)
          .exec();
        return true;
      });
      if (fresh) published.push(alert);
    } else {
      log(`${pattern.id}: refused: ${outcome.error.message}`);
    }
    const key = buildKey("patterns", { pattern: pattern.pattern, symbol: pattern.symbol });
    await client.run("patterns", (redis) => redis.zrem(key, JSON.stringify(pattern)));
  }
  await math.close();
  return published;
}

async function main(): Promise<void> {
  const redis = await exampleRedis();
  const client = new ResilientRedis({ config: { url: redis.url } });
  try {
    const { symbol, updates } = sampleSession();
    const detected = await runDetector(client, symbol, updates);
    console.log(`the detector left ${detected.length} patterns in patterns:sigma_stretch:${symbol}`);
    for (const a of await runRiskManager(client, ["sigma_stretch"], [symbol])) {
      console.log(`alert ${a.id}: ${a.side} ${a.lots} lots (${a.quantity}) at ${a.entry}, stop ${a.stop}, target ${a.target ?? "-"}, confidence ${a.confidence.toFixed(3)}`);
    }
    const queue = await client.run("alerts", (r) => r.xlen("alerts:pending:validation"));
    console.log(`alerts:pending:validation holds ${queue} entries (DB 6)`);
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
