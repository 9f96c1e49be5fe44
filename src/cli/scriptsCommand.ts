/**
 * `mathd scripts load|list|prune|manifest`: preload the scripts on a server (before a deploy, or
 * on a new replica set), show which of this build's scripts a server holds, delete the Functions
 * libraries earlier generations left, and print the manifest that clients in other languages
 * call the same scripts from (examples/python, examples/redis-cli).
 */
import type { Redis } from "ioredis";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { ScriptIntegrityError } from "../core/errors.js";
import { SCRIPTS } from "../generated/scripts.js";
import { buildFunctionsLibraries } from "../build/functionsLibrary.js";
import { pruneLibraries } from "../cluster/loader.js";
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
  loaded: boolean;
}

async function connect(url: string | undefined, action: string): Promise<{ redis: Redis; address: string }> {
  const config = oneServerConfig(url, `scripts ${action}`);
  return { redis: await connectOnce(config, config.databases.patterns), address: addressOf(config) };
}

/** Which of the manifest's scripts the server holds (SCRIPT EXISTS, one round trip). */
export async function listScripts(url: string | undefined): Promise<{ target: string; scripts: ScriptStatus[] }> {
  const { redis, address } = await connect(url, "list");
  try {
    const exists = (await redis.script("EXISTS", ...SCRIPTS.map((s) => s.sha1))) as number[];
    return { target: address, scripts: SCRIPTS.map((s, i) => ({ name: s.name, version: s.version, sha1: s.sha1, loaded: exists[i] === 1 })) };
  } finally {
    redis.disconnect();
  }
}

/**
 * Loads every script with SCRIPT LOAD and checks the SHA1 the server returns against the
 * manifest's: a mismatch means the server would run other text than this build's.
 */
export async function loadScripts(url: string | undefined): Promise<{ target: string; scripts: ScriptStatus[] }> {
  const { redis, address } = await connect(url, "load");
  try {
    for (const script of SCRIPTS) {
      const sha1 = (await redis.script("LOAD", script.source)) as string;
      if (sha1 !== script.sha1) throw new ScriptIntegrityError(script.name, script.sha1, sha1);
    }
  } finally {
    redis.disconnect();
  }
  return { target: address, scripts: SCRIPTS.map((s) => ({ name: s.name, version: s.version, sha1: s.sha1, loaded: true })) };
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
export function renderScripts(target: string, scripts: readonly ScriptStatus[]): string {
  const width = Math.max(...scripts.map((s) => `${s.name}@${s.version}`.length));
  const loaded = scripts.filter((s) => s.loaded).length;
  return [
    `${target}: ${loaded}/${scripts.length} scripts of this build loaded`,
    ...scripts.map((s) => `${`${s.name}@${s.version}`.padEnd(width)}  ${s.sha1}  ${s.loaded ? "loaded" : "not loaded"}`),
  ].join("\n");
}
