/**
 * Raw script calls for the cluster tests, built from the manifest and the key builders only
 * (no dispatcher API): `confidence` and `stop_loss` (caching scripts, 8 text ARGV), `stream_update` (writes the
 * ATR, RSI and VWAP states of a symbol) and `stream_snapshot` (read-only: `#!lua flags=no-writes`).
 */
import { createHash } from "node:crypto";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { indicatorKey } from "../../src/keys/indicator.js";
import { patternCacheKey } from "../../src/keys/patternCache.js";
import { slotOf } from "../../src/cluster/topology.js";
import type { ScriptCall } from "../../src/cluster/transport.js";

const hashTag = { hashTag: true };

/** The three state keys of a symbol, as the streaming scripts' headers declare them (ATR 14, RSI 14). */
const stateKeys = (symbol: string) => [indicatorKey("atr14", symbol, hashTag), indicatorKey("vwap", symbol, hashTag), indicatorKey("rsi14", symbol, hashTag)];

function entry(name: string) {
  const found = SCRIPTS.find((s) => s.name === name);
  if (!found) throw new Error(`no script ${name}`);
  return found;
}

/** SHA1 over ARGV, each prefixed by its byte length and ':', as the SDK's inputsDigest lays it out. */
function inputsDigest(args: readonly string[]): string {
  const hash = createHash("sha1");
  for (const arg of args) hash.update(`${Buffer.byteLength(arg)}:`).update(arg);
  return hash.digest("hex");
}

/**
 * A confidence call whose inputs vary with `i` (so every call computes something different), of
 * the manifest's version of the script or of `version` (a later generation's).
 */
export function confidenceCall(symbol: string, i: number, version = entry("confidence").version): ScriptCall {
  // base, volume_ratio, boost, max_boost, volume_weight, news_weight, min, max (lua/confidence.lua)
  const args = [`0.${50 + (i % 40)}`, `${1 + (i % 7) / 4}`, `0.0${i % 5}`, "0.1", "0.1", "0.1", "0.05", "0.95"];
  return { script: "confidence", keys: [patternCacheKey("confidence", version, symbol, inputsDigest(args), hashTag)], args };
}

/** A stop_loss call (a caching script, 8 text ARGV) whose entry price varies with `i`. */
export function stopLossCall(symbol: string, i: number): ScriptCall {
  // side, entry, atr, multiplier, tick, min_fraction, max_fraction, reward_ratio (lua/stop_loss.lua)
  const args = ["long", (24350 + 0.05 * (i % 1000)).toFixed(2), "45", "1.5", "0.05", "", "", "2"];
  return { script: "stop_loss", keys: [patternCacheKey("stop_loss", entry("stop_loss").version, symbol, inputsDigest(args), hashTag)], args };
}

const SESSION_START = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST on a Wednesday

/** The n-th one-minute bar of a symbol into its streaming state. */
export function streamUpdateCall(symbol: string, n: number): ScriptCall {
  const close = 24000 + ((n * 37) % 200) + 0.05 * (n % 3);
  const args = ["14", "14", String(SESSION_START + 60_000 * (n + 1)), String(n), "", String(1000 + n * 10), (close + 12.5).toFixed(2), (close - 9.25).toFixed(2), close.toFixed(2), "1,2"];
  return { script: "stream_update", keys: stateKeys(symbol), args };
}

/** The n-th trade tick of a symbol into its streaming state (VWAP only; ATR skips ticks). */
export function streamTickCall(symbol: string, n: number): ScriptCall {
  const price = (24000 + ((n * 37) % 200) + 0.05 * (n % 3)).toFixed(2);
  const args = ["14", "14", String(SESSION_START + 60_000 + 250 * n), String(n), price, String(25 + (n % 10) * 25), "", "", "", "1,2"];
  return { script: "stream_update", keys: stateKeys(symbol), args };
}

/** The streaming snapshot of a symbol (read-only script). */
export function snapshotCall(symbol: string): ScriptCall {
  return { script: "stream_snapshot", keys: stateKeys(symbol), args: ["14", "14", "1,2"] };
}

/**
 * `perMaster` symbols on each of the given slot ranges (one per master), in an interleaved
 * order so a batch alternates between masters.
 */
export function symbolsOnEveryMaster(masters: number, perMaster: number): string[] {
  const byMaster: string[][] = Array.from({ length: masters }, () => []);
  for (let i = 0; byMaster.some((list) => list.length < perMaster); i++) {
    const symbol = `SYM${i}`;
    const m = Math.floor((slotOf(`{${symbol}}`) * masters) / 16384); // the harness splits slots evenly
    if ((byMaster[m] as string[]).length < perMaster) (byMaster[m] as string[]).push(symbol);
  }
  return Array.from({ length: perMaster }, (_, k) => byMaster.map((list) => list[k] as string)).flat();
}

/** A reply with its cache status blanked, to compare a value computed once with one read back. */
export function withoutCacheStatus(reply: unknown): unknown {
  return typeof reply === "string" ? reply.replace(/^cache\n(hit|miss)\n/, "cache\n-\n") : reply;
}
