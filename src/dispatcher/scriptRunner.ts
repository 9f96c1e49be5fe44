/**
 * Runs the manifest's scripts with EVALSHA. Scripts are sent once with SCRIPT LOAD (and the SHA1
 * Redis returns is checked against the manifest); a NOSCRIPT reply, after a restart, failover or
 * SCRIPT FLUSH, loads the script again and retries the call once, for single calls and for
 * calls queued in a pipeline alike.
 */
import type { Redis } from "ioredis";
import { SCRIPTS } from "../generated/scripts.js";
import { InvalidInputError, MathDispatcherError, ScriptExecutionError, ScriptIntegrityError } from "../core/errors.js";
import type { ScriptManifestEntry } from "./manifest.js";

/** One script invocation: KEYS and ARGV as the script header declares them. */
export interface ScriptCall {
  readonly script: string;
  readonly keys: readonly string[];
  readonly args: readonly (string | Buffer)[];
}

/**
 * How each Redis round trip runs: directly by default, or through a resilient client's timeout,
 * retry and circuit-breaker policy. Retrying a script call is safe: the math scripts are pure
 * (a repeated call rewrites the same cache entry) and streaming updates are idempotent.
 */
export type CallPolicy = <T>(command: () => Promise<T>) => Promise<T>;

const direct: CallPolicy = (command) => command();

/** The outcome of one call in a batch: its raw reply or the error it raised. */
export type Settled = { ok: true; reply: unknown } | { ok: false; error: MathDispatcherError };

const INPUT_ERROR = /^MATHD_INVALID (\S+): (.*?)(?: script: [0-9a-f]{40}, on @user_script:\d+\.)?$/s;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** Maps a Redis error reply to the SDK's error classes. */
export function scriptError(script: string, error: unknown): MathDispatcherError {
  if (error instanceof MathDispatcherError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const input = INPUT_ERROR.exec(message);
  if (input) return new InvalidInputError(input[1] as string, input[2] as string);
  return new ScriptExecutionError(script, message, { cause: error });
}

export class ScriptRunner {
  private readonly byName: ReadonlyMap<string, ScriptManifestEntry>;
  private loading: Promise<void> | undefined;

  /**
   * @param redis a connection on the database the scripts cache into (DB 10); not modified.
   * @param scripts the manifest; the built `lua/` scripts by default.
   * @param policy how each round trip runs (see {@link CallPolicy}).
   */
  constructor(
    private readonly redis: Redis,
    scripts: readonly ScriptManifestEntry[] = SCRIPTS,
    private readonly policy: CallPolicy = direct,
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

  private async loadOne(entry: ScriptManifestEntry): Promise<void> {
    const sha1 = (await this.policy(() => this.redis.script("LOAD", entry.source))) as string;
    if (sha1 !== entry.sha1) throw new ScriptIntegrityError(entry.name, entry.sha1, sha1);
  }

  /** Sends every script with SCRIPT LOAD (once; later calls reuse the first load). */
  load(): Promise<void> {
    this.loading ??= Promise.all(this.scripts.map((s) => this.loadOne(s))).then(
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
    return [entry.sha1, entry.numberOfKeys, ...call.keys, ...call.args];
  }

  /** Runs one script; resolves to its raw reply. */
  async run(call: ScriptCall): Promise<unknown> {
    const args = this.evalshaArgs(call);
    await this.load();
    try {
      return await this.policy(() => this.redis.evalsha(...args));
    } catch (error) {
      if (!isNoScript(error)) throw scriptError(call.script, error);
    }
    try {
      await this.loadOne(this.entry(call.script));
      return await this.policy(() => this.redis.evalsha(...args));
    } catch (error) {
      throw scriptError(call.script, error);
    }
  }

  private async pipelined(calls: readonly ScriptCall[]): Promise<[Error | null, unknown][]> {
    const args = calls.map((call) => this.evalshaArgs(call));
    return this.policy(async () => {
      const pipeline = this.redis.pipeline();
      for (const a of args) pipeline.evalsha(...a);
      return ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
    });
  }

  /**
   * Runs many scripts in one pipeline (one round trip). Calls that met NOSCRIPT are retried
   * together in a second pipeline after their scripts are loaded again. Results keep the order
   * of `calls`; one call's error does not fail the others.
   */
  async runMany(calls: readonly ScriptCall[]): Promise<Settled[]> {
    if (calls.length === 0) return [];
    await this.load();
    const results = await this.pipelined(calls);
    const retry = calls.map((_, i) => i).filter((i) => isNoScript(results[i]?.[0]));
    if (retry.length > 0) {
      const names = new Set(retry.map((i) => (calls[i] as ScriptCall).script));
      await Promise.all([...names].map((name) => this.loadOne(this.entry(name))));
      const retried = await this.pipelined(retry.map((i) => calls[i] as ScriptCall));
      retry.forEach((callIndex, j) => (results[callIndex] = retried[j] as [Error | null, unknown]));
    }
    return results.map(([error, reply], i): Settled =>
      error ? { ok: false, error: scriptError((calls[i] as ScriptCall).script, error) } : { ok: true, reply },
    );
  }
}
