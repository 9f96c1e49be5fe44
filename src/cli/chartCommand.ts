/**
 * `mathd chart`: a session as an SVG, from a file of bars or ticks or from Redis. From Redis it
 * reads the session's updates from `ticks:{SYMBOL}` on one server (DB 4, the stream the streaming
 * state is computed from; on a cluster, DB 0 of the master holding its slot) and the live
 * streaming state of the symbol (`indicator:*:{SYMBOL}`, DB 10), and says whether replaying the
 * stream gives the live values (it does not when the stream was trimmed).
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { renderSessionChart, type SessionSeries, sessionSeries } from "../chart/sessionChart.js";
import { ConfigurationError, InvalidInputError } from "../core/errors.js";
import { epochMsSchema, parseInput } from "../dispatcher/inputs.js";
import { MathDispatcher } from "../dispatcher/MathDispatcher.js";
import { streamUpdateSchema } from "../dispatcher/streaming.js";
import type { MarketUpdate } from "../indicators/streaming.js";
import { tickStreamKey } from "../keys/marketData.js";
import { addressOf, type RedisConfig } from "../redis/config.js";
import { STREAM_READ_PAGE } from "../redis/pageSizes.js";
import { DataError } from "./cliErrors.js";
import { entryToUpdate } from "../streaming/tickConsumer.js";
import { connectOnce, oneServerConfig } from "./connect.js";

const FIELDS = ["ts", "seq", "price", "high", "low", "close", "volume"] as const;

/** One record of a file or stream as an update; a DataError naming `where` if it is not one. */
function toUpdate(record: Record<string, unknown>, index: number, where: string): MarketUpdate {
  const number = (name: string, value: unknown): number | undefined => {
    if (value === undefined || value === "") return undefined;
    const n = typeof value === "string" && name === "ts" && !/^\d+$/.test(value) ? Date.parse(value) : Number(value);
    if (!Number.isFinite(n)) throw new DataError(`${where}: ${name} is not a number: ${JSON.stringify(value)}`);
    return n;
  };
  const values = Object.fromEntries(FIELDS.map((f) => [f, number(f, record[f] ?? (f === "ts" ? record.time : undefined))]));
  if (values.ts === undefined) throw new DataError(`${where}: no ts (epoch ms or ISO time)`);
  // the range the scripts take: a time in seconds would chart a session in 1970
  const ts = epochMsSchema.safeParse(values.ts);
  if (!ts.success) throw new DataError(`${where}: ts ${ts.error.issues[0]?.message ?? "is not epoch ms"}`);
  if (values.volume === undefined) throw new DataError(`${where}: no volume`);
  const isBar = values.high !== undefined || values.low !== undefined || values.close !== undefined;
  if (isBar && (values.high === undefined || values.low === undefined || values.close === undefined)) {
    throw new DataError(`${where}: a bar needs high, low and close`);
  }
  if (!isBar && values.price === undefined) throw new DataError(`${where}: neither a price (tick) nor high, low, close (bar)`);
  return {
    ts: values.ts,
    seq: values.seq ?? index,
    volume: values.volume,
    ...(isBar ? { high: values.high, low: values.low, close: values.close } : { price: values.price }),
  };
}

/**
 * Updates from a file: JSON (an array of records, or `{ symbol, updates }`) or CSV with a header
 * naming the columns (ts or time, seq, price or high/low/close, volume; others ignored).
 */
export function parseUpdates(text: string, file: string): { symbol?: string; updates: MarketUpdate[] } {
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new DataError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
    const container = Array.isArray(parsed) ? { updates: parsed } : (parsed as { symbol?: unknown; updates?: unknown; bars?: unknown; ticks?: unknown });
    const records = container.updates ?? (container as { bars?: unknown }).bars ?? (container as { ticks?: unknown }).ticks;
    if (!Array.isArray(records)) throw new DataError(`${file}: expected an array of updates, or an object with "updates"`);
    const symbol = (container as { symbol?: unknown }).symbol;
    return {
      ...(typeof symbol === "string" ? { symbol } : {}),
      updates: records.map((r, i) => toUpdate(r as Record<string, unknown>, i, `${file}: update ${i}`)),
    };
  }
  const [header, ...lines] = trimmed.split(/\r?\n/);
  const columns = (header ?? "").split(",").map((c) => c.trim().toLowerCase());
  if (!columns.includes("volume")) throw new DataError(`${file}: not JSON, and no CSV header with a volume column`);
  return {
    updates: lines
      .filter((line) => line.trim() !== "")
      .map((line, i) => {
        const cells = line.split(",");
        return toUpdate(Object.fromEntries(columns.map((c, j) => [c, cells[j]?.trim()])), i, `${file}: line ${i + 2}`);
      }),
  };
}

/** Options of {@link chartSession}. */
export interface ChartOptions {
  input?: string;
  symbol?: string;
  url?: string;
  atrPeriod: number;
  bands: number[];
  hashTag: boolean;
}

/** The chart's series, the SVG and a one-line account of where the data came from. */
export async function chartSession(options: ChartOptions): Promise<{ series: SessionSeries; svg: string; source: string }> {
  const { updates, symbol, source, subtitle } = options.input ? await fromFile(options.input, options.symbol) : await fromRedis(options);
  const series = sessionSeries(symbol, updates, { atrPeriod: options.atrPeriod, bands: options.bands });
  return { series, svg: renderSessionChart(series, { subtitle: subtitle(series) }), source };
}

type Loaded = { updates: MarketUpdate[]; symbol: string; source: string; subtitle: (series: SessionSeries) => string };

/** The input file's text; a directory's error names it too, so it is an unreadable input (66) like any other. */
async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    if (failure.code === "EISDIR" && failure.path === undefined) Object.assign(failure, { path: file, message: `${failure.message} '${file}'` });
    throw failure;
  }
}

async function fromFile(file: string, symbol: string | undefined): Promise<Loaded> {
  const parsed = parseUpdates(await readInput(file), file);
  const source = `${basename(file)} (${parsed.updates.length} updates)`;
  return { updates: parsed.updates, symbol: symbol ?? parsed.symbol ?? basename(file).replace(/\..*$/, ""), source, subtitle: () => `from ${source}` };
}

/**
 * A cluster node's MOVED for `key` as the wrong server it says it is: a ConfigurationError of the
 * setting that named the server, which names the master to give instead. Any other error as it came.
 */
function notTheSlotMaster(error: unknown, key: string, config: RedisConfig, url: string | undefined): unknown {
  const moved = error instanceof Error ? /^MOVED (\d+) (\S+)/.exec(error.message) : null;
  if (!moved) return error;
  const setting = url === undefined ? "REDIS_URL (or REDIS_HOST, REDIS_PORT)" : "url";
  return new ConfigurationError(setting, `${addressOf(config)} does not hold ${key} (slot ${moved[1]}, MOVED): give the master that does, ${moved[2]}`, { cause: error });
}

async function fromRedis(options: ChartOptions): Promise<Loaded> {
  const symbol = options.symbol as string;
  const config = oneServerConfig(options.url, "chart --symbol");
  const { redis: ticks, db, cluster } = await connectOnce(config, "continuous_market");
  // a cluster routes by slot, so its keys carry the symbol's hash tag (the consumer writes them so)
  const hashTag = options.hashTag || cluster;
  const key = tickStreamKey(symbol, { hashTag });
  const updates: MarketUpdate[] = [];
  let skipped = 0; // entries the consumer dead-letters (no tick or bar, a fifth decimal, ...): the chart leaves them out
  try {
    // in pages: a session of ticks can be long, and one page holds Redis for well under 2 ms
    for (let start = "-"; ; ) {
      const page = await ticks.xrange(key, start, "+", "COUNT", STREAM_READ_PAGE).catch((error: unknown) => {
        throw notTheSlotMaster(error, key, config, options.url);
      });
      for (const [id, fields] of page) {
        try {
          // read and checked as the consumer reads and checks it
          const update = entryToUpdate(symbol, id, fields);
          parseInput(streamUpdateSchema, update);
          updates.push(update);
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          skipped++;
        }
      }
      if (page.length < STREAM_READ_PAGE) break;
      start = `(${page.at(-1)![0]}`;
    }
  } finally {
    ticks.disconnect();
  }
  // the live state from the same server; on a cluster through a cluster client it starts from,
  // since the SDK's one-server client refuses a node's DB 0
  const { host, port, username, password, tls, commandTimeoutMs } = config;
  const math = MathDispatcher.connect(cluster ? { username, password, tls, commandTimeoutMs, cluster: [{ host, port }] } : (options.url ?? {}), { hashTag });
  try {
    const live = await math.streaming({ atrPeriod: options.atrPeriod, bands: options.bands }).snapshot(symbol);
    const source = `${key} (DB ${db}, ${updates.length} entries${skipped ? `, ${skipped} left out: the consumer dead-letters them` : ""})`;
    return {
      updates,
      symbol,
      source,
      subtitle: (series) => {
        const last = series.points.at(-1);
        const agrees =
          live.vwap === undefined || last?.vwap === undefined
            ? "no live VWAP"
            : Math.abs(live.vwap.vwap - last.vwap) <= 1e-9 * Math.abs(last.vwap)
              ? "the live streaming state agrees"
              : `the live streaming state differs (VWAP ${live.vwap.vwap}): stream trimmed?`;
        return `from ${source}; ${agrees}`;
      },
    };
  } finally {
    await math.close();
  }
}
