/**
 * Applies the tick streams `ticks:{SYMBOL}` (DB 4) to the streaming indicators through a consumer
 * group. An entry is acknowledged only after its update succeeded, so a consumer killed at any
 * point leaves it pending and re-reads it on restart; the update is idempotent, so that
 * redelivery cannot count it twice. Entries that fail validation go to `ticks:dead:{SYMBOL}`
 * with the reason and are acknowledged, so one bad tick never blocks a symbol.
 */
import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import { InvalidInputError } from "../core/errors.js";
import { deadLetterKey, tickStreamKey } from "../keys/marketData.js";
import type { KeyOptions } from "../keys/symbol.js";
import type { StreamingIndicators, StreamUpdateInput } from "./StreamingIndicators.js";

export interface TickConsumerOptions extends KeyOptions {
  symbols: readonly string[];
  /** Consumer group name, default `mathd`. */
  group?: string;
  /** This consumer's name in the group; restart with the same name to take over its pending entries. */
  consumer: string;
  /** Entries per read, default 200. */
  count?: number;
  /** How long a read blocks waiting for new entries, default 1000 ms. */
  blockMs?: number;
}

type StreamEntry = [id: string, fields: string[]];
type StreamReply = [stream: string, entries: StreamEntry[]][];

/**
 * XREADGROUP answers `[[stream, entries], ...]` under RESP2 and a map under RESP3, which
 * ioredis's default reply mapping flattens to `[stream, entries, stream, entries, ...]`.
 */
function streamsOf(reply: unknown): StreamReply {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (Array.isArray(reply[0])) return reply as StreamReply;
  const pairs: StreamReply = [];
  for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1] as StreamEntry[]]);
  return pairs;
}

/** Entries a stream ID's millisecond may hold before the derived sequence number would collide. */
const IDS_PER_MS = 1000;

/** A stream entry as an update: fields price, volume, ts, optional seq, high, low, close. */
export function entryToUpdate(symbol: string, id: string, fields: readonly string[]): StreamUpdateInput {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const number = (name: string) => {
    const text = map.get(name);
    if (text === undefined) return undefined;
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new InvalidInputError(name, `not a decimal number: ${JSON.stringify(text)}`);
    return Number(text);
  };
  let seq = number("seq");
  if (seq === undefined) {
    const [ms, n] = id.split("-").map(Number) as [number, number];
    if (n >= IDS_PER_MS) throw new InvalidInputError("seq", `entry ${id} needs a seq field: more than ${IDS_PER_MS} entries in one millisecond`);
    seq = ms * IDS_PER_MS + n;
  }
  const update: StreamUpdateInput = { symbol, ts: number("ts") as number, seq, volume: number("volume") as number };
  for (const name of ["price", "high", "low", "close"] as const) {
    const value = map.get(name); // kept as decimal text, so the price stays exact
    if (value !== undefined) update[name] = value;
  }
  return update;
}

export class TickConsumer extends EventEmitter {
  private stopping = false;
  private readonly group: string;
  private readonly streams: string[];
  private readonly symbolByStream: Map<string, string>;

  /**
   * @param ticks a connection on DB 4 (continuous_market), used only by this consumer (reads block).
   * @param indicators the streaming indicators to apply entries to.
   */
  constructor(
    private readonly ticks: Redis,
    private readonly indicators: StreamingIndicators,
    private readonly options: TickConsumerOptions,
  ) {
    super();
    this.group = options.group ?? "mathd";
    this.streams = options.symbols.map((s) => tickStreamKey(s, options));
    this.symbolByStream = new Map(options.symbols.map((s, i) => [this.streams[i] as string, s]));
  }

  /** Creates the consumer group on every stream (from the start of the stream) where missing. */
  async ensureGroups(): Promise<void> {
    for (const stream of this.streams) {
      try {
        await this.ticks.xgroup("CREATE", stream, this.group, "0", "MKSTREAM");
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("BUSYGROUP"))) throw error;
      }
    }
  }

  private async read(id: "0" | ">", block: boolean): Promise<StreamReply> {
    const { consumer, count = 200, blockMs = 1000 } = this.options;
    const ids = this.streams.map(() => id);
    const blockArgs = block ? (["BLOCK", blockMs] as const) : ([] as const);
    const args = ["GROUP", this.group, consumer, "COUNT", count, ...blockArgs, "STREAMS", ...this.streams, ...ids];
    return streamsOf(await this.ticks.call("XREADGROUP", ...args));
  }

  /** Applies one read's entries: updates in one pipeline, then acks and dead letters per stream. */
  private async apply(reply: StreamReply): Promise<number> {
    let applied = 0;
    for (const [stream, entries] of reply) {
      if (entries.length === 0) continue;
      const symbol = this.symbolByStream.get(stream) as string;
      const parsed = entries.map(([id, fields]) => {
        try {
          return { id, fields, update: entryToUpdate(symbol, id, fields) };
        } catch (error) {
          return { id, fields, error: error as Error };
        }
      });
      const valid = parsed.filter((p) => p.update);
      const outcomes = await this.indicators.updateMany(valid.map((p) => p.update as StreamUpdateInput));
      const ack: string[] = [];
      const dead: { id: string; fields: string[]; reason: string }[] = [];
      let next = 0;
      for (const p of parsed) {
        const outcome = p.update ? outcomes[next++] : undefined;
        const error = p.error ?? (outcome && !outcome.ok ? outcome.error : undefined);
        if (!error) ack.push(p.id);
        else if (error instanceof InvalidInputError) dead.push({ id: p.id, fields: p.fields, reason: error.message });
        else throw error; // Redis trouble: leave it pending, it is read again
      }
      const pipeline = this.ticks.pipeline();
      for (const d of dead) {
        pipeline.xadd(deadLetterKey(symbol, this.options), "*", "source_id", d.id, "reason", d.reason, ...d.fields);
        ack.push(d.id);
      }
      if (ack.length > 0) pipeline.xack(stream, this.group, ...ack);
      await pipeline.exec();
      applied += ack.length - dead.length;
      for (const d of dead) this.emit("deadLetter", { symbol, ...d });
    }
    return applied;
  }

  /**
   * One pass: this consumer's pending entries first (left by a crash), else new entries,
   * blocking up to `blockMs`. Resolves to the number of entries applied.
   */
  async runOnce(): Promise<number> {
    const pending = await this.read("0", false);
    if (pending.some(([, entries]) => entries.length > 0)) return this.apply(pending);
    return this.apply(await this.read(">", true));
  }

  /** Runs until {@link TickConsumer.stop}; errors are emitted and retried after a pause. */
  async run(): Promise<void> {
    this.stopping = false;
    await this.ensureGroups();
    while (!this.stopping) {
      try {
        const applied = await this.runOnce();
        if (applied > 0) this.emit("applied", applied);
      } catch (error) {
        this.emit("error", error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Asks {@link TickConsumer.run} to return after the current read. */
  stop(): void {
    this.stopping = true;
  }
}
