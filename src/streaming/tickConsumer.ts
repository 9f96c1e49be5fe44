/**
 * Applies the tick streams `ticks:{SYMBOL}` (DB 4) to the streaming indicators through a consumer
 * group. An entry is acknowledged only after its update succeeded, so a consumer killed at any
 * point leaves it pending and re-reads it on restart; the update is idempotent, so that
 * redelivery cannot count it twice. Entries that fail validation go to `ticks:dead:{SYMBOL}`
 * with the reason and are acknowledged, so one bad tick never blocks a symbol.
 *
 * Entries left pending by a consumer of the group that is gone (a crash under another name, a
 * container that came back with a new host name) are claimed with XAUTOCLAIM once they have been
 * idle for `claimIdleMs`, before this consumer reads anything new: a symbol's updates must arrive
 * in order, and an old entry applied after a newer one would be dropped as a duplicate.
 *
 * On a Redis Cluster (given an ioredis `Cluster`; keys with hash tags) each stream lives on its
 * own slot, and one XREADGROUP may not span slots: each stream is read by its own XREADGROUP,
 * one pipeline per master in parallel, without BLOCK (a blocked command would hold the node's
 * connection for the other streams); an empty pass waits `min(blockMs, 50)` ms before the next.
 * Acknowledgements and dead letters are per stream already, so they go to the stream's master.
 */
import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import type { Cluster, Redis } from "ioredis";
import { runKeyed } from "../cluster/pipeline.js";
import { ClientClosedError, ConfigurationError, InvalidInputError, MathDispatcherError, replyErrorOf, shownValue } from "../core/errors.js";
import { MAX_STREAM_UPDATES_PER_CALL } from "../dispatcher/limits.js";
import { keyFamily } from "../keys/grammar.js";
import { deadLetterKey, tickStreamKey } from "../keys/marketData.js";
import type { KeyOptions } from "../keys/symbol.js";
import { connectionFailureOf, selectDatabase, toConnectionError } from "../redis/config.js";
import { DATABASES } from "../redis/databases.js";
import { CLAIM_PAGE, PENDING_PAGE, READ_GROUP_PAGE } from "../redis/pageSizes.js";
import type { BatchOutcome } from "../dispatcher/batch.js";
import type { StreamingIndicators, StreamUpdateInput, StreamUpdateResult } from "../dispatcher/streaming.js";
import { optionNames, refuseUnknownOptions } from "../core/options.js";

/**
 * The consumer name used when none is given: `mathd@<host name>`. It is stable across restarts
 * on one host, so a restarted consumer reads its own pending entries at once; entries of a
 * consumer whose name is gone for good are claimed after `claimIdleMs`.
 */
export function defaultConsumerName(): string {
  return `mathd@${hostname()}`;
}

/** What a tick consumer reads and how: its symbols, group, name, batch sizes and waits. */
export interface TickConsumerOptions extends KeyOptions {
  /** The symbols whose streams `ticks:{SYMBOL}` (DB 4) it applies. */
  symbols: readonly string[];
  /** Consumer group name, default `mathd`. */
  group?: string;
  /**
   * This consumer's name in the group, default {@link defaultConsumerName}. Restarted with the
   * same name it reads its own pending entries first.
   */
  consumer?: string;
  /**
   * Entries of each stream per read, 1..{@link MAX_STREAM_UPDATES_PER_CALL} (32, the default):
   * one read's entries of a symbol are one atomic script call, so they are applied in order or
   * not at all.
   */
  count?: number;
  /** How long a read blocks waiting for new entries, 1 ms to a day, default 1000 ms. */
  blockMs?: number;
  /**
   * How long another consumer of the group must have been idle on one of these streams before
   * this one reads them at start (see {@link TickConsumer.awaitSoleConsumer}), and how long its
   * pending entry must have been idle before this one claims it, 0 ms to a day, default 10,000
   * ms: long enough that a live consumer (which reads every `blockMs` and acknowledges within
   * milliseconds) keeps its streams, short enough that a stopped or crashed one's wait a few seconds.
   */
  claimIdleMs?: number;
  /** Pause after a failed pass before the next, 1 ms to a day, default 500 ms. */
  retryDelayMs?: number;
  /**
   * The database of the tick streams, default 4 (`continuous_market` of the DB map; set it when
   * MATHD_DB_CONTINUOUS_MARKET moves them). The connection given must be on it: one on another
   * database would read no tick and make its empty streams there.
   */
  database?: number;
}

/**
 * The fields a script names when what it refuses is not the entry but what the consumer keeps: a
 * stored state (written by hand, say), its keys or its periods. Their entries stay pending, the
 * error is reported, and they apply in order once that is mended; dead-lettered, every good tick
 * of the symbol went to the dead letters.
 */
const KEPT_BY_THE_CONSUMER = /^(atr_state|vwap_state|rsi_state|atr_period|rsi_period|state\b|KEYS\[)/;

/** The longest wait an option of a consumer may ask for (`blockMs`, `claimIdleMs`, `retryDelayMs`): a day. */
export const MAX_CONSUMER_WAIT_MS = 86_400_000;

/** Throws InvalidInputError naming `name` unless `value` is absent or a whole number in min..max. */
function checkWhole(name: string, value: number | undefined, min: number, max: number, why = ""): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
    throw new InvalidInputError(name, `must be an integer in ${min}..${max}${why}, got ${shownValue(value)}`);
  }
}

/** Pause after an empty pass on a cluster, where reads do not block. */
const CLUSTER_POLL_MS = 50;

const TICK_CONSUMER_OPTIONS = optionNames<TickConsumerOptions>({
  symbols: true,
  hashTag: true,
  group: true,
  consumer: true,
  count: true,
  blockMs: true,
  claimIdleMs: true,
  retryDelayMs: true,
  database: true,
});

/** What the consumer did since it was created. */
export interface ConsumerCounters {
  /** Entries whose update advanced an indicator (or was ignored as pre-open). */
  applied: number;
  /** Entries whose update had already run (redelivered after a crash): acknowledged, not counted again. */
  duplicates: number;
  /** Entries moved to `ticks:dead:{SYMBOL}`. */
  deadLetters: number;
  /** Entries taken over from other consumers of the group with XAUTOCLAIM. */
  claimed: number;
  /** Pending entries whose stream entry was trimmed before it could be read: acknowledged, nothing to apply. */
  trimmed: number;
}

/** Counters plus the group's position on its streams, as Redis reports it. */
export interface ConsumerStats extends ConsumerCounters {
  /** Entries delivered to the group and not yet acknowledged, over all streams. */
  pending: number;
  /** Entries in the streams not yet delivered to the group; null when Redis cannot tell (after XDEL/trimming). */
  lag: number | null;
}

/**
 * What a consumer waits for at its start ({@link TickConsumer.run}), before it reads: another
 * consumer of the group live on `stream` (`reason` "live": it read `idleMs` ago), or entries
 * another consumer left pending there, until they have been idle `claimIdleMs` ("pending").
 */
export interface ConsumerWaitingEvent {
  stream: string;
  /** The other consumer's name in the group. */
  consumer: string;
  /** How long ago it last read or claimed ("live"), or how long an entry it left pending has been idle ("pending"). */
  idleMs: number;
  reason: "live" | "pending";
}

/**
 * The `streamLost` event: a stream this consumer had its group on was found without it (the
 * stream deleted, evicted under an evicting maxmemory policy or expired, or the server came back
 * empty). Its entries after `lastAckedId` that it held then were never applied, and cannot be:
 * they are gone. The group is made again from the start of the stream as it is now.
 */
export interface StreamLostEvent {
  /** The stream key, `ticks:{SYMBOL}`. */
  stream: string;
  /** The symbol whose ticks it held. */
  symbol: string;
  /**
   * The last entry the group is known to have acknowledged (applied, dead-lettered, or found a
   * duplicate): by this consumer, or the group's last delivered entry when the consumer found
   * none pending. Null when none is known.
   */
  lastAckedId: string | null;
  /** The last entry the group is known to have delivered (to this consumer, or before it started); null when none is known. */
  lastDeliveredId: string | null;
}

/** Orders two stream IDs (`ms-seq`, decimal without leading zeros): negative when `a` comes first. */
function compareIds(a: string, b: string): number {
  const [am = "", an = ""] = a.split("-");
  const [bm = "", bn = ""] = b.split("-");
  const decimal = (x: string, y: string) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
  return decimal(am, bm) || decimal(an, bn);
}

/** Sets `map`'s entry of `key` to `id` unless it holds a later one. */
function keepLatest(map: Map<string, string>, key: string, id: string): void {
  const known = map.get(key);
  if (known === undefined || compareIds(id, known) > 0) map.set(key, id);
}

type StreamEntry = [id: string, fields: string[] | null];
type StreamReply = [stream: string, entries: StreamEntry[]][];

/**
 * XREADGROUP answers `[[stream, entries], ...]` under RESP2 and a map under RESP3, which
 * ioredis's default reply mapping flattens to `[stream, entries, stream, entries, ...]`.
 */
function streamsOf(reply: unknown): StreamReply {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (Array.isArray(reply[0])) return reply as StreamReply;
  const pairs: StreamReply = [];
  for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1] as StreamEntry[]]);
  return pairs;
}

/** XINFO and XPENDING replies come as flat [field, value, ...] lists (RESP2, or RESP3 mapped) or as objects. */
function record(value: unknown): Record<string, unknown> {
  if (!Array.isArray(value)) return (value ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < value.length; i += 2) out[String(value[i])] = value[i + 1];
  return out;
}

/** Entries a stream ID's millisecond may hold before the derived sequence number would collide. */
/** How long a read waits for new entries (XREADGROUP BLOCK) unless `blockMs` says otherwise. */
export const DEFAULT_BLOCK_MS = 1000;

/** How long another consumer must have been idle before a consumer takes over its streams or entries, unless `claimIdleMs` says otherwise. */
export const DEFAULT_CLAIM_IDLE_MS = 10_000;

/** Sends a pipeline and throws the first error a command of it met. */
async function execAll(pipeline: ReturnType<Redis["pipeline"]>): Promise<void> {
  for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
}

/** A stream entry as read: its update, or why it has none (trimmed from the stream, or bad). */
interface ReadEntry {
  id: string;
  fields: string[];
  update?: StreamUpdateInput;
  error?: Error;
  trimmed?: boolean;
}

function readEntry(symbol: string, id: string, fields: string[] | null): ReadEntry {
  // a pending entry trimmed from the stream comes back without fields: nothing to apply
  if (fields === null) return { id, fields: [], trimmed: true };
  try {
    return { id, fields, update: entryToUpdate(symbol, id, fields) };
  } catch (error) {
    return { id, fields, error: error as Error };
  }
}

/**
 * The streams in groups that one XREADGROUP of `count` entries each reads within
 * READ_GROUP_PAGE entries (one stream a group when `count` alone fills the page).
 */
function streamGroups(streams: readonly string[], count: number): string[][] {
  const size = Math.max(1, Math.floor(READ_GROUP_PAGE / count));
  const groups: string[][] = [];
  for (let i = 0; i < streams.length; i += size) groups.push(streams.slice(i, i + size));
  return groups;
}

const IDS_PER_MS = 1000;

/** A stream entry as an update: fields price, volume, ts, optional seq, high, low, close. */
export function entryToUpdate(symbol: string, id: string, fields: readonly string[]): StreamUpdateInput {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const number = (name: string) => {
    const text = map.get(name);
    if (text === undefined) return undefined;
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new InvalidInputError(name, `not a decimal number: ${JSON.stringify(text)}`);
    return Number(text);
  };
  let seq = number("seq");
  if (seq === undefined) {
    const [ms, n] = id.split("-").map(Number) as [number, number];
    if (n >= IDS_PER_MS) throw new InvalidInputError("seq", `entry ${id} needs a seq field: more than ${IDS_PER_MS} entries in one millisecond`);
    seq = ms * IDS_PER_MS + n;
  }
  const update: StreamUpdateInput = { symbol, ts: number("ts") as number, seq, volume: number("volume") as number };
  for (const name of ["price", "high", "low", "close"] as const) {
    const value = map.get(name); // kept as decimal text, so the price stays exact
    if (value !== undefined) update[name] = value;
  }
  return update;
}

/**
 * Events: `applied` (entries applied by one pass), `claimed` ({ stream, count }), `deadLetter`
 * ({ symbol, id, fields, reason }), `error` (a failed pass, as a ConnectionError or another
 * MathDispatcherError with the cause; it is retried, except a server that refuses the streams'
 * database, which ends `run()` with that ConfigurationError), `ready` (its groups are made and orphans
 * claimed: it reads from here on), `recovered` (the first pass that succeeded after failed ones),
 * `stopping` ({@link TickConsumer.stop} was called), `waiting` (a {@link ConsumerWaitingEvent}: at
 * its start, another consumer of the group is live on one of its streams, or left entries pending
 * there that are not idle long enough to claim), `streamLost` (a {@link StreamLostEvent}: a
 * stream it had its group on lost it, deleted, evicted, expired or emptied by a restart, and with
 * it the entries after `lastAckedId` it held; once per loss, when the group is made again). Not
 * for a stream it had read to its end (its last read found nothing new, nothing pending): a quiet
 * stream's expiry, every night, loses nothing.
 *
 * A stream lost while no consumer of this object ran (before its first `ensureGroups`) leaves no
 * trace it could see: it finds the stream missing, as before the ingester's first tick.
 */
export class TickConsumer extends EventEmitter {
  /** This consumer's name in the group. */
  readonly consumer: string;
  /** The consumer group. */
  readonly group: string;
  private stopping = false;
  /** The run under way ({@link TickConsumer.run}), if any. */
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly streams: string[];
  private readonly symbolByStream: Map<string, string>;
  private readonly deadTtlSeconds = keyFamily("ticks_dead").ttlSeconds;
  private readonly streamTtlSeconds = keyFamily("ticks").ttlSeconds;
  private readonly counters: ConsumerCounters = { applied: 0, duplicates: 0, deadLetters: 0, claimed: 0, trimmed: 0 };
  /** The streams this consumer found or made its group on: one found without it later lost it. */
  private readonly grouped = new Set<string>();
  /** Per stream, the last entry known acknowledged by the group, and the last known delivered to it (for `streamLost`). */
  private readonly lastAcked = new Map<string, string>();
  private readonly lastDelivered = new Map<string, string>();
  /** The streams this consumer's last read found without new entries, with none pending: nothing unapplied in them. */
  private readonly drained = new Set<string>();
  /** The tick streams' database on one server (a cluster has DB 0 only). */
  private readonly database: number;
  /** The connection (ioredis's socket) whose SELECT of {@link database} was answered: a reconnect makes a new one. */
  private selectedOn: unknown;
  /** The SELECT of {@link database} on its way, if one is. */
  private selecting: Promise<void> | undefined;

  /**
   * @param ticks a connection on the continuous_market database (DB 4 by default), used only by
   *   this consumer (reads block); or an ioredis `Cluster` (then give `hashTag: true`).
   * @param indicators the streaming indicators to apply entries to.
   */
  constructor(
    private readonly ticks: Redis | Cluster,
    private readonly indicators: StreamingIndicators,
    private readonly options: TickConsumerOptions,
  ) {
    super();
    refuseUnknownOptions(options, TICK_CONSUMER_OPTIONS, { name: "options", bare: true });
    if (ticks.isCluster && !options.hashTag) {
      throw new InvalidInputError("hashTag", "a consumer on a Redis Cluster needs hashTag: true (ticks:{SYMBOL})");
    }
    const database = (this.database = options.database ?? DATABASES.continuous_market.db);
    const connectedTo = (ticks as Redis).options.db ?? 0; // a Cluster has DB 0 only, and no such option
    if (!ticks.isCluster && connectedTo !== database) {
      throw new ConfigurationError(
        "databases.continuous_market",
        `the ticks connection is on DB ${connectedTo}, the tick streams are in DB ${database}: open it with { db: ${database} } (or give the consumer { database })`,
      );
    }
    checkWhole("count", options.count, 1, MAX_STREAM_UPDATES_PER_CALL, " (a read's entries of a stream are one script call)");
    // a BLOCK of 0 waits for ever (stop() would never be heard), a retry delay of 0 spins against a failing server
    checkWhole("blockMs", options.blockMs, 1, MAX_CONSUMER_WAIT_MS);
    checkWhole("claimIdleMs", options.claimIdleMs, 0, MAX_CONSUMER_WAIT_MS);
    checkWhole("retryDelayMs", options.retryDelayMs, 1, MAX_CONSUMER_WAIT_MS);
    this.group = options.group ?? "mathd";
    this.consumer = options.consumer ?? defaultConsumerName();
    this.streams = options.symbols.map((s) => tickStreamKey(s, options));
    this.symbolByStream = new Map(options.symbols.map((s, i) => [this.streams[i] as string, s]));
  }

  /** The server the ticks connection goes to, for messages: ioredis's defaults where its options (or a cluster's) say none. */
  private get server(): { host: string; port: number } {
    const { host = "127.0.0.1", port = 6379 } = this.ticks.isCluster ? {} : (this.ticks as Redis).options;
    return { host, port };
  }

  /**
   * Where the ticks go, for messages: the server, or on a cluster the nodes it knows now, else
   * the startup nodes it was given (ioredis's defaults are no node of it).
   */
  private get address(): string {
    if (!this.ticks.isCluster) return `${this.server.host}:${this.server.port}`;
    const cluster = this.ticks as Cluster;
    const known = cluster.nodes().map((node) => `${node.options.host}:${node.options.port}`);
    // ioredis keeps the startup nodes as given (a port, "host:port", or { host, port }), in a field its types call private
    const given = ((cluster as unknown as { startupNodes?: unknown[] }).startupNodes ?? []).map((node) =>
      typeof node === "object" && node !== null ? `${(node as { host?: string }).host ?? "127.0.0.1"}:${(node as { port?: number }).port ?? 6379}` : String(node),
    );
    const nodes = known.length > 0 ? known : given;
    return nodes.length > 0 ? `cluster ${nodes.join(",")}` : "cluster";
  }

  /**
   * Redis errors as the SDK's classes, with the original as the cause: a connection failure is a
   * ConnectionError naming the server, anything else Redis answered a RedisCommandError (a ServerBusyError for a "not now").
   */
  private typed(error: unknown): MathDispatcherError {
    if (error instanceof MathDispatcherError) return error;
    if (connectionFailureOf(error)) return toConnectionError(this.server, error, undefined, this.address);
    return replyErrorOf(error);
  }

  private async guarded<T>(step: () => Promise<T>): Promise<T> {
    try {
      await this.onStreamsDatabase();
      return await step();
    } catch (error) {
      throw this.typed(error);
    }
  }

  /**
   * On one server, SELECTs the streams' database after every (re)connect, before any step sends
   * a command: ioredis's own SELECT on connecting, turned away (BUSY: another client's long
   * script), only emits an error and leaves the connection on DB 0, where the consumer would
   * make empty streams and read nothing, for good. A refusal is a ConfigurationError.
   */
  private async onStreamsDatabase(): Promise<void> {
    // DB 0 is where every connection starts; a cluster has no other
    if (this.database === 0 || this.ticks.isCluster) return;
    const redis = this.ticks as Redis;
    if (redis.stream !== undefined && redis.stream === this.selectedOn) return;
    // one SELECT for all who ask at once (after a reconnect, each stream's settling asks)
    this.selecting ??= (async () => {
      const { host, port } = this.server;
      await selectDatabase(redis, "continuous_market", this.database, `${host}:${port}`);
      // the answer came on the connection that is current now: this continuation runs before a
      // close or a reconnect of it can be handled
      this.selectedOn = redis.stream;
    })().finally(() => (this.selecting = undefined));
    return this.selecting;
  }

  /**
   * The ticks connection for a command that writes (a group, a stream, a dead letter, an ack, a
   * claim), its database selected again when it was made again since the last SELECT: a reconnect
   * in the middle of a step, whose own SELECT a BUSY turned away, leaves the new connection on
   * DB 0, where the write would land. A SELECT turned away again, or a connection that is not
   * ready, fails the step; its entries stay pending for the next. Between this check and the write
   * only promise continuations run, never a socket's close, and ioredis sends a command given on a
   * ready connection at once. Not covered: a write already sent when the connection drops, which
   * ioredis resends after it reconnects, on DB 0 if that handshake's SELECT was turned away.
   */
  private async writer(): Promise<Redis | Cluster> {
    if (this.database === 0 || this.ticks.isCluster) return this.ticks;
    const redis = this.ticks as Redis;
    await this.onStreamsDatabase();
    if (redis.status === "ready" && redis.stream === this.selectedOn) return redis;
    throw toConnectionError(this.server, new Error(`not ready to write on DB ${this.database}`), "closed");
  }

  /** The stream keys this consumer reads. */
  get streamKeys(): readonly string[] {
    return this.streams;
  }

  /**
   * Creates the consumer group on every stream (from the start of the stream) where missing. A
   * stream that does not exist yet is created empty (MKSTREAM) and given its family's TTL, as
   * every key of the stack expires (the ingester's XADDs renew it); a stream that exists keeps
   * the TTL its writer gave it. Streams that have the group are left alone, so a server at
   * `maxmemory` (noeviction), which refuses every XGROUP CREATE, lets a consumer whose groups
   * exist start; a group it must make is then a ServerOutOfMemoryError.
   */
  ensureGroups(): Promise<void> {
    return this.guarded(() => this.createGroups());
  }

  /** The group's XINFO GROUPS record on `stream`; undefined when the stream or the group does not exist. */
  private async groupOn(stream: string): Promise<Record<string, unknown> | undefined> {
    try {
      // on the streams' database for sure: a read on DB 0 would find no stream, and the group made again
      const groups = (await (await this.writer()).xinfo("GROUPS", stream)) as unknown[];
      return groups.map(record).find((g) => String(g.name) === this.group);
    } catch (error) {
      if (error instanceof Error && /^ERR no such key/.test(error.message)) return undefined;
      throw error;
    }
  }

  private async createGroups(): Promise<void> {
    for (const stream of this.streams) {
      // a read first, which a server at maxmemory answers: it refuses XGROUP CREATE (OOM) before
      // it looks for the group, and a consumer whose group exists must start all the same
      const found = await this.groupOn(stream);
      if (found) {
        this.foundGroup(stream, found);
        continue;
      }
      this.lostGroup(stream);
      try {
        // without MKSTREAM first: a missing stream is an error, so this consumer knows whether it made the stream
        await (await this.writer()).xgroup("CREATE", stream, this.group, "0");
      } catch (error) {
        // another consumer made the group since the read: it is this consumer's group all the same
        if (error instanceof Error && error.message.startsWith("BUSYGROUP")) {
          this.grouped.add(stream);
          continue;
        }
        if (!(error instanceof Error && /requires the key to exist/.test(error.message))) throw error;
        try {
          await (await this.writer()).xgroup("CREATE", stream, this.group, "0", "MKSTREAM");
        } catch (again) {
          // another consumer of the group made it in between
          if (!(again instanceof Error && again.message.startsWith("BUSYGROUP"))) throw again;
        }
        // the stream may have been made by another consumer or the ingester in between: the
        // family's TTL is right for it either way
        await (await this.writer()).expire(stream, this.streamTtlSeconds);
      }
      this.grouped.add(stream);
    }
  }

  /** Notes the group's position on a stream where it exists: what a later loss of it took. */
  private foundGroup(stream: string, group: Record<string, unknown>): void {
    this.grouped.add(stream);
    const delivered = String(group["last-delivered-id"] ?? "0-0");
    if (delivered === "0-0") return;
    keepLatest(this.lastDelivered, stream, delivered);
    // nothing pending: every entry delivered was acknowledged
    if (Number(group.pending) === 0) keepLatest(this.lastAcked, stream, delivered);
  }

  /**
   * A stream without the group: lost, when this consumer had the group on it (the stream was
   * deleted, evicted, expired, or the server came back empty), and its unapplied entries with it.
   * Reported once: a failed attempt to make the group again does not report it again.
   */
  private lostGroup(stream: string): void {
    if (!this.grouped.delete(stream)) return;
    const readToItsEnd = this.drained.delete(stream) && this.lastAcked.get(stream) === this.lastDelivered.get(stream);
    const lost: StreamLostEvent = {
      stream,
      symbol: this.symbolByStream.get(stream) as string,
      lastAckedId: this.lastAcked.get(stream) ?? null,
      lastDeliveredId: this.lastDelivered.get(stream) ?? null,
    };
    // the stream made again starts afresh: its IDs owe nothing to the lost one's
    this.lastAcked.delete(stream);
    this.lastDelivered.delete(stream);
    // read to its end, nothing pending: the stream expired or went with nothing unapplied in it
    if (!readToItsEnd) this.emit("streamLost", lost);
  }

  /** Pending entries of other consumers, up to `last`, with their idle time in ms. */
  private async othersPending(stream: string, last: string): Promise<{ owner: string; idleMs: number }[]> {
    const idle: { owner: string; idleMs: number }[] = [];
    let start = "-";
    for (;;) {
      const page = (await this.ticks.xpending(stream, this.group, start, last, PENDING_PAGE)) as [string, string, number, number][];
      for (const [, owner, idleMs] of page) if (owner !== this.consumer) idle.push({ owner, idleMs: Number(idleMs) });
      if (page.length < PENDING_PAGE) return idle;
      start = `(${page[page.length - 1]![0]}`;
    }
  }

  /**
   * Takes over the entries other consumers of the group left pending on this consumer's streams:
   * waits until each has been idle for `claimIdleMs` (its owner may still be alive and about to
   * acknowledge it), then claims it with XAUTOCLAIM. Claimed entries are then read as this
   * consumer's own pending entries, in ID order, before any new entry. Only entries pending when
   * this starts are waited for (a live consumer is waited for before, by awaitSoleConsumer).
   * Emits `waiting` once per owner it waits for. Resolves to the number of entries claimed.
   */
  claimOrphans(): Promise<number> {
    return this.guarded(() => this.claim());
  }

  /**
   * Waits while another consumer of the group is live on one of this consumer's streams: one that
   * read or claimed there less than `claimIdleMs` ago (at least twice `blockMs`: Redis counts a
   * consumer blocked on a quiet stream as idle; one whose `blockMs` is longer still than that can
   * be missed, so give the consumers of a group one `blockMs`). Two consumers on one stream apply its
   * entries out of order, and the script counts the older ones as duplicates: ticks lost without
   * a word (a rolling deploy that starts the new consumer before the old one stops did so). So a
   * second consumer waits as a standby, and takes over once the first has stopped. Emits
   * `waiting` once per other consumer and stream. Checked at the start only: two consumers
   * started within one read of each other can both go on.
   */
  awaitSoleConsumer(): Promise<void> {
    return this.guarded(() => this.soleConsumer());
  }

  private async soleConsumer(): Promise<void> {
    const { claimIdleMs = DEFAULT_CLAIM_IDLE_MS, blockMs = DEFAULT_BLOCK_MS } = this.options;
    // Redis 7.0 counts a consumer idle through a read of new entries that finds none: a live one
    // blocked on a quiet stream (before 09:15) looks idle for up to its blockMs
    const liveMs = Math.max(claimIdleMs, 2 * blockMs);
    const told = new Set<string>();
    while (!this.stopping) {
      let wait = 0; // until the liveliest other consumer has been idle liveMs
      for (const stream of this.streams) {
        const consumers = ((await (await this.writer()).xinfo("CONSUMERS", stream, this.group)) as unknown[]).map(record);
        for (const other of consumers) {
          const name = String(other.name);
          const idleMs = Number(other.idle);
          if (name === this.consumer || idleMs >= liveMs) continue;
          wait = Math.max(wait, liveMs - idleMs);
          this.waitingOnce(told, { stream, consumer: name, idleMs, reason: "live" });
        }
      }
      if (wait === 0) return;
      await this.sleep(Math.max(50, wait));
    }
  }

  /** Emits `waiting` for `event`, once per stream and other consumer: `told` holds those it named. */
  private waitingOnce(told: Set<string>, event: ConsumerWaitingEvent): void {
    const named = `${event.stream}\n${event.consumer}`;
    if (told.has(named)) return;
    told.add(named);
    this.emit("waiting", event);
  }

  private async claim(): Promise<number> {
    const { claimIdleMs = DEFAULT_CLAIM_IDLE_MS } = this.options;
    let claimed = 0;
    for (const stream of this.streams) {
      const [count, , last, owners] = (await this.ticks.xpending(stream, this.group)) as [number, string, string, [string, string][] | null];
      if (Number(count) === 0 || (owners ?? []).every(([owner]) => owner === this.consumer)) continue;
      let claimedHere = 0;
      const told = new Set<string>(); // see waitingOnce
      while (!this.stopping) {
        let cursor = "0-0";
        do {
          const [next, ids] = (await (await this.writer()).xautoclaim(stream, this.group, this.consumer, claimIdleMs, cursor, "COUNT", CLAIM_PAGE, "JUSTID")) as [string, string[]];
          claimedHere += ids.length;
          cursor = next;
        } while (cursor !== "0-0");
        const idle = await this.othersPending(stream, last);
        if (idle.length === 0) break;
        for (const { owner, idleMs } of idle) this.waitingOnce(told, { stream, consumer: owner, idleMs, reason: "pending" });
        await this.sleep(Math.max(50, claimIdleMs - Math.max(...idle.map((i) => i.idleMs))));
      }
      if (claimedHere > 0) this.emit("claimed", { stream, count: claimedHere });
      claimed += claimedHere;
    }
    this.counters.claimed += claimed;
    return claimed;
  }

  /** Reads `streams` (all of this consumer's by default): their pending entries ("0") or new ones (">"). */
  private async read(id: "0" | ">", block: boolean, streams: readonly string[] = this.streams): Promise<StreamReply> {
    const { count = MAX_STREAM_UPDATES_PER_CALL, blockMs = DEFAULT_BLOCK_MS } = this.options;
    if (this.ticks.isCluster) {
      const reply = await this.readEach(this.ticks as Cluster, streams, id, count);
      if (block && reply.every(([, entries]) => entries.length === 0)) await this.sleep(Math.min(blockMs, CLUSTER_POLL_MS));
      return reply;
    }
    // at most READ_GROUP_PAGE entries a command: a read of every stream at once returned up to
    // 32 entries of each (200 streams: 6,400 entries, 11-14 ms of Redis in one command)
    const reply: StreamReply = [];
    for (const group of streamGroups(streams, count)) reply.push(...(await this.readGroup(group, id, count)));
    if (!block || this.stopping || reply.some(([, entries]) => entries.length > 0)) return reply;
    // every stream was empty: wait on all of them at once for the next entry, with a count that
    // keeps even a read that finds every stream filled within the page (up to READ_GROUP_PAGE
    // streams; beyond, one entry a stream); the next pass reads the rest
    return this.readGroup(streams, id, Math.min(count, Math.max(1, Math.floor(READ_GROUP_PAGE / streams.length))), blockMs);
  }

  private async readGroup(streams: readonly string[], id: "0" | ">", count: number, blockMs?: number): Promise<StreamReply> {
    const blockArgs = blockMs === undefined ? [] : ["BLOCK", blockMs];
    return streamsOf(await this.ticks.call("XREADGROUP", "GROUP", this.group, this.consumer, "COUNT", count, ...blockArgs, "STREAMS", ...streams, ...streams.map(() => id)));
  }

  /** One XREADGROUP per stream, one pipeline per master: no command spans two slots. */
  private async readEach(cluster: Cluster, streams: readonly string[], id: "0" | ">", count: number): Promise<StreamReply> {
    const commands = streams.map((stream) => ({
      keys: [stream],
      command: ["XREADGROUP", "GROUP", this.group, this.consumer, "COUNT", count, "STREAMS", stream, id] as [string, ...(string | number)[]],
    }));
    const outcomes = await runKeyed(cluster, commands);
    return outcomes.flatMap((outcome, i) => {
      if (!outcome.ok) throw outcome.error;
      const stream = streams[i] as string;
      const pairs = streamsOf(outcome.reply);
      // a one-stream reply may come unwrapped: the entries alone
      if (pairs.length > 0 && pairs.every(([name]) => name !== stream)) return [[stream, outcome.reply as StreamEntry[]]] as StreamReply;
      return pairs;
    });
  }

  /**
   * Applies one read's entries: every stream's updates in one `updateMany` (one atomic call per
   * symbol, all in one pipeline), then each stream's dead letters and acks, the streams at once.
   * A stream whose update met Redis trouble is left pending (read again next pass) and its error
   * thrown once the others are settled.
   */
  private async apply(reply: StreamReply): Promise<number> {
    const streams = reply
      .filter(([, entries]) => entries.length > 0)
      .map(([stream, entries]) => {
        keepLatest(this.lastDelivered, stream, (entries[entries.length - 1] as StreamEntry)[0]);
        const symbol = this.symbolByStream.get(stream) as string;
        return { stream, symbol, entries: entries.map(([id, fields]) => readEntry(symbol, id, fields)) };
      });
    const outcomes = await this.indicators.updateMany(streams.flatMap((s) => s.entries.flatMap((e) => (e.update ? [e.update] : []))));
    let next = 0;
    const settled = await Promise.allSettled(
      streams.map((s) => this.settle(s.stream, s.symbol, s.entries.map((e) => ({ ...e, outcome: e.update ? outcomes[next++] : undefined })))),
    );
    const trouble = settled.find((r) => r.status === "rejected");
    if (trouble) throw trouble.reason;
    return settled.reduce((sum, r) => sum + (r.status === "fulfilled" ? r.value : 0), 0);
  }

  /** One stream's entries after their updates: dead letters written, then everything acked; returns the entries applied. */
  private async settle(stream: string, symbol: string, entries: readonly (ReadEntry & { outcome?: BatchOutcome<StreamUpdateResult> })[]): Promise<number> {
    const ack: string[] = [];
    const dead: { id: string; fields: string[]; reason: string }[] = [];
    let duplicates = 0;
    let trimmed = 0;
    for (const e of entries) {
      const error = e.error ?? (e.outcome && !e.outcome.ok ? e.outcome.error : undefined);
      if (!error) {
        ack.push(e.id);
        if (e.trimmed) trimmed++;
        else if (e.outcome?.ok && (e.outcome.value.vwapStatus === "duplicate" || e.outcome.value.atrStatus === "duplicate")) duplicates++;
      } else if (error instanceof InvalidInputError && !KEPT_BY_THE_CONSUMER.test(error.field)) {
        dead.push({ id: e.id, fields: e.fields, reason: error.message });
      } else {
        throw error; // Redis trouble: leave the stream's entries pending, they are read again
      }
    }
    if (dead.length > 0) {
      // the dead letters are written before their entries are acked, in a round trip of its own:
      // a write the server refuses (out of memory) then leaves them pending, not acked and lost
      const deadKey = deadLetterKey(symbol, this.options);
      const letters = (await this.writer()).pipeline();
      for (const d of dead) letters.xadd(deadKey, "*", "source_id", d.id, "reason", d.reason, ...d.fields);
      letters.expire(deadKey, this.deadTtlSeconds); // a key family like any other: they expire with its TTL
      await execAll(letters);
      ack.push(...dead.map((d) => d.id));
    }
    if (ack.length > 0) {
      await execAll((await this.writer()).pipeline().xack(stream, this.group, ...ack));
      for (const id of ack) keepLatest(this.lastAcked, stream, id);
    }
    const applied = ack.length - dead.length - duplicates - trimmed;
    this.counters.applied += applied;
    this.counters.duplicates += duplicates;
    this.counters.deadLetters += dead.length;
    this.counters.trimmed += trimmed;
    for (const d of dead) this.emit("deadLetter", { symbol, ...d });
    return applied;
  }

  /**
   * One pass: this consumer's pending entries first (left by a crash, or claimed, or kept back by
   * Redis trouble), and new entries of the streams that have none, blocking up to `blockMs` when
   * no stream has any. Resolves to the number of entries applied.
   */
  runOnce(): Promise<number> {
    return this.guarded(async () => {
      const pending = (await this.read("0", false)).filter(([, entries]) => entries.length > 0);
      if (pending.length === 0) return this.apply(this.noteDrained(this.streams, await this.read(">", true)));
      // nothing newer of a stream is read before its pending entries are applied; the other
      // streams go on meanwhile, so one symbol's trouble (a stored state refused) holds back that
      // symbol only, where it held back every stream until it was mended
      const held = new Set(pending.map(([stream]) => stream));
      for (const stream of held) this.drained.delete(stream);
      const others = this.streams.filter((stream) => !held.has(stream));
      return this.apply(others.length === 0 ? pending : [...pending, ...this.noteDrained(others, await this.read(">", false, others))]);
    });
  }

  /**
   * Notes which of `streams` (none of them with entries pending) a read of new entries found
   * empty: read to their end, they hold nothing unapplied, and a loss of one then loses nothing
   * (a quiet stream's expiry, every night). Returns the reply.
   */
  private noteDrained(streams: readonly string[], reply: StreamReply): StreamReply {
    const fresh = new Set(reply.filter(([, entries]) => entries.length > 0).map(([stream]) => stream));
    for (const stream of streams) {
      if (fresh.has(stream)) this.drained.delete(stream);
      else this.drained.add(stream);
    }
    return reply;
  }

  /**
   * Runs until {@link TickConsumer.stop}: creates the groups, claims orphaned entries, then
   * applies entries pass after pass. A failed step is emitted as `error` and retried after
   * `retryDelayMs`; nothing is read past an entry that was not applied. A server that refuses
   * the streams' database ends it with that ConfigurationError, and a dispatcher (or client)
   * closed under it with that ClientClosedError: neither passes. A stream that lost its group
   * (NOGROUP, or a read UNBLOCKED by its deletion) is no failure: the group is made again and the
   * loss emitted as `streamLost`. Called again while it runs, it returns the same run: two loops
   * under one consumer name would read the same entries.
   */
  run(): Promise<void> {
    this.running ??= this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  private async loop(): Promise<void> {
    let prepared = false;
    let failing = false;
    const settled = () => this.counters.applied + this.counters.duplicates + this.counters.deadLetters + this.counters.trimmed;
    while (!this.stopping) {
      const before = settled();
      try {
        if (!prepared) {
          await this.ensureGroups();
          await this.awaitSoleConsumer();
          await this.claimOrphans();
          prepared = true;
          this.emit("ready");
          // stopped while waiting for others' entries to go idle: read nothing newer before them
          if (this.stopping) break;
        }
        const applied = await this.runOnce();
        if (failing) this.emit("recovered");
        failing = false;
        if (applied > 0) this.emit("applied", applied);
      } catch (error) {
        // the streams' database refused is a setting to correct, not a moment to wait out
        if (error instanceof ConfigurationError && error.setting === "databases.continuous_market") throw error;
        if (error instanceof ClientClosedError) throw error;
        // the stream expired (its TTL, after a quiet night), was deleted or evicted (a read blocked
        // on it is UNBLOCKED), or the server came back empty: no failure, the group is made again
        // at once, and the loss reported (streamLost)
        if (prepared && error instanceof Error && /^(NOGROUP|UNBLOCKED)\b/.test(error.message)) {
          prepared = false;
          continue;
        }
        failing = true;
        this.emit("error", error);
        // a pass that settled other streams' entries goes on at once: only the symbol in trouble
        // waits (a pause after every such pass let the others through 32 entries a pause)
        if (settled() === before) await this.sleep(this.options.retryDelayMs ?? 500);
      }
    }
  }

  /** What the consumer did so far, and the group's pending entries and lag on its streams (XINFO GROUPS). */
  stats(): Promise<ConsumerStats> {
    return this.guarded(() => this.groupStats());
  }

  private async groupStats(): Promise<ConsumerStats> {
    let pending = 0;
    let lag: number | null = 0;
    for (const stream of this.streams) {
      const group = ((await this.ticks.xinfo("GROUPS", stream)) as unknown[]).map(record).find((g) => String(g.name) === this.group);
      if (!group) continue;
      pending += Number(group.pending);
      lag = lag === null || group.lag === null || group.lag === undefined ? null : lag + Number(group.lag);
    }
    return { ...this.counters, pending, lag };
  }

  /** The counters alone, without asking Redis. */
  get totals(): ConsumerCounters {
    return { ...this.counters };
  }

  /** Asks {@link TickConsumer.run} to return after the current read (a pause is cut short); a stopped consumer stays stopped. */
  stop(): void {
    if (!this.stopping) this.emit("stopping"); // once, however often it is asked
    this.stopping = true;
    this.wake?.();
  }

  /** Waits `ms`, or until stop(); not at all once stop() was called (during the pass before it, say). */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = undefined));
  }
}
