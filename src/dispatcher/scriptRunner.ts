/**
 * Runs the manifest's scripts with EVALSHA through a {@link ResilientRedis}. Scripts are sent once
 * with SCRIPT LOAD (the SHA1 Redis returns is checked against the manifest). A NOSCRIPT reply,
 * after a restart, failover or SCRIPT FLUSH, loads the script again on the same connection and
 * sends the call again, as often as the call's deadline allows. In a pipeline, the entries that
 * met NOSCRIPT or lost their connection are sent again; the others keep their result.
 *
 * Sending a call again is safe: every script is idempotent given its KEYS and ARGV (the math
 * scripts are pure and rewrite the same cache entry; a streaming update at or before the last
 * applied (ts, seq) is ignored).
 */
import type { Redis } from "ioredis";
import { InvalidInputError, MathDispatcherError, RedisCommandError, ScriptExecutionError, ScriptIntegrityError } from "../core/errors.js";
import { SCRIPTS } from "../generated/scripts.js";
import type { DatabaseName } from "../redis/databases.js";
import { type CallContext, type CallOptions, classifyError, type ResilientRedis } from "../redis/ResilientRedis.js";
import type { ScriptManifestEntry } from "../core/manifest.js";

/** One script invocation: KEYS and ARGV as the script header declares them. */
export interface ScriptCall {
  readonly script: string;
  readonly keys: readonly string[];
  readonly args: readonly (string | Buffer)[];
}

/** The outcome of one call in a batch: its raw reply or the error it raised. */
export type Settled = { ok: true; reply: unknown } | { ok: false; error: MathDispatcherError };

const INPUT_ERROR = /^MATHD_INVALID (\S+): (.*?)(?: script: [0-9a-f]{40}, on @user_script:\d+\.)?$/s;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/**
 * Maps an error of a script call to the SDK's error classes: a script's `MATHD_INVALID` reply is
 * an InvalidInputError, any other error reply a ScriptExecutionError; the client's own errors
 * (connection, timeout, circuit) pass as they are.
 */
export function scriptError(script: string, error: unknown): MathDispatcherError {
  const raw = error instanceof RedisCommandError ? error.cause : error;
  if (raw instanceof MathDispatcherError) return raw;
  const message = raw instanceof Error ? raw.message : String(raw);
  const input = INPUT_ERROR.exec(message);
  if (input) return new InvalidInputError(input[1] as string, input[2] as string);
  return new ScriptExecutionError(script, message, { cause: raw });
}

type Reply = [Error | null, unknown];

/**
 * Runs the manifest's scripts through a ResilientRedis: SCRIPT LOAD once (checking the SHA1 Redis
 * returns against the build's), then EVALSHA, alone or in one pipeline; a NOSCRIPT reloads the
 * script and sends the call again once. Errors come out as the SDK's classes.
 */
export class ScriptRunner {
  private readonly byName: ReadonlyMap<string, ScriptManifestEntry>;
  private loading: Promise<void> | undefined;

  /**
   * @param client the resilient client every round trip goes through.
   * @param scripts the manifest; the built `lua/` scripts by default.
   * @param database the database the scripts keep their cache and state in.
   */
  constructor(
    private readonly client: ResilientRedis,
    scripts: readonly ScriptManifestEntry[] = SCRIPTS,
    private readonly database: DatabaseName = "patterns",
  ) {
    this.byName = new Map(scripts.map((s) => [s.name, s]));
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

  private async loadOn(redis: Redis, entry: ScriptManifestEntry): Promise<void> {
    const sha1 = (await redis.script("LOAD", entry.source)) as string;
    if (sha1 !== entry.sha1) throw new ScriptIntegrityError(entry.name, entry.sha1, sha1);
  }

  /** Sends every script with SCRIPT LOAD (once; later calls reuse the first load). */
  load(options?: CallOptions): Promise<void> {
    this.loading ??= this.client
      .run(this.database, (redis) => Promise.all(this.scripts.map((s) => this.loadOn(redis, s))), options)
      .then(
        () => undefined,
        (error: unknown) => {
          this.loading = undefined;
          throw error;
        },
      );
    return this.loading;
  }

  private evalshaArgs(call: ScriptCall): [string, number, ...(string | Buffer)[]] {
    const entry = this.entry(call.script);
    if (call.keys.length !== entry.numberOfKeys) {
      throw new ScriptExecutionError(call.script, `takes ${entry.numberOfKeys} keys, got ${call.keys.length}`);
    }
    if (call.args.length !== entry.args.length) {
      throw new ScriptExecutionError(call.script, `takes ${entry.args.length} arguments (${entry.args.map((a) => a.name).join(", ")}), got ${call.args.length}`);
    }
    return [entry.sha1, entry.numberOfKeys, ...call.keys, ...call.args];
  }

  /** EVALSHA, loading the script again after each NOSCRIPT while the deadline allows. */
  private async evalsha(redis: Redis, call: ScriptCall, args: [string, number, ...(string | Buffer)[]], context: CallContext): Promise<unknown> {
    for (;;) {
      try {
        return await redis.evalsha(...args);
      } catch (error) {
        if (!isNoScript(error) || Date.now() >= context.deadline) throw error;
        await this.loadOn(redis, this.entry(call.script));
      }
    }
  }

  /** Runs one script; resolves to its raw reply. */
  async run(call: ScriptCall, options?: CallOptions): Promise<unknown> {
    const args = this.evalshaArgs(call);
    try {
      await this.load(options);
      return await this.client.run(this.database, (redis, context) => this.evalsha(redis, call, args, context), options);
    } catch (error) {
      throw scriptError(call.script, error);
    }
  }

  /**
   * Runs many scripts in pipelines (one round trip when nothing fails). Entries that met NOSCRIPT
   * or lost their connection are sent again, after their scripts are loaded again, until the
   * call's deadline. Results keep the order of `calls`; one call's error does not fail the others.
   */
  async runMany(calls: readonly ScriptCall[], options?: CallOptions): Promise<Settled[]> {
    const settled: Settled[] = new Array(calls.length);
    const args = calls.map((call) => this.evalshaArgs(call));
    let pending = calls.map((_, i) => i);
    if (pending.length === 0) return settled;
    const fail = (indexes: readonly number[], error: unknown) => {
      for (const i of indexes) settled[i] = { ok: false, error: scriptError((calls[i] as ScriptCall).script, error) };
    };
    try {
      await this.load(options);
      await this.client.run(
        this.database,
        async (redis, context) => {
          while (pending.length > 0) {
            const pipeline = redis.pipeline();
            for (const i of pending) pipeline.evalsha(...(args[i] as [string, number]));
            const replies = ((await pipeline.exec()) ?? []) as Reply[];
            const again: number[] = [];
            const reload = new Set<string>();
            let lost: Error | undefined;
            pending.forEach((callIndex, j) => {
              const [error, reply] = replies[j] ?? [new Error("Connection is closed: no reply"), undefined];
              if (!error) settled[callIndex] = { ok: true, reply };
              else if (isNoScript(error)) {
                reload.add((calls[callIndex] as ScriptCall).script);
                again.push(callIndex);
              } else if (classifyError(error) === "connection") {
                lost ??= error;
                again.push(callIndex);
              } else fail([callIndex], error);
            });
            pending = again;
            // a lost connection: the policy waits for it and runs this command again (only `pending`)
            if (lost) throw lost;
            if (pending.length > 0 && Date.now() >= context.deadline) {
              throw new ScriptExecutionError("pipeline", "NOSCRIPT until the call's deadline");
            }
            await Promise.all([...reload].map((name) => this.loadOn(redis, this.entry(name))));
          }
        },
        options,
      );
    } catch (error) {
      fail(pending, error);
    }
    return settled;
  }
}
