/**
 * What the examples share: the sample session, and a Redis to run against (REDIS_URL, or a
 * throwaway redis-server that stops with the example).
 */
import { readFileSync } from "node:fs";
import { startLocalRedis } from "../src/index.js";

/** A five-minute bar of the sample session. */
export interface SampleBar {
  ts: number;
  seq: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** The sample BANKNIFTY session (examples/data/banknifty-5m.json): 75 bars from 09:15 IST. */
export function sampleSession(): { symbol: string; updates: SampleBar[] } {
  return JSON.parse(readFileSync(new URL("./data/banknifty-5m.json", import.meta.url), "utf8")) as { symbol: string; updates: SampleBar[] };
}

/** REDIS_URL, or a throwaway server; `stop` ends what was started here and nothing else. */
export async function exampleRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => undefined };
  const server = await startLocalRedis();
  return { url: server.url, stop: server.stop };
}
