/**
 * `mathd health`: what an engineer paged at 09:16 wants to know about Redis, in one look.
 * The JSON form (`HealthReport`) is stable and documented in docs/HEALTH.md.
 */
import { Redis } from "ioredis";
import { SCRIPTS } from "../generated/scripts.js";
import { familyOf } from "../keys/grammar.js";
import { type DatabaseName, DATABASES } from "../redis/databases.js";

export const HEALTH_SCHEMA = "mathd.health/1";

export interface GroupHealth {
  name: string;
  consumers: number;
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  lag: number | null;
}

export interface StreamHealth {
  key: string;
  db: number;
  /** `stream`, or `none` when the key does not exist, or another type. */
  type: string;
  length: number;
  groups: GroupHealth[];
}

export interface TtlAuditRow {
  db: number;
  /** Key family of the grammar, or `unknown`. */
  family: string;
  policySeconds: number;
  sampled: number;
  withoutTtl: number;
  aboveTtlPolicy: number;
  /** Up to three offending keys. */
  examples: string[];
}

export interface HealthReport {
  schema: typeof HEALTH_SCHEMA;
  /** 0 healthy, 1 policy violations, 2 Redis unreachable: also the exit code. */
  status: "healthy" | "violations" | "unreachable";
  checkedAt: string;
  target: string;
  error?: string;
  redis?: { version: string; usedMemoryBytes: number; maxMemoryBytes: number; pingMs: { min: number; median: number; max: number } };
  databases: { db: number; name: string; keys: number }[];
  ttlAudit: TtlAuditRow[];
  violations: number;
  scripts: { name: string; version: string; sha1: string; loaded: boolean }[];
  alertsQueue?: StreamHealth;
  tickStreams: StreamHealth[];
}

export interface HealthOptions {
  url: string;
  /** Keys sampled per database for the TTL audit (SCAN, never KEYS). Default 1000. */
  samplePerDb?: number;
  /** How long to wait for Redis before calling it unreachable. Default 2000 ms. */
  connectTimeoutMs?: number;
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim();
}

/** XINFO replies come as flat [field, value, ...] lists (RESP2, or RESP3 mapped) or as objects. */
function record(value: unknown): Record<string, unknown> {
  if (!Array.isArray(value)) return (value ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < value.length; i += 2) out[String(value[i])] = value[i + 1];
  return out;
}

async function streamHealth(redis: Redis, db: number, key: string): Promise<StreamHealth> {
  const type = (await redis.type(key)) as string;
  if (type !== "stream") return { key, db, type, length: 0, groups: [] };
  const groups = ((await redis.xinfo("GROUPS", key)) as unknown[]).map(record).map((g) => ({
    name: String(g.name),
    consumers: Number(g.consumers),
    pending: Number(g.pending),
    lag: g.lag === null || g.lag === undefined ? null : Number(g.lag),
  }));
  return { key, db, type, length: await redis.xlen(key), groups };
}

async function sampleKeys(redis: Redis, limit: number, match = "*"): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 200);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0" && keys.length < limit);
  return keys.slice(0, limit);
}

async function auditTtl(redis: Redis, db: number, keys: string[]): Promise<TtlAuditRow[]> {
  const ttls = ((await redis.pipeline(keys.map((k) => ["ttl", k])).exec()) ?? []).map(([, ttl]) => Number(ttl));
  const rows = new Map<string, TtlAuditRow>();
  const dbPolicy = Object.values(DATABASES).find((d) => d.db === db)?.ttlSeconds ?? 57_600;
  keys.forEach((key, i) => {
    const family = familyOf(key);
    const name = family?.family ?? "unknown";
    const row = rows.get(name) ?? { db, family: name, policySeconds: family?.ttlSeconds ?? dbPolicy, sampled: 0, withoutTtl: 0, aboveTtlPolicy: 0, examples: [] };
    const ttl = ttls[i] as number;
    row.sampled++;
    const bad = ttl === -1 ? "withoutTtl" : ttl > row.policySeconds ? "aboveTtlPolicy" : undefined;
    if (bad) {
      row[bad]++;
      if (row.examples.length < 3) row.examples.push(key);
    }
    rows.set(name, row);
  });
  return [...rows.values()].sort((a, b) => a.family.localeCompare(b.family));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Collects the report; never throws for an unreachable Redis (status `unreachable`). */
export async function collectHealth(options: HealthOptions): Promise<HealthReport> {
  const base: HealthReport = {
    schema: HEALTH_SCHEMA,
    status: "healthy",
    checkedAt: new Date().toISOString(),
    target: options.url.replace(/\/\/[^@/]*@/, "//***@"),
    databases: [],
    ttlAudit: [],
    violations: 0,
    scripts: [],
    tickStreams: [],
  };
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let connectionError: Error | undefined;
  redis.on("error", (error: Error) => (connectionError = error));
  try {
    await redis.connect().catch((error: unknown) => {
      throw connectionError ?? error; // ECONNREFUSED says more than "Connection is closed"
    });
    const pings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = process.hrtime.bigint();
      await redis.ping();
      pings.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const info = (await redis.info()) as string;
    base.redis = {
      version: infoField(info, "redis_version") ?? "unknown",
      usedMemoryBytes: Number(infoField(info, "used_memory") ?? 0),
      maxMemoryBytes: Number(infoField(info, "maxmemory") ?? 0),
      pingMs: { min: Math.min(...pings), median: median(pings), max: Math.max(...pings) },
    };
    const loaded = (await redis.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))) as number[];
    base.scripts = SCRIPTS.map((s, i) => ({ name: s.name, version: s.version, sha1: s.sha1, loaded: loaded[i] === 1 }));
    for (const name of Object.keys(DATABASES) as DatabaseName[]) {
      const { db } = DATABASES[name];
      await redis.select(db);
      base.databases.push({ db, name, keys: await redis.dbsize() });
      base.ttlAudit.push(...(await auditTtl(redis, db, await sampleKeys(redis, options.samplePerDb ?? 1000))));
      if (name === "alerts") base.alertsQueue = await streamHealth(redis, db, "alerts:pending:validation");
      if (name === "continuous_market") {
        const streams = (await sampleKeys(redis, 10_000, "ticks:*")).filter((k) => familyOf(k)?.family === "ticks").sort();
        for (const key of streams) base.tickStreams.push(await streamHealth(redis, db, key));
      }
    }
    base.violations = base.ttlAudit.reduce((sum, row) => sum + row.withoutTtl + row.aboveTtlPolicy, 0);
    base.status = base.violations > 0 ? "violations" : "healthy";
    return base;
  } catch (error) {
    return { ...base, status: "unreachable", error: error instanceof Error ? error.message : String(error) };
  } finally {
    redis.disconnect();
  }
}

/** The exit code of a report: 0 healthy, 1 policy violations, 2 unreachable. */
export function exitCodeOf(report: HealthReport): 0 | 1 | 2 {
  return report.status === "healthy" ? 0 : report.status === "violations" ? 1 : 2;
}
