/**
 * One client object for the whole DB map: a connection per database, opened on first use, and
 * every call run under one policy a paged engineer can reason about:
 *
 * - **A deadline per call** (`deadlineMs`, default 2,000 ms, or per call): every attempt's
 *   timeout, every backoff and every wait for a connection fits inside it.
 * - **Ready before sent**: a call waits until every connection it uses is connected and its
 *   database is selected (a refused SELECT is a ConfigurationError, never a silent DB 0).
 * - **Fail fast in an outage**: a call waits for a lost connection only during the first
 *   `outageGraceMs` of the outage (default 200 ms), long enough to ride out a failover's blip;
 *   after that calls fail at once with a ConnectionError naming the address and the cause, until
 *   the connection is back (it is retried every 200 ms at most, so calls succeed again quickly).
 *   Authentication and TLS failures are not waited for at all.
 * - **Retries**: a command lost with its connection is sent again once the connection is back
 *   (every script here is idempotent given its KEYS and ARGV); a timeout or a LOADING, BUSY,
 *   TRYAGAIN, CLUSTERDOWN, MASTERDOWN or READONLY reply is retried at most `maxRetries` times
 *   with exponential backoff and jitter. Any other error is returned as it is, typed.
 * - **A circuit breaker** for a Redis that answers too slowly: after `breakerThreshold`
 *   consecutive timeouts or busy replies calls fail with CircuitOpenError for `halfOpenAfterMs`,
 *   then are let through again; the first success closes it. State changes are `circuit` events.
 *   On a cluster each node has its own (a call names its node: the `node` of run/runOn), so one
 *   slow or dead node does not fail the calls to the others.
 * - **A bounded wait queue**: at most `offlineQueueLimit` calls wait for connections at once.
 *
 * Events: `circuit` (state, and the node on a cluster), `retry` (error), `down` ({ address,
 * database, error }, once per outage of each database's connection), `up` ({ address, database }),
 * so a service logs an outage once per connection instead of once per retry.
 *
 * **Redis Cluster** (`cluster`: an ioredis `Cluster`, or startup nodes): the one Cluster serves
 * every database of the map, since a cluster has only DB 0 (the key families' prefixes keep
 * them apart); `MATHD_DB_*` is refused. There is no SELECT: a call waits until the Cluster is
 * `ready` (connected, slot map read). The same deadline and retries apply, and a breaker per node.
 */
import { EventEmitter } from "node:events";
import { inspect, type InspectOptionsStylized } from "node:util";
import { Cluster, Redis } from "ioredis";
import { checkedStartupNodes, refuseDatabaseSettings, type StartupNode } from "../cluster/config.js";
import {
  CircuitOpenError,
  ClientClosedError,
  CommandTimeoutError,
  ConfigurationError,
  ConnectionError,
  InvalidInputError,
  MathDispatcherError,
  OfflineQueueFullError,
  isNotNowReply,
  replyErrorOf,
  ServerBusyError,
  shownValue,
  UpdateHeldBackError,
} from "../core/errors.js";
import { addressOf, connectionFailureOf, connectionOptions, integer, type RedisConfig, type RedisConfigInput, refusedDatabase, resolveRedisConfig, toConnectionError, withoutCredentials } from "./config.js";
import { absorbSocketErrors, guardSocketErrors } from "./socketErrors.js";
import { LATE_WAKEUP_MS } from "../core/within.js";
import { optionNames, refuseUnknownOptions } from "../core/options.js";
import type { DatabaseName } from "./databases.js";

/** Settings of a {@link ResilientRedis}: the connection, and the timeout, retry and circuit-breaker policy. */
export interface ResilientRedisOptions {
  /** Connection settings (URL, host, TLS, database map, command timeout). */
  config?: RedisConfigInput;
  /**
   * An existing ioredis client, used as it is (never reconfigured or closed) for its own
   * database; the other databases get connections with its address and credentials.
   */
  connection?: Redis;
  /**
   * Cluster mode: an ioredis `Cluster` (used as it is, never closed), or the startup nodes of
   * one the client opens. Every database of the map is then DB 0 of the cluster.
   */
  cluster?: Cluster | readonly StartupNode[];
  /** The whole budget of one call, attempts, backoff and waits included. Default 2,000 ms. */
  deadlineMs?: number;
  /** How long into an outage a call still waits for the connection. Default 200 ms. */
  outageGraceMs?: number;
  /** Retries after a timeout or a busy reply. Default 3. */
  maxRetries?: number;
  /** First backoff delay; it doubles, with jitter, up to `maxDelayMs`. Default 20 ms. */
  initialDelayMs?: number;
  /** Longest backoff delay between two attempts. Default 200 ms. */
  maxDelayMs?: number;
  /** Calls allowed to wait for connections at once. Default 1,000. */
  offlineQueueLimit?: number;
  /** Consecutive timeouts or busy replies that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** How long the circuit stays open. Default 500 ms. */
  halfOpenAfterMs?: number;
}

/** The names of {@link ResilientRedisOptions}, checked at run time (a typo in plain JavaScript is refused, not ignored). */
export const RESILIENT_REDIS_OPTIONS = optionNames<ResilientRedisOptions>({
  config: true,
  connection: true,
  cluster: true,
  deadlineMs: true,
  outageGraceMs: true,
  maxRetries: true,
  initialDelayMs: true,
  maxDelayMs: true,
  offlineQueueLimit: true,
  breakerThreshold: true,
  halfOpenAfterMs: true,
});

/** Options of one call. */
export interface CallOptions {
  /** This call's whole budget, instead of the client's `deadlineMs`. */
  deadlineMs?: number;
}

/** What a command run by {@link ResilientRedis.run} learns about its call. */
export interface CallContext {
  /** Epoch ms by which the call must be done; a command that loops checks it. */
  readonly deadline: number;
}

/**
 * State of the circuit breaker: `closed` (calls go through), `open` (calls fail at once with
 * CircuitOpenError for `halfOpenAfterMs`), `half_open` (the next call is a trial).
 */
export type CircuitStateName = "closed" | "open" | "half_open";

/** A "not now" reply a call met and retried ({@link ResilientRedis.lastNotNow}), and when (epoch ms). */
export interface NotNow {
  readonly error: Error;
  readonly at: number;
}

/** One circuit breaker's state: the client's server's (`node` ""), or one cluster node's. */
interface Breaker {
  readonly node: string;
  failures: number;
  state: CircuitStateName;
  openUntil: number;
  lastError: unknown;
  /** A call is the half-open circuit's trial: until it ends, every other call fails at once. */
  trialUnderWay: boolean;
}

/** The longest time setting of the policy (an hour): anything longer is a mistake in units. */
const MAX_POLICY_MS = 3_600_000;

/** A call's own `deadlineMs`: a number of ms above 0 and at most an hour (what is left of a budget may be a fraction). */
export function checkCallDeadline(value: unknown): number {
  if (typeof value !== "number" || !(value > 0 && value <= MAX_POLICY_MS)) {
    throw new InvalidInputError("deadlineMs", `must be a number of ms in (0, ${MAX_POLICY_MS}], got ${shownValue(value)}`);
  }
  return value;
}

/** How the policy treats an error: send again when connected, retry with backoff, or give up. */
export type ErrorClass = "connection" | "busy" | "final";

/** Classifies an error for the retry policy (exported for tests and custom commands). */
export function classifyError(error: unknown): ErrorClass {
  if (error instanceof CommandTimeoutError || error instanceof ServerBusyError) return "busy";
  if (error instanceof MathDispatcherError) return "final";
  if (!(error instanceof Error)) return "final";
  if (isNotNowReply(error)) return "busy";
  if (error.name === "MaxRetriesPerRequestError") return "connection"; // in flight when the socket dropped
  const failure = connectionFailureOf(error);
  return failure === "refused" || failure === "closed" || failure === "unreachable" || failure === "timeout" ? "connection" : "final";
}

/**
 * Whether an error is worth retrying: the same command may succeed a moment later. An open
 * circuit is (the breaker lets a call through again after `halfOpenAfterMs`), and so is a
 * streaming update held back behind a failed one (sent again in order, it applies).
 */
export function isTransient(error: unknown): boolean {
  return error instanceof CircuitOpenError || error instanceof UpdateHeldBackError || classifyError(error) !== "final";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long `close()` lets a QUIT take before it cuts the connection. */
const QUIT_TIMEOUT_MS = 1_000;

/**
 * QUIT on a ready connection, so that replies already on their way arrive first; any other
 * connection (connecting, reconnecting after a refused TLS handshake, ...) is cut at once, since a
 * QUIT there would wait in the offline queue for a connection that may never come. A QUIT that
 * does not answer within QUIT_TIMEOUT_MS is cut too.
 */
function closeConnection(redis: Redis): Promise<void> {
  absorbSocketErrors(redis); // a socket cut while its TLS handshake fails may still raise an error
  if (redis.status !== "ready") {
    redis.disconnect();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      // cut: disconnect() alone ends the socket gracefully, and a frozen server never answers
      // that either, which kept the calls in flight on it waiting for ioredis's disconnectTimeout
      redis.disconnect();
      redis.stream?.destroy();
      resolve();
    }, QUIT_TIMEOUT_MS);
    redis
      .quit()
      .catch(() => redis.disconnect())
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}

/**
 * ioredis keeps the password in a connection's options (and its connector's, a Cluster's node
 * options), where `util.inspect` or `JSON.stringify` of anything holding the connection prints
 * it: a connection the client opens shows only where it goes and its state. Own properties, so
 * that ioredis's classes are left as they are.
 */
function maskSecrets(redis: Redis | Cluster, where: () => string): void {
  const shown = () => `[${redis instanceof Cluster ? "Cluster" : "Redis"} ${where()} ${redis.status}]`;
  Object.defineProperties(redis, {
    toJSON: { value: shown },
    [inspect.custom]: { value: (_depth: number, options: InspectOptionsStylized) => options.stylize(shown(), "special") },
  });
}

/** One connection and what the policy knows about it. */
class Link {
  /** SELECT of `db` confirmed since the last (re)connect. */
  selected = false;
  /** The server has answered on this connection at least once. */
  answered = false;
  /** When the current outage began (undefined while connected). */
  downSince: number | undefined;
  lastError: Error | undefined;
  /** A refused SELECT: the connection is on the wrong database. */
  misconfigured: ConfigurationError | undefined;
  /** The socket whose login the server refused, if one was: see select(). */
  loginRefusedOn: unknown;
  /** SELECTs turned away with a "not now" in a row: the next is asked after a longer wait. */
  selectsTurnedAway = 0;
  private changed: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    // a Cluster in cluster mode: it has the same commands, routed by key
    readonly redis: Redis,
    readonly database: DatabaseName,
    readonly db: number,
  ) {}

  get usable(): boolean {
    return this.redis.status === "ready" && this.selected;
  }

  /** Resolves at the next change of state, or after `ms`. */
  async change(ms: number): Promise<void> {
    if (!this.changed) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.changed = { promise, resolve };
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.changed.promise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  notify(): void {
    this.changed?.resolve();
    this.changed = undefined;
  }
}

/**
 * The client every SDK round trip goes through: one ioredis connection per database of the map,
 * each command bounded by a deadline, retried with backoff after a timeout or a busy reply, sent
 * again once connected after a connection loss, and failed fast by a circuit breaker during an
 * outage. Errors come out typed (ConnectionError, CommandTimeoutError, CircuitOpenError,
 * RedisCommandError, ...).
 */
export class ResilientRedis extends EventEmitter {
  readonly config: RedisConfig;
  /** `host:port` of the server, as errors name it. */
  readonly address: string;
  /** The ioredis Cluster every database goes to in cluster mode; undefined on one server. */
  readonly cluster: Cluster | undefined;
  private readonly links = new Map<number, Link>();
  private readonly owned = new Set<Redis>();
  private readonly detach: (() => void)[] = [];
  /** The last "not now" of each server, by the `node` calls name it with ('' for the client's own). */
  private readonly notNow = new Map<string, NotNow>();
  /** The whole budget of one call, unless the call gives its own. */
  readonly deadlineMs: number;
  private readonly outageGraceMs: number;
  private readonly maxRetries: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly offlineQueueLimit: number;
  private readonly breakerThreshold: number;
  private readonly halfOpenAfterMs: number;
  private waiting = 0;
  /** The circuit breakers: "" the client's server (every call on one server), else a cluster node's address. */
  private readonly breakers = new Map<string, Breaker>();
  private closed = false;

  constructor(private readonly options: ResilientRedisOptions = {}) {
    super();
    refuseUnknownOptions(options, RESILIENT_REDIS_OPTIONS, { name: "options", bare: true, error: ConfigurationError }); // as a bad value of one is
    if (options.cluster) {
      refuseDatabaseSettings(process.env, options.connection?.options.db);
      if (options.connection) throw new ConfigurationError("connection", "give a cluster or a connection, not both");
    }
    const given = options.connection?.options;
    // a given connection's address wins over the environment: the other databases go where it goes
    this.config = resolveRedisConfig(given ? { host: given.host, port: given.port, ...options.config } : options.config, process.env, { cluster: options.cluster !== undefined });
    this.address = addressOf(this.config);
    // each a whole number in its range, else a ConfigurationError naming it (a NaN or a text
    // deadline would otherwise turn every timer into a wrong one)
    const policy = (setting: keyof ResilientRedisOptions, min: number, max: number, fallback: number) =>
      integer(options[setting] === undefined ? undefined : { value: options[setting], setting }, min, max, fallback);
    this.deadlineMs = policy("deadlineMs", 1, MAX_POLICY_MS, 2000);
    this.outageGraceMs = policy("outageGraceMs", 0, MAX_POLICY_MS, 200);
    this.maxRetries = policy("maxRetries", 0, 100, 3);
    this.initialDelayMs = policy("initialDelayMs", 0, MAX_POLICY_MS, 20);
    this.maxDelayMs = policy("maxDelayMs", 0, MAX_POLICY_MS, 200);
    this.offlineQueueLimit = policy("offlineQueueLimit", 0, 10_000_000, 1000);
    this.breakerThreshold = policy("breakerThreshold", 1, 1_000_000, 5);
    this.halfOpenAfterMs = policy("halfOpenAfterMs", 0, MAX_POLICY_MS, 500);
    if (options.connection) this.track(options.connection, this.databaseOfDb(options.connection.options.db ?? 0));
    this.cluster = undefined;
    if (options.cluster) {
      const given = options.cluster instanceof Cluster ? options.cluster : undefined;
      const nodes = given ? [] : checkedStartupNodes(options.cluster);
      const cluster = given ?? this.openCluster(nodes);
      this.cluster = cluster;
      this.address = given ? "cluster" : nodes.map((n) => addressOf(n)).join(",");
      if (!given) {
        this.owned.add(cluster as unknown as Redis);
        guardSocketErrors(cluster);
        maskSecrets(cluster, () => this.address);
      }
      this.track(cluster as unknown as Redis, "patterns");
    }
  }

  private openCluster(nodes: readonly StartupNode[]): Cluster {
    const { username, password, tls, commandTimeoutMs } = this.config;
    return new Cluster([...nodes], {
      lazyConnect: true,
      // the slot map is read again every few seconds too, so a failover is noticed without a MOVED
      slotsRefreshInterval: 5000,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
      // ioredis's ready check asks one node, at random, for CLUSTER INFO with no timeout: a frozen
      // master picked kept the whole cluster from ready (a CLUSTERDOWN is answered per call anyway)
      enableReadyCheck: false,
      redisOptions: {
        username,
        password,
        ...(tls ? { tls: { ...tls, rejectUnauthorized: true } } : {}),
        connectTimeout: commandTimeoutMs,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        disableClientInfo: true,
      },
    });
  }

  /**
   * The last "not now" reply (BUSY, LOADING, MASTERDOWN, ...) a call of this client met and retried
   * on `node` (a cluster node's address, '' for the one server, as {@link ResilientRedis.run} takes
   * it; omitted: on any), and when: what held calls up, for a caller that only saw its deadline pass.
   */
  lastNotNow(node?: string): NotNow | undefined {
    if (node !== undefined) return this.notNow.get(node);
    let last: NotNow | undefined;
    for (const seen of this.notNow.values()) if (!last || seen.at > last.at) last = seen;
    return last;
  }

  /** The state of the circuit breaker; on a cluster, of the node whose breaker is furthest from closed. */
  get circuit(): CircuitStateName {
    let worst: CircuitStateName = "closed";
    for (const breaker of this.breakers.values()) {
      const state = breaker.state === "open" && Date.now() >= breaker.openUntil ? "half_open" : breaker.state;
      if (state === "open") return state;
      if (state === "half_open") worst = state;
    }
    return worst;
  }

  private databaseOfDb(db: number): DatabaseName {
    const names = Object.keys(this.config.databases) as DatabaseName[];
    return names.find((name) => this.config.databases[name] === db) ?? "system";
  }

  /** The connection for a database of the map (opened on first use). */
  connection(database: DatabaseName): Redis {
    return this.link(database).redis;
  }

  private link(database: DatabaseName): Link {
    // cluster mode: one link, DB 0, for every database of the map
    const db = this.cluster ? 0 : this.config.databases[database];
    const existing = this.links.get(db);
    if (existing) return existing;
    if (this.closed) throw new ClientClosedError(this.address);
    const settings = {
      db,
      enableOfflineQueue: false, // the policy queues, bounded and within deadlines
      maxRetriesPerRequest: 0, // a command lost with its socket fails at once; the policy resends it
      retryStrategy: (times: number) => Math.min(20 * times, 200),
      connectTimeout: this.config.commandTimeoutMs,
      // the INFO ready check is refused to least-privilege users (docs/SECURITY.md); a server
      // still LOADING answers LOADING, which the policy retries
      enableReadyCheck: false,
      // CLIENT SETINFO is refused to them too, and under ioredis 5 a close during that handshake
      // left the connection 'ready' on a dead socket, never reconnecting (redis/ioredis#2099)
      disableClientInfo: true,
    };
    const redis = this.options.connection
      ? this.options.connection.duplicate(settings)
      : new Redis({ ...connectionOptions(this.config), ...settings });
    this.owned.add(redis);
    guardSocketErrors(redis);
    maskSecrets(redis, () => `${this.address} db ${db}`);
    return this.track(redis, database);
  }

  /** Follows a connection's state: outages, SELECT, errors. */
  private track(redis: Redis, database: DatabaseName): Link {
    const link = new Link(redis, database, this.cluster ? 0 : (redis.options.db ?? 0));
    this.links.set(link.db, link);
    const onReady = () => void this.select(link);
    const onError = (error: Error) => {
      withoutCredentials(error); // before it is kept, wrapped or emitted
      // a refused command of the handshake (the SELECT) is no connection failure: select() reports
      // it; nor is a "not now" to it (BUSY): the server is up, and select() asks again
      if (/^NOPERM/.test(error.message) || isNotNowReply(error)) return;
      if (connectionFailureOf(error) === "auth") link.loginRefusedOn = redis.stream;
      // a TLS or auth failure says more than the reset that follows it (TLS 1.3 reports a
      // refused client certificate after the handshake): keep it for this outage
      const kept = link.lastError && connectionFailureOf(link.lastError);
      if (!(link.downSince !== undefined && (kept === "tls" || kept === "auth"))) link.lastError = this.asTlsRefusal(link, error);
      if (link.downSince === undefined && !link.usable) this.markDown(link, error);
      link.notify();
    };
    const onClose = () => {
      link.selected = false;
      if (link.downSince === undefined && !this.closed) this.markDown(link, link.lastError ?? new Error("Connection is closed."));
      link.notify();
    };
    redis.on("ready", onReady);
    redis.on("error", onError);
    redis.on("close", onClose);
    this.detach.push(() => {
      redis.off("ready", onReady);
      redis.off("error", onError);
      redis.off("close", onClose);
    });
    if (redis.status === "ready") onReady();
    return link;
  }

  /**
   * Under TLS 1.3 a server refuses a client certificate only after the client's handshake is
   * done, so the client may see just a reset; on a TLS connection that never answered, that
   * reset is reported as the TLS failure it most likely is.
   */
  private asTlsRefusal(link: Link, error: Error): Error {
    if (!this.config.tls || link.answered || connectionFailureOf(error) !== "closed") return error;
    return new Error(`TLS: the server closed the connection before answering (is a client certificate required?): ${error.message}`, { cause: error });
  }

  private markDown(link: Link, error: Error): void {
    link.downSince = Date.now();
    this.emit("down", { address: this.address, database: link.database, error });
  }

  /** Confirms the connection's database before any command may use it. */
  private async select(link: Link): Promise<void> {
    try {
      if (link.db !== 0) await link.redis.select(link.db);
      // ioredis 5 goes 'ready' after a refused login, as Redis's default user when that one is
      // on, and the SELECT succeeds: a connection whose login was refused is never used as
      // someone else. A later connection whose login is taken (the user turned on again) is.
      if (link.loginRefusedOn !== undefined && link.loginRefusedOn === link.redis.stream) return link.notify();
      link.selected = true;
      link.answered = true;
      link.misconfigured = undefined;
      link.selectsTurnedAway = 0;
      if (link.downSince !== undefined) this.emit("up", { address: this.address, database: link.database });
      link.downSince = undefined;
      link.lastError = undefined;
    } catch (error) {
      if (classifyError(error) === "connection") return; // lost again: the next ready selects
      if (connectionFailureOf(error) === "auth") {
        // ioredis 5 reports a refused login and still goes 'ready': the SELECT then says NOAUTH
        link.lastError = error as Error;
        link.notify();
        return;
      }
      if (classifyError(error) === "busy") {
        // BUSY (another client's long script: Redis refuses SELECT then, though not while loading):
        // no refusal, the SELECT is asked again; calls wait within their deadlines, then fail with it
        link.lastError = error as Error;
        link.notify();
        const backoff = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** link.selectsTurnedAway++);
        setTimeout(() => {
          if (!this.closed && link.redis.status === "ready" && !link.selected) void this.select(link);
        }, backoff).unref();
        return;
      }
      link.misconfigured = refusedDatabase(link.database, link.db, this.address, error);
    }
    link.notify();
  }

  /** Waits until a connection may be used, or throws the typed reason it may not. */
  private async usable(link: Link, deadline: number): Promise<void> {
    if (link.usable) return;
    if (this.waiting >= this.offlineQueueLimit) {
      throw new OfflineQueueFullError(`${this.waiting} calls already wait for Redis at ${this.address}`);
    }
    this.waiting++;
    // until when a wakeup that came late may still wait (see below); none yet
    let stalledUntil = 0;
    try {
      for (;;) {
        if (link.misconfigured) throw link.misconfigured;
        if (link.usable) return;
        if (link.redis.status === "wait") (link.redis.connect() as Promise<void>).catch(() => undefined); // lazyConnect: errors arrive as events
        // ioredis ends a connection on its own when its connector throws (a client key that is
        // encrypted or not the certificate's): that error says why, not "closed"
        if (!this.closed && link.redis.status === "end" && link.lastError) throw this.connectionError(link.lastError, link);
        if (this.closed) throw new ClientClosedError(this.address);
        if (link.redis.status === "end") throw new ConnectionError(this.address, "closed", "the connection was ended");
        const failure = link.lastError && connectionFailureOf(link.lastError);
        if (failure === "auth" || failure === "tls" || failure === "denied") throw this.connectionError(link.lastError, link);
        // connected again and its SELECT on the way: that answer is worth the call's deadline
        const selecting = link.redis.status === "ready" && !link.selected;
        const limit = link.downSince === undefined || selecting ? deadline : Math.min(deadline, Math.max(link.downSince + this.outageGraceMs, stalledUntil));
        const now = Date.now();
        if (now >= limit) throw this.unavailable(link, now >= deadline);
        await link.change(limit - now);
        // Woken late, the process was busy in its own code (a detector's burst of work): the
        // reconnect it could not run meanwhile gets the grace it lost, from now, at most the
        // grace itself; an outage is charged only for time the process could have reconnected.
        const late = Date.now() - limit;
        if (late > LATE_WAKEUP_MS) stalledUntil = Date.now() + Math.min(late, this.outageGraceMs);
      }
    } finally {
      this.waiting--;
    }
  }

  private unavailable(link: Link, deadlinePassed: boolean): MathDispatcherError {
    if (link.lastError && classifyError(link.lastError) === "busy") return replyErrorOf(link.lastError); // the SELECT's BUSY, say
    if (link.lastError) return this.connectionError(link.lastError, link);
    return new ConnectionError(this.address, "timeout", deadlinePassed ? "not connected within the call's deadline" : "not connected");
  }

  private breakerOf(node: string): Breaker {
    let breaker = this.breakers.get(node);
    if (!breaker) this.breakers.set(node, (breaker = { node, failures: 0, state: "closed", openUntil: 0, lastError: undefined, trialUnderWay: false }));
    return breaker;
  }

  /**
   * Lets a call through the circuit, or throws CircuitOpenError. Once open, the circuit lets one
   * call through after `halfOpenAfterMs` as its trial, and fails every other call at once until
   * that trial ends: a server that is still stuck gets one call, not a queue of them. Returns
   * whether the call holds the trial (`holding`: it did on its last pass, and keeps it across its
   * retries); runOn gives it back when the call ends.
   */
  private checkCircuit(breaker: Breaker, holding: boolean): boolean {
    if (breaker.state === "closed") return holding;
    if (holding && breaker.state === "half_open") return true; // the trial's retry; a trial that failed opened the circuit again
    const where = breaker.node === "" ? this.address : breaker.node;
    // what it met last: a "not now" reply (LOADING, say) is a server that answers, not a slow one
    const why = isNotNowReply(breaker.lastError) ? `answers "not now" (${(breaker.lastError as Error).message.split(" ", 1)[0]})` : "answers too slowly";
    if (breaker.state === "open" && Date.now() < breaker.openUntil) throw new CircuitOpenError(`Redis at ${where} ${why}: the circuit is open`, { cause: breaker.lastError });
    // the trial that failed and waited out its backoff past halfOpenAfterMs takes the next trial itself
    if (breaker.trialUnderWay && !holding) throw new CircuitOpenError(`Redis at ${where} ${why}: the circuit is half open, and its one trial call is under way`, { cause: breaker.lastError });
    this.setState(breaker, "half_open");
    breaker.trialUnderWay = true;
    return true;
  }

  private setState(breaker: Breaker, state: CircuitStateName): void {
    if (state === breaker.state) return;
    breaker.state = state;
    if (breaker.node === "") this.emit("circuit", state);
    else this.emit("circuit", state, breaker.node);
  }

  private breakerFailure(breaker: Breaker, error: unknown): void {
    breaker.lastError = error;
    breaker.failures++;
    if (breaker.state === "half_open" || breaker.failures >= this.breakerThreshold) {
      breaker.openUntil = Date.now() + this.halfOpenAfterMs;
      this.setState(breaker, "open");
    }
  }

  private breakerSuccess(breaker: Breaker): void {
    breaker.failures = 0;
    if (breaker.state !== "closed") this.setState(breaker, "closed");
  }

  /**
   * One attempt, failed with CommandTimeoutError after `ms`: one promise, settled by the reply
   * or the timer, whichever comes first (Promise.race would cost a promise and reactions more).
   * The timer's verdict waits for the I/O of its turn of the event loop (`setImmediate` runs after
   * it): a process busy in its own code past `ms` (a detector's burst of work at the open) finds
   * its timers expired before it reads the replies waiting on its sockets, and those replies came
   * in time. Taken as timeouts, they were resent and opened the circuit while Redis was fine.
   */
  private attempt<T>(command: () => Promise<T>, ms: number, budget: number, node: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const reply = Promise.resolve(command()); // a synchronous throw rejects before any timer is set
      let verdict: ReturnType<typeof setImmediate> | undefined;
      const timer = setTimeout(() => {
        verdict = setImmediate(() => {
          const address = node === "" ? this.address : node;
          reject(new CommandTimeoutError(`Redis at ${address} did not answer within ${this.timeoutBound(ms, budget)}`, { address }));
        });
      }, ms);
      const settle = () => {
        clearTimeout(timer);
        if (verdict) clearImmediate(verdict);
      };
      reply.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  /** How long a timed-out attempt waited: an attempt cut short by the call's deadline says so. */
  private timeoutBound(ms: number, budget: number): string {
    // `budget` is what the round trip was given: a step of a longer call (a script call's) gets what
    // is left of that call's deadline, so the message says so rather than call it the deadline
    return ms < this.config.commandTimeoutMs ? `${Math.round(ms)} ms, all that was left of the call's deadline (${budget} ms when this round trip began)` : `${ms} ms`;
  }

  /** An error as the caller gets it: always a MathDispatcherError, with the original as cause. */
  private typed(error: unknown): MathDispatcherError {
    if (error instanceof MathDispatcherError) return error;
    if (classifyError(error) === "connection" || connectionFailureOf(error)) return this.connectionError(error);
    return replyErrorOf(error);
  }

  /**
   * A connection failure named by this client's address: on a cluster its nodes, where the
   * config's host and port are the defaults. `link`: the connection it came from, when known, so
   * that a close before any answer can say TLS may be needed.
   */
  private connectionError(error: unknown, link?: Link): ConnectionError {
    return toConnectionError(this.config, error, undefined, this.address, { neverAnswered: link !== undefined && !link.answered });
  }

  /**
   * Runs `command` on a database's connection under the policy.
   * @throws ConnectionError, CommandTimeoutError, CircuitOpenError, ConfigurationError,
   *   OfflineQueueFullError, or the command's own error typed (RedisCommandError at least).
   */
  run<T>(database: DatabaseName, command: (redis: Redis, call: CallContext) => Promise<T>, options?: CallOptions, node?: string): Promise<T> {
    return this.runOn([database], (connections, call) => command(connections[0] as Redis, call), options, node);
  }

  /**
   * Like {@link ResilientRedis.run}, for a command that uses several databases' connections at once.
   * @param node on a cluster, the address of the node the command goes to: its breaker, not the
   *   client's, counts the command's timeouts (omitted: the client's own breaker).
   */
  async runOn<T>(
    databases: readonly DatabaseName[],
    command: (connections: Redis[], call: CallContext) => Promise<T>,
    options?: CallOptions,
    node = "",
  ): Promise<T> {
    const budget = options?.deadlineMs === undefined ? this.deadlineMs : checkCallDeadline(options.deadlineMs);
    const links = databases.map((d) => this.link(d));
    const breaker = this.breakerOf(node);
    const call: CallContext = { deadline: Date.now() + budget };
    let retries = 0;
    let trial = false;
    let lastError: unknown;
    try {
      for (;;) {
        // closed while this call waited to send it again: it ends, as a call made after the close would
        if (this.closed) throw new ClientClosedError(this.address, undefined, lastError === undefined ? undefined : { cause: lastError });
        trial = this.checkCircuit(breaker, trial);
        for (const link of links) if (!link.usable) await this.usable(link, call.deadline);
        const remaining = call.deadline - Date.now();
        if (remaining <= 0) throw new CommandTimeoutError(`the call's deadline passed (${budget} ms were left of it when this round trip began)`);
        const attemptMs = Math.min(this.config.commandTimeoutMs, remaining);
        try {
          const result = await this.attempt(() => command(links.map((l) => l.redis), call), attemptMs, budget, node);
          this.breakerSuccess(breaker);
          return result;
        } catch (error) {
          lastError = error;
          const kind = classifyError(error);
          if (kind === "final") throw this.typed(error);
          this.emit("retry", error);
          if (isNotNowReply(error)) this.notNow.set(node, { error: error as Error, at: Date.now() });
          if (kind === "busy") {
            // a timeout the caller's own deadline cut short says nothing of the server: it does not
            // count toward opening the circuit, which every caller of this client (or node) shares
            if (!(error instanceof CommandTimeoutError && attemptMs < this.config.commandTimeoutMs)) this.breakerFailure(breaker, error);
            if (retries >= this.maxRetries) throw this.typed(error);
            const backoff = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** retries++) * (0.5 + Math.random() / 2);
            if (Date.now() + backoff >= call.deadline) throw this.typed(error);
            await sleep(backoff);
          } else if (links.every((l) => l.usable)) {
            // lost while the link still looks up: give ioredis a moment to notice the socket is gone
            if (Date.now() >= call.deadline) throw this.typed(error);
            await sleep(Math.min(this.initialDelayMs, call.deadline - Date.now()));
          }
        }
      }
    } finally {
      if (trial) breaker.trialUnderWay = false;
    }
  }

  /**
   * What a log may show of the client: its address, settings (password and client key as `***`,
   * see {@link resolveRedisConfig}), connections and circuit. Not its ioredis objects or its
   * options as given: those hold the password, a URL's included.
   */
  toJSON(): { address: string; cluster: boolean; config: RedisConfig; connections: Partial<Record<DatabaseName, string>>; circuit: CircuitStateName; closed: boolean } {
    const connections: Partial<Record<DatabaseName, string>> = {};
    for (const link of this.links.values()) connections[link.database] = link.redis.status;
    return { address: this.address, cluster: this.cluster !== undefined, config: this.config, connections, circuit: this.circuit, closed: this.closed };
  }

  /** `util.inspect` (console.log) shows {@link ResilientRedis.toJSON}'s summary, never the password. */
  [inspect.custom](depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    if (depth < 0) return options.stylize("[ResilientRedis]", "special");
    return `ResilientRedis ${show(this.toJSON(), { ...options, depth: options.depth === null || options.depth === undefined ? options.depth : options.depth - 1 })}`;
  }

  /** Closes the connections this client opened (not one it was given); later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const owned = [...this.owned];
    this.owned.clear();
    for (const detach of this.detach.splice(0)) detach();
    for (const link of this.links.values()) link.notify();
    this.links.clear();
    await Promise.all(owned.map(closeConnection));
  }

  /** `await using redis = new ResilientRedis(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
