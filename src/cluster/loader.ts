/**
 * Puts the scripts on one node: the EVALSHA scripts into its script cache (SCRIPT LOAD, each
 * returned SHA1 checked against the manifest) or the `mathd` Functions library (FUNCTION LOAD
 * REPLACE, only when FUNCTION LIST shows the node lacks this library digest). Both first ask
 * whether the node already holds what it needs (SCRIPT EXISTS, FUNCTION LIST without code), so
 * re-running them after every topology change costs one small round trip per node.
 */
import type { Redis } from "ioredis";
import { ScriptIntegrityError } from "../core/errors.js";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { describesLibrary, type FunctionsLibrary } from "../build/functionsLibrary.js";

/**
 * How each Redis round trip runs (a resilient client's timeout and retry policy, or directly).
 * `node`, where given, is the address of the cluster node the round trip goes to: the resilient
 * client keeps a circuit breaker per node.
 */
export type RoundTrip = <T>(command: () => Promise<T>, node?: string) => Promise<T>;

export const direct: RoundTrip = (command) => command();

/**
 * Loads the scripts a node lacks into its script cache. A replica accepts SCRIPT LOAD too (the
 * cache is not replicated, so a replica that serves EVALSHA_RO needs its own load).
 * @returns the names of the scripts it loaded.
 */
export async function loadScripts(
  node: Redis,
  scripts: readonly ScriptManifestEntry[],
  roundTrip: RoundTrip = direct,
): Promise<string[]> {
  if (scripts.length === 0) return [];
  const exists = (await roundTrip(() => node.script("EXISTS", ...scripts.map((s) => s.sha1)))) as number[];
  const missing = scripts.filter((_, i) => Number(exists[i]) !== 1);
  await Promise.all(
    missing.map(async (entry) => {
      const sha1 = (await roundTrip(() => node.script("LOAD", entry.source))) as string;
      if (sha1 !== entry.sha1) throw new ScriptIntegrityError(entry.name, entry.sha1, sha1);
    }),
  );
  return missing.map((s) => s.name);
}

/** A reply field by name, from RESP2 (flat [k, v, ...]) or RESP3 (Map or object) replies. */
function field(reply: unknown, name: string): unknown {
  if (reply instanceof Map) return reply.get(name);
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) if (String(reply[i]) === name) return reply[i + 1];
    return undefined;
  }
  if (reply && typeof reply === "object") return (reply as Record<string, unknown>)[name];
  return undefined;
}

/**
 * Whether a node holds this exact library: every function of it, each described with this
 * digest. "absent" when no `mathd` library is there, "stale" when another generation is.
 */
export async function libraryState(
  node: Redis,
  library: FunctionsLibrary,
  roundTrip: RoundTrip = direct,
): Promise<"current" | "stale" | "absent"> {
  const reply = (await roundTrip(() => node.call("FUNCTION", "LIST", "LIBRARYNAME", library.name))) as unknown[];
  // LIBRARYNAME is a pattern: `mathd` would also list a library named e.g. `mathd_old`
  const ours = (reply ?? []).find((lib) => String(field(lib, "library_name")) === library.name);
  if (!ours) return "absent";
  const functions = (field(ours, "functions") as unknown[] | undefined) ?? [];
  const onServer = new Map(functions.map((fn) => [String(field(fn, "name")), String(field(fn, "description") ?? "")]));
  const current =
    onServer.size === library.functions.length &&
    library.functions.every((fn) => {
      const description = onServer.get(fn.functionName);
      return description !== undefined && describesLibrary(description, library.digest);
    });
  return current ? "current" : "stale";
}

/**
 * Loads the library on a master unless it already holds this digest. REPLACE swaps the whole
 * library atomically on that node, so calls never see half a library; function names carry
 * script versions, so a caller still on the previous generation fails only for versions this
 * generation dropped (a rolling upgrade loads a library holding both versions first).
 * @returns whether it loaded.
 */
export async function loadLibrary(node: Redis, library: FunctionsLibrary, roundTrip: RoundTrip = direct): Promise<boolean> {
  if ((await libraryState(node, library, roundTrip)) === "current") return false;
  const name = (await roundTrip(() => node.call("FUNCTION", "LOAD", "REPLACE", library.code))) as string;
  if (String(name) !== library.name) {
    throw new ScriptIntegrityError(library.name, library.name, String(name));
  }
  return true;
}
