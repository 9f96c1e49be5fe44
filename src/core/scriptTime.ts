/**
 * What scripts have cost a Redis server, read from its INFO commandstats: for `mathd health`, on
 * one server, summed over a cluster's masters, and for each node of a cluster.
 */

/**
 * What the server's scripts have cost it since its statistics were last reset (INFO
 * commandstats, so every client's scripts, not only this SDK's): the time they held the one core
 * every other client waits on. `mathd health` reports it for the server, or summed over a
 * cluster's masters, and for each node of a cluster.
 */
export interface ScriptTime {
  /** Script calls the server ran (EVAL, EVALSHA, FCALL and their read-only forms), failed ones included, refused ones (rejected_calls: the health report's `rejectedCalls`) not. */
  calls: number;
  /** Their average server time, microseconds a call. */
  usecPerCall: number;
  /**
   * Their share of the summed server time of all commands, 0 to 1. Redis also counts each command
   * a script runs under its own name, so that sum holds those twice and the share reads low: a
   * lower bound of the scripts' share of the core.
   */
  shareOfCommandTime: number;
  /**
   * Of those calls, the ones that answered an error: a refused input's MATHD_INVALID, and the
   * NOSCRIPT a call meets after a restart or a flush (the SDK then loads the scripts and sends it again).
   */
  failedCalls: number;
}

/** The commands that run a script, as INFO commandstats names them (`cmdstat_<name>`). */
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

/** The `name=value` fields of each commandstats line of the INFO texts, by command name. */
function* commandStats(infos: readonly string[]): Generator<[string, (key: string) => number]> {
  for (const text of infos) {
    for (const [, name, list] of text.matchAll(/^cmdstat_(\S+?):(\S+)\s*$/gm)) {
      const fields = new Map((list as string).split(",").map((pair) => pair.split("=") as [string, string]));
      yield [name as string, (key: string) => Number(fields.get(key) ?? 0)];
    }
  }
}

/**
 * {@link ScriptTime} from the INFO text of each server (one, every master of a cluster, or one
 * node), summed; it reads the commandstats lines (`INFO commandstats`, or `INFO all`):
 * `cmdstat_evalsha:calls=3,usec=45,usec_per_call=15.00,rejected_calls=0,failed_calls=1`.
 */
export function scriptTimeOf(infos: readonly string[]): ScriptTime {
  let calls = 0;
  let usec = 0;
  let failedCalls = 0;
  let allUsec = 0;
  for (const [name, field] of commandStats(infos)) {
    allUsec += field("usec");
    if (!SCRIPT_COMMANDS.has(name)) continue;
    calls += field("calls");
    usec += field("usec");
    failedCalls += field("failed_calls");
  }
  return { calls, usecPerCall: calls > 0 ? usec / calls : 0, shareOfCommandTime: allUsec > 0 ? usec / allUsec : 0, failedCalls };
}

/**
 * Script calls the servers refused before running them (`rejected_calls` of the script commands
 * in INFO commandstats, summed): no {@link ScriptTime} field counts them. Under maxmemory with
 * `noeviction`, every call of a script that may write meets OOM there (the SDK's scripts, cache
 * hits included, all but their read-only variants); an ACL refusal or a wrong argument count lands
 * there too.
 */
export function rejectedScriptCallsOf(infos: readonly string[]): number {
  let rejected = 0;
  for (const [name, field] of commandStats(infos)) if (SCRIPT_COMMANDS.has(name)) rejected += field("rejected_calls");
  return rejected;
}
