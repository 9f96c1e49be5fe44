/**
 * Two generations of the SDK on one server in Functions mode, as during a rolling upgrade: the
 * next generation carries a new version of one script. Each keeps its own functions; neither
 * loads again because the other did.
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SCRIPTS } from "../../src/generated/scripts.js";
import type { ScriptManifestEntry } from "../../src/core/manifest.js";
import { StandaloneScriptTransport } from "../../src/cluster/transport.js";
import { startLocalRedis, type LocalRedisServer } from "../../src/redis/localServer.js";
import { confidenceCall, withoutCacheStatus } from "./calls.js";
import { commandCalls } from "../support/redis.js";

/** The manifest of a later generation: `script` at the next patch version, its text saying so. */
function nextGeneration(scripts: readonly ScriptManifestEntry[], script: string): { scripts: ScriptManifestEntry[]; version: string } {
  const current = scripts.find((s) => s.name === script) as ScriptManifestEntry;
  const [major, minor, patch] = current.version.split(".").map(Number) as [number, number, number];
  const version = `${major}.${minor}.${patch + 1}`;
  // the version is written into the built text (the cache key prefix and the entry's tag read it)
  const source = current.source.replaceAll(`'${current.version}'`, `'${version}'`).replaceAll(`${script} ${current.version};`, `${script} ${version};`);
  expect(source).not.toBe(current.source);
  const next = { ...current, version, source, sha1: createHash("sha1").update(source).digest("hex") };
  return { scripts: scripts.map((s) => (s === current ? next : s)), version };
}

let server: LocalRedisServer;
let admin: Redis;
const connections: Redis[] = [];
beforeAll(async () => {
  server = await startLocalRedis();
  admin = new Redis(server.port, "127.0.0.1");
});
afterAll(async () => {
  for (const c of [admin, ...connections]) c?.disconnect();
  await server?.stop();
});

function transport(scripts: readonly ScriptManifestEntry[]): StandaloneScriptTransport {
  const redis = new Redis(server.port, "127.0.0.1", { db: 10 });
  connections.push(redis);
  return new StandaloneScriptTransport(redis, { scripts, mode: "functions" });
}

it("two generations share a server: each calls its own version, and neither reloads the other's functions away", async () => {
  const next = nextGeneration(SCRIPTS, "confidence");
  const old = transport(SCRIPTS);
  const upgraded = transport(next.scripts);
  await old.prepare();
  await upgraded.prepare();
  const loadsAfterPrepare = await commandCalls(admin, "function\\|load");
  const rounds = 20;
  for (let i = 0; i < rounds; i++) {
    const [a, b] = [await old.runOne(confidenceCall("NIFTY", i)), await upgraded.runOne(confidenceCall("NIFTY", i, next.version))];
    expect(withoutCacheStatus(b)).toEqual(withoutCacheStatus(a)); // the same math under both versions
  }
  expect(await commandCalls(admin, "function\\|load")).toBe(loadsAfterPrepare);
  // and each generation's entries are its own: keys of both versions were written
  expect(await admin.select(10).then(() => admin.keys("pattern_cache:confidence:v*"))).toHaveLength(2 * rounds);
});
