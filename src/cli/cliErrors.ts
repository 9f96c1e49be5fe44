/**
 * How `mathd` fails: one line naming the server and the cause (the stack only with --verbose),
 * and an exit code that says what kind of failure it was, distinct from health's 1 and 2
 * verdicts. The codes follow BSD sysexits where one fits.
 */
import { ConfigurationError, ConnectionError, MathDispatcherError, InvalidInputError, isNotNowReply, ServerOutOfMemoryError } from "../core/errors.js";
import { connectionFailureOf, resolveRedisConfig, toConnectionError } from "../redis/config.js";

/** Exit codes of `mathd` (docs/CLI.md). */
export const EXIT = {
  ok: 0,
  /** `health`: TTL policy violations or problems (memory full under noeviction, a cluster's). */
  violations: 1,
  /** Redis could not be reached, only answered "not now", or is at its maxmemory (health's own code, used by every command). */
  unreachable: 2,
  /** A wrong command line (sysexits EX_USAGE). */
  usage: 64,
  /** An input file or stored data is not in the expected shape (EX_DATAERR). */
  dataError: 65,
  /** An input file does not exist or cannot be read (EX_NOINPUT). */
  noInput: 66,
  /** Anything else: a bug or an unexpected reply (EX_SOFTWARE). */
  software: 70,
  /** An output file (`--out`) cannot be written (EX_CANTCREAT). */
  cantCreate: 73,
  /**
   * A setting of the environment is wrong (`MATHD_DB_NEWS=16`, `REDIS_PORT=x`, an unreadable
   * `REDIS_TLS_CA_FILE`), or the server refused the configured database (EX_CONFIG).
   */
  config: 78,
} as const;

/** The command line is wrong; the message says how, and the usage follows it. */
export class UsageError extends Error {}

/** An input file's content is wrong; the message names the file and the place. */
export class DataError extends Error {}

/** An output file cannot be written; the cause is the file system's error. */
export class OutputError extends Error {}

/** The error's exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof OutputError) return EXIT.cantCreate;
  if (error instanceof DataError || error instanceof InvalidInputError) return EXIT.dataError;
  // --url is the only setting the command line gives; every other one comes from the environment
  if (error instanceof ConfigurationError) return error.setting === "url" ? EXIT.usage : EXIT.config;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if ((code === "ENOENT" || code === "EACCES" || code === "EISDIR") && (error as NodeJS.ErrnoException).path) return EXIT.noInput;
  // a server that cannot be used now is a supervisor's matter, never a bug's 70
  if (connectionFailure(error) || error instanceof ServerOutOfMemoryError) return EXIT.unreachable;
  return EXIT.software;
}

/**
 * The first error in the cause chain that is a connection failure, or a "not now" (BUSY,
 * LOADING, MASTERDOWN, READONLY...): a server that could not be used now (failure `busy`).
 */
function connectionFailure(error: unknown): unknown {
  for (let e = error, depth = 0; e && depth < 10; e = (e as Error).cause, depth++) {
    if (e instanceof ConnectionError || connectionFailureOf(e) || isNotNowReply(e)) return e;
  }
  return undefined;
}

/**
 * One line for any error: a connection failure as `Redis at host:port: refused: connect
 * ECONNREFUSED ...` even when it arrives wrapped (a CircuitOpenError whose cause is the refusal),
 * others as their message followed by their causes' messages.
 */
export function describeError(error: unknown, url: string | undefined): string {
  const connection = connectionFailure(error);
  if (connection) {
    const config = (() => {
      try {
        return resolveRedisConfig(url ? { url } : {});
      } catch {
        return undefined;
      }
    })();
    const described = connection instanceof ConnectionError || !config ? connection : toConnectionError(config, connection);
    const message = described instanceof Error ? described.message : String(described);
    return connection === error ? message : `${(error as Error).message}: ${message}`;
  }
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 10; e = (e as Error).cause, depth++) {
    const message = e instanceof Error ? e.message : String(e);
    // a class name helps only when it is not the plain Error or one of ours, whose messages say it all
    const name = !(e instanceof Error) || e.name === "Error" || e instanceof MathDispatcherError || e instanceof UsageError || e instanceof DataError ? "" : `${e.name}: `;
    if (!parts.some((p) => p.includes(message))) parts.push(name + message);
  }
  return parts.join(": ");
}

/** The stacks of the error and its causes, for --verbose. */
export function stackOf(error: unknown): string {
  const stacks: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 10; e = (e as Error).cause, depth++) {
    stacks.push(depth === 0 ? String((e as Error).stack ?? e) : `caused by: ${String((e as Error).stack ?? e)}`);
  }
  return stacks.join("\n");
}
