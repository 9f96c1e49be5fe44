/**
 * The test contract every single-script function of the registry must pass, whatever its math:
 * it equals its decimal.js reference, refuses bad input before Redis (naming the field), refuses
 * the same bad argument sent raw to the script (MATHD_INVALID, nothing written), answers a
 * repeat from the DB 10 cache under its own version, and gives the same result in a batch.
 * Known answers and property tests over many inputs stay in each function's own test file.
 */
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import { functionName } from "../../src/build/functionsLibrary.js";
import type { FunctionName, FunctionTypes } from "../../src/dispatcher/functions.js";
import { SCRIPT_FUNCTIONS } from "../../src/dispatcher/functions.js";
import { parseInput } from "../../src/dispatcher/inputs.js";
import type { MathDispatcher } from "../../src/dispatcher/MathDispatcher.js";
import { scriptCall } from "../../src/dispatcher/scriptFunction.js";
import type { Dec } from "../../src/indicators/decimal.js";
import { expectClose } from "./compare.js";
import { expectRejectedBeforeRedis } from "./dispatcher.js";
import { sharedRedisUrl } from "./redis.js";

/** What the contract needs to know of one function. */
export interface FunctionKit<K extends FunctionName> {
  /** A valid input (its symbol is replaced per test). */
  input: FunctionTypes[K][0];
  /** The reference values of the result's numeric fields, for `input`. */
  reference(input: FunctionTypes[K][0]): Record<string, Dec>;
  /** An input the TypeScript validation refuses, and the field it names. */
  invalid: { input: unknown; field: string };
  /** One script argument (by its header name) set to a bad value, and the field Lua names. */
  rawInvalid: { arg: string; value: string; field: string };
}

const fieldOf = (result: object, path: string): number => path.split(".").reduce((v: unknown, k) => (v as Record<string, unknown>)[k], result) as number;

/**
 * Registers the contract's tests for one function, run through EVALSHA or through the `mathd`
 * Functions library (the dispatcher's `scriptMode`; the raw call then is an FCALL). The two
 * modes use symbols of their own, so neither answers from the other's cache entries.
 */
export function functionContract<K extends FunctionName>(math: () => MathDispatcher, name: K, kit: FunctionKit<K>, mode: "evalsha" | "functions" = "evalsha"): void {
  const symbol = (tag: string) => `${mode === "functions" ? "FN" : ""}CONTRACT${name.toUpperCase()}${tag}`.slice(0, 40);
  const withSymbol = (tag: string) => ({ ...kit.input, symbol: symbol(tag) }) as FunctionTypes[K][0];

  it(`${name}: equals its decimal.js reference`, async () => {
    const result = await (math()[name] as (i: unknown) => Promise<object>)(withSymbol("REF"));
    for (const [path, expected] of Object.entries(kit.reference(kit.input))) expectClose(fieldOf(result, path), expected, `${name}.${path}`, 1e-12, 1e-14);
  });

  it(`${name}: refuses bad input before Redis, naming ${kit.invalid.field}`, async () => {
    await expectRejectedBeforeRedis((offline) => (offline[name] as (i: unknown) => Promise<unknown>)(kit.invalid.input), kit.invalid.field);
  });

  it(`${name}: a raw ${mode === "functions" ? "FCALL" : "EVALSHA"} with a bad ${kit.rawInvalid.arg} gets MATHD_INVALID ${kit.rawInvalid.field} and writes nothing`, async () => {
    const fn = SCRIPT_FUNCTIONS[name];
    const entry = math().runner.entry(fn.script);
    const good = scriptCall(fn, entry, parseInput(fn.schema, withSymbol("RAW")), {});
    const index = entry.args.findIndex((a) => a.name === kit.rawInvalid.arg);
    expect(index, `lua/${fn.script}.lua declares ${kit.rawInvalid.arg}`).toBeGreaterThanOrEqual(0);
    const args = good.args.map((a, i) => (i === index ? kit.rawInvalid.value : a));
    const redis = new Redis(sharedRedisUrl(), { db: 10 });
    try {
      await math().load();
      const key = good.keys[0] as string;
      const raw = mode === "functions" ? redis.fcall(functionName(entry.name, entry.version), 1, key, ...args) : redis.evalsha(entry.sha1, 1, key, ...args);
      const error = await raw.catch((e: unknown) => e);
      expect((error as Error).message).toMatch(new RegExp(`^MATHD_INVALID ${kit.rawInvalid.field.replace(/[[\].]/g, "\\$&")}: `));
      expect(await redis.exists(good.keys[0] as string)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it(`${name}: answers a repeat from the cache, under its own version, and the same in a batch`, async () => {
    const input = withSymbol("CACHE");
    const call = (i: unknown) => (math()[name] as (i: unknown) => Promise<{ cache: string; scriptVersion: string }>).call(math(), i);
    const first = await call(input);
    const again = await call(input);
    expect([first.cache, again.cache]).toEqual(["miss", "hit"]);
    const entry = math().runner.entry(SCRIPT_FUNCTIONS[name].script);
    expect(again.scriptVersion).toBe(entry.version);
    const { cache: _c, ...value } = again;
    const [batched] = await math().batch([{ fn: name, input } as never]);
    expect(batched).toMatchObject({ ok: true, value });
  });
}
