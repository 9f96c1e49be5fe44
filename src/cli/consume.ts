/** `mathd consume`: runs the tick consumer until SIGINT or SIGTERM. */
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { MathDispatcher } from "../dispatcher/MathDispatcher.js";
import { DATABASES } from "../redis/databases.js";
import { TickConsumer } from "../streaming/tickConsumer.js";

export interface ConsumeOptions {
  url: string;
  symbols: string[];
  group?: string;
  consumer?: string;
  atrPeriod?: number;
  hashTag?: boolean;
}

export async function consume(options: ConsumeOptions): Promise<void> {
  const dispatcher = MathDispatcher.connect(options.url, { hashTag: options.hashTag });
  const ticks = new Redis(options.url, { db: DATABASES.continuous_market.db });
  const consumer = new TickConsumer(ticks, dispatcher.streaming({ atrPeriod: options.atrPeriod }), {
    symbols: options.symbols,
    group: options.group,
    consumer: options.consumer ?? `${hostname()}-${process.pid}`,
    hashTag: options.hashTag,
  });
  consumer.on("deadLetter", (d: { symbol: string; id: string; reason: string }) =>
    console.error(`dead letter ${d.symbol} ${d.id}: ${d.reason}`),
  );
  consumer.on("error", (error: Error) => console.error(`consumer error (retrying): ${error.message}`));
  const stop = () => consumer.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  console.log(`consuming ${options.symbols.map((s) => `ticks:${s}`).join(", ")} as ${options.consumer ?? "this host"}`);
  await consumer.run();
  await Promise.all([dispatcher.quit(), ticks.quit()]);
}
