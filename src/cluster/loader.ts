/**
 * Puts the scripts on one node: the EVALSHA scripts into its script cache (SCRIPT LOAD, each
 * returned SHA1 checked against the manifest) or the Functions libraries, one per script version
 * (FUNCTION LOAD of each library FUNCTION LIST shows the node lacks, or holds of another build,
 * {@link loadLibraries}). Both
 * first ask whether the node already holds what it needs (SCRIPT EXISTS, FUNCTION LIST without
 * code), so re-running them after every topology change costs one small round trip per node, and
 * both load one script per command, so that Redis serves its other clients between them.
 */
import type { Redis } from "ioredis";
import { ScriptExecutionError, ScriptIntegrityError } from "../core/errors.js";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { describesLibrary, type FunctionsLibrary, LIBRARY_PREFIX } from "../build/functionsLibrary.js";

/**
 * How each Redis round trip runs (a resilient client's timeout and retry policy, or directly).
 * `node`, where given, is the address of the cluster node the round trip goes to: the resilient
 * client keeps a circuit breaker per node. `deadline`, where given, is when the call the round
 * trips belong to must be answered (epoch ms): a wait that is no round trip of its own (for a
 * load another call leads) keeps to it too.
 */
export type RoundTrip = (<T>(command: () => Promise<T>, node?: string) => Promise<T>) & { readonly deadline?: number };

export const direct: RoundTrip = (command) => command();

/** `roundTrip` with its node named, so the node's own circuit breaker counts it. */
export function onNode(roundTrip: RoundTrip, address: string | undefined): RoundTrip {
  if (address === undefined) return roundTrip;
  // a round trip that names its own node (an ASK followed to another master) keeps it
  const bound: RoundTrip = (command, node) => roundTrip(command, node ?? address);
  return roundTrip.deadline === undefined ? bound : Object.assign(bound, { deadline: roundTrip.deadline });
}

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
 * The one library of the earlier layout (every script in a library named `mathd`, before 0.1.0
 * was released). It registers the same function names, which Redis allows in one library only.
 */
const LEGACY_LIBRARY = "mathd";

/** What a node holds of a build's libraries. */
export interface LibrariesOnNode {
  /** `current`: every library, of this build; `absent`: none of them; `stale`: anything between. */
  readonly state: "current" | "stale" | "absent";
  /** This build's libraries the node does not hold. */
  readonly absent: readonly FunctionsLibrary[];
  /** This build's libraries the node holds of another build (another layout): replaced on load. */
  readonly otherBuild: readonly FunctionsLibrary[];
  /** Libraries of this SDK the build does not use (other versions, the earlier layout): `mathd scripts prune`. */
  readonly others: readonly string[];
}

/** Which of `libraries` a node holds, with one FUNCTION LIST of this SDK's libraries (no code). */
export async function librariesOnNode(node: Redis, libraries: readonly FunctionsLibrary[], roundTrip: RoundTrip = direct): Promise<LibrariesOnNode> {
  // LIBRARYNAME is a glob on Redis 7.0: `mathd*` lists the legacy `mathd` and every `mathd_...`
  const reply = (await roundTrip(() => node.call("FUNCTION", "LIST", "LIBRARYNAME", `${LEGACY_LIBRARY}*`))) as unknown[];
  const onServer = new Map<string, string[]>();
  for (const lib of reply ?? []) {
    const name = String(field(lib, "library_name"));
    if (name !== LEGACY_LIBRARY && !name.startsWith(LIBRARY_PREFIX)) continue;
    const functions = (field(lib, "functions") as unknown[] | undefined) ?? [];
    onServer.set(name, functions.map((fn) => String(field(fn, "description") ?? "")));
  }
  const absent = libraries.filter((library) => !onServer.has(library.name));
  const otherBuild = libraries.filter((library) => {
    const descriptions = onServer.get(library.name);
    return descriptions !== undefined && !(descriptions.length === 1 && describesLibrary(descriptions[0] as string, library.digest));
  });
  const ours = new Set(libraries.map((library) => library.name));
  const others = [...onServer.keys()].filter((name) => !ours.has(name)).sort();
  const state = absent.length === libraries.length ? "absent" : absent.length + otherBuild.length === 0 ? "current" : "stale";
  return { state, absent, otherBuild, others };
}

/** The names of a build's libraries a node needs loaded (absent, or of another build), sorted. */
export function libraryNamesToLoad(onNode: LibrariesOnNode): string[] {
  return [...onNode.absent, ...onNode.otherBuild].map((library) => library.name).sort();
}

/**
 * Loads each library a node lacks (or holds of another build), one FUNCTION LOAD per library;
 * the legacy single library goes first, since it holds the same function names. An absent
 * library is loaded without REPLACE: when many processes heal at once (a restart of a Redis
 * that keeps nothing on disk), the first load compiles it and the others' are refused before
 * compiling ("already exists"), where REPLACE would compile it once per process. Only a library
 * of another build is replaced.
 * @returns the names of the libraries this call loaded.
 */
export async function loadLibraries(node: Redis, libraries: readonly FunctionsLibrary[], roundTrip: RoundTrip = direct): Promise<string[]> {
  const { absent, otherBuild, others } = await librariesOnNode(node, libraries, roundTrip);
  if (absent.length > 0 && others.includes(LEGACY_LIBRARY)) {
    await deleteLibrary(node, LEGACY_LIBRARY, roundTrip).catch((error: unknown) => {
      if (!(error instanceof Error && /NOPERM/.test(error.message))) throw error;
      throw new ScriptExecutionError(
        LEGACY_LIBRARY,
        "a library of the earlier layout registers this build's function names, and this user may not delete it: run `mathd scripts prune` as a user allowed FUNCTION DELETE",
        { cause: error },
      );
    });
  }
  const loads = [...absent.map((library) => ({ library, replace: false })), ...otherBuild.map((library) => ({ library, replace: true }))];
  const loaded: string[] = [];
  for (const { library, replace } of loads) {
    const args = replace ? ["LOAD", "REPLACE", library.code] : ["LOAD", library.code];
    const name = await roundTrip(() => node.call("FUNCTION", ...args)).then(String, (error: unknown) => {
      if (error instanceof Error && error.message.includes(`Library '${library.name}' already exists`)) return undefined; // another process loaded it
      throw error;
    });
    if (name === undefined) continue;
    if (name !== library.name) throw new ScriptIntegrityError(library.name, library.name, name);
    loaded.push(name);
  }
  return loaded;
}

/**
 * Deletes the libraries of this SDK that a build does not use: other script versions, left by
 * earlier generations, and the earlier layout. Run after a rolling upgrade; a process still on
 * an earlier generation loads its library again on its next call.
 * @returns the names of the libraries this call deleted.
 */
export async function pruneLibraries(node: Redis, libraries: readonly FunctionsLibrary[], roundTrip: RoundTrip = direct): Promise<string[]> {
  const { others } = await librariesOnNode(node, libraries, roundTrip);
  const deleted: string[] = [];
  for (const name of others) if (await deleteLibrary(node, name, roundTrip)) deleted.push(name);
  return deleted;
}

/** Deletes a library; false when it was gone already (another prune, or a loader, deleted it first). */
async function deleteLibrary(node: Redis, name: string, roundTrip: RoundTrip): Promise<boolean> {
  return roundTrip(() => node.call("FUNCTION", "DELETE", name)).then(
    () => true,
    (error: unknown) => {
      if (error instanceof Error && error.message.includes("Library not found")) return false;
      throw error;
    },
  );
}
