/**
 * `mathd scripts load|list|prune|manifest`: preload the scripts on a server (before a deploy, or
 * on a new replica set), show which of this build's scripts a server holds (in its script cache,
 * or as Functions libraries), delete the Functions libraries earlier generations left, and print
 * the manifest that clients in other languages call the same scripts from (examples/python,
 * examples/redis-cli).
 */
import type { Redis } from "ioredis";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { ScriptIntegrityError } from "../core/errors.js";
import { SCRIPTS } from "../generated/scripts.js";
import { buildFunctionsLibraries } from "../build/functionsLibrary.js";
import { librariesOnNode, libraryNamesToLoad, loadLibraries, pruneLibraries } from "../cluster/loader.js";
import type { ScriptMode } from "../cluster/transport.js";
import { addressOf } from "../redis/config.js";
import { DATABASES } from "../redis/databases.js";
import { connectOnce, oneServerConfig } from "./connect.js";

/** Schema tag of the manifest JSON; bumped when its shape changes. */
export const MANIFEST_SCHEMA = "mathd.manifest/1";

/** The manifest as other clients read it: every script with its KEYS, ARGV and final text. */
export interface ManifestDocument {
  schema: typeof MANIFEST_SCHEMA;
  package: string;
  packageVersion: string;
  /** The database the scripts read and write their cache in (DB 10, patterns). */
  cacheDb: number;
  scripts: readonly ScriptManifestEntry[];
}

/** The manifest document of this build. */
export function manifestDocument(packageVersion: string): ManifestDocument {
  return { schema: MANIFEST_SCHEMA, package: "math-dispatcher", packageVersion, cacheDb: DATABASES.patterns.db, scripts: SCRIPTS };
}

/** What a server holds of one script. */
export interface ScriptStatus {
  name: string;
  version: string;
  sha1: string;
  /** EVALSHA: in the script cache; Functions: its library is loaded, of this build. */
  loaded: boolean;
  /** Functions mode: the script's library (`mathd_atr_v3_0_0`). */
  library?: string;
}

/** What a server holds of this build's scripts, in the mode the SDK runs them. */
export interface ScriptsOnServer {
  target: string;
  mode: ScriptMode;
  scripts: ScriptStatus[];
  /** Functions mode: this SDK's libraries that the build does not use (`mathd scripts prune`). */
  others?: string[];
}

async function connect(url: string | undefined, action: string): Promise<{ redis: Redis; address: string }> {
  const config = oneServerConfig(url, `scripts ${action}`);
  return { redis: (await connectOnce(config, "patterns")).redis, address: addressOf(config) };
}

/** What `redis` holds: SCRIPT EXISTS of every script, or one FUNCTION LIST of this SDK's libraries. */
async function scriptsOn(redis: Redis, target: string, mode: ScriptMode): Promise<ScriptsOnServer> {
  if (mode === "evalsha") {
    const exists = (await redis.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))) as number[];
    return { target, mode, scripts: SCRIPTS.map((s, i) => ({ name: s.name, version: s.version, sha1: s.sha1, loaded: exists[i] === 1 })) };
  }
  const libraries = buildFunctionsLibraries(SCRIPTS);
  const onServer = await librariesOnNode(redis, libraries);
  const toLoad = new Set(libraryNamesToLoad(onServer));
  const libraryOf = new Map(libraries.map((library) => [library.fn.script, library.name]));
  const scripts = SCRIPTS.map((s) => {
    const library = libraryOf.get(s.name) as string;
    return { name: s.name, version: s.version, sha1: s.sha1, loaded: !toLoad.has(library), library };
  });
  return { target, mode, scripts, others: [...onServer.others] };
}

/** Which of the manifest's scripts the server holds, in the mode the SDK runs them (one round trip). */
export async function listScripts(url: string | undefined, mode: ScriptMode = "evalsha"): Promise<ScriptsOnServer> {
  const { redis, address } = await connect(url, "list");
  try {
    return await scriptsOn(redis, address, mode);
  } finally {
    redis.disconnect();
  }
}

/**
 * Loads every script with SCRIPT LOAD and checks the SHA1 the server returns against the
 * manifest's (a mismatch means the server would run other text than this build's); in Functions
 * mode, FUNCTION LOADs the libraries the server lacks or holds of another build. Then lists.
 */
export async function loadScripts(url: string | undefined, mode: ScriptMode = "evalsha"): Promise<ScriptsOnServer> {
  const { redis, address } = await connect(url, "load");
  try {
    if (mode === "functions") await loadLibraries(redis, buildFunctionsLibraries(SCRIPTS));
    else {
      for (const script of SCRIPTS) {
        const sha1 = (await redis.script("LOAD", script.source)) as string;
        if (sha1 !== script.sha1) throw new ScriptIntegrityError(script.name, script.sha1, sha1);
      }
    }
    return await scriptsOn(redis, address, mode);
  } finally {
    redis.disconnect();
  }
}

/**
 * Deletes the Functions libraries of this SDK that this build does not use: script versions
 * earlier generations loaded (each version is a library of its own, so a rolling upgrade leaves
 * the old ones behind). A process still running an earlier generation loads its library again.
 */
export async function pruneScriptLibraries(url: string | undefined): Promise<{ target: string; deleted: string[] }> {
  const { redis, address } = await connect(url, "prune");
  try {
    return { target: address, deleted: await pruneLibraries(redis, buildFunctionsLibraries(SCRIPTS)) };
  } finally {
    redis.disconnect();
  }
}

/** What prune deleted, as one line. */
export function renderPruned(target: string, deleted: readonly string[]): string {
  return deleted.length === 0 ? `${target}: no libraries to prune` : `${target}: deleted ${deleted.length} libraries this build does not use: ${deleted.join(", ")}`;
}

/** The statuses as an aligned table. */
export function renderScripts({ target, mode, scripts, others = [] }: ScriptsOnServer): string {
  const width = Math.max(...scripts.map((s) => `${s.name}@${s.version}`.length));
  const whereWidth = Math.max(...scripts.map((s) => (s.library ?? s.sha1).length));
  const loaded = scripts.filter((s) => s.loaded).length;
  const what = mode === "functions" ? "Functions libraries" : "scripts";
  return [
    `${target}: ${loaded}/${scripts.length} ${what} of this build loaded`,
    ...scripts.map((s) => `${`${s.name}@${s.version}`.padEnd(width)}  ${(s.library ?? s.sha1).padEnd(whereWidth)}  ${s.loaded ? "loaded" : "not loaded"}`),
    ...(others.length > 0 ? [`not used by this build (mathd scripts prune): ${others.join(", ")}`] : []),
  ].join("\n");
}
