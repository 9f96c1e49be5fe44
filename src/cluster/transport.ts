/**
 * How script calls reach Redis: a {@link ScriptTransport} runs calls given as (script, KEYS,
 * ARGV), either as EVALSHA of the manifest's scripts or as FCALL of the Functions libraries
 * (`mathd_<script>_v<version>`), on one server ({@link StandaloneScriptTransport}) or on a Redis Cluster
 * ({@link ClusterScriptTransport}). It owns everything that depends on where the scripts live:
 * loading them, healing NOSCRIPT / "Function not found" on the node that answered, routing by
 * slot, replica reads. What it returns are raw replies and raw Redis errors; turning them into
 * the SDK's results and error classes stays with the caller (ScriptRunner).
 *
 * Wiring (for ScriptRunner): keep `entry()` and the argument checks; `load()` becomes
 * `transport.prepare()`, `run()` becomes `transport.runOne(call)` (a rejection mapped with
 * `scriptError`), `runMany()` becomes `transport.runMany(calls)` (each failed outcome mapped
 * with `scriptError`); pass the resilient client's policy as `roundTrip`. `scriptError` must
 * also strip the Functions error suffix (`splitErrorSuffix` in src/build/functionsLibrary.ts).
 */
import { ReplyError, type Cluster, type Redis } from "ioredis";
import { CommandTimeoutError } from "../core/errors.js";
import { within } from "../core/within.js";
import { SCRIPTS } from "../generated/scripts.js";
import { type OrderKey, orderKeyOf, readOnlyCall, type ScriptCall, type ScriptManifestEntry } from "../core/manifest.js";
import { buildFunctionsLibraries, type FunctionsLibrary, type LibraryFunction } from "../build/functionsLibrary.js";
import { direct, loadLibraries, loadScripts, onNode, type RoundTrip } from "./loader.js";
import { crossSlotError, execInWaves, execOne, isRedirection, resendable, resendRedirected, TurnTimeoutError, WaveGate, type Command, type Outcome, type Target } from "./pipeline.js";
import {
  clusterReady,
  groupBySlotOwner,
  masters,
  nodeByAddress,
  nodeAddress,
  replicas,
  slotNodes,
  topologySignature,
  type CallGroup,
} from "./topology.js";

export type { Outcome } from "./pipeline.js";
export type { ScriptCall } from "../core/manifest.js";


/**
 * - `evalsha` (the default): the script cache; scripts are SCRIPT LOADed on every node that
 *   runs them, and a NOSCRIPT (restart, failover, SCRIPT FLUSH) reloads on that node and retries.
 * - `functions`: a library per script version, each FUNCTION LOADed on every master; replicated
 *   to replicas, persisted and kept across a failover. "Function not found" (a master that joined
 *   later, a flushed or pruned library) loads what that master lacks and retries.
 */
export type ScriptMode = (typeof SCRIPT_MODES)[number];

/** The {@link ScriptMode}s, for checking a value given at run time. */
export const SCRIPT_MODES = ["evalsha", "functions"] as const;

/** Where a cluster runs read-only calls ({@link TransportOptions.readFrom}). */
export type ReadFrom = (typeof READ_FROM)[number];

/** The {@link ReadFrom} choices, for checking a value given at run time. */
export const READ_FROM = ["master", "replica"] as const;

/** How a script transport runs the scripts: which manifest, EVALSHA or Functions, and the round trip each call takes. */
export interface TransportOptions {
  /** The manifest; the built `lua/` scripts by default. */
  readonly scripts?: readonly ScriptManifestEntry[];
  readonly mode?: ScriptMode;
  /**
   * `replica`: calls of read-only scripts (`#!lua flags=no-writes`) run with EVALSHA_RO /
   * FCALL_RO on a replica of their slot's master, falling back to the master when the slot has
   * no replica or the replica cannot answer. The reply may lag the master by the replication
   * delay, and nothing is cached by such a call. Cluster only; a standalone server runs all.
   */
  readonly readFrom?: ReadFrom;
  /** How each round trip runs (a resilient client's policy); directly by default. */
  readonly roundTrip?: RoundTrip;
  /** Failures of the reload a topology change triggers (no caller is waiting for it). */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** Runs script calls on wherever the scripts live. */
export interface ScriptTransport {
  readonly mode: ScriptMode;
  /**
   * Puts the scripts (or libraries) on every node that will run them. Calls do it on first use;
   * call it at start to fail early (a ScriptIntegrityError if a server returns another SHA1).
   */
  prepare(): Promise<void>;
  /**
   * What a call waits for before it is sent: on one server the load ({@link prepare}); on a
   * cluster the slot map, with the load on every node started in the background and a call
   * waiting for its own node's part only, so that one master that does not answer holds back only
   * its own symbols' calls.
   */
  callsReady(): Promise<void>;
  /**
   * Runs one call; resolves to the raw reply, rejects with the raw error. `roundTrip` replaces
   * the transport's policy for this call's round trips (e.g. to carry the call's deadline).
   */
  runOne(call: ScriptCall, roundTrip?: RoundTrip): Promise<unknown>;
  /**
   * Runs calls in as few round trips as possible (one pipeline per node, in parallel); the
   * outcomes are in the order of `calls`, and one call's error does not fail the others.
   */
  runMany(calls: readonly ScriptCall[], roundTrip?: RoundTrip): Promise<Outcome[]>;
  /**
   * Stops watching the topology, and fails the calls waiting for their turn to be sent, and any
   * sent after, with a GateClosedError; the client itself is the caller's and stays open.
   */
  close(): void;
}

/** A call with its position in the caller's list. */
type Indexed = ScriptCall & { readonly index: number };

/** `work`, waited for until `deadline` (epoch ms) at most, when there is one. */
function untilDeadline<T>(work: Promise<T>, deadline: number | undefined): Promise<T> {
  if (deadline === undefined) return work;
  return within(work, deadline - Date.now(), () => new CommandTimeoutError("the call's deadline passed while another call loaded its scripts"));
}

/** The manifest with what each mode needs: entries by name, function names, read-only flags. */
class Catalog {
  readonly byName: ReadonlyMap<string, ScriptManifestEntry>;
  readonly libraries: readonly FunctionsLibrary[];
  private readonly functions: ReadonlyMap<string, LibraryFunction>;
  /** Loads under way, by node and by the script (or the script's library) each loads. */
  private readonly loading = new WeakMap<Redis, Map<string, Promise<void>>>();

  constructor(
    scripts: readonly ScriptManifestEntry[],
    readonly mode: ScriptMode,
  ) {
    this.byName = new Map(scripts.map((s) => [s.name, s]));
    // built in both modes: it is also where the read-only flag of each script is parsed
    this.libraries = buildFunctionsLibraries(scripts);
    this.functions = new Map(this.libraries.map(({ fn }) => [fn.script, fn]));
  }

  get entries(): ScriptManifestEntry[] {
    return [...this.byName.values()];
  }

  get readOnlyEntries(): ScriptManifestEntry[] {
    return this.entries.filter((e) => this.functions.get(e.name)?.readOnly);
  }

  readOnly(script: string): boolean {
    return this.functions.get(script)?.readOnly ?? false;
  }

  /** The command of a call; throws for an unknown script or a wrong key count. */
  command(call: ScriptCall, readOnlyCommand: boolean): Command {
    const entry = this.byName.get(call.script);
    if (!entry) throw new Error(`no script ${call.script} in the manifest`);
    if (call.keys.length !== entry.numberOfKeys) {
      throw new Error(`script ${call.script} takes ${entry.numberOfKeys} keys, got ${call.keys.length}`);
    }
    // lower case, as ioredis spells commands: it lower-cases other names for its flag lookups on every call
    const head =
      this.mode === "functions"
        ? [readOnlyCommand ? "fcall_ro" : "fcall", this.functions.get(call.script)!.functionName]
        : [readOnlyCommand ? "evalsha_ro" : "evalsha", entry.sha1];
    return [head[0] as string, head[1] as string, entry.numberOfKeys, ...call.keys, ...call.args];
  }

  /** Whether an error means "the node lacks the scripts": reload there and retry. */
  missing(error: Error | null | undefined): boolean {
    if (!error) return false;
    return this.mode === "functions" ? error.message.startsWith("ERR Function not found") : error.message.startsWith("NOSCRIPT");
  }

  /**
   * Loads what a node needs: the named scripts, or in Functions mode their libraries, where it
   * lacks them (all when none are named). A load already under way on that node for the same
   * scripts is joined, not repeated: the calls of a burst that all met "scripts missing" together
   * (a restart at the open) would otherwise each send their own SCRIPT LOAD or FUNCTION LOADs, a
   * script's whole text each time.
   * A call waits for a joined load no longer than its own deadline; a joined load that timed out
   * (under its leader's deadline, say) is tried again, and one the server refused fails every
   * call that joined it, with one load sent.
   */
  async loadOn(node: Redis, scripts: readonly string[] | undefined, roundTrip: RoundTrip): Promise<void> {
    for (;;) {
      const { started, joined } = this.sharedLoad(node, scripts, roundTrip);
      if (started) await started; // this call's own load: its failure is this call's answer
      if (joined.length === 0) return;
      // loads other calls lead, under their round trips: waited for within this call's deadline;
      // one whose leader's time ran out is tried again, by this call if no other call does; any
      // other failure (the server's refusal, the connection) is this call's answer too
      const settled = await untilDeadline(Promise.allSettled(joined), roundTrip.deadline);
      const failures = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
      const shared = failures.find((reason) => !(reason instanceof CommandTimeoutError));
      if (shared !== undefined) throw shared;
      if (failures.length === 0) return;
    }
  }

  /** Starts a load on `node` of the wanted scripts no load under way covers; the others' loads are joined. */
  private sharedLoad(node: Redis, scripts: readonly string[] | undefined, roundTrip: RoundTrip): { started?: Promise<void>; joined: Promise<void>[] } {
    let underWay = this.loading.get(node);
    if (!underWay) this.loading.set(node, (underWay = new Map()));
    // a heal loads what its calls missed first, in either mode: in Functions mode every library
    // (19 loads, 27 ms here) let a FUNCTION FLUSH every 10 ms flush the first again before its resend
    const wanted = scripts ?? [...this.byName.keys()];
    const joined = [...new Set(wanted.flatMap((name) => underWay.get(name) ?? []))];
    const toStart = wanted.filter((name) => !underWay.has(name));
    if (toStart.length === 0) return { joined };
    const started: Promise<void> = this.loadNow(node, toStart, roundTrip).finally(() => {
      for (const name of toStart) if (underWay.get(name) === started) underWay.delete(name);
    });
    for (const name of toStart) underWay.set(name, started);
    return { started, joined };
  }

  private async loadNow(node: Redis, scripts: readonly string[], roundTrip: RoundTrip): Promise<void> {
    if (this.mode === "evalsha") {
      await loadScripts(node, scripts.flatMap((name) => this.byName.get(name) ?? []), roundTrip);
      return;
    }
    await loadLibraries(node, this.libraries.filter((library) => scripts.includes(library.fn.script)), roundTrip);
  }

  /**
   * The load of a heal: what calls met missing on `node`, loaded before they are sent again. In
   * Functions mode the other libraries follow in the background: a library gone is most likely
   * all of them gone (FUNCTION FLUSH, a restart that kept nothing), and the node is whole again
   * (health: library current) without holding the calls back.
   */
  async healOn(node: Redis, scripts: readonly string[], roundTrip: RoundTrip): Promise<void> {
    await this.loadOn(node, scripts, roundTrip);
    if (this.mode === "functions") this.loadOn(node, undefined, roundTrip).catch(() => undefined);
  }
}

/**
 * Heal-and-resend passes before a "scripts missing" reply is the calls' answer, for a round trip
 * without a deadline; with one, passes go on until it (a FUNCTION FLUSH every 10 ms met ten
 * passes in 200 ms, and failed calls with most of their 3 s left).
 */
const HEAL_ROUNDS = 10;

/**
 * Loads scripts where calls met "scripts missing": `nodes` holds the address of each node that
 * answered so other than the target (an ASK followed), and `undefined` for the target itself.
 */
type Heal = (scripts: string[], nodes: ReadonlySet<string | undefined>) => Promise<void>;

/**
 * Runs calls on one target, through its `gate`; calls that met "scripts missing" are sent again,
 * only those, after `heal` loaded their scripts on the node that answered, until none is missing.
 */
async function execHealing(
  catalog: Catalog,
  target: Target,
  gate: WaveGate,
  calls: readonly ScriptCall[],
  commands: readonly Command[],
  heal: Heal,
  roundTrip: RoundTrip,
): Promise<Outcome[]> {
  const order = calls.map(orderKeyOf);
  const outcomes = await execInWaves(target, commands, roundTrip, order, gate);
  return healMissing({ catalog, target, gate, calls, commands, heal, roundTrip, order }, outcomes);
}

/** What {@link healMissing} sends again, where, and how it heals: a run's calls with their commands and order keys. */
interface HealingRun {
  catalog: Catalog;
  target: Target;
  gate: WaveGate;
  calls: readonly ScriptCall[];
  commands: readonly Command[];
  heal: Heal;
  roundTrip: RoundTrip;
  order: readonly (OrderKey | undefined)[];
}

/**
 * Of `outcomes` (of the run's calls), those that met "scripts missing" are sent again, only
 * those, after `heal` loaded their scripts on the node that answered, until none is missing or
 * the call's deadline passed ({@link HEAL_ROUNDS} without one); `outcomes` is updated in place and returned.
 */
async function healMissing({ catalog, target, gate, calls, commands, heal, roundTrip, order }: HealingRun, outcomes: Outcome[]): Promise<Outcome[]> {
  const { deadline } = roundTrip;
  // the first pass always: a deadline already passed fails in the load, as a timeout
  for (let round = 1; round === 1 || (deadline === undefined ? round <= HEAL_ROUNDS : Date.now() < deadline); round++) {
    // a streaming update overtaken by a later one of its symbol is not resent: its outcome says so
    const retry = resendable(
      outcomes.flatMap((o, i) => (!o.ok && catalog.missing(o.error) ? [i] : [])),
      outcomes,
      order,
    );
    if (retry.length === 0) return outcomes;
    try {
      const answeredBy = new Set(retry.map((i) => (outcomes[i] as Outcome & { ok: false }).node));
      await heal([...new Set(retry.map((i) => (calls[i] as ScriptCall).script))], answeredBy);
    } catch (error) {
      // the load failed (e.g. a ScriptIntegrityError, the deadline): that is these calls' answer
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const i of retry) outcomes[i] = { ok: false, error: failure };
      return outcomes;
    }
    const retried = await execInWaves(target, retry.map((i) => commands[i] as Command), roundTrip, retry.map((i) => order[i]), gate);
    retry.forEach((callIndex, j) => (outcomes[callIndex] = retried[j] as Outcome));
  }
  return outcomes;
}

/** Builds each call's command; a call that cannot be built gets its error as its outcome. */
function commandsOf(catalog: Catalog, calls: readonly ScriptCall[], readOnlyCommand: (call: ScriptCall) => boolean) {
  const commands: (Command | Error)[] = calls.map((call) => {
    try {
      return catalog.command(call, readOnlyCommand(call));
    } catch (error) {
      return error as Error;
    }
  });
  return commands;
}

async function unwrapOne(outcomes: Promise<Outcome[]>): Promise<unknown> {
  const [outcome] = await outcomes;
  if (!outcome) throw new Error("no outcome for the call");
  if (!outcome.ok) throw outcome.error;
  return outcome.reply;
}

/** Scripts on one Redis server (or a client that routes for you). */
export class StandaloneScriptTransport implements ScriptTransport {
  private readonly catalog: Catalog;
  private readonly roundTrip: RoundTrip;
  private ready: Promise<void> | undefined;
  /** Set once the first load succeeded: from then on a call does not wait on it. */
  private loaded = false;
  /** The server's share of script work in flight, for single calls and batches alike. */
  private readonly gate = new WaveGate();

  /** @param redis a connection on the database the scripts cache into (DB 10); not modified. */
  constructor(
    private readonly redis: Redis,
    options: TransportOptions = {},
  ) {
    this.catalog = new Catalog(options.scripts ?? SCRIPTS, options.mode ?? "evalsha");
    this.roundTrip = options.roundTrip ?? direct;
  }

  /** Whether calls go as EVALSHA of the scripts or as FCALL of their Functions libraries. */
  get mode(): ScriptMode {
    return this.catalog.mode;
  }

  prepare(): Promise<void> {
    this.ready ??= this.catalog.loadOn(this.redis, undefined, this.roundTrip).then(
      () => {
        this.loaded = true;
      },
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  callsReady(): Promise<void> {
    return this.prepare();
  }

  /**
   * One call as one command, with none of runMany's bookkeeping: no batch, no waves, and no wait
   * on the load once it is done (each of those layers cost every call a promise and a turn of
   * the microtask queue). A call that met "scripts missing" is healed as a batch's calls are.
   */
  async runOne(call: ScriptCall, roundTrip: RoundTrip = this.roundTrip): Promise<unknown> {
    if (!this.loaded) await this.prepare();
    const command = this.catalog.command(call, false);
    let outcome = await execOne(this.redis, command, roundTrip, this.gate);
    if (!outcome.ok && this.catalog.missing(outcome.error)) {
      const heal = (scripts: string[]) => this.catalog.healOn(this.redis, scripts, roundTrip);
      const run = { catalog: this.catalog, target: this.redis, gate: this.gate, calls: [call], commands: [command], heal, roundTrip, order: [orderKeyOf(call)] };
      [outcome] = (await healMissing(run, [outcome])) as [Outcome];
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.reply;
  }

  async runMany(calls: readonly ScriptCall[], roundTrip: RoundTrip = this.roundTrip): Promise<Outcome[]> {
    if (calls.length === 0) return [];
    await this.prepare();
    const built = commandsOf(this.catalog, calls, () => false);
    const sendable = calls.flatMap((_, i) => (built[i] instanceof Error ? [] : [i]));
    const outcomes: Outcome[] = built.map((c) => (c instanceof Error ? { ok: false, error: c } : { ok: true, reply: undefined }));
    const results = await execHealing(
      this.catalog,
      this.redis,
      this.gate,
      sendable.map((i) => calls[i] as ScriptCall),
      sendable.map((i) => built[i] as Command),
      (scripts) => this.catalog.healOn(this.redis, scripts, roundTrip),
      roundTrip,
    );
    sendable.forEach((callIndex, j) => (outcomes[callIndex] = results[j] as Outcome));
    return outcomes;
  }

  close(): void {
    this.gate.close(); // nothing is watched on a single server
  }
}

/** Errors after which a replica read is better served by the master than retried on the replica. */
function replicaCannotServe(error: Error): boolean {
  if (error instanceof TurnTimeoutError) return false; // the call's deadline passed before its turn: too late for the master too
  if (!(error instanceof ReplyError)) return true; // connection lost, timeout: the replica may be gone
  // a redirection, or a replica loading, cut off from its master, or without the script
  return isRedirection(error) || /^(LOADING|MASTERDOWN|READONLY|NOSCRIPT|ERR Function not found)\b/.test(error.message);
}

/**
 * Scripts on a Redis Cluster through an ioredis `Cluster` (whose `db` is always 0).
 *
 * - `prepare()` loads the scripts on every master (EVALSHA mode: and on every replica when
 *   reads go to replicas, since the script cache is not replicated) or the libraries on every
 *   master; it runs again whenever ioredis's slot-map `refresh` shows another set of masters or
 *   replicas (a failover, a node added), so a node is mostly ready before its first call. Calls
 *   wait for the slot map (`callsReady()`) and, at start, for their own node's part of that load
 *   only; a call that reaches a node lacking the scripts loads them there (or joins the load under
 *   way), so one master that does not answer holds back its own symbols' calls and no others.
 * - `runMany()` groups the calls by the node set of their slot (one group per master), runs one
 *   pipeline per group in parallel, and puts the outcomes back in the callers' order. A group's
 *   master pipeline goes through the Cluster; a MOVED is resent after the slot map is read again,
 *   an ASK is followed to the node it names (`exec`); a NOSCRIPT or "Function not found" loads
 *   on the node that answered (the slot's master, or the one an ASK named) and resends those calls.
 * - With `readFrom: "replica"`, read-only scripts' calls go as EVALSHA_RO / FCALL_RO to a
 *   replica of their slot (the connection ioredis opened with READONLY); a NOSCRIPT loads on that
 *   replica; a replica that cannot answer (gone, demoted, not in sync) hands the calls to the master.
 */
export class ClusterScriptTransport implements ScriptTransport {
  private readonly catalog: Catalog;
  private readonly roundTrip: RoundTrip;
  private readonly readFrom: ReadFrom;
  private readonly onBackgroundError: (error: unknown) => void;
  private ready: Promise<void> | undefined;
  private preparedSignature: string | undefined;
  private preparing: Promise<void> = Promise.resolve();
  private replicaTurn = 0;
  /** Each node's share of script work in flight ({@link WaveGate}), by address: one per node ever sent to, a handful. */
  private readonly gates = new Map<string | undefined, WaveGate>();
  private closed = false;
  /** Whether the slot map was read once (ioredis status ready): calls wait for it only until then. */
  private slotMapRead = false;
  /** The loads of {@link load} under way, by node address: what a call to that node waits for. */
  private readonly loadsUnderWay = new Map<string, Promise<void>>();
  private readonly onRefresh = () => {
    if (this.ready === undefined || topologySignature(this.cluster) === this.preparedSignature) return;
    this.load().catch(this.onBackgroundError);
  };

  /** @param cluster an ioredis Cluster; not modified (a `refresh` listener is added until close()). */
  constructor(
    private readonly cluster: Cluster,
    options: TransportOptions = {},
  ) {
    this.catalog = new Catalog(options.scripts ?? SCRIPTS, options.mode ?? "evalsha");
    this.roundTrip = options.roundTrip ?? direct;
    this.readFrom = options.readFrom ?? "master";
    this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
    // 'refresh' is what ioredis emits after every successful read of the slot map (a MOVED,
    // a failover, slotsRefreshInterval); '+node' alone misses a replica promoted in place.
    cluster.on("refresh", this.onRefresh);
  }

  /** Whether calls go as EVALSHA of the scripts or as FCALL of their Functions libraries. */
  get mode(): ScriptMode {
    return this.catalog.mode;
  }

  /**
   * Loads on every master (and replica, for EVALSHA_RO reads) once the cluster is ready; one load
   * at a time. `forCalls`: the load calls wait for on their own node ({@link loadedOn}), the first
   * one; a load after a change of the topology is not, and a NOSCRIPT there joins it.
   */
  private load(forCalls = false): Promise<void> {
    const run = async () => {
      await clusterReady(this.cluster);
      await this.loadEverywhere(forCalls);
    };
    this.preparing = this.preparing.catch(() => undefined).then(run);
    return this.preparing;
  }

  /** The load of {@link load} on the cluster as it is now; with `forCalls`, each node's part noted under way before this returns. */
  private loadEverywhere(forCalls: boolean): Promise<void> {
    const signature = topologySignature(this.cluster);
    const noted = (node: Redis, load: Promise<void>) => (forCalls ? this.tracked(node, load) : load);
    const jobs = masters(this.cluster).map((node) => noted(node, this.catalog.loadOn(node, undefined, this.roundTrip)));
    if (this.readFrom === "replica" && this.catalog.mode === "evalsha") {
      const readOnly = this.catalog.readOnlyEntries.map((e) => e.name);
      jobs.push(...replicas(this.cluster).map((node) => noted(node, this.catalog.loadOn(node, readOnly, this.roundTrip))));
    }
    return Promise.all(jobs).then(() => {
      this.preparedSignature = signature;
    });
  }

  prepare(): Promise<void> {
    return this.readyWith(() => this.load(true));
  }

  async callsReady(): Promise<void> {
    if (!this.slotMapRead) {
      await clusterReady(this.cluster);
      this.slotMapRead = true; // from then on a call goes straight on: in an outage ioredis fails it
    }
    // a call waits for its own node's load only (loadedOn), which this first call starts at once,
    // each node's part noted before any call is sent: waiting for every master's load held every
    // call back while one was frozen
    if (this.ready === undefined) this.readyWith(() => this.loadEverywhere(true)).catch(this.onBackgroundError);
  }

  /** The load every node's scripts were put on by, started with `load` unless one is under way or done. */
  private readyWith(load: () => Promise<void>): Promise<void> {
    this.ready ??= load().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /** `load`, noted as under way on `node` until it settles. */
  private tracked(node: Redis, load: Promise<void>): Promise<void> {
    const address = nodeAddress(node);
    const settled = load.catch(() => undefined);
    this.loadsUnderWay.set(address, settled);
    void settled.then(() => {
      if (this.loadsUnderWay.get(address) === settled) this.loadsUnderWay.delete(address);
    });
    return load;
  }

  /**
   * Waits, within `deadline`, for the start's load ({@link load} with `forCalls`) under way on the
   * node at `address`, if any: the first calls go once it is done instead of meeting NOSCRIPT. Its
   * failure is not theirs: a node still lacking the scripts loads them when a call meets that.
   */
  private async loadedOn(address: string | undefined, deadline: number | undefined): Promise<void> {
    const underWay = address === undefined ? undefined : this.loadsUnderWay.get(address);
    if (underWay) await untilDeadline(underWay, deadline).catch(() => undefined);
  }

  runOne(call: ScriptCall, roundTrip?: RoundTrip): Promise<unknown> {
    return unwrapOne(this.runMany([call], roundTrip));
  }

  async runMany(given: readonly ScriptCall[], roundTrip: RoundTrip = this.roundTrip): Promise<Outcome[]> {
    if (given.length === 0) return [];
    // the slot map, within the call's deadline (a cluster that is down never reads it); then no wait
    if (!this.slotMapRead || this.ready === undefined) await untilDeadline(this.callsReady(), roundTrip.deadline);
    // with replica reads, a caching script runs as its read-only variant (same math and cache
    // entries, no store on a miss), which a replica may serve
    const calls = this.readFrom === "replica" ? given.map((call) => readOnlyCall(call, this.catalog.byName)) : given;
    const toReplica = (call: ScriptCall) => this.readFrom === "replica" && this.catalog.readOnly(call.script);
    const built = commandsOf(this.catalog, calls, toReplica);
    const outcomes: Outcome[] = built.map((c) => (c instanceof Error ? { ok: false, error: c } : { ok: true, reply: undefined }));
    const pending: Indexed[] = calls.flatMap((call, i) => (built[i] instanceof Error ? [] : [{ ...call, index: i }]));
    await resendRedirected(this.cluster, pending, outcomes, (part) => this.send(part, built, outcomes, toReplica, roundTrip), roundTrip.deadline);
    return outcomes;
  }

  /** One pass: every pending call, one pipeline per node in parallel, outcomes put at their index. */
  private async send(
    pending: Indexed[],
    built: readonly (Command | Error)[],
    outcomes: Outcome[],
    toReplica: (call: ScriptCall) => boolean,
    roundTrip: RoundTrip,
  ) {
    const { groups, crossSlot } = groupBySlotOwner(this.cluster, pending);
    for (const j of crossSlot) {
      outcomes[(pending[j] as Indexed).index] = { ok: false, error: crossSlotError() };
    }
    const settle = async (part: Indexed[], run: (calls: Indexed[], commands: Command[]) => Promise<Outcome[]>) => {
      const results = await run(part, part.map((c) => built[c.index] as Command));
      part.forEach((c, k) => (outcomes[c.index] = results[k] as Outcome));
    };
    const jobs: Promise<void>[] = [];
    for (const group of groups) {
      // one group per master; inside it, replica-bound and master-bound calls part ways
      const forReplica = group.calls.filter(toReplica);
      const forMaster = group.calls.filter((c) => !toReplica(c));
      if (forReplica.length > 0) jobs.push(settle(forReplica, (c, cmd) => this.onReplica(group, c, cmd, roundTrip)));
      if (forMaster.length > 0) jobs.push(settle(forMaster, (c, cmd) => this.onMaster(group, c, cmd, roundTrip)));
    }
    await Promise.all(jobs);
  }

  /** A group's calls through the Cluster to the slot's master (a MOVED or an ASK followed: `exec`, `resendRedirected`). */
  private async onMaster(group: CallGroup<unknown>, calls: readonly ScriptCall[], commands: readonly Command[], given: RoundTrip): Promise<Outcome[]> {
    const address = group.slot === undefined ? undefined : slotNodes(this.cluster, group.slot)[0];
    const roundTrip = onNode(given, address);
    if (this.loadsUnderWay.size > 0) await this.loadedOn(address, given.deadline);
    return execHealing(
      this.catalog,
      this.cluster,
      this.gateOf(address),
      calls,
      commands,
      async (scripts, answeredBy) => {
        const loads = [...answeredBy].map(async (asked) => {
          // the master an ASK named, or the slot's master in ioredis's map, which a MOVED during
          // this pipeline has already updated (a keyless group went to any master)
          const where = asked ?? (group.slot === undefined ? undefined : slotNodes(this.cluster, group.slot)[0]);
          const master = where === undefined ? undefined : nodeByAddress(this.cluster, where);
          if (master) await this.catalog.healOn(master, scripts, onNode(given, where));
          else await untilDeadline(this.load(), given.deadline); // under the transport's round trip
        });
        await Promise.all(loads);
      },
      roundTrip,
    );
  }

  /** Read-only calls on a replica of the group's slot; what it cannot answer goes to the master. */
  private async onReplica(
    group: CallGroup<unknown>,
    calls: readonly ScriptCall[],
    commands: readonly Command[],
    roundTrip: RoundTrip,
  ): Promise<Outcome[]> {
    const candidates = group.slot === undefined ? [] : slotNodes(this.cluster, group.slot).slice(1);
    const address = candidates[this.replicaTurn++ % Math.max(1, candidates.length)];
    const replica = address === undefined ? undefined : nodeByAddress(this.cluster, address);
    if (!replica) return this.onMaster(group, calls, commands, roundTrip);
    const onReplicaNode = onNode(roundTrip, address);
    if (this.loadsUnderWay.size > 0) await this.loadedOn(address, roundTrip.deadline);
    const gate = this.gateOf(address);
    const outcomes =
      this.catalog.mode === "evalsha"
        ? await execHealing(this.catalog, replica, gate, calls, commands, (scripts) => this.catalog.healOn(replica, scripts, onReplicaNode), onReplicaNode)
        : // libraries arrive by replication only: a replica that lacks one hands its calls to the master at once
          await execInWaves(replica, commands, onReplicaNode, calls.map(orderKeyOf), gate);
    const fallback = outcomes.flatMap((o, i) => (!o.ok && replicaCannotServe(o.error) ? [i] : []));
    if (fallback.length === 0) return outcomes;
    const retried = await this.onMaster(
      group,
      fallback.map((i) => calls[i] as ScriptCall),
      fallback.map((i) => commands[i] as Command),
      roundTrip,
    );
    fallback.forEach((i, j) => (outcomes[i] = retried[j] as Outcome));
    return outcomes;
  }

  /** The gate of the node at `address` (undefined: a keyless group's, which goes to any master). */
  private gateOf(address: string | undefined): WaveGate {
    let gate = this.gates.get(address);
    if (!gate) {
      this.gates.set(address, (gate = new WaveGate(address)));
      if (this.closed) gate.close(); // a node first met by a batch under way when the transport closed
    }
    return gate;
  }

  close(): void {
    this.closed = true;
    this.cluster.off("refresh", this.onRefresh);
    for (const gate of this.gates.values()) gate.close();
  }
}
