/**
 * `lua/versions.lock`: the version and SHA1 of every script's final built text. A script whose
 * text changes (its own lines or any include it inlines) must change its `@version` too, or the
 * build fails naming it and its includes: the cache key carries the version, so a forgotten bump
 * would let the DB 10 cache serve results of the old math for up to 16 hours.
 */
import type { BuiltScript } from "./luaBuild.js";

/** One line of the lock. */
export interface LockEntry {
  name: string;
  version: string;
  sha1: string;
}

const LINE = /^([a-z][a-z0-9_]*)\s+(\d+\.\d+\.\d+)\s+([0-9a-f]{40})$/;

/** Reads the lock text (comments and blank lines ignored). */
export function parseLock(text: string): Map<string, LockEntry> {
  const entries = new Map<string, LockEntry>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = LINE.exec(line);
    if (!match) throw new Error(`lua/versions.lock:${i + 1}: expected "name version sha1", got ${JSON.stringify(line)}`);
    entries.set(match[1] as string, { name: match[1] as string, version: match[2] as string, sha1: match[3] as string });
  });
  return entries;
}

/** The lock text for these entries. */
export function formatLock(entries: readonly LockEntry[]): string {
  const lines = [...entries].sort((a, b) => a.name.localeCompare(b.name)).map((e) => `${e.name} ${e.version} ${e.sha1}`);
  return ["# Written by `npm run lua:build`: each script's version and the SHA1 of its built text.", "# Change a script or an include and the build asks you to bump the scripts it reaches.", ...lines, ""].join("\n");
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) {
    const d = (x?.[i] ?? 0) - (y?.[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Checks the build against the lock. Returns the problems (a changed script whose version stayed,
 * a version that went back) and the lock as it should be written when there are none.
 */
export function checkVersions(scripts: readonly BuiltScript[], lock: ReadonlyMap<string, LockEntry>): { problems: string[]; next: LockEntry[] } {
  const problems: string[] = [];
  for (const script of scripts) {
    const locked = lock.get(script.name);
    if (!locked || locked.sha1 === script.sha1) continue;
    const order = compareVersions(script.version, locked.version);
    const reach = script.includes.length > 0 ? ` or one of its includes (${script.includes.join(", ")})` : "";
    if (order === 0) {
      problems.push(`${script.name} ${script.version}: its built text changed (the script${reach}) but its @version did not; bump it`);
    } else if (order < 0) {
      problems.push(`${script.name}: @version ${script.version} is below the locked ${locked.version}; versions only go up`);
    }
  }
  return { problems, next: scripts.map(({ name, version, sha1 }) => ({ name, version, sha1 })) };
}
