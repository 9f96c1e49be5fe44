/**
 * `mathd consume`: runs the tick consumer until SIGINT or SIGTERM (or an abort signal), printing
 * a statistics line every few seconds and a summary on exit; with `json`, every line is one JSON
 * object with an `event` field (`start`, `stats`, `claimed`, `deadLetter`, `streamLost`,
 * `unreachable`, `error`, `recovered`, `summary`).
 */
import { Cluster, Redis } from "ioredis";
import { clusterNodesFromEnv, type StartupNode } from "../cluster/config.js";
import { ConnectionError, type ConnectionFailure, isNotNowReply, type MathDispatcherError, ServerOutOfMemoryError } from "../core/errors.js";
import { MathDispatcher } from "../dispatcher/MathDispatcher.js";
import { addressOf, connectionFailureOf, connectionHint, connectionOptions, type RedisConfig, type RedisConfigInput, resolveRedisConfig, withoutCredentials } from "../redis/config.js";
import { ResilientRedis } from "../redis/ResilientRedis.js";
import { endedBeforeAnyAnswer, guardSocketErrors } from "../redis/socketErrors.js";
import { type ConsumerCounters, type ConsumerStats, type ConsumerWaitingEvent, DEFAULT_BLOCK_MS, DEFAULT_CLAIM_IDLE_MS, type StreamLostEvent, TickConsumer } from "../streaming/tickConsumer.js";

export interface ConsumeOptions {
  /** Redis URL; other settings (MATHD_DB_*, TLS files, credentials) come from the environment as {@link resolveRedisConfig} reads it. */
  url?: string;
  /** Connection settings instead of `url`. */
  config?: RedisConfigInput;
  /**
   * A Redis Cluster's startup nodes (without `url` or `config`, `MATHD_CLUSTER_NODES` is read):
   * each stream is read on its own master, and every key carries its symbol's hash tag.
   */
  cluster?: readonly StartupNode[];
  symbols: string[];
  group?: string;
  /** Consumer name, default `mathd@<host name>` (stable across restarts). */
  consumer?: string;
  atrPeriod?: number;
  rsiPeriod?: number;
  hashTag?: boolean;
  /** Idle time after which another consumer's pending entries are claimed at start, default 10,000 ms. */
  claimIdleMs?: number;
  /** Interval of the statistics line, default 5,000 ms. */
  statsIntervalMs?: number;
  /** Every line as one JSON object (JSON Lines) instead of text. */
  json?: boolean;
  /** Where lines go; default: info to stdout, errors to stderr. */
  log?: (line: string, level: "info" | "error") => void;
  /** Stops the consumer when aborted; without one, SIGINT and SIGTERM stop it. */
  signal?: AbortSignal;
}

const defaultLog = (line: string, level: "info" | "error") => (level === "error" ? console.error(line) : console.log(line));

type Level = "info" | "error";
/** Writes one line: the text, or with `--json` the event and its fields as one JSON object. */
type Say = (level: Level, event: string, text: string, fields: Record<string, unknown>) => void;

/**
 * What the log says of the server, by the kind of connection failure: the on-call reads this line
 * first, and a server that is up but busy or late is not unreachable. `busy` is every "not now"
 * reply (BUSY: another client's long script; LOADING; READONLY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN:
 * a failover); `timeout` a server that did not answer in time, or a connection not made in time.
 */
const SERVER_STATE: Record<Exclude<ConnectionFailure, "denied">, string> = {
  refused: "unreachable",
  unreachable: "unreachable",
  closed: "unreachable",
  timeout: "does not answer in time",
  busy: "is busy, loading or failing over",
  auth: "refuses the credentials",
  tls: "fails the TLS handshake",
};

/**
 * Logs a problem once, not once per retry: connection failures from any of the consumer's
 * connections count as one problem while the server's state stays the same (busy, then
 * unreachable, is two lines); any other error is logged again only when its message changes.
 * `recovered` counts from the first failure after the last good pass.
 */
class ProblemLog {
  private current: string | undefined;
  private since = 0;
  private repeats = 0;

  constructor(
    private readonly address: string,
    private readonly say: Say,
  ) {}

  problem(error: unknown): void {
    // a "not now" a script call met (another client's long script) is the server's state too
    const failure = connectionFailureOf(error) ?? (isNotNowReply(error) ? "busy" : undefined);
    const message = error instanceof Error ? error.message : String(error);
    const state = failure && failure !== "denied" ? SERVER_STATE[failure] : undefined;
    const key = state === undefined ? message : `connection: ${state}`;
    if (key === this.current) {
      this.repeats++;
      return;
    }
    if (this.current === undefined) {
      this.since = Date.now();
      this.repeats = 0;
    } else this.repeats++;
    this.current = key;
    if (state !== undefined) {
      this.say("error", "unreachable", `redis at ${this.address} ${state} (${failure}: ${message}); retrying until it answers (at the start, for ${START_TIMEOUT_MS / 1000} s), logged once`, {
        address: this.address,
        failure,
        message,
      });
    } else this.say("error", "error", `consumer error at redis ${this.address} (retrying, logged once): ${message}`, { address: this.address, message });
  }

  recovered(): void {
    if (this.current === undefined) return;
    const seconds = (Date.now() - this.since) / 1000;
    const attempts = this.repeats + 1;
    this.say("info", "recovered", `redis at ${this.address} answers again after ${seconds.toFixed(1)} s (${attempts} failed attempts)`, {
      address: this.address,
      seconds,
      failedAttempts: attempts,
    });
    this.current = undefined;
  }
}

type Figures = ConsumerCounters & Partial<Pick<ConsumerStats, "pending" | "lag">>;

/**
 * `stats applied 1200 in 5.0 s (240.0/s), duplicates 0, dead letters 0, claimed 0, trimmed 0, pending 0, lag 12`;
 * `?` where Redis was not asked. As JSON: the same figures, `pending` and `lag` null where the
 * text says `?` (and `lag` null where Redis cannot tell), and the counters since the start.
 */
function sayStats(say: Say, event: "stats" | "summary", stats: Figures, seconds: number, applied: number): void {
  const rate = seconds > 0 ? applied / seconds : 0;
  const pending = stats.pending ?? "?";
  const lag = stats.lag === undefined ? "?" : (stats.lag ?? "unknown");
  const prefix = event === "stats" ? "stats" : "summary:";
  say(
    "info",
    event,
    `${prefix} applied ${applied} in ${seconds.toFixed(1)} s (${rate.toFixed(1)}/s), duplicates ${stats.duplicates}, dead letters ${stats.deadLetters}, claimed ${stats.claimed}, trimmed ${stats.trimmed}, pending ${pending}, lag ${lag}`,
    {
      applied,
      seconds: Number(seconds.toFixed(3)),
      perSecond: Number(rate.toFixed(1)),
      duplicates: stats.duplicates,
      deadLetters: stats.deadLetters,
      claimed: stats.claimed,
      trimmed: stats.trimmed,
      pending: stats.pending ?? null,
      lag: stats.lag ?? null,
      totals: { applied: stats.applied, duplicates: stats.duplicates, deadLetters: stats.deadLetters, claimed: stats.claimed, trimmed: stats.trimmed },
    },
  );
}

/**
 * How long the consumer waits for Redis at its start. Later outages are waited out (and logged
 * once); a start that cannot connect fails (exit 2), so a supervisor sees it and restarts it.
 */
export const START_TIMEOUT_MS = 5000;

/**
 * Watches the consumer's run: `failed` rejects at once for a wrong password or a missing
 * permission, whenever it comes (it never heals by itself; ioredis 5 reports the connection ready
 * before its AUTH fails, and a permission the start did not use is missed only later), and once
 * {@link START_TIMEOUT_MS} has passed before the first pass has made its groups (`ready`): with
 * a ServerOutOfMemoryError for a group it cannot make at maxmemory, else a ConnectionError (the
 * server could not be reached, only answered "not now", or refused the start), each exit 2.
 */
function watchRun(ticks: Redis | Cluster, consumer: TickConsumer, address: string, tls: RedisConfig["tls"]): { failed: Promise<never>; done: () => void } {
  let fail: (error: MathDispatcherError) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined); // whoever races it sees the rejection
  let lastError: unknown;
  let ready = false;
  // a socket reset before any answer, seen at any time of the start: the failed commands' errors
  // that follow it (ioredis 5's "max retries per request") would hide it as the last error
  let resetBeforeAnswer = false;
  const seen = (error: unknown) => {
    lastError = withoutCredentials(error);
    resetBeforeAnswer ||= endedBeforeAnyAnswer(error);
    const failure = connectionFailureOf(error);
    if (failure === "auth" || failure === "denied") fail(new ConnectionError(address, failure, `refused${ready ? "" : " at start"}: ${(error as Error).message}`, { cause: error }));
  };
  const timer = setTimeout(() => {
    const detail = lastError ? `: ${(lastError as Error).message}` : "";
    const failure = connectionFailureOf(lastError) ?? (isNotNowReply(lastError) ? "busy" : undefined);
    if (failure === undefined && lastError instanceof ServerOutOfMemoryError) {
      // the server answered, at its maxmemory (it cannot make a group there): that, not a
      // connection that was never made (exit 2 all the same)
      return fail(new ServerOutOfMemoryError(`not started within ${START_TIMEOUT_MS} ms of the start${detail}`, { cause: lastError }));
    }
    const kind = failure ?? "timeout";
    const hint = connectionHint(tls, kind, resetBeforeAnswer);
    fail(new ConnectionError(address, kind, `not connected within ${START_TIMEOUT_MS} ms of the start${detail}${hint}`, { cause: lastError }));
  }, START_TIMEOUT_MS);
  const started = () => {
    ready = true;
    clearTimeout(timer);
  };
  const done = () => {
    clearTimeout(timer);
    ticks.off("error", seen);
    consumer.off("error", seen);
    consumer.off("ready", started);
    consumer.off("waiting", started);
  };
  ticks.on("error", seen);
  consumer.on("error", seen);
  consumer.once("ready", started);
  // connected and grouped, waiting for another consumer to stop: started, not stuck
  consumer.on("waiting", started);
  return { failed, done };
}

/** Runs the consumer until stopped; resolves to its final statistics. */
export async function consume(options: ConsumeOptions): Promise<Figures> {
  const log = options.log ?? defaultLog;
  const say: Say = (level, event, text, fields) => log(options.json ? JSON.stringify({ event, at: new Date().toISOString(), ...fields }) : text, level);
  const given = options.config ?? (options.url === undefined ? undefined : { url: options.url });
  const nodes = options.cluster ?? (given === undefined ? clusterNodesFromEnv() : undefined);
  const config = resolveRedisConfig(given ?? {}, process.env, { cluster: nodes !== undefined });
  // a cluster has DB 0 only, where every key family lives
  const db = nodes ? 0 : config.databases.continuous_market;
  const address = nodes ? `cluster ${nodes.map((n) => `${n.host}:${n.port}`).join(",")}` : addressOf(config);
  const problems = new ProblemLog(address, say);
  const client = new ResilientRedis({ config: given ?? {}, ...(nodes ? { cluster: nodes } : {}) });
  const dispatcher = MathDispatcher.withClient(client, { hashTag: nodes ? true : options.hashTag });
  // The consumer's own connection. Commands fail at once while it is down (no offline queue, no
  // per-request retries): the consumer's loop retries them, so a stop is never stuck behind a
  // queue, and every error has a listener (no "[ioredis] Unhandled error event"). The ready
  // check (INFO) and CLIENT SETINFO are refused to the consumer's ACL user, and ioredis 5
  // (redis/ioredis#2099) left a connection closed during SETINFO 'ready' on a dead socket.
  // Every command also times out (a blocking read after its BLOCK plus the command timeout), so
  // a frozen server cannot hold a stop, or the statistics, forever.
  const quiet = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    disableClientInfo: true,
    commandTimeout: DEFAULT_BLOCK_MS + config.commandTimeoutMs,
  } as const;
  const { host: _host, port: _port, ...credentials } = connectionOptions(config);
  const ticks: Redis | Cluster = nodes
    ? new Cluster([...nodes], { enableReadyCheck: false, redisOptions: { ...credentials, ...quiet }, clusterRetryStrategy: (times) => Math.min(100 * 2 ** times, 2000) })
    : new Redis({
        ...connectionOptions(config),
        db,
        ...quiet,
        retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
      });
  guardSocketErrors(ticks);
  ticks.on("error", (error: Error) => problems.problem(error));
  client.on("down", ({ error }: { error: Error }) => problems.problem(error));

  const consumer = new TickConsumer(ticks, dispatcher.streaming({ atrPeriod: options.atrPeriod, rsiPeriod: options.rsiPeriod }), {
    symbols: options.symbols,
    group: options.group,
    consumer: options.consumer,
    hashTag: nodes ? true : options.hashTag,
    claimIdleMs: options.claimIdleMs,
    database: db,
  });
  consumer.on("deadLetter", (d: { symbol: string; id: string; reason: string }) =>
    say("error", "deadLetter", `dead letter ${d.symbol} ${d.id}: ${d.reason}`, { symbol: d.symbol, id: d.id, reason: d.reason }),
  );
  consumer.on("waiting", (w: ConsumerWaitingEvent) => {
    const why = w.reason === "live" ? `it read ${w.idleMs} ms ago` : `an entry it left pending has been idle ${w.idleMs} ms`;
    say("info", "waiting", `waiting for consumer ${w.consumer} on ${w.stream} (${why}) before reading: two consumers on one stream lose ticks`, { ...w });
  });
  consumer.on("claimed", (c: { stream: string; count: number }) =>
    say("info", "claimed", `claimed ${c.count} entries other consumers left pending on ${c.stream}`, { stream: c.stream, count: c.count }),
  );
  // once per loss (the consumer reports it when it makes the group again): its entries are gone,
  // and the statistics after it (lag 0 on the stream made again) cannot show it
  consumer.on("streamLost", (l: StreamLostEvent) => {
    const after = l.lastAckedId === null ? "entries it held (none known acknowledged)" : `entries after ${l.lastAckedId} it held`;
    say(
      "error",
      "streamLost",
      `stream ${l.stream} lost group ${consumer.group} (deleted, evicted, expired, or the server came back empty): ${after} were never applied; the group is made again`,
      { stream: l.stream, symbol: l.symbol, lastAckedId: l.lastAckedId, lastDeliveredId: l.lastDeliveredId },
    );
  });
  consumer.on("error", (error: unknown) => problems.problem(error));
  consumer.on("recovered", () => problems.recovered());

  const stop = () => consumer.stop();
  const signal = options.signal;
  if (signal) {
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) stop();
  } else {
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }

  const statsIntervalMs = options.statsIntervalMs ?? 5000;
  const started = Date.now();
  let last = { at: started, applied: 0 };
  // stats read Redis; during an outage they are skipped rather than piling up
  const statsNow = (): Promise<ConsumerStats | undefined> =>
    ticks.status === "ready" ? consumer.stats().catch(() => undefined) : Promise.resolve(undefined);
  // one reading at a time: stats wait behind the consumer's blocking read (up to a second) on the
  // same connection, and overlapping readings printed bursts of lines "in 0.0 s"; nor, after a
  // reading that outlasted a tick, a reading at the very next tick, which can follow it at once
  let reading = false;
  let outlasted = false;
  const timer = setInterval(async () => {
    if (reading) return void (outlasted = true);
    const soon = outlasted && Date.now() - last.at < statsIntervalMs / 2;
    outlasted = false;
    if (soon) return;
    reading = true;
    try {
      const stats = (await statsNow()) ?? consumer.totals;
      const now = Date.now();
      sayStats(say, "stats", stats, (now - last.at) / 1000, stats.applied - last.applied);
      last = { at: now, applied: stats.applied };
    } finally {
      reading = false;
    }
  }, statsIntervalMs);
  timer.unref();

  say(
    "info",
    "start",
    `consuming ${consumer.streamKeys.join(", ")} (DB ${db}) at redis ${address} ` +
      `as consumer ${consumer.consumer} of group ${consumer.group}`,
    {
      streams: consumer.streamKeys,
      db,
      address,
      consumer: consumer.consumer,
      group: consumer.group,
      claimIdleMs: options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS,
      statsIntervalMs,
    },
  );
  try {
    const watch = watchRun(ticks, consumer, address, config.tls);
    const running = (async () => {
      // the first connection is awaited, not retried as an error: a start is no outage
      await new Promise<void>((resolve) => {
        if (ticks.status === "ready" || signal?.aborted) return resolve();
        ticks.once("ready", resolve);
        consumer.once("stopping", resolve);
      });
      // the consumer SELECTs the streams' database itself, and ends on a refusal
      await consumer.run();
    })();
    const failure = await Promise.race([running.then(() => undefined), watch.failed]).catch((error: unknown) => error);
    watch.done();
    if (failure !== undefined) {
      consumer.stop();
      await running.catch(() => undefined);
      throw failure;
    }
  } catch (error) {
    ticks.disconnect();
    await dispatcher.close();
    await client.close();
    throw error;
  } finally {
    clearInterval(timer);
    signal?.removeEventListener("abort", stop);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  const final = (await statsNow()) ?? consumer.totals;
  sayStats(say, "summary", final, (Date.now() - started) / 1000, final.applied);
  ticks.disconnect();
  await dispatcher.close();
  await client.close();
  return final;
}
