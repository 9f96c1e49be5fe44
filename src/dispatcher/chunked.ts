/**
 * Long series in several script calls. A call takes at most MAX_POINTS_PER_CALL points
 * (MAX_SERIES_POINTS_PER_CALL for an ATR with its series) so that no call holds Redis for more
 * than about 2 ms; a longer series (up to MAX_POINTS) runs
 * as consecutive calls, each given the indicator state the previous one replied (`state` ARGV:
 * 'start' first, then the reply's text). The state is the scripts' own running sums written as
 * %.17g, which reads back as the same doubles, so the chained result equals one call over the
 * whole series bit for bit (docs/FORMULAS.md, "Long inputs").
 */
import { InvalidInputError, shownValue } from "../core/errors.js";
import type { KeyOptions } from "../keys/symbol.js";
import { decodeReply, type ReplyFields, textField } from "./reply.js";
import { decodeResult, type NamedArgs, type ResultMeta, type ScriptFunction, scriptCall } from "./scriptFunction.js";
import { callBudget, type ScriptCallOptions, type ScriptRunner } from "./scriptRunner.js";

/** Options of a chunked run. */
export interface ChunkOptions extends KeyOptions {
  /** Points per call, 1..the script's maximum (the default); smaller only to test the protocol. */
  pointsPerCall?: number;
}

/** How a function's series is split and how a chunk's reply joins the result. */
export interface Chunking<Parsed extends { symbol: string }, Result> {
  /** The ARGV of one chunk: `state` is 'start' or the previous reply's state. */
  args(chunk: Parsed, state: string): NamedArgs;
  /** The most points one call of this input may carry. */
  maxPointsPerCall(input: Parsed): number;
  /** The number of points of an input, and the input cut to points [from, to). */
  length(input: Parsed): number;
  slice(input: Parsed, from: number, to: number): Parsed;
  /** The result from every chunk's reply fields, in order (the last holds the final values). */
  combine(replies: readonly ReplyFields[]): Result;
}

/** Whether an input is longer than one call of its function may carry. */
export function needsChunks<Parsed extends { symbol: string }>(fn: ScriptFunction<Parsed, unknown>, input: Parsed): boolean {
  return fn.chunking !== undefined && fn.chunking.length(input) > fn.chunking.maxPointsPerCall(input);
}

/**
 * Runs a validated input in one call when it fits, else in chunks of `pointsPerCall` points; the
 * result is `hit` only if every chunk came from the cache.
 */
export async function runChunked<Parsed extends { symbol: string }, Result>(
  runner: ScriptRunner,
  single: ScriptFunction<Parsed, Result>,
  input: Parsed,
  options: ChunkOptions = {},
  callOptions?: ScriptCallOptions,
): Promise<Result & ResultMeta> {
  const chunking = single.chunking;
  if (!chunking) throw new InvalidInputError("input", `${single.script} takes no series in chunks`);
  const { pointsPerCall: asked, ...keyOptions } = options;
  const most = chunking.maxPointsPerCall(input);
  const pointsPerCall = asked ?? most;
  if (!Number.isInteger(pointsPerCall) || pointsPerCall < 1 || pointsPerCall > most) {
    throw new InvalidInputError("pointsPerCall", `must be an integer in 1..${most}, got ${shownValue(pointsPerCall)}`);
  }
  const entry = runner.entry(single.script);
  const total = chunking.length(input);
  if (total <= pointsPerCall) {
    return decodeResult(single, entry, await runner.run(scriptCall(single, entry, input, keyOptions), callOptions));
  }
  const replies: ReplyFields[] = [];
  const budget = callBudget(callOptions, runner.deadlineMs); // one deadline for all the chunks
  let state = "start";
  for (let from = 0; from < total; from += pointsPerCall) {
    const chunk = chunking.slice(input, from, Math.min(total, from + pointsPerCall));
    const fn: ScriptFunction<Parsed, Result> = { ...single, args: (p) => chunking.args(p, state) };
    const fields = decodeReply(await runner.run(scriptCall(fn, entry, chunk, keyOptions), budget()));
    replies.push(fields);
    state = textField(fields, "state");
  }
  const cache = replies.every((fields) => textField(fields, "cache") === "hit") ? "hit" : "miss";
  return { ...chunking.combine(replies), cache, scriptVersion: entry.version };
}
