/**
 * Runs the manifest's scripts through a {@link ResilientRedis} and a {@link ScriptTransport}: on one
 * server a {@link StandaloneScriptTransport} on the patterns database, on a Redis Cluster a
 * {@link ClusterScriptTransport} (slot routing, one pipeline per master, MOVED/ASK resend, replica
 * reads); EVALSHA of the script cache (the default) or FCALL of the Functions libraries, one per
 * script version (`mathd_<script>_v<version>`). Scripts are loaded once (SCRIPT LOAD, each SHA1
 * Redis returns checked against the manifest; or FUNCTION LOAD of the libraries a server lacks or
 * holds of another build). A NOSCRIPT reply (restart, failover, SCRIPT FLUSH), or "Function not found",
 * loads the scripts again on the node that answered and sends those calls again, as often as the
 * call's deadline allows. Every round trip of a call runs under the client's policy with one
 * deadline for the whole call; a pipeline that lost its connection is sent again once connected.
 *
 * Sending a call again is safe: every script is idempotent given its KEYS and ARGV (the math
 * scripts are pure and rewrite the same cache entry; a streaming update at or before the last
 * applied (ts, seq) is ignored).
 */
import {
  ClientClosedError,
  CommandTimeoutError,
  ConfigurationError,
  ConnectionError,
  InvalidInputError,
  MathDispatcherError,
  RedisCommandError,
  replyErrorOf,
  ScriptExecutionError,
  ServerBusyError,
  ServerOutOfMemoryError,
  shownValue,
} from "../core/errors.js";
import { LATE_WAKEUP_MS, within } from "../core/within.js";
import { optionNames, refuseUnknownOptions, refuseUnlistedValue } from "../core/options.js";
import { SCRIPTS } from "../generated/scripts.js";
import type { DatabaseName } from "../redis/databases.js";
import { type CallOptions, checkCallDeadline, classifyError, type ResilientRedis } from "../redis/ResilientRedis.js";
import { toConnectionError } from "../redis/config.js";
import type { ScriptManifestEntry } from "../core/manifest.js";
import type { RoundTrip } from "../cluster/loader.js";
import { GateClosedError, TurnTimeoutError } from "../cluster/pipeline.js";
import { ClusterScriptTransport, READ_FROM, type ReadFrom, SCRIPT_MODES, type ScriptMode, type ScriptTransport, StandaloneScriptTransport } from "../cluster/transport.js";
import { readOnlyCall, type ScriptCall } from "../core/manifest.js";
export type { ScriptCall } from "../core/manifest.js";

/** Options of one call, or one batch, of the math scripts. */
export interface ScriptCallOptions extends CallOptions {
  /**
   * Whether a miss stores its result (default true). `false` for inputs that will not come again,
   * such as a series that grows by a point between calls: the call still answers from a DB 10
   * entry that exists, and on a miss computes and keeps the result nowhere (no DB 10 entry, not in
   * the in-process tier). The script runs as its read-only variant (`atr_ro`, the one replica
   * reads run), so such a call adds nothing to Redis's memory and spares Redis the entry's write.
   */
  store?: boolean;
}

const CALL_OPTIONS = optionNames<ScriptCallOptions>({ deadlineMs: true, store: true });

/** A call's options, checked before anything is sent: an InvalidInputError names a bad one, or one it does not have. */
export function checkCallOptions(options: ScriptCallOptions | undefined): void {
  if (options === undefined || options === null) return;
  refuseUnknownOptions(options, CALL_OPTIONS, { name: "options", bare: true });
  if (options.deadlineMs !== undefined) checkCallDeadline(options.deadlineMs);
  if (options.store !== undefined && typeof options.store !== "boolean") {
    throw new InvalidInputError("store", `must be true or false, got ${shownValue(options.store)}`);
  }
}

/**
 * One budget for a call of several steps (waiting for earlier calls, loading the scripts, reading
 * inputs, round trips, chunks): each step's options carry what is left of it as `deadlineMs`,
 * counted from when the budget is made, at the call's start (the call's own `deadlineMs`, else
 * `defaultMs`). A step asked for once it has run out throws a CommandTimeoutError.
 */
export function callBudget(options: ScriptCallOptions | undefined, defaultMs: number): CallBudget {
  const budget = options?.deadlineMs ?? defaultMs;
  const deadline = Date.now() + budget;
  const step = () => {
    const left = deadline - Date.now();
    if (left <= 0) throw new CommandTimeoutError(`the call's deadline of ${budget} ms passed`);
    return Object.assign({}, options, { deadlineMs: left });
  };
  return Object.assign(step, { deadline });
}

/** A call's budget ({@link callBudget}): each step's options, and when the budget runs out (epoch ms). */
export type CallBudget = (() => ScriptCallOptions) & { readonly deadline: number };

/**
 * Round trips on `database` under the client's policy, each within what is left of `budget`
 * (none: the client's own deadline per round trip). The budget's deadline goes with it, so that
 * a cluster redirection is sent again until the call's deadline, not just for a few passes.
 */
export function roundTripWithin(client: ResilientRedis, database: DatabaseName, budget?: CallBudget): RoundTrip {
  if (!budget) return (command, node) => client.run(database, () => command(), undefined, node);
  const withinBudget: RoundTrip = (command, node) => {
    try {
      return client.run(database, () => command(), budget(), node);
    } catch (error) {
      return Promise.reject(error); // the budget ran out
    }
  };
  return Object.assign(withinBudget, { deadline: budget.deadline });
}

/** The outcome of one call in a batch: its raw reply or the error it raised. */
export type Settled = { ok: true; reply: unknown } | { ok: false; error: MathDispatcherError };

/** The deadline (epoch ms) a load's round trip was given, by the error it failed with. */
const loadRoundTripDeadlines = new WeakMap<Error, number>();

/** How long a call waits before it loads again, once a load it waited for ran out of time. */
const LOAD_RETRY_PAUSE_MS = 20;

/**
 * Whether a load failed for want of time (no answer, or no connection, within its deadline), not
 * for a reason a new load would meet again. A "not now" (BUSY) is the server's answer: the
 * client's retries of it are the policy's to count.
 */
function outOfTime(error: unknown): boolean {
  return error instanceof CommandTimeoutError || (error instanceof ConnectionError && error.failure === "timeout");
}

/** How the runner runs the scripts: EVALSHA or Functions, and (on a cluster) where reads go. */
export interface ScriptRunnerOptions {
  /** `evalsha` (the script cache, default) or `functions` (a Functions library per script version, FCALL). */
  scriptMode?: ScriptMode;
  /**
   * `replica`: on a cluster, read-only calls run on a replica of their slot's master with
   * EVALSHA_RO / FCALL_RO: `stream_snapshot`, and the math functions as their read-only variants
   * (`atr_ro`, `stop_loss_ro`, ...: the same math and cache entries, a miss not stored). They may
   * lag the master. Default `master`. Ignored on one server.
   */
  readFrom?: ReadFrom;
}

/** A script's input error, with the suffix Redis appends (EVALSHA: the SHA1; Functions: the function name). */
const INPUT_ERROR = /^MATHD_INVALID (\S+): (.*?)(?: script: (?:[0-9a-f]{40}|[A-Za-z0-9_]+), on @user_(?:script|function):\d+\.)?$/s;

/**
 * Maps an error of a script call to the SDK's error classes: a script's `MATHD_INVALID` reply is
 * an InvalidInputError, any other error reply a ScriptExecutionError; the client's own errors
 * (connection, timeout, circuit) pass as they are.
 */
export function scriptError(script: string, error: unknown): MathDispatcherError {
  if (error instanceof ServerBusyError || error instanceof ServerOutOfMemoryError) return error;
  const raw = error instanceof RedisCommandError ? error.cause : error;
  if (raw instanceof MathDispatcherError) return raw;
  const message = raw instanceof Error ? raw.message : String(raw);
  const input = INPUT_ERROR.exec(message);
  if (input) return new InvalidInputError(input[1] as string, input[2] as string, { cause: raw });
  // a "not now" left in a batch's outcomes (a slot still moving when its passes ran out), or a
  // server at maxmemory: the server's state, not the script's fault
  const reply = replyErrorOf(raw);
  return reply instanceof ServerBusyError || reply instanceof ServerOutOfMemoryError ? reply : new ScriptExecutionError(script, message, { cause: raw });
}

/**
 * Runs the manifest's scripts through a ResilientRedis and a script transport (one server or a
 * cluster, EVALSHA or Functions), alone or many at once; errors come out as the SDK's classes.
 */
export class ScriptRunner {
  private readonly byName: ReadonlyMap<string, ScriptManifestEntry>;
  /** Set once the first load succeeded: from then on a call does not wait on the load. */
  private scriptsLoaded = false;
  /**
   * The latest deadline (epoch ms) of the calls that waited for a load: a shared load's round
   * trips may run until it, so that a call given a longer deadline than the client's is not cut
   * short by the client's. They get the client's deadline at least (a load after a change of a
   * cluster's nodes, which no call waits for, gets just that).
   */
  private loadDeadline = 0;
  /** The calls waiting for a load now; {@link ScriptRunner.loadDeadline} is reset when none is left. */
  private loadWaiters = 0;
  /** Set by {@link ScriptRunner.close}: later calls fail at once. */
  private closed = false;
  /** Where the scripts live and how calls reach them. */
  readonly transport: ScriptTransport;

  /**
   * @param client the resilient client every round trip goes through (on a cluster when it was
   *   made with `cluster`).
   * @param scripts the manifest; the built `lua/` scripts by default.
   * @param database the database the scripts keep their cache and state in (DB 0 on a cluster).
   * @param options EVALSHA or Functions, and where read-only calls go on a cluster.
   */
  constructor(
    private readonly client: ResilientRedis,
    scripts: readonly ScriptManifestEntry[] = SCRIPTS,
    private readonly database: DatabaseName = "patterns",
    options: ScriptRunnerOptions = {},
  ) {
    refuseUnlistedValue(options.scriptMode, "scriptMode", SCRIPT_MODES, ConfigurationError);
    refuseUnlistedValue(options.readFrom, "readFrom", READ_FROM, ConfigurationError);
    this.byName = new Map(scripts.map((s) => [s.name, s]));
    const settings = { scripts, mode: options.scriptMode ?? "evalsha", roundTrip: this.loadRoundTrip() };
    this.transport = client.cluster
      ? new ClusterScriptTransport(client.cluster, { ...settings, readFrom: options.readFrom ?? "master" })
      : new StandaloneScriptTransport(client.connection(database), settings);
  }

  /** Each round trip of a call under the client's policy, within what is left of the call's budget. */
  private roundTrip(budget?: CallBudget): RoundTrip {
    const budgeted = roundTripWithin(this.client, this.database, budget);
    const open: RoundTrip = (command, node) => budgeted(this.whileOpen(command), node);
    return budgeted.deadline === undefined ? open : Object.assign(open, { deadline: budgeted.deadline });
  }

  /** The round trips of the transport's own work (its loads): the client's deadline, or {@link ScriptRunner.loadDeadline} when that is later. */
  private loadRoundTrip(): RoundTrip {
    return (command, node) => {
      const left = this.loadDeadline - Date.now();
      const deadlineMs = left > this.client.deadlineMs ? left : this.client.deadlineMs;
      const until = Date.now() + deadlineMs;
      return this.client.run(this.database, this.whileOpen(command), { deadlineMs }, node).catch((error: unknown) => {
        if (error instanceof Error) loadRoundTripDeadlines.set(error, until);
        throw error;
      });
    };
  }

  /** `command`, refused once {@link ScriptRunner.close} was called: a retry or a wait for a connection under way then ends, not sent. */
  private whileOpen<T>(command: () => Promise<T>): () => Promise<T> {
    return () => (this.closed ? Promise.reject(this.closedError()) : command());
  }

  /** The client's deadline, which a call without its own `deadlineMs` gets. */
  get deadlineMs(): number {
    return this.client.deadlineMs;
  }

  /**
   * What calls wait for before they are sent (`callsReady`: the scripts loaded, one load shared by
   * every call; on a cluster the slot map), or with `everywhere` the load on every node
   * (`prepare`), waited for no longer than the call's budget; once ready, calls go straight on (a
   * NOSCRIPT later heals within the call's round trips).
   */
  private async loaded(budget: () => CallOptions, everywhere = false): Promise<void> {
    const { deadlineMs = 0 } = budget();
    const since = Date.now();
    const deadline = since + deadlineMs;
    this.loadDeadline = Math.max(this.loadDeadline, deadline);
    this.loadWaiters++;
    // a load this call stops waiting for may still fail: the next call loads again
    let own: Error | undefined;
    const late = () => (own = this.waitedOut(new CommandTimeoutError(`the call's deadline passed while the scripts were loading (waited the ${Math.round(deadlineMs)} ms it had left)`), since));
    let loadError: unknown;
    try {
      for (;;) {
        try {
          await within(everywhere ? this.transport.prepare() : this.transport.callsReady(), deadline - Date.now(), late);
          break;
        } catch (error) {
          // This call's own time is up: the load's failure says why, if one came first.
          if (error === own) throw loadError ?? error;
          // A load this call joined may have run out of its own time, a deadline earlier than this
          // call's (its round trip began under calls of earlier deadlines, or a starved event loop
          // fired its timer first): load again, within what is left, after a pause. Any other
          // failure (a refusal, a connect that timed out, an outage past its grace) is the call's,
          // with its cause.
          const itsDeadline = error instanceof Error ? loadRoundTripDeadlines.get(error) : undefined;
          const outOfItsTime = itsDeadline !== undefined && outOfTime(error) && Date.now() >= itsDeadline - LATE_WAKEUP_MS && itsDeadline < deadline - LOAD_RETRY_PAUSE_MS;
          if (!(outOfItsTime && deadline - Date.now() > LOAD_RETRY_PAUSE_MS)) throw error;
          loadError = error;
          await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_PAUSE_MS));
          if (this.closed) throw this.closedError();
        }
      }
    } finally {
      if (--this.loadWaiters === 0) this.loadDeadline = 0; // a load no call waits for gets the client's deadline
    }
    this.scriptsLoaded = true; // a load everywhere is ready for calls too
  }

  /**
   * A deadline that passed while a call waited (for the scripts' load, or for its turn to be
   * sent) from `since`: a ServerBusyError when Redis (the `node` waited for; omitted, any) answered
   * "not now" meanwhile (another client's long script is why, and a timeout would hide it from the
   * one paged), else `timeout`. From a second before the wait: a call that waited behind others'
   * backoff saw no reply of its own.
   */
  private waitedOut(timeout: CommandTimeoutError, since: number, node?: string): MathDispatcherError {
    const notNow = this.client.lastNotNow(node);
    if (notNow === undefined || notNow.at < since - 1000) return timeout;
    return new ServerBusyError(`${timeout.message}: Redis answered ${notNow.error.message}`, { cause: notNow.error });
  }

  /**
   * A call's error as the SDK's classes ({@link scriptError}); a turn that never came as
   * {@link waitedOut} says; a connection failure met outside the client's policy (a cluster that
   * reached none of its nodes while a call waited for it) a ConnectionError naming the client's address.
   */
  private failure(script: string, error: unknown, since: number): MathDispatcherError {
    if (error instanceof TurnTimeoutError) return this.waitedOut(error, since, error.node);
    if (error instanceof GateClosedError) return this.closedError(error);
    // a lost or unreachable connection; a refused command (NOPERM) stays the script's error
    if (!(error instanceof MathDispatcherError) && classifyError(error) === "connection") return toConnectionError(this.client.config, error, undefined, this.client.address);
    return scriptError(script, error);
  }

  /** What a call gets once {@link ScriptRunner.close} was called: it is not sent. */
  private closedError(cause?: unknown): ClientClosedError {
    return new ClientClosedError(this.client.address, "the dispatcher was closed", cause === undefined ? undefined : { cause });
  }

  /** The manifest entry of a script, or a ScriptExecutionError if there is none. */
  entry(name: string): ScriptManifestEntry {
    const entry = this.byName.get(name);
    if (!entry) throw new ScriptExecutionError(name, "no such script in the manifest");
    return entry;
  }

  /** Every script in the manifest. */
  get scripts(): ScriptManifestEntry[] {
    return [...this.byName.values()];
  }

  /** Puts the scripts (or the libraries) on every node that runs them (once; later calls reuse it), within `options.deadlineMs`. */
  async load(options?: CallOptions): Promise<void> {
    checkCallOptions(options);
    if (this.closed) throw this.closedError();
    try {
      await this.loaded(callBudget(options, this.client.deadlineMs), true);
    } catch (error) {
      throw scriptError("load", error);
    }
  }

  /** The call as it is sent: with `store: false`, as its script's read-only variant where there is one. */
  private sent(call: ScriptCall, options: ScriptCallOptions | undefined): ScriptCall {
    return options?.store === false ? readOnlyCall(call, this.byName) : call;
  }

  private check(call: ScriptCall): void {
    const entry = this.entry(call.script);
    if (call.keys.length !== entry.numberOfKeys) {
      throw new ScriptExecutionError(call.script, `takes ${entry.numberOfKeys} keys, got ${call.keys.length}`);
    }
    if (call.args.length !== entry.args.length) {
      throw new ScriptExecutionError(call.script, `takes ${entry.args.length} arguments (${entry.args.map((a) => a.name).join(", ")}), got ${call.args.length}`);
    }
  }

  /**
   * Runs one script; resolves to its raw reply. The transport loads the scripts first if need be.
   * A call that Redis refused at `maxmemory` (OOM) goes once more as its script's read-only variant.
   */
  async run(given: ScriptCall, options?: ScriptCallOptions): Promise<unknown> {
    checkCallOptions(options);
    const call = this.sent(given, options);
    this.check(call);
    if (this.closed) throw this.closedError();
    const since = Date.now();
    const budget = callBudget(options, this.client.deadlineMs);
    try {
      if (!this.scriptsLoaded) await this.loaded(budget); // checked here: an await per call costs the hot path
      return await this.transport.runOne(call, this.roundTrip(budget));
    } catch (error) {
      const failure = this.failure(call.script, error, since);
      const readOnly = this.readOnlyAtMaxMemory(call, failure);
      if (!readOnly) throw failure;
      try {
        return await this.transport.runOne(readOnly, this.roundTrip(budget));
      } catch (again) {
        throw this.failure(readOnly.script, again, since);
      }
    }
  }

  /**
   * The call as its read-only variant, when Redis refused it at `maxmemory` and it has one: such a
   * variant runs there (no-writes), answering from an entry that exists or computing without
   * storing. Undefined for any other failure, or a call that has no variant or was one already.
   */
  private readOnlyAtMaxMemory(call: ScriptCall, failure: MathDispatcherError): ScriptCall | undefined {
    if (!(failure instanceof ServerOutOfMemoryError)) return undefined;
    const readOnly = readOnlyCall(call, this.byName);
    return readOnly === call ? undefined : readOnly;
  }

  /**
   * Runs many scripts in as few round trips as possible: one pipeline on one server, one per
   * master (in parallel) on a cluster. Entries that met NOSCRIPT are sent again after their
   * scripts are loaded again; a pipeline that lost its connection is sent again once connected;
   * both until the call's deadline. Results keep the order of `calls`; one call's error does not
   * fail the others.
   */
  async runMany(given: readonly ScriptCall[], options?: ScriptCallOptions): Promise<Settled[]> {
    checkCallOptions(options);
    if (given.length === 0) return [];
    const calls = given.map((call) => this.sent(call, options));
    for (const call of calls) this.check(call);
    if (this.closed) return calls.map(() => ({ ok: false, error: this.closedError() }));
    const since = Date.now();
    const budget = callBudget(options, this.client.deadlineMs);
    try {
      if (!this.scriptsLoaded) await this.loaded(budget);
    } catch (error) {
      return calls.map((call) => ({ ok: false, error: scriptError(call.script, error) }));
    }
    const roundTrip = this.roundTrip(budget);
    const settled: Settled[] = (await this.transport.runMany(calls, roundTrip)).map((o, i) =>
      o.ok ? o : { ok: false, error: this.failure((calls[i] as ScriptCall).script, o.error, since) },
    );
    // those Redis refused at maxmemory, once more as their read-only variants (run)
    const again = settled.flatMap((o, i) => {
      const readOnly = o.ok ? undefined : this.readOnlyAtMaxMemory(calls[i] as ScriptCall, o.error);
      return readOnly ? [{ i, readOnly }] : [];
    });
    if (again.length === 0) return settled;
    const outcomes = await this.transport.runMany(again.map((a) => a.readOnly), roundTrip);
    outcomes.forEach((o, k) => {
      const { i, readOnly } = again[k] as { i: number; readOnly: ScriptCall };
      settled[i] = o.ok ? o : { ok: false, error: this.failure(readOnly.script, o.error, since) };
    });
    return settled;
  }

  /**
   * Stops the transport's watch of the cluster topology, and ends the calls waiting for their turn
   * to be sent and every later call with a ClientClosedError (the client stays open).
   */
  close(): void {
    this.closed = true;
    this.transport.close();
  }
}
