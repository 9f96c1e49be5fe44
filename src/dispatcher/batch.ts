/** Running many prepared script calls in one pipeline, with per-call outcomes. */
import { InvalidInputError, MathDispatcherError } from "../core/errors.js";
import type { ScriptCall, ScriptCallOptions, ScriptRunner } from "./scriptRunner.js";

/** One outcome of a batch: the result, or the typed error of that one input. */
export type BatchOutcome<Result> = { ok: true; value: Result } | { ok: false; error: MathDispatcherError };

/** A call ready to send with what its decoder needs, or the error that stopped it before Redis. */
export type Prepared<Extra> = BatchOutcome<{ call: ScriptCall; extra: Extra }>;

/** Runs a step, returning an SDK error (bad input) as an outcome instead of throwing it. */
export function attempt<T>(step: () => T): BatchOutcome<T> {
  try {
    return { ok: true, value: step() };
  } catch (error) {
    if (error instanceof MathDispatcherError) return { ok: false, error };
    throw error;
  }
}

/**
 * {@link attempt} of `step` on every index of `items`, a sparse array's holes included (`map`
 * skips them, leaving holes among the outcomes): a hole is an InvalidInputError naming
 * `name[i]`, in its place.
 */
export function attemptEach<T, U>(items: readonly T[], name: string, step: (item: T, i: number) => U): BatchOutcome<U>[] {
  return Array.from(items, (item, i) =>
    attempt(() => {
      if (!(i in items)) throw new InvalidInputError(`${name}[${i}]`, "is missing (a hole in a sparse array)");
      return step(item, i);
    }),
  );
}

/** Sends the prepared calls in one pipeline; failed preparations keep their place. */
export async function runPrepared<Extra, Result>(
  runner: ScriptRunner,
  prepared: readonly Prepared<Extra>[],
  decode: (reply: unknown, extra: Extra) => Result,
  options?: ScriptCallOptions,
): Promise<BatchOutcome<Result>[]> {
  const settled = await runner.runMany(
    prepared.flatMap((p) => (p.ok ? [p.value.call] : [])),
    options,
  );
  let next = 0;
  return prepared.map((p): BatchOutcome<Result> => {
    if (!p.ok) return p;
    const outcome = settled[next++];
    if (!outcome) throw new MathDispatcherError("pipeline returned fewer replies than calls");
    return outcome.ok ? attempt(() => decode(outcome.reply, p.value.extra)) : outcome;
  });
}

/** The value of a single outcome, or its error thrown. */
export function unwrap<Result>(outcome: BatchOutcome<Result> | undefined): Result {
  if (!outcome) throw new MathDispatcherError("no outcome");
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Checks that a many-call argument is an array, naming it when it is not. */
export function requireArray(value: unknown, field: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidInputError(field, `must be an array, got ${value === null ? "null" : typeof value}`);
}

/** `items` cut into consecutive runs of at most `size`, in order. */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let from = 0; from < items.length; from += size) chunks.push(items.slice(from, from + size));
  return chunks;
}
