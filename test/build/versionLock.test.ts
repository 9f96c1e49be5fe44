import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildAll } from "../../src/build/luaBuild.js";
import { checkVersions, formatLock, parseLock } from "../../src/build/versionLock.js";

const LUA = join(import.meta.dirname, "..", "..", "lua");
let copy: string | undefined;
afterEach(() => copy && rmSync(copy, { recursive: true, force: true }));

/** A copy of lua/ to edit, with the lock of its build as it is. */
function lockedCopy() {
  copy = mkdtempSync(join(tmpdir(), "mathd-lua-"));
  cpSync(LUA, copy, { recursive: true });
  return { dir: copy, lock: parseLock(formatLock(buildAll(copy).map(({ name, version, sha1 }) => ({ name, version, sha1 })))) };
}

describe("versions.lock", () => {
  it("fails a change to an include without a version bump, naming each script it reaches and the include", () => {
    const { dir, lock } = lockedCopy();
    appendFileSync(join(dir, "includes", "grid.lua"), "\n-- a change of the tick grid rule\n");
    const { problems } = checkVersions(buildAll(dir), lock);
    const reached = buildAll(dir).filter((s) => s.includes.includes("grid")).map((s) => s.name);
    expect(reached).toEqual(expect.arrayContaining(["stop_loss", "position_size", "dispatch"]));
    expect(problems).toHaveLength(reached.length);
    for (const name of reached) {
      expect(problems.find((p) => p.startsWith(`${name} `))).toMatch(/built text changed .*includes \(.*grid.*\).* bump it/);
    }
  });

  it("accepts the change once the versions are bumped, and refuses a version going back", () => {
    const { dir, lock } = lockedCopy();
    const file = join(dir, "stop_loss.lua");
    const text = readFileSync(file, "utf8");
    const version = /@version\s+(\d+)\.(\d+)\.(\d+)/.exec(text)!;
    const bumped = `${version[1]}.${version[2]}.${Number(version[3]) + 1}`;
    // the header's cache key spells the version too (the build holds the two equal)
    const withVersion = (v: string) => text.replace(version[0], `@version ${v}`).replace(/:v\d+\.\d+\.\d+:/, `:v${v}:`) + "\n-- changed\n";
    writeFileSync(file, withVersion(bumped));
    expect(checkVersions(buildAll(dir), lock).problems).toEqual([]);
    writeFileSync(file, withVersion("0.0.1"));
    // the script and its read-only variant, which shares its text and version
    expect(checkVersions(buildAll(dir), lock).problems).toEqual([
      expect.stringMatching(/^stop_loss: @version 0\.0\.1 is below/),
      expect.stringMatching(/^stop_loss_ro: @version 0\.0\.1 is below/),
    ]);
  });

  it("the committed lock matches the build of lua/ as it is", () => {
    const lock = parseLock(readFileSync(join(LUA, "versions.lock"), "utf8"));
    const built = buildAll(LUA);
    expect(checkVersions(built, lock).problems).toEqual([]);
    expect([...lock.values()]).toEqual(expect.arrayContaining(built.map(({ name, version, sha1 }) => ({ name, version, sha1 }))));
  });
});
