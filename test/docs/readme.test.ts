/**
 * The README's API sample runs as written (against a server of the test's own) and gives the
 * figures its comments show: a newcomer's first copy and paste.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRedisServer } from "../../src/redis/localServer.js";
import { ownRedis } from "../support/redis.js";
import { SCRIPTS } from "../../src/generated/scripts.js";

const root = join(import.meta.dirname, "../..");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The README's code block under "## API". */
function apiSample(): string {
  const section = readme.slice(readme.indexOf("\n## API\n"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README.md: no ts block under ## API");
  return match[1] as string;
}

/** The digits a comment in the sample shows for `name` (`atr: 54.40...`), as a pattern of the value's start. */
function shown(sample: string, name: string): RegExp {
  const found = new RegExp(`(?<![a-z])${name}: (-?[0-9.]+?)\\.\\.\\.`).exec(sample);
  if (!found) throw new Error(`README.md: the sample shows no ${name}`);
  return new RegExp(`^${(found[1] as string).replace(".", "\\.")}`);
}

let server: LocalRedisServer;
const file = join(import.meta.dirname, `readme-sample-${process.pid}.generated.ts`);
beforeAll(async () => {
  server = await ownRedis();
});
afterAll(async () => {
  rmSync(file, { force: true });
  await server?.stop();
});

describe("README.md, the API sample", () => {
  it("runs as written and gives the figures its comments show", async () => {
    const sample = apiSample();
    const runnable = sample
      .replace('from "math-dispatcher"', `from ${JSON.stringify(pathToFileURL(join(root, "src/index.ts")).href)}`)
      .replace('"redis://127.0.0.1:6379"', JSON.stringify(server.url));
    // what the sample computed, for the checks below
    writeFileSync(file, `${runnable}\nexport { atr, rsi, vwap, many, decision, decisions };\n`);
    const ran = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const atr = ran.atr as { atr: number; natr: number; bars: number; scriptVersion: string };
    const rsi = ran.rsi as { rsi: number };
    expect(String(atr.atr)).toMatch(shown(sample, "atr"));
    expect(String(atr.natr)).toMatch(shown(sample, "natr"));
    expect(String(rsi.rsi)).toMatch(shown(sample, "rsi"));
    expect((ran.many as { ok: boolean }[]).map((o) => o.ok)).toEqual([true, true]);
    expect(ran.decision).toHaveProperty("size.lots");
    expect(ran.decisions).toEqual([]);
    expect(sample).toContain(`scriptVersion: "${atr.scriptVersion}"`);
  });
});

describe("README.md, the script versions it spells", () => {
  it("spells each cache key with the version its script's header declares", () => {
    const spelled = [...readme.matchAll(/pattern_cache:([a-z_]+):v(\d+\.\d+\.\d+):/g)].map((m) => [m[1], m[2]]);
    expect(spelled.length).toBeGreaterThan(0);
    for (const [name, version] of spelled) expect({ name, version }).toEqual({ name, version: SCRIPTS.find((s) => s.name === name)?.version });
  });
});
