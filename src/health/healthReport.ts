/**
 * `mathd health`: what an engineer paged at 09:16 wants to know about Redis, in one look.
 * The JSON form (`HealthReport`) is stable and documented in docs/HEALTH.md.
 *
 * It answers in bounded time whatever the server does: reaching Redis (TCP, TLS, AUTH, SELECT and
 * a first PING) must succeed within `timeoutMs`, every later command answers within it too, and
 * the whole report within twice that, so a server that accepts the connection and then says
 * nothing is "unreachable (timeout)", not a hang, and one that answered but too slowly for every
 * check to finish gives the checks done and the others as `incomplete`. A command the
 * ACL user may not run (NOPERM) is reported as denied, with the check it
 * belongs to, and the other checks still run.
 */
import { Cluster, Redis } from "ioredis";
import { checkedStartupNodes, clusterNodesFromEnv, refuseDatabaseSettings, type StartupNode } from "../cluster/config.js";
import { readClusterHealth, type ClusterHealth } from "../cluster/health.js";
import { nodeAddress, slotNodes, slotOf } from "../cluster/topology.js";
import { librariesOnNode, libraryNamesToLoad } from "../cluster/loader.js";
import { buildFunctionsLibraries } from "../build/functionsLibrary.js";
import { SCRIPT_MODES, type ScriptMode } from "../cluster/transport.js";
import { ConfigurationError, type ConnectionFailure } from "../core/errors.js";
import { rejectedScriptCallsOf, scriptTimeOf, type ScriptTime } from "../core/scriptTime.js";
import { within } from "../core/within.js";
import { SCRIPTS } from "../generated/scripts.js";
import { familyOf } from "../keys/grammar.js";
import {
  addressOf,
  connectionFailureOf,
  connectionOptions,
  type RedisConfig,
  type RedisConfigInput,
  resolveRedisConfig,
  selectDatabase,
  toConnectionError,
} from "../redis/config.js";
import { type DatabaseName, DATABASES } from "../redis/databases.js";
import { SCAN_PAGE } from "../redis/pageSizes.js";
import { guardSocketErrors } from "../redis/socketErrors.js";
import { optionNames, refuseUnknownOptions, refuseUnlistedValue } from "../core/options.js";

/** Schema name and version of the JSON report (`HealthReport.schema`); docs/HEALTH.md documents it. */
export const HEALTH_SCHEMA = "mathd.health/2";

/** One consumer group of a stream, as XINFO GROUPS reports it. */
export interface GroupHealth {
  /** Group name. */
  name: string;
  /** Consumers known to the group. */
  consumers: number;
  /** Entries delivered to a consumer and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  lag: number | null;
}

/** A stream the report looks at (the alert queue, a tick stream): its length and consumer groups. */
export interface StreamHealth {
  /** The stream's key. */
  key: string;
  /** The database it lives in. */
  db: number;
  /** `stream`, or `none` when the key does not exist, or another type. */
  type: string;
  /** XLEN; 0 when the key is not a stream. */
  length: number;
  /** Its consumer groups; [] when none or not a stream. */
  groups: GroupHealth[];
}

/** The TTL audit of one key family in one database, over the sampled keys. */
export interface TtlAuditRow {
  /** Database number. */
  db: number;
  /** Key family of the grammar, or `unknown`. */
  family: string;
  /** The family's TTL policy, in seconds (its database's for `unknown`). */
  policySeconds: number;
  /** Keys of the family found in the sample. */
  sampled: number;
  /** Keys without a TTL (TTL -1): violations. */
  withoutTtl: number;
  /** Keys whose TTL is above the policy: violations. */
  aboveTtlPolicy: number;
  /** Up to three offending keys. */
  examples: string[];
}

/** A check that could not run because the ACL user may not run one of its commands (NOPERM). */
export interface DeniedCheck {
  /** `ping`, `info`, `scripts`, `db 4: keys`, `db 4: ttl audit`, `db 6: alerts queue`, `db 4: tick streams`, ... */
  check: string;
  /** Redis's reply, e.g. `NOPERM this user has no permissions to run the 'scan' command`. */
  error: string;
}

/**
 * A check the report's time (twice `timeoutMs`) ran out on, cut short or never started; on a
 * cluster also one that failed after the cluster's health was read (CLUSTERDOWN, a timeout).
 */
export interface IncompleteCheck {
  /** The check's name, as in {@link DeniedCheck}. */
  check: string;
  /** Why it is missing from the report. */
  error: string;
}

/** {@link ScriptTime} as the report gives it: with the calls the server refused before they ran. */
export interface HealthScriptTime extends ScriptTime {
  /**
   * Script calls refused before they ran (commandstats `rejected_calls`), counted in no other
   * field: under maxmemory with `noeviction`, every call of a script that may write meets OOM
   * there; an ACL refusal or a wrong argument count too. More than 0 is a warning.
   */
  rejectedCalls: number;
}

/** The health report, `mathd health --json`'s output (schema `mathd.health/2`, docs/HEALTH.md). */
export interface HealthReport {
  /** Always {@link HEALTH_SCHEMA}. */
  schema: typeof HEALTH_SCHEMA;
  /**
   * 0 healthy, 1 policy violations or problems, 2 Redis unreachable, 3 a check was denied (ACL)
   * or, `incomplete` (added within mathd.health/2), not done in the report's time: also the exit code.
   */
  status: "healthy" | "violations" | "unreachable" | "denied" | "incomplete";
  /** When the report was made, ISO 8601 UTC. */
  checkedAt: string;
  /** The server looked at, `redis://user:***@host:port` (never the password). */
  target: string;
  /** Why Redis was unreachable; only then. */
  error?: string;
  /** The kind of connection failure (refused, timeout, auth, tls, ...); only when unreachable. */
  failure?: ConnectionFailure;
  /** Checks refused by the server's ACL; the report is incomplete there. */
  denied: DeniedCheck[];
  /**
   * Checks the report's time ran out on while the server answered, and on a cluster checks that
   * failed once its health was read (added within mathd.health/2); [] when none.
   */
  incomplete: IncompleteCheck[];
  /**
   * Absent when unreachable; `pingMs` absent when PING was denied, the INFO fields zero and
   * `unknown` when INFO was. On a cluster, the first master's.
   */
  redis?: {
    version: string;
    usedMemoryBytes: number;
    /** 0: no limit. */
    maxMemoryBytes: number;
    /** `maxmemory-policy`: only `noeviction` keeps the streaming state and tick streams from eviction. */
    maxMemoryPolicy: string;
    /** Keys evicted since the stats reset (INFO `evicted_keys`). */
    evictedKeys: number;
    pingMs?: { min: number; median: number; max: number };
  };
  /** Key count (DBSIZE) of each database of the map; `name` joins the names sharing one database. */
  databases: { db: number; name: string; keys: number }[];
  /** The TTL audit, one row per database and key family. */
  ttlAudit: TtlAuditRow[];
  /** Keys without a TTL or above their policy, summed over the audit, plus `problems` (and on a cluster its problems). */
  violations: number;
  /**
   * What stops the server doing its work, outside the TTL audit: used memory at maxmemory under
   * `noeviction`, where every script that may write is refused with OOM. Each counts in
   * `violations` (exit 1). On a cluster each names its master.
   */
  problems: string[];
  /**
   * What puts the work at risk without stopping it (exit code unchanged): used memory at 90 % of
   * maxmemory, a policy that may evict (anything but `noeviction` with a maxmemory), keys evicted,
   * script calls refused; and a database too large for the tick streams' SCAN to look through.
   */
  warnings: string[];
  /** Whether each script of the manifest is loaded on the server (SCRIPT EXISTS). */
  scripts: { name: string; version: string; sha1: string; loaded: boolean }[];
  /** The server time of every script call since the last stats reset (on a cluster, of every master); absent when INFO was denied. */
  scriptTime?: HealthScriptTime;
  /**
   * Only with `scriptMode: "functions"` on one server: how many of this build's Functions
   * libraries there are, those the server lacks or holds of another build (`missing`; those it
   * lacks are loaded on first use), those of them holding another build's code under this
   * build's name (`otherBuild`, added within mathd.health/2: a problem), and this SDK's libraries
   * of versions the build does not use (`others`: `mathd scripts prune`).
   */
  libraries?: { total: number; missing: string[]; otherBuild: string[]; others: string[] };
  /** `alerts:pending:validation` in the alerts database; absent when unreachable or denied. */
  alertsQueue?: StreamHealth;
  /** Every `ticks:{SYMBOL}` stream in the continuous-market database. */
  tickStreams: StreamHealth[];
  /**
   * Only for a Redis Cluster: every node's state, scripts or library, replica links and lag, and
   * the problems found (each counts as a violation). On a cluster `databases` has the one DB 0.
   */
  cluster?: ClusterHealth;
}

/** Settings of {@link collectHealth}: where to look, how many keys to sample, how long to wait. */
export interface HealthOptions {
  /** Redis URL; the rest (MATHD_DB_*, TLS files, credentials) comes from the environment, as {@link resolveRedisConfig} reads it. */
  url?: string;
  /** Connection settings instead of `url`. */
  config?: RedisConfigInput;
  /** Keys sampled per database for the TTL audit (SCAN, never KEYS). Default 1000. */
  samplePerDb?: number;
  /**
   * How long reaching Redis (connect, TLS, AUTH, first PING) may take, and each later command;
   * the whole report may take twice as long. Default 1000 ms, so that `mathd health` exits within
   * 2 s against a silent or a slow server.
   */
  timeoutMs?: number;
  /**
   * A Redis Cluster's startup nodes: the report then reads every node (clusterHealth). Without
   * `url` or `config`, `MATHD_CLUSTER_NODES` selects it too.
   */
  cluster?: readonly StartupNode[];
  /**
   * How the SDK runs the scripts: `evalsha` (default) or `functions`, when the report also reads
   * this build's Functions libraries. On a cluster it says what the masters must hold: a master
   * without the libraries is then a problem.
   */
  scriptMode?: ScriptMode;
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim();
}

/** `report.redis` from a server's INFO text (all sections, or at least server, memory and stats). */
function serverFields(info: string): Omit<NonNullable<HealthReport["redis"]>, "pingMs"> {
  return {
    version: infoField(info, "redis_version") ?? "unknown",
    usedMemoryBytes: Number(infoField(info, "used_memory") ?? 0),
    maxMemoryBytes: Number(infoField(info, "maxmemory") ?? 0),
    maxMemoryPolicy: infoField(info, "maxmemory_policy") ?? "unknown",
    evictedKeys: Number(infoField(info, "evicted_keys") ?? 0),
  };
}

/**
 * Whether a server's memory is full under `noeviction` (its `report.redis`): it then refuses
 * every command that may add data (denyoom) with OOM, FUNCTION LOAD among them.
 */
export function memoryFull(server: Pick<NonNullable<HealthReport["redis"]>, "usedMemoryBytes" | "maxMemoryBytes" | "maxMemoryPolicy">): boolean {
  return server.maxMemoryBytes > 0 && server.usedMemoryBytes >= server.maxMemoryBytes && server.maxMemoryPolicy === "noeviction";
}

/** Used memory from this share of maxmemory on is a warning: a burst of misses reaches the limit. */
const MEMORY_WARNING_SHARE = 0.9;

/** Bytes as MiB with one decimal, as the report's messages and its text (renderHealth) give them. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * The problems and warnings of one server's memory (`where` starts each: '' on one server, a
 * master's `address: ` on a cluster). The streaming state (`indicator:*`) and the tick streams
 * (`ticks:*`) all carry a TTL, so every `allkeys-*` and `volatile-*` policy may evict them in the
 * middle of a session, and an indicator whose state went restarts as if the session had just
 * begun, reporting `applied` (docs/STREAMING.md).
 */
function memoryFindings(info: string, where: string): { problems: string[]; warnings: string[] } {
  const fields = serverFields(info);
  const { usedMemoryBytes: used, maxMemoryBytes: max, maxMemoryPolicy: policy, evictedKeys } = fields;
  const problems: string[] = [];
  const warnings: string[] = [];
  const refused = "Redis refuses every call of a script that may write with OOM (cache hits and misses, streaming updates)";
  if (memoryFull(fields)) {
    problems.push(`${where}memory full: used_memory ${mib(used)} >= maxmemory ${mib(max)} under noeviction: ${refused}`);
  } else if (max > 0 && used >= MEMORY_WARNING_SHARE * max) {
    const then = policy === "noeviction" ? refused : `${policy} evicts keys`;
    warnings.push(`${where}used_memory ${mib(used)} is ${((100 * used) / max).toFixed(0)} % of maxmemory ${mib(max)}: at the limit ${then}`);
  }
  if (max > 0 && policy !== "noeviction" && policy !== "unknown") {
    // volatile-ttl takes the shortest TTL first: a VWAP state keeps the TTL of its session's first tick
    const first = policy === "volatile-ttl" ? "; volatile-ttl evicts the VWAP states first, as each keeps the TTL of its session's first tick" : "";
    warnings.push(
      `${where}maxmemory-policy ${policy} with maxmemory ${mib(max)}: Redis may evict streaming state (indicator:*) and tick streams (ticks:*) ` +
        `mid-session, and an indicator then restarts from the middle of the session${first}; use noeviction (docs/SCALING.md, "Memory")`,
    );
  }
  if (evictedKeys > 0) {
    warnings.push(`${where}${evictedKeys} keys evicted since the stats reset (evicted_keys, maxmemory-policy ${policy}): streaming state and tick streams may be among them`);
  }
  return { problems, warnings };
}

/** Adds the memory findings of `infos` (with their `where`) and the refused script calls to the report. */
function addServerFindings(report: HealthReport, infos: readonly (readonly [info: string, where: string])[]): void {
  for (const [info, where] of infos) {
    const { problems, warnings } = memoryFindings(info, where);
    report.problems.push(...problems);
    report.warnings.push(...warnings);
  }
  const rejected = report.scriptTime?.rejectedCalls ?? 0;
  if (rejected > 0) {
    // only an OOM refusal sends the SDK's math calls again, as their read-only variants
    const resent = infos.some(([info]) => serverFields(info).maxMemoryBytes > 0)
      ? "; at maxmemory the SDK's math calls were sent again as their read-only variants and answered, while streaming updates and other clients' writes got the error"
      : "";
    report.warnings.push(`${rejected} script calls refused before they ran since the stats reset (rejected_calls: OOM at maxmemory, an ACL or an argument count)${resent}`);
  }
}

/** {@link HealthScriptTime} from the INFO text of each server (one, or every master of a cluster). */
function healthScriptTimeOf(infos: readonly string[]): HealthScriptTime {
  return { ...scriptTimeOf(infos), rejectedCalls: rejectedScriptCallsOf(infos) };
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

/**
 * Up to `limit` keys matching `match`, from SCAN pages that look at no more than twice `limit`
 * keys in all: a MATCH that few keys meet (`ticks:*`) walked the whole database otherwise, one
 * round trip per page, and 3 million keys outlasted the report's 2 s. `scannedAll` is false
 * when keys were left unlooked at.
 */
async function sampleKeys(redis: Redis, limit: number, match = "*"): Promise<{ keys: string[]; scannedAll: boolean }> {
  const keys: string[] = [];
  let cursor = "0";
  for (let page = 0; page < 2 * Math.ceil(limit / SCAN_PAGE) && keys.length < limit; page++) {
    const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", SCAN_PAGE);
    keys.push(...batch);
    cursor = next;
    if (cursor === "0") return { keys: keys.slice(0, limit), scannedAll: true };
  }
  return { keys: keys.slice(0, limit), scannedAll: false };
}

/** Tick streams the report lists per database (or master): their SCAN looks at twice as many keys. */
const TICK_STREAMS_MAX = 10_000;

/**
 * Adds the `ticks:{SYMBOL}` streams of `redis`'s database `db` to the report (`where` as in
 * {@link memoryFindings}); a database too large for their SCAN to look through is a warning.
 */
async function addTickStreams(report: HealthReport, redis: Redis, db: number, where: string): Promise<void> {
  const { keys, scannedAll } = await sampleKeys(redis, TICK_STREAMS_MAX, "ticks:*");
  if (!scannedAll) {
    report.warnings.push(`${where}db ${db}: tick streams: SCAN stopped after looking at about ${2 * TICK_STREAMS_MAX} keys: streams among the others are not listed`);
  }
  for (const key of keys.filter((k) => familyOf(k)?.family === "ticks").sort()) report.tickStreams.push(await streamHealth(redis, db, key));
}

/**
 * The TTL audit rows of `keys` in `redis`'s database `db`. Each TTL of the pipeline answers on its
 * own: a NOPERM fails the audit (thrown, so that its check is denied); a key whose TTL another
 * error answered (TTL renamed away, a CLUSTERDOWN) is left out of the rows, and the audit is
 * incomplete, counting them (`where` as in {@link memoryFindings}): read as a number it was NaN,
 * which passed as a good TTL, and a warning alone left the report healthy with nothing audited.
 */
async function auditTtl(report: HealthReport, redis: Redis, db: number, keys: string[], where: string): Promise<TtlAuditRow[]> {
  const exec = (await redis.pipeline(keys.map((k) => ["ttl", k])).exec()) ?? [];
  const replies = keys.map((_, i) => exec[i] ?? [new Error("no reply"), null]);
  const failed = replies.flatMap(([error]) => (error ? [error] : []));
  const denied = failed.find((error) => connectionFailureOf(error) === "denied");
  if (denied) throw denied;
  if (failed.length > 0) report.incomplete.push({ check: `${where}db ${db}: ttl audit`, error: `${failed.length} of ${keys.length} sampled keys not audited: ${failed[0]!.message}` });
  const rows = new Map<string, TtlAuditRow>();
  const dbPolicy = Object.values(DATABASES).find((d) => d.db === db)?.ttlSeconds ?? 57_600;
  keys.forEach((key, i) => {
    const [error, reply] = replies[i]!;
    if (error) return;
    const family = familyOf(key);
    const name = family?.family ?? "unknown";
    const row = rows.get(name) ?? { db, family: name, policySeconds: family?.ttlSeconds ?? dbPolicy, sampled: 0, withoutTtl: 0, aboveTtlPolicy: 0, examples: [] };
    const ttl = Number(reply);
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

/** `redis://user:***@host:port`: where the report looked, never the password. */
function targetOf(config: RedisConfig): string {
  const user = config.username || config.password ? `${config.username ?? ""}${config.password ? ":***" : ""}@` : "";
  return `${config.tls ? "rediss" : "redis"}://${user}${config.host}:${config.port}`;
}

/** A report with nothing found yet, for `target`. */
function emptyReport(target: string): HealthReport {
  return {
    schema: HEALTH_SCHEMA,
    status: "healthy",
    checkedAt: new Date().toISOString(),
    target,
    denied: [],
    incomplete: [],
    databases: [],
    ttlAudit: [],
    violations: 0,
    problems: [],
    warnings: [],
    scripts: [],
    tickStreams: [],
  };
}

/**
 * ioredis's own connect and command timeouts for the report's connection to one server: past
 * every wait of the report (the first answer's, which lasts 2 x `timeoutMs` at most, and the
 * checks' 2 x `timeoutMs`), so that the report's waits decide, after the I/O of their turn; these
 * only release a command those waits gave up on.
 */
function backstopMs(timeoutMs: number): number {
  return 3 * timeoutMs;
}

/**
 * Runs one check of a report; a NOPERM is recorded against it and the report goes on. Once the
 * report's time is spent, the check under way and those after it are recorded as incomplete: the
 * server has answered (checks start after the first PING), so it is slow, not unreachable, and
 * what was collected stands. With `failuresIncomplete`, any other failure of a check is recorded
 * so too: a cluster whose health was read is reachable, and a key command it refuses
 * (CLUSTERDOWN) or leaves unanswered fails that check only.
 */
function checker(report: Pick<HealthReport, "denied" | "incomplete">, budgetMs: number, failuresIncomplete = false) {
  const deadline = Date.now() + budgetMs;
  const spent = new Error(`the report's ${budgetMs} ms ran out first`);
  return async (name: string, run: () => Promise<void>): Promise<void> => {
    const left = deadline - Date.now();
    try {
      // a server that answers, but slowly, would otherwise stretch the report over every round trip
      if (left <= 0) throw spent;
      await within(run(), left, () => spent); // a check stopped waiting for ends when the connection closes
    } catch (error) {
      if (connectionFailureOf(error) === "denied") report.denied.push({ check: name, error: (error as Error).message });
      else if (error === spent || failuresIncomplete) report.incomplete.push({ check: name, error: (error as Error).message });
      else throw error;
    }
  };
}

/** The report's status from what it found: violations first, then checks denied or left incomplete. */
function statusOf(report: HealthReport): HealthReport["status"] {
  return report.violations > 0 ? "violations" : report.denied.length > 0 ? "denied" : report.incomplete.length > 0 ? "incomplete" : "healthy";
}

const HEALTH_OPTIONS = optionNames<HealthOptions>({ url: true, config: true, samplePerDb: true, timeoutMs: true, cluster: true, scriptMode: true });

/**
 * Collects the report. It never throws for Redis trouble: an unreachable server gives status
 * `unreachable` with the failure's kind, a refused command status `denied` with the check.
 * @throws ConfigurationError when the settings themselves are invalid.
 */
export async function collectHealth(options: HealthOptions = {}): Promise<HealthReport> {
  refuseUnknownOptions(options, HEALTH_OPTIONS, { name: "options", bare: true, error: ConfigurationError }); // `{ timeout: 200 }` would keep 1000 ms
  refuseUnlistedValue(options.scriptMode, "scriptMode", SCRIPT_MODES, ConfigurationError);
  const nodes = options.cluster !== undefined ? checkedStartupNodes(options.cluster) : options.url === undefined && options.config === undefined ? clusterNodesFromEnv() : undefined;
  if (nodes) return collectClusterHealth(nodes, options);
  const config = resolveRedisConfig(options.config ?? (options.url === undefined ? {} : { url: options.url }));
  const timeoutMs = options.timeoutMs ?? 1000;
  const base = emptyReport(targetOf(config));
  const redis = new Redis({
    ...connectionOptions(config),
    lazyConnect: true,
    // the report's own waits (within) judge the time, after the I/O a busy process has not read
    // yet; ioredis's timers, which would judge first, only release what those waits gave up on
    // (connectTimeout covers TCP only, commandTimeout a server that accepts and never answers)
    connectTimeout: backstopMs(timeoutMs),
    commandTimeout: backstopMs(timeoutMs),
    // ioredis's ready check sends INFO, which a least-privilege user may lack; the first PING is the check
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  guardSocketErrors(redis);
  let connectionError: Error | undefined;
  redis.on("error", (error: Error) => (connectionError = error));
  const check = checker(base, 2 * timeoutMs);
  try {
    const reach = async () => {
      await redis.connect().catch((error: unknown) => {
        throw connectionError ?? error; // ECONNREFUSED says more than "Connection is closed"
      });
      return redis.ping().catch((error: unknown) => {
        if (connectionFailureOf(error) === "denied") return error as Error; // it answered: reachable
        throw error;
      });
    };
    // unreachable is for a server that did not answer, not for a process too busy to ask it
    const first = await within(reach(), timeoutMs, () => toConnectionError(config, new Error(`no answer within ${timeoutMs} ms`), "timeout"), { creditStalls: true });
    let pingMs: { min: number; median: number; max: number } | undefined;
    await check("ping", async () => {
      if (first instanceof Error) throw first;
      const pings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = process.hrtime.bigint();
        await redis.ping();
        pings.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      pingMs = { min: Math.min(...pings), median: median(pings), max: Math.max(...pings) };
    });
    let info = "";
    // all sections in one round trip: the server's, and commandstats for the scripts' time
    await check("info", async () => void (info = (await redis.info("all")) as string));
    if (info) base.scriptTime = healthScriptTimeOf([info]);
    if (info || pingMs) base.redis = { ...serverFields(info), ...(pingMs ? { pingMs } : {}) };
    if (info) addServerFindings(base, [[info, ""]]);
    await check("scripts", async () => {
      const loaded = (await redis.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))) as number[];
      base.scripts = SCRIPTS.map((s, i) => ({ name: s.name, version: s.version, sha1: s.sha1, loaded: loaded[i] === 1 }));
    });
    if (options.scriptMode === "functions") {
      await check("libraries", async () => {
        const libraries = buildFunctionsLibraries(SCRIPTS);
        const onServer = await librariesOnNode(redis, libraries);
        const otherBuild = onServer.otherBuild.map((library) => library.name).sort();
        base.libraries = { total: libraries.length, missing: libraryNamesToLoad(onServer), otherBuild, others: [...onServer.others] };
        if (otherBuild.length > 0) {
          // a running process loaded its libraries before and keeps calling the name: nothing heals it
          base.problems.push(
            `another build's code under this build's Functions library names: ${otherBuild.join(", ")}: the SDK's calls of their scripts get that code's replies, ` +
              "and it stays until mathd scripts load --script-mode functions replaces it",
          );
        }
      });
      if (base.libraries?.missing.length && base.redis && memoryFull(base.redis)) {
        base.problems.push(
          `${base.libraries.missing.length} of this build's Functions libraries not loaded at maxmemory under noeviction: Redis refuses FUNCTION LOAD with OOM (SCRIPT LOAD it does not), ` +
            "so every call of their scripts fails, read-only variants included, until memory is freed and they are loaded (mathd scripts load --script-mode functions)",
        );
      }
    }
    // one pass per database number: MATHD_DB_* may move several names onto one database
    const names = new Map<number, DatabaseName[]>();
    for (const name of Object.keys(DATABASES) as DatabaseName[]) names.set(config.databases[name], [...(names.get(config.databases[name]) ?? []), name]);
    for (const [db, dbNames] of names) {
      let selected = false;
      // a refused SELECT (no such database) is a wrong setting, not an unreachable server
      await check(`db ${db}: select`, async () => void (await selectDatabase(redis, dbNames[0] as DatabaseName, db, addressOf(config)), (selected = true)));
      if (!selected) continue; // denied and recorded: nothing in this database can be looked at
      await check(`db ${db}: keys`, async () => void base.databases.push({ db, name: dbNames.join("+"), keys: await redis.dbsize() }));
      await check(`db ${db}: ttl audit`, async () => {
        base.ttlAudit.push(...(await auditTtl(base, redis, db, (await sampleKeys(redis, options.samplePerDb ?? 1000)).keys, "")));
      });
      if (dbNames.includes("alerts")) {
        await check(`db ${db}: alerts queue`, async () => void (base.alertsQueue = await streamHealth(redis, db, "alerts:pending:validation")));
      }
      if (dbNames.includes("continuous_market")) {
        await check(`db ${db}: tick streams`, () => addTickStreams(base, redis, db, ""));
      }
    }
    base.violations = base.ttlAudit.reduce((sum, row) => sum + row.withoutTtl + row.aboveTtlPolicy, 0) + base.problems.length;
    base.status = statusOf(base);
    return base;
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    const failure = toConnectionError(config, error);
    return { ...base, status: "unreachable", error: failure.message, failure: failure.failure };
  } finally {
    redis.disconnect();
  }
}

/**
 * The report of a Redis Cluster: the cluster's own health (slots, every node's state, scripts or
 * library, replica links) from {@link clusterHealth}, and the checks of one server over DB 0 of
 * every master (keys, TTL audit, tick streams, alert queue). Cluster problems count as violations.
 */
async function collectClusterHealth(nodes: readonly StartupNode[], options: HealthOptions): Promise<HealthReport> {
  refuseDatabaseSettings();
  const config = resolveRedisConfig(options.config ?? {}, process.env, { cluster: true });
  const first = nodes[0] as StartupNode;
  const timeoutMs = options.timeoutMs ?? 1000;
  const base = emptyReport(`${config.tls ? "rediss" : "redis"}-cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(",")}`);
  const cluster = new Cluster([...nodes], {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    enableOfflineQueue: false,
    // ioredis reads the slot map from the startup nodes one after another: each gets its share of
    // the time, so that a frozen first node leaves the others time to answer
    slotsRefreshTimeout: Math.max(1, Math.floor(timeoutMs / nodes.length)),
    // ioredis's ready check asks one node, at random, for CLUSTER INFO: a frozen one held the whole
    // connect; the report reads every node's cluster_state itself
    enableReadyCheck: false,
    redisOptions: {
      ...(({ host: _h, port: _p, ...credentials }) => credentials)(connectionOptions(config)),
      // each node's commands time out on their own (a frozen node must not hold the checks of
      // the others): ioredis's timers here, which a busy process may find expired early
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
    },
  });
  let connectionError: Error | undefined;
  cluster.on("error", (error: Error) => (connectionError = error));
  cluster.on("node error", (error: Error) => (connectionError ??= error));
  // every check runs after the cluster's health was read: from then on it is never "unreachable"
  const check = checker(base, 2 * timeoutMs, true);
  try {
    await within(
      cluster.connect().catch((error: unknown) => {
        throw connectionError ?? error;
      }),
      timeoutMs,
      () => new Error(`no answer within ${timeoutMs} ms`),
      { creditStalls: true },
    );
    // every node read once: the first master's server fields, the masters' summed script time and
    // which scripts all of them hold come from what clusterHealth read (INFO all, SCRIPT EXISTS)
    const { health, masterInfos } = await readClusterHealth(cluster, { mode: options.scriptMode ?? "evalsha" });
    base.cluster = health;
    const info = masterInfos[0];
    const answeringMasters = health.nodes.filter((n) => n.role === "master");
    if (info !== undefined) {
      base.redis = serverFields(info);
      base.scriptTime = healthScriptTimeOf(masterInfos);
      // each master's own memory: one full master refuses the writes of every symbol in its slots
      addServerFindings(base, masterInfos.map((text, i) => [text, `${answeringMasters[i]!.address}: `] as const));
    }
    if (answeringMasters.length > 0) {
      base.scripts = SCRIPTS.map((s) => ({ name: s.name, version: s.version, sha1: s.sha1, loaded: answeringMasters.every((n) => !n.scriptsMissing.includes(s.name)) }));
    }
    // the checks below read the masters that answered: one that did not is a problem above already,
    // and waiting on it made the whole report "unreachable"
    const answering = new Set(answeringMasters.map((n) => n.address));
    const masters = cluster.nodes("master").filter((m) => answering.has(nodeAddress(m)));
    const alertsKey = "alerts:pending:validation";
    await check("db 0: keys", async () => {
      const sizes = await Promise.all(masters.map((m) => m.dbsize()));
      base.databases.push({ db: 0, name: Object.keys(DATABASES).join("+"), keys: sizes.reduce((a, b) => a + b, 0) });
    });
    await check("db 0: ttl audit", async () => {
      const rows = new Map<string, TtlAuditRow>();
      for (const m of masters) {
        for (const row of await auditTtl(base, m, 0, (await sampleKeys(m, options.samplePerDb ?? 1000)).keys, `${nodeAddress(m)}: `)) {
          const sum = rows.get(row.family);
          if (!sum) rows.set(row.family, row);
          else {
            sum.sampled += row.sampled;
            sum.withoutTtl += row.withoutTtl;
            sum.aboveTtlPolicy += row.aboveTtlPolicy;
            sum.examples = [...sum.examples, ...row.examples].slice(0, 3);
          }
        }
      }
      base.ttlAudit = [...rows.values()].sort((a, b) => a.family.localeCompare(b.family));
    });
    if (answering.has(slotNodes(cluster, slotOf(alertsKey))[0] as string)) {
      await check("db 0: alerts queue", async () => void (base.alertsQueue = await streamHealth(cluster as unknown as Redis, 0, alertsKey)));
    }
    await check("db 0: tick streams", async () => {
      for (const m of masters) await addTickStreams(base, m, 0, `${nodeAddress(m)}: `);
      base.tickStreams.sort((a, b) => a.key.localeCompare(b.key));
    });
    base.violations = base.ttlAudit.reduce((sum, row) => sum + row.withoutTtl + row.aboveTtlPolicy, 0) + base.problems.length + health.problems.length;
    base.status = statusOf(base);
    return base;
  } catch (error) {
    // ioredis gives up on the slot map with "Failed to refresh slots cache", the node's own reply behind it
    const cause = (error as { lastNodeError?: unknown } | undefined)?.lastNodeError ?? error;
    if (connectionFailureOf(cause) === "denied") {
      // the ACL refused CLUSTER SLOTS: the nodes answered, so a denied check (exit 3), not an outage
      base.denied.push({ check: "cluster slots", error: (cause as Error).message });
      return { ...base, status: statusOf(base) };
    }
    const failure = toConnectionError(first, connectionFailureOf(error) ? error : (connectionError ?? error), connectionFailureOf(error) ?? connectionFailureOf(connectionError) ?? "timeout");
    return { ...base, status: "unreachable", error: failure.message, failure: failure.failure };
  } finally {
    cluster.disconnect();
  }
}

/** The exit code of a report: 0 healthy, 1 policy violations or problems, 2 unreachable, 3 a check denied by the ACL or incomplete. */
export function exitCodeOf(report: HealthReport): 0 | 1 | 2 | 3 {
  return ({ healthy: 0, violations: 1, unreachable: 2, denied: 3, incomplete: 3 } as const)[report.status];
}
