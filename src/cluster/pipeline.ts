/**
 * Pipelines on a Redis Cluster, one per node, for any keyed commands: the script transport
 * sends its EVALSHA/FCALL calls through these, and so can the dispatcher's news and volume
 * baseline reads (GET/HGET per symbol) and the tick consumer's per-stream XREADGROUP.
 */
import { ReplyError, type Cluster, type Redis } from "ioredis";
import { direct, type RoundTrip } from "./loader.js";
import { groupBySlotOwner } from "./topology.js";

/** A command as ioredis's `call` takes it: name, then arguments. */
export type Command = [name: string, ...args: (string | Buffer | number)[]];

/** The outcome of one command of a batch: the raw reply, or the raw error Redis (or the client) raised. */
export type Outcome = { ok: true; reply: unknown } | { ok: false; error: Error };

/** Anything with ioredis pipelines: one server's connection, or a Cluster (which routes by slot). */
export type Target = Pick<Redis | Cluster, "pipeline" | "call">;

/** Replies after which a command is resent once the slot map is read again. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;
/** Passes over a batch before a redirected command's MOVED is its answer (a failover takes one or two). */
const REDIRECT_ROUNDS = 5;
const REDIRECT_BACKOFF_MS = 100;

/**
 * One pipeline on a target. A reply that is not a Redis error reply (the connection dropped,
 * the client gave up) is thrown inside the round trip, so the caller's policy may resend the
 * pipeline: every command sent here is safe to repeat (the math scripts are pure, streaming
 * updates idempotent, reads are reads). Whatever the round trip finally throws becomes every
 * command's outcome.
 */
export async function exec(target: Target, commands: readonly Command[], roundTrip: RoundTrip): Promise<Outcome[]> {
  if (commands.length === 1) return [await execOne(target, commands[0] as Command, roundTrip)];
  try {
    const replies = await roundTrip(async () => {
      const pipeline = target.pipeline();
      for (const [name, ...args] of commands) pipeline.call(name, ...args);
      const result = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
      const lost = result.find(([error]) => error && !(error instanceof ReplyError));
      if (lost) throw lost[0];
      return result;
    });
    return commands.map((_, i) => {
      const [error, reply] = replies[i] ?? [new Error("no reply in the pipeline result"), undefined];
      return error ? { ok: false, error } : { ok: true, reply };
    });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    return commands.map(() => ({ ok: false, error: failure }));
  }
}

/** One command on its own: a pipeline of one costs the client about half as much again. */
async function execOne(target: Target, [name, ...args]: Command, roundTrip: RoundTrip): Promise<Outcome> {
  try {
    return await roundTrip(async (): Promise<Outcome> => {
      try {
        return { ok: true, reply: await target.call(name, ...args) };
      } catch (error) {
        if (error instanceof ReplyError) return { ok: false, error: error as Error };
        throw error; // the connection: the policy may send it again
      }
    });
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/**
 * Runs `pass` over the pending items, then again over those whose outcome was a redirection,
 * after reading the slot map again, at most {@link REDIRECT_ROUNDS} passes in all.
 *
 * ioredis follows a MOVED inside a pipeline only when every reply of the pipeline is the same
 * MOVED (one slot); otherwise it neither resends nor reads the slot map again, so after a
 * failover or a resharding a batch comes back MOVED for several slots, batch after batch.
 */
export async function resendRedirected<T extends { readonly index: number }>(
  cluster: Cluster,
  pending: readonly T[],
  outcomes: readonly Outcome[],
  pass: (pending: T[]) => Promise<void>,
): Promise<void> {
  let left = [...pending];
  for (let round = 1; ; round++) {
    await pass(left);
    left = left.filter((item) => {
      const o = outcomes[item.index] as Outcome;
      return !o.ok && REDIRECTED.test(o.error.message);
    });
    if (left.length === 0 || round === REDIRECT_ROUNDS) return;
    await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    await new Promise((resolve) => setTimeout(resolve, REDIRECT_BACKOFF_MS * (round - 1)));
  }
}

/** A command with the keys it touches (all in one slot), as the caller lays them out. */
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
  await resendRedirected(cluster, indexed, outcomes, async (pending) => {
    const { groups, crossSlot } = groupBySlotOwner(cluster, pending);
    for (const j of crossSlot) outcomes[(pending[j] as { index: number }).index] = { ok: false, error: crossSlotError() };
    await Promise.all(
      groups.map(async (group) => {
        const results = await exec(cluster, group.calls.map((c) => c.command), roundTrip);
        group.calls.forEach((c, k) => (outcomes[c.index] = results[k] as Outcome));
      }),
    );
  });
  return outcomes;
}

/** The error of a command whose keys span slots: refused before sending, as Redis would. */
export function crossSlotError(): Error {
  return new ReplyError("CROSSSLOT Keys in request don't hash to the same slot (not sent)");
}
