/**
 * One client object for the whole DB map: a connection per database, opened on first use, and
 * every command run through a policy that a paged engineer can reason about:
 *
 * - a per-command timeout;
 * - retries with exponential backoff and decorrelated jitter, for transient errors only
 *   (connection loss, timeouts, LOADING, BUSY, TRYAGAIN, failover); a WRONGTYPE or a script's
 *   input error is never retried;
 * - a bounded offline queue: while a connection is down, at most `offlineQueueLimit` calls wait
 *   for it (each within its timeout), the next ones fail at once with OfflineQueueFullError;
 *   ioredis's own unbounded queue is off, so no command runs long after its caller gave up;
 * - a circuit breaker (cockatiel) that opens after `breakerThreshold` consecutive transient
 *   failures, fails calls fast with CircuitOpenError while open, lets one trial call through
 *   after `halfOpenAfterMs`, and closes when Redis answers. Its state changes are emitted as
 *   `circuit` events.
 */
import { EventEmitter } from "node:events";
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type IPolicy,
} from "cockatiel";
import { Redis } from "ioredis";
import { MathDispatcherError } from "../core/errors.js";
import { connectionOptions, type RedisConfig, type RedisConfigInput, resolveRedisConfig } from "./config.js";
import type { DatabaseName } from "./databases.js";

/** Calls fail fast: the breaker is open after repeated transient failures. */
export class CircuitOpenError extends MathDispatcherError {}
/** Too many calls are already waiting for a connection that is down. */
export class OfflineQueueFullError extends MathDispatcherError {}
/** A command did not answer within the per-command timeout. */
export class CommandTimeoutError extends MathDispatcherError {}

export type CircuitStateName = "closed" | "open" | "half_open";

export interface ResilientRedisOptions {
  /** Connection settings; ignored for the database of `connection`. */
  config?: RedisConfigInput;
  /** An existing ioredis client, used as it is (never reconfigured or closed) for its own database. */
  connection?: Redis;
  /** Attempts after the first, for transient errors. Default 3. */
  maxRetries?: number;
  /** First backoff delay; it grows exponentially with jitter up to `maxDelayMs`. Default 50 ms. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Calls allowed to wait for a connection that is down. Default 1000. */
  offlineQueueLimit?: number;
  /** Consecutive transient failures that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** How long the circuit stays open before a trial call. Default 2000 ms. */
  halfOpenAfterMs?: number;
}

const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/;
const TRANSIENT_CONNECTION = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|Connection is closed|Stream isn't writeable|connection is down/i;

/** Whether an error is worth retrying: the same command may succeed a moment later. */
export function isTransient(error: unknown): boolean {
  if (error instanceof CommandTimeoutError || error instanceof TaskCancelledError) return true;
  if (!(error instanceof Error) || error instanceof MathDispatcherError) return false;
  return TRANSIENT_REPLY.test(error.message) || TRANSIENT_CONNECTION.test(error.message);
}

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

export class ResilientRedis extends EventEmitter {
  readonly config: RedisConfig;
  private readonly connections = new Map<number, Redis>();
  private readonly owned = new Set<Redis>();
  private readonly breaker;
  private readonly policy: IPolicy;
  private waiting = 0;

  constructor(private readonly options: ResilientRedisOptions = {}) {
    super();
    this.config = resolveRedisConfig(options.config);
    if (options.connection) this.connections.set(options.connection.options.db ?? 0, options.connection);
    this.breaker = circuitBreaker(handleWhen(isTransient), {
      halfOpenAfter: options.halfOpenAfterMs ?? 2000,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    });
    this.breaker.onStateChange((state) => this.emit("circuit", STATE_NAMES[state]));
    const retries = retry(handleWhen(isTransient), {
      maxAttempts: options.maxRetries ?? 3,
      backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 50, maxDelay: options.maxDelayMs ?? 1000 }),
    });
    retries.onRetry((reason) => this.emit("retry", "error" in reason ? reason.error : reason.value));
    this.policy = wrap(retries, this.breaker, timeout(this.config.commandTimeoutMs, TimeoutStrategy.Aggressive));
  }

  /** The state of the circuit breaker. */
  get circuit(): CircuitStateName {
    return STATE_NAMES[this.breaker.state];
  }

  /** The connection for a database of the map (opened on first use). */
  connection(database: DatabaseName): Redis {
    const db = this.config.databases[database];
    let redis = this.connections.get(db);
    if (!redis) {
      redis = new Redis({
        ...connectionOptions(this.config),
        db,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
      });
      redis.on("error", (error: Error) => this.emit("connectionError", error));
      this.owned.add(redis);
      this.connections.set(db, redis);
    }
    return redis;
  }

  /** One promise per connection that is down, shared by every call waiting for it. */
  private readonly whenReady = new Map<Redis, Promise<void>>();

  private readyPromise(redis: Redis): Promise<void> {
    let promise = this.whenReady.get(redis);
    if (!promise) {
      promise = new Promise<void>((resolve) => redis.once("ready", resolve)).finally(() => this.whenReady.delete(redis));
      this.whenReady.set(redis, promise);
    }
    return promise;
  }

  /** Waits (bounded in number, and in time by the command timeout) for a connection that is not ready. */
  private async ready(redis: Redis): Promise<void> {
    if (redis.status === "ready") return;
    if (this.waiting >= (this.options.offlineQueueLimit ?? 1000)) {
      throw new OfflineQueueFullError(`${this.waiting} calls already wait for Redis at ${this.config.host}:${this.config.port}`);
    }
    this.waiting++;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.readyPromise(redis),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new CommandTimeoutError("connection is down: not ready within the command timeout")),
            this.config.commandTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.waiting--;
    }
  }

  /**
   * Runs `command` on a database's connection under the timeout, retry and breaker policy.
   * @throws CircuitOpenError while the circuit is open; the command's own error otherwise.
   */
  async run<T>(database: DatabaseName, command: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = this.connection(database);
    try {
      // a signal of its own per call: cockatiel's shared default would collect one abort
      // listener per concurrent call (MaxListenersExceededWarning past ten)
      return await this.policy.execute(async ({ signal }) => {
        await this.ready(redis);
        if (signal.aborted) throw new CommandTimeoutError("timed out");
        return command(redis);
      }, new AbortController().signal);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError("Redis is failing: the circuit is open", { cause: error });
      if (error instanceof TaskCancelledError) {
        throw new CommandTimeoutError(`no answer within ${this.config.commandTimeoutMs} ms`, { cause: error });
      }
      throw error;
    }
  }

  /** Closes the connections this client opened (not one it was given). */
  async close(): Promise<void> {
    const owned = [...this.owned];
    this.owned.clear();
    this.connections.clear();
    await Promise.all(owned.map((r) => r.quit().catch(() => r.disconnect())));
  }
}
