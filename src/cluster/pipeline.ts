/**
 * Pipelines on a Redis Cluster, one per node, for any keyed commands: the script transport
 * sends its EVALSHA/FCALL calls through these, and so can the dispatcher's news and volume
 * baseline reads (GET/HGET per symbol) and the tick consumer's per-stream XREADGROUP.
 */
import { Cluster, Redis, ReplyError } from "ioredis";
import { CommandTimeoutError, NOT_NOW_REPLY, UpdateOvertakenError } from "../core/errors.js";
import type { OrderKey } from "../core/manifest.js";
import { within } from "../core/within.js";
import { direct, onNode, type RoundTrip } from "./loader.js";
import { groupBySlotOwner, nodeByAddress, slotNodes } from "./topology.js";

/** A command as ioredis's `call` takes it: name, then arguments. */
export type Command = [name: string, ...args: (string | Buffer | number)[]];

/**
 * The outcome of one command of a batch: the raw reply, or the raw error Redis (or the client)
 * raised. `node`: the address of the node that raised it, when that was not the node the command
 * was sent to (an ASK followed to another master).
 */
export type Outcome = { ok: true; reply: unknown } | { ok: false; error: Error; node?: string };

/** A pipeline as {@link exec} uses it: queue commands, then send them all. */
interface Batch {
  call(...command: Command): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/**
 * Anything with pipelines: one server's connection, a Cluster (which routes by slot), or a node
 * that takes each command after ASKING ({@link asking}).
 */
export interface Target {
  pipeline(): Batch;
}

/**
 * Replies after which a command is resent once the slot map is read again; and ioredis's refusal
 * of a pipeline, unsent, whose keys a read of the slot map (a reshard) put on two nodes since they
 * were grouped.
 */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b|^All keys in the pipeline should belong to the same slots allocation group/;
/** Whether an error is a redirection or a cluster's "not now" (MOVED, ASK, TRYAGAIN, CLUSTERDOWN), not a command's own answer. */
export function isRedirection(error: Error): boolean {
  return REDIRECTED.test(error.message);
}

/** Passes over a batch before a redirected command's MOVED is its answer, where the call has no deadline (a failover takes one or two). */
const REDIRECT_ROUNDS = 5;
const REDIRECT_BACKOFF_MS = 100;
const REDIRECT_MAX_BACKOFF_MS = 500;

/**
 * One pipeline on a target. A reply that is not a Redis error reply (the connection dropped,
 * the client gave up) or a "not now" reply ({@link NOT_NOW_REPLY}: busy, loading) is thrown
 * inside the round trip, once the replies that came are kept, so the caller's policy waits or
 * backs off and resends only the commands without one: every command sent here is safe to repeat
 * (the math scripts are pure, streaming updates idempotent, reads are reads), but an update
 * already applied comes back a duplicate. Whatever the round trip finally throws becomes the
 * outcome of every command still unanswered.
 *
 * `order[i]`, where given, says command i must not run after a later command of the same key
 * that got through (a streaming update): such a command is not resent (see {@link resendable}).
 */
export async function exec(target: Target, commands: readonly Command[], roundTrip: RoundTrip, order?: readonly (OrderKey | undefined)[]): Promise<Outcome[]> {
  // a command on its own to one server; on a Cluster ioredis would follow an ASK itself, leaving
  // the promise of the ASKING it sends unhandled (a connection closed mid-ASK ends the process)
  if (commands.length === 1 && target instanceof Redis) return [await execOne(target, commands[0] as Command, roundTrip)]; // no gate: the caller's
  const sent = target instanceof Cluster ? ownRedirections(target) : target;
  const outcomes: (Outcome | undefined)[] = commands.map(() => undefined);
  let unanswered = commands.map((_, i) => i);
  try {
    await roundTrip(async () => {
      // the commands this attempt sends: a reply matches its place in this list, even when it
      // comes after the attempt timed out and a later attempt, sent again, changed `unanswered`
      const asked = unanswered;
      const pipeline = sent.pipeline();
      for (const i of asked) pipeline.call(...(commands[i] as Command));
      const result = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
      // the replies that came are kept, even when the connection went before the rest: sent
      // again, an update already applied would come back a duplicate; the first answer a
      // command gets is its outcome, whichever attempt brought it
      const again = new Map<number, Error>();
      asked.forEach((commandIndex, j) => {
        if (outcomes[commandIndex]) return;
        const [error, reply] = result[j] ?? [new Error("no reply in the pipeline result"), undefined];
        if (error && (!(error instanceof ReplyError) || NOT_NOW_REPLY.test(error.message))) again.set(commandIndex, error);
        else outcomes[commandIndex] = error ? { ok: false, error } : { ok: true, reply };
      });
      unanswered = resendable([...again.keys()], outcomes, order);
      // a lost connection first: the policy then waits for the connection, not a backoff
      const reason = unanswered.map((i) => again.get(i) as Error).find((error) => !(error instanceof ReplyError)) ?? again.get(unanswered[0] as number);
      if (reason) throw reason;
    });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    for (const i of unanswered) outcomes[i] = { ok: false, error: failure };
  }
  if (target instanceof Cluster) await followAsk(target, commands, outcomes as Outcome[], roundTrip, order);
  return outcomes as Outcome[];
}

/**
 * The most script work one pipeline puts before Redis at a time, in units of a small script call
 * (a stopLoss or a confidence: 20-60 us of server time each on the VM of docs/SCALING.md), each
 * kilobyte of a call's arguments counting one unit more. Redis runs a client's commands back to
 * back for each read of its socket, while every other client of the shared core waits: a batch
 * of 400 confidence calls in one pipeline came in 2 to 6 reads of 67 to 200 calls, about 1.1-1.6
 * ms of script time each. In waves of at most this much, each sent once the one before has its
 * replies, Redis serves others in between; single calls share the same budget ({@link WaveGate}).
 */
export const SCRIPT_WAVE_UNITS = 16;

/** A script call's {@link SCRIPT_WAVE_UNITS}: one, and one more for each kilobyte of its arguments. */
function scriptUnits(command: Command): number {
  let bytes = 0;
  for (let k = 1; k < command.length; k++) {
    const arg = command[k] as string | Buffer | number;
    bytes += typeof arg === "number" ? 8 : arg.length;
  }
  return 1 + bytes / 1024;
}

/** A wave of a batch: the indices of its commands, and their {@link SCRIPT_WAVE_UNITS}. */
export interface Wave {
  calls: number[];
  units: number;
}

/** `commands` cut into consecutive waves of at most {@link SCRIPT_WAVE_UNITS} (a call heavier than that goes alone). */
export function scriptWaves(commands: readonly Command[]): Wave[] {
  const waves: Wave[] = [];
  let wave: Wave = { calls: [], units: 0 };
  for (const [i, command] of commands.entries()) {
    const own = scriptUnits(command);
    if (wave.calls.length > 0 && wave.units + own > SCRIPT_WAVE_UNITS) {
      waves.push(wave);
      wave = { calls: [], units: 0 };
    }
    wave.calls.push(i);
    wave.units += own;
  }
  if (wave.calls.length > 0) waves.push(wave);
  return waves;
}

/**
 * A call's deadline passed while it waited for its turn at a {@link WaveGate}: it was not sent.
 * A CommandTimeoutError without an address, as for a deadline that passes between a call's steps;
 * the script runner tells it apart to report a busy server as such, and `node` says which.
 */
export class TurnTimeoutError extends CommandTimeoutError {
  constructor(
    message: string,
    /** The gate's server: a cluster node's address, '' for the one server (as `ResilientRedis.run` names it). */
    readonly node: string,
  ) {
    super(message);
  }
}

/** Its transport was closed while a call waited for its turn at a {@link WaveGate}: it was not sent. */
export class GateClosedError extends Error {
  constructor() {
    super("closed while the call waited for its turn (not sent)");
  }
}

/** The longest delay setTimeout takes (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A call waiting for its turn at a {@link WaveGate}. */
interface Waiter {
  readonly units: number;
  readonly go: () => void;
  readonly fail: (error: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The script work one transport (one MathDispatcher, say) has sent a Redis server and not yet had
 * answered: at most {@link SCRIPT_WAVE_UNITS} (a call heavier than that goes alone). Single calls
 * and batches' waves all take their turn here, in the order they came, so a `Promise.all` of
 * single calls (every symbol at the open) holds Redis no longer a read than a batch does: ioredis
 * writes each call as it comes, and a Redis busy for a moment met them all in its socket at once.
 * A call alone never waits, and takes no promise to pass. A call gives its units back when its
 * round trip ends, retries included, so a command whose attempt timed out may still be running
 * when the retry goes: the bound is on what the client sends, not a promise about the server.
 * Script calls beyond the budget wait here, within their deadlines (a call without one, from a
 * transport used with no deadline, waits until its turn), and not in the resilient client's
 * offline queue.
 */
export class WaveGate {
  private unanswered = 0;
  private readonly waiting: Waiter[] = [];
  private closed = false;

  /** @param node the server the gate stands before: a cluster node's address, '' for the one server. */
  constructor(private readonly node = "") {}

  /**
   * Takes `units`: at once (undefined) when they fit and no one waits, else a promise of the
   * turn, which rejects with a {@link TurnTimeoutError} if `deadline` (epoch ms) passes first.
   */
  enter(units: number, deadline?: number): Promise<void> | undefined {
    if (this.closed) return Promise.reject(new GateClosedError());
    if (this.waiting.length === 0 && this.fits(units)) {
      this.unanswered += units;
      return undefined;
    }
    return new Promise((go, fail) => {
      const waiter: Waiter = { units, go, fail };
      if (deadline !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = this.waiting.indexOf(waiter);
          if (at < 0) return; // let in already (its timer is cleared then; this only guards the queue)
          const held = `${this.unanswered} units of script work were unanswered on the server, the most one client sends`;
          this.waiting.splice(at, 1);
          this.admit(); // the calls behind it may fit now
          fail(new TurnTimeoutError(`the call's deadline passed before its turn: ${held} (not sent)`, this.node));
        }, Math.min(deadline - Date.now(), MAX_TIMER_MS));
      }
      this.waiting.push(waiter);
    });
  }

  /** Fails every call waiting for its turn, and every later one, with a {@link GateClosedError}: none of them is sent. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.fail(new GateClosedError());
    }
  }

  /** Gives back what {@link enter} took, and lets in whoever waits and now fits, in order. */
  leave(units: number): void {
    this.unanswered -= units;
    this.admit();
  }

  private admit(): void {
    for (let next = this.waiting[0]; next && this.fits(next.units); next = this.waiting[0]) {
      this.waiting.shift();
      clearTimeout(next.timer);
      this.unanswered += next.units;
      next.go();
    }
  }

  private fits(units: number): boolean {
    return this.unanswered === 0 || this.unanswered + units <= SCRIPT_WAVE_UNITS;
  }
}

/**
 * Script calls through {@link exec} in {@link scriptWaves}, one wave after another, each through
 * the target's `gate` where there is one; outcomes in the order of `commands`. A wave's streaming
 * updates are settled (resent or failed) before the next wave is sent, so a later update never
 * overtakes an earlier one across waves.
 */
export async function execInWaves(
  target: Target,
  commands: readonly Command[],
  roundTrip: RoundTrip,
  order?: readonly (OrderKey | undefined)[],
  gate?: WaveGate,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const waves = scriptWaves(commands);
  for (const [w, { calls, units }] of waves.entries()) {
    try {
      const turn = gate?.enter(units, roundTrip.deadline);
      if (turn) await turn;
    } catch (error) {
      // the call's deadline passed before this wave's turn: neither it nor any after it is sent
      for (const unsent of waves.slice(w)) for (const i of unsent.calls) outcomes[i] = { ok: false, error: error as Error };
      break;
    }
    try {
      const results = await exec(target, calls.map((i) => commands[i] as Command), roundTrip, order && calls.map((i) => order[i]));
      calls.forEach((i, k) => (outcomes[i] = results[k] as Outcome));
    } finally {
      gate?.leave(units);
    }
  }
  return outcomes;
}

/**
 * A Cluster whose pipelines ioredis sends without following their redirections itself: each
 * starts with a PING. ioredis resends a cluster pipeline after a MOVED, ASK, TRYAGAIN or
 * CLUSTERDOWN only when every command met the same one and none that got through was a write
 * (Pipeline.fillResult: a lone call, or a batch of one slot), and it follows an ASK out of sight:
 * the importing master's NOSCRIPT was healed on the source, its BUSY to ASKING dropped (the
 * command came back MOVED), its timeouts counted against the source's circuit breaker. A PING
 * that got through stops that, so every redirection comes back here: an ASK to
 * {@link followAsk}, the others to {@link resendRedirected}.
 */
function ownRedirections(cluster: Cluster): Target {
  return {
    pipeline() {
      const inner = cluster.pipeline().call("PING");
      return {
        call: (...command) => inner.call(...command),
        exec: async () => ((await inner.exec()) ?? []).slice(1) as [Error | null, unknown][],
      };
    },
  };
}

/** The reply of a migrating slot's source for keys it no longer holds: ask that node instead. */
const ASK_REPLY = /^ASK \d+ (\S+)$/;

/**
 * Sends each command that met an ASK to the node the ASK names, right after ASKING, as Redis
 * Cluster asks a client to while a slot migrates (ioredis would, out of sight, only when every
 * reply of a pipeline was the same ASK, and {@link ownRedirections} stops even that); re-reading
 * the slot map does not help (it names the source until the migration ends), so without this a
 * batch over a master with two slots moving came back ASK pass after pass. They go through
 * {@link exec} under that node's round trip, so a "not now" from it (BUSY, LOADING) is resent
 * under the call's policy as anywhere else, and its timeouts count on its own circuit breaker.
 */
async function followAsk(cluster: Cluster, commands: readonly Command[], outcomes: Outcome[], roundTrip: RoundTrip, order?: readonly (OrderKey | undefined)[]): Promise<void> {
  const askedOf = new Map<string, number[]>();
  outcomes.forEach((outcome, i) => {
    const address = outcome.ok ? undefined : ASK_REPLY.exec(outcome.error.message)?.[1];
    if (address !== undefined) askedOf.set(address, [...(askedOf.get(address) ?? []), i]);
  });
  await Promise.all(
    [...askedOf].map(async ([address, asked]) => {
      const node = nodeByAddress(cluster, address) ?? poolNode(cluster, address);
      // no connection to be had: the ASK stays the outcome, resent once the map is read again
      if (!node) return;
      const askedCommands = asked.map((i) => commands[i] as Command);
      // under that node's round trip, whose circuit breaker counts these
      const results = await exec(asking(node), askedCommands, onNode(roundTrip, address), order && asked.map((i) => order[i]));
      asked.forEach((commandIndex, j) => {
        const result = results[j] as Outcome;
        outcomes[commandIndex] = result.ok ? result : { ...result, node: address };
      });
    }),
  );
}

/** A node that takes each command right after ASKING, as the importing master of a migrating slot needs. */
function asking(node: Redis): Target {
  return {
    pipeline() {
      const inner = node.pipeline();
      return {
        call: (...command) => inner.call("ASKING").call(...command),
        async exec() {
          const replies = (await inner.exec()) ?? [];
          const commandReplies: [Error | null, unknown][] = [];
          // ASKING turned away (BUSY) leaves its command a MOVED back to the source: ASKING's error is the answer
          for (let k = 0; k + 1 < replies.length; k += 2) {
            const askingError = (replies[k] as [Error | null, unknown])[0];
            commandReplies.push(askingError ? [askingError, undefined] : (replies[k + 1] as [Error | null, unknown]));
          }
          return commandReplies;
        },
      };
    },
  };
}

/**
 * A connection to a master the slot map does not list (one that joined holding no slot, being
 * resharded to), made in the Cluster's own pool as ioredis makes one when it follows an ASK
 * itself: the Cluster then owns it, heals its scripts by address and closes it.
 */
function poolNode(cluster: Cluster, address: string): Redis | undefined {
  const pool = (cluster as unknown as { connectionPool?: { findOrCreate?: (node: { host: string; port: number }) => Redis } }).connectionPool;
  const colon = address.lastIndexOf(":");
  return pool?.findOrCreate?.({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
}

/**
 * Of the commands to send again (`again`, ascending), those that may be: a command with an order
 * key that a later command of the same keys overtook (that one got through) gets an
 * {@link UpdateOvertakenError} as its outcome instead, since it would now land behind it.
 */
export function resendable(again: readonly number[], outcomes: (Outcome | undefined)[], order: readonly (OrderKey | undefined)[] | undefined): number[] {
  if (!order) return [...again];
  return again.filter((i) => {
    const own = order[i];
    if (!own) return true;
    const overtaken = outcomes.some((outcome, j) => j > i && outcome?.ok && order[j]?.keys === own.keys);
    if (overtaken) {
      const reason = "not applied: turned away for a moment while a later update of the same keys in this batch got through, it can no longer be applied in order";
      outcomes[i] = { ok: false, error: new UpdateOvertakenError(own.script, reason) };
    }
    return !overtaken;
  });
}

/**
 * One command on its own: a pipeline of one costs the client about half as much again. A script
 * call passes its target's `gate` ({@link WaveGate}) first.
 */
export async function execOne(target: Redis, command: Command, roundTrip: RoundTrip, gate?: WaveGate): Promise<Outcome> {
  const [name, ...args] = command;
  const units = gate ? scriptUnits(command) : 0;
  try {
    const turn = gate?.enter(units, roundTrip.deadline);
    if (turn) await turn;
  } catch (error) {
    return { ok: false, error: error as Error }; // the call's deadline passed before its turn: not sent
  }
  try {
    return await roundTrip(async (): Promise<Outcome> => {
      try {
        return { ok: true, reply: await target.call(name, ...args) };
      } catch (error) {
        // a Redis error reply is the command's answer; a lost connection or a "not now" the policy's to resend
        if (error instanceof ReplyError && !NOT_NOW_REPLY.test((error as Error).message)) return { ok: false, error: error as Error };
        throw error;
      }
    });
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    gate?.leave(units);
  }
}

/**
 * A resent call's outcome, where its deadline passed before the resend went (a timeout naming no
 * server: the slot map's reading or the backoff took the rest of it), as a timeout that says what
 * held the call: the redirection it met the pass before (CLUSTERDOWN, TRYAGAIN, MOVED), its cause.
 * Any other outcome as it is.
 */
export function keptWhatHeld(outcome: Outcome, before: Outcome): Outcome {
  if (outcome.ok || before.ok || !isRedirection(before.error)) return outcome;
  // a turn waited out at a node's gate says what held it already (the runner reads its node)
  if (!(outcome.error instanceof CommandTimeoutError) || outcome.error instanceof TurnTimeoutError || outcome.error.address !== undefined) return outcome;
  return { ok: false, error: new CommandTimeoutError(`${outcome.error.message}: Redis answered ${before.error.message}`, { cause: before.error }) };
}

/**
 * Runs `pass` over the pending items, then again over those whose outcome was a redirection,
 * after reading the slot map again: until `deadline` (the call's, epoch ms), so a TRYAGAIN or
 * CLUSTERDOWN that a migration's step or a failover causes for a second or two is waited out
 * within it, and never past it; without a deadline, at most {@link REDIRECT_ROUNDS} passes.
 *
 * ioredis follows a MOVED inside a pipeline only when every reply of the pipeline is the same
 * MOVED (one slot), and this transport's pipelines stop even that ({@link ownRedirections}); so
 * after a failover or a resharding a batch comes back MOVED for several slots until resent here.
 */
export async function resendRedirected<T extends { readonly index: number }>(
  cluster: Cluster,
  pending: readonly T[],
  outcomes: Outcome[],
  pass: (pending: T[]) => Promise<void>,
  deadline?: number,
): Promise<void> {
  let left = [...pending];
  for (let round = 1; ; round++) {
    const before = left.map((item) => outcomes[item.index] as Outcome);
    await pass(left);
    left.forEach((item, k) => (outcomes[item.index] = keptWhatHeld(outcomes[item.index] as Outcome, before[k] as Outcome)));
    left = left.filter((item) => {
      const o = outcomes[item.index] as Outcome;
      return !o.ok && isRedirection(o.error);
    });
    if (left.length === 0) return;
    const backoff = Math.min(REDIRECT_BACKOFF_MS * round, REDIRECT_MAX_BACKOFF_MS);
    // with a deadline, another pass only if it can start before it; without, REDIRECT_ROUNDS passes
    const another = () => (deadline === undefined ? round < REDIRECT_ROUNDS : Date.now() + backoff < deadline);
    if (!another()) return;
    const refreshed = new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    try {
      // ioredis asks the nodes one after another, each for up to its slotsRefreshTimeout
      await (deadline === undefined ? refreshed : within(refreshed, deadline - Date.now(), () => new Error("the slot map was not read again in time")));
    } catch {
      return; // the call's deadline came first: the outcomes stand
    }
    if (!another()) return;
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }
}

/**
 * A command with the keys it touches (all in one slot), as the caller lays them out. ioredis
 * routes the pipeline by the keys it finds in the commands itself, so `keys` must be keys ioredis
 * finds: ioredis 5 finds none in a container command such as XGROUP CREATE and sends its
 * pipeline to a random master, whose MOVED comes back pass after pass. Send those on their own.
 */
export interface KeyedCommand {
  readonly keys: readonly string[];
  readonly command: Command;
}

/**
 * Runs keyed commands as one pipeline per master, in parallel, following redirections;
 * outcomes come back in the order of `commands`. For reads that span symbols: the news and
 * volume baselines of a batch of signals, or one XREADGROUP per tick stream (a multi-stream
 * XREADGROUP must keep to one slot, so on a cluster each stream is read by its own command).
 */
export async function runKeyed(cluster: Cluster, commands: readonly KeyedCommand[], roundTrip: RoundTrip = direct): Promise<Outcome[]> {
  const outcomes: Outcome[] = commands.map(() => ({ ok: false, error: new Error("not sent") }));
  const indexed = commands.map((c, index) => ({ ...c, index }));
  const pass = async (pending: typeof indexed) => {
    const { groups, crossSlot } = groupBySlotOwner(cluster, pending);
    for (const j of crossSlot) outcomes[(pending[j] as { index: number }).index] = { ok: false, error: crossSlotError() };
    await Promise.all(
      groups.map(async (group) => {
        // under the round trip of the group's master, whose own circuit breaker counts it
        const master = group.slot === undefined ? undefined : slotNodes(cluster, group.slot)[0];
        const results = await exec(cluster, group.calls.map((c) => c.command), onNode(roundTrip, master));
        group.calls.forEach((c, k) => (outcomes[c.index] = results[k] as Outcome));
      }),
    );
  };
  await resendRedirected(cluster, indexed, outcomes, pass, roundTrip.deadline);
  return outcomes;
}

/** The error of a command whose keys span slots: refused before sending, as Redis would. */
export function crossSlotError(): Error {
  return new ReplyError("CROSSSLOT Keys in request don't hash to the same slot (not sent)");
}
