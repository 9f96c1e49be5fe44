/** Marks the package's errors, whichever copy of it made them (one symbol per process). */
const ERROR_BRAND = Symbol.for("math-dispatcher.error");

/**
 * Every error the SDK throws is a {@link MathDispatcherError}; catch the subclasses with
 * `instanceof` to tell bad input from a Redis problem.
 *
 * `instanceof` holds across the package's two module forms too: a process that loads both the
 * ESM and the CommonJS build (one dependency requires it, another imports it) has two copies of
 * every class, and an error of one copy is an instance of the same-named class of the other.
 */
export class MathDispatcherError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * `instanceof`: an instance of this class, or an error of the package's other module form whose
   * class of the same name is in its prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== "object" || value === null || !(ERROR_BRAND in value)) return false;
    // the other copy's error: an instance when a class of its prototype chain has this one's name
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      if (Object.hasOwn(proto, "constructor") && (proto.constructor as { name?: unknown }).name === this.name) return true;
    }
    return false;
  }
}
Object.defineProperty(MathDispatcherError.prototype, ERROR_BRAND, { value: true });

/**
 * An input was rejected, by the TypeScript validation before any Redis call or by the Lua
 * script's own check. `field` names the input, as a path: `period`, `bars[3].high`.
 */
export class InvalidInputError extends MathDispatcherError {
  /** @param options `cause`: the script's error reply, when the Lua check refused the input. */
  constructor(
    readonly field: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${reason}`, options);
  }
}

/** Redis answered a script call with an error that is not an input error. */
export class ScriptExecutionError extends MathDispatcherError {
  constructor(
    readonly script: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`script ${script}: ${message}`, options);
  }
}

/**
 * A value as an error message shows it, whatever a caller passed: `String()` throws for an object
 * without a usable `toString` (`{ toString: null }`), which would turn a typed error into a TypeError.
 */
export function shownValue(value: unknown): string {
  // text quoted, so that "75" is not taken for the number 75
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) return String(value);
  if (typeof value === "symbol") return value.toString();
  return Array.isArray(value) ? "a list" : typeof value === "function" ? "a function" : "an object";
}

/**
 * A streaming update that was not applied and can no longer be: the server turned it away for a
 * moment (its scripts flushed, busy, loading) while a later update of the same symbol in the same
 * pipeline got through, so sending it now would put it behind that one, where `stream_update`
 * counts it a duplicate. Only a raw `ScriptRunner.runMany` of several `stream_update` calls of one
 * symbol can meet it: `updateMany` sends a symbol's updates as one atomic call.
 */
export class UpdateOvertakenError extends ScriptExecutionError {}

/**
 * A streaming update that was not sent, because an earlier call of updates of the same symbol
 * failed (its error is the `cause`): in the same `updateMany`, or a call of the same
 * `math.streaming()` object it was queued behind, made before that failure was known. Sent
 * anyway, it could land ahead of the failed one, which a resend would then find a duplicate.
 * Nothing of it was applied; send it again after the earlier ones.
 */
export class UpdateHeldBackError extends MathDispatcherError {
  constructor(cause: MathDispatcherError) {
    super(`not sent: an earlier call of updates of the same symbol failed (${cause.message})`, { cause });
  }
}

/**
 * Replies that mean "not now": loading a dataset, busy with a long script, a master that lost its
 * link or became a replica. The same command may succeed after a backoff, so the retry policy
 * resends it, and a pipeline resends only the commands that met one.
 */
export const NOT_NOW_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY)\b/;

/** SCRIPT LOAD returned a SHA1 other than the manifest's: the server holds different text. */
export class ScriptIntegrityError extends MathDispatcherError {
  constructor(
    readonly script: string,
    readonly expectedSha1: string,
    readonly actualSha1: string,
  ) {
    super(`script ${script}: SCRIPT LOAD returned ${actualSha1}, manifest says ${expectedSha1}`);
  }
}

/** A configuration value is missing or invalid; `setting` names it. */
export class ConfigurationError extends MathDispatcherError {
  constructor(
    readonly setting: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}: ${reason}`, options);
  }
}

/** A script reply did not have the shape the decoder expects (a bug, or a foreign script). */
export class ReplyFormatError extends MathDispatcherError {}

/** Data the dispatcher read from Redis (news, volume baselines) is not in the documented shape. */
export class StoredDataError extends MathDispatcherError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${key}: ${reason}`);
  }
}

/**
 * Why a connection to Redis failed, as far as the client can tell. `busy`: the server answered,
 * but only "not now" (another client's long script, loading, a replica), so it could not be used
 * (the CLI and health report; an SDK call gets a {@link ServerBusyError}).
 */
export type ConnectionFailure = "refused" | "unreachable" | "timeout" | "auth" | "tls" | "closed" | "denied" | "busy";

/**
 * Redis could not be reached or refused the connection: `address` says where (host:port) and
 * `failure` what kind of failure it was (connection refused, authentication, TLS, ...); the
 * original error is the `cause`.
 */
export class ConnectionError extends MathDispatcherError {
  constructor(
    readonly address: string,
    readonly failure: ConnectionFailure,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Redis at ${address}: ${failure}: ${detail}`, options);
  }
}

/**
 * The client, or the dispatcher, was closed (`close()`): the call was never sent, or its connection
 * was cut by the close. Unlike the other connection failures it lasts: a closed client stays
 * closed, so nothing waiting on it (a retry loop, a tick consumer) should try again.
 */
export class ClientClosedError extends ConnectionError {
  /** @param detail what was closed: `the client was closed` unless given. */
  constructor(address: string, detail = "the client was closed", options?: { cause?: unknown }) {
    super(address, "closed", detail, options);
  }
}

/** Calls fail fast: Redis answered too slowly too often, and the circuit breaker is open. */
export class CircuitOpenError extends MathDispatcherError {}

/** Too many calls already wait for a connection that is down. */
export class OfflineQueueFullError extends MathDispatcherError {}

/**
 * A command did not answer within its timeout, or a call's deadline passed. `address` is where the
 * command that timed out went (host:port; on a cluster, the node), when one did: a call whose
 * deadline passed between its steps has none. A command that timed out may still have run (every
 * script is safe to repeat).
 */
export class CommandTimeoutError extends MathDispatcherError {
  readonly address: string | undefined;

  constructor(message: string, options?: { cause?: unknown; address?: string }) {
    super(message, options);
    this.address = options?.address;
  }
}

/** Redis answered a command with an error (e.g. WRONGTYPE, NOPERM); the reply error is the cause. */
export class RedisCommandError extends MathDispatcherError {}

/**
 * Redis kept answering "not now" (BUSY, LOADING, MASTERDOWN, READONLY, or a cluster's TRYAGAIN
 * or CLUSTERDOWN) past the policy's retries or the call's deadline: busy with another client's
 * long script, loading a dataset, a slot on the move. The server refused the command, so none of
 * it ran; the same call may succeed a moment later, and `isTransient` says so. The reply is the
 * message and the cause.
 */
export class ServerBusyError extends RedisCommandError {}

/**
 * Redis is at its `maxmemory` and refuses commands that may write (`OOM command not allowed`),
 * among them every math script that caches its result: its write came before anything ran. It
 * lasts until memory is freed, so it is not retried (`isTransient` is false), and a call whose
 * script has a read-only variant was already sent again as that variant, which Redis runs at
 * `maxmemory` (it answers from an entry that exists, or computes without storing). `mathd health`
 * reports the memory. The reply is the message and the cause.
 */
export class ServerOutOfMemoryError extends RedisCommandError {}

/** Redis's reply to a command that may write while it is at `maxmemory`. */
const OUT_OF_MEMORY_REPLY = /^OOM\b/;

/** A cluster that is moving a slot or has lost one: "not now" as {@link NOT_NOW_REPLY} is. */
export const CLUSTER_NOT_NOW_REPLY = /^(TRYAGAIN|CLUSTERDOWN)\b/;

/** Whether Redis answered "not now": a {@link ServerBusyError}, or a reply of {@link NOT_NOW_REPLY} or {@link CLUSTER_NOT_NOW_REPLY}. */
export function isNotNowReply(error: unknown): boolean {
  if (error instanceof ServerBusyError) return true;
  return error instanceof Error && !(error instanceof MathDispatcherError) && (NOT_NOW_REPLY.test(error.message) || CLUSTER_NOT_NOW_REPLY.test(error.message));
}

/**
 * An error Redis answered, as the SDK's class: a {@link ServerBusyError} for a "not now", a
 * {@link ServerOutOfMemoryError} for an OOM, else a {@link RedisCommandError}.
 */
export function replyErrorOf(error: unknown): RedisCommandError {
  if (error instanceof ServerOutOfMemoryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isNotNowReply(error)) return new ServerBusyError(message, { cause: error });
  if (error instanceof Error && !(error instanceof MathDispatcherError) && OUT_OF_MEMORY_REPLY.test(message)) return new ServerOutOfMemoryError(message, { cause: error });
  return new RedisCommandError(message, { cause: error });
}
