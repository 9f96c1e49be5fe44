/**
 * The consumer's blocking connection reconnects when the server drops it in the middle of the
 * connection handshake. ioredis 5 (redis/ioredis#2099) with the ready check off marks such a
 * connection "ready" once its CLIENT SETINFO replies settle after the close, and then never
 * reconnects: the consumer would read nothing, for ever. A proxy in front of a real Redis resets
 * the first connections as soon as the client writes; CI runs this under ioredis 6 and 5.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consume } from "../../src/cli/consume.js";
import { tickStreamKey } from "../../src/keys/marketData.js";
import { groupCaughtUp } from "../support/streams.js";
import { waitUntil } from "../support/waitUntil.js";
import { sharedRedisUrl } from "../support/redis.js";

const url = sharedRedisUrl();
const OPEN = Date.UTC(2026, 10, 25, 3, 45); // 09:15 IST
let proxy: Server;
let proxyPort: number;
let accepted = 0;
const sockets: Socket[] = [];
const ticks = new Redis(url, { db: 4 });

beforeAll(async () => {
  const target = new URL(url);
  proxy = createServer((client) => {
    sockets.push(client);
    client.on("error", () => undefined);
    // the first two connections are reset as soon as the client writes its handshake
    if (++accepted <= 2) return void client.once("data", () => client.resetAndDestroy());
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(upstream);
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyPort = (proxy.address() as { port: number }).port;
});
afterAll(async () => {
  ticks.disconnect();
  sockets.forEach((s) => s.destroy());
  await new Promise((resolve) => proxy.close(resolve));
});

describe("the consumer's connection, reset during its handshake", () => {
  it("reconnects and applies every entry", async () => {
    const symbol = "RESETHS";
    const stream = tickStreamKey(symbol);
    await ticks.del(stream);
    for (let i = 0; i < 5; i++) await ticks.xadd(stream, "*", "price", "100", "volume", "1", "ts", String(OPEN + i * 1000));
    const stop = new AbortController();
    const lines: string[] = [];
    const done = consume({ url: `redis://127.0.0.1:${proxyPort}`, symbols: [symbol], signal: stop.signal, log: (line) => void lines.push(line) });
    try {
      await waitUntil(() => groupCaughtUp(ticks, stream), "the consumer read the stream through the proxy", 20_000);
    } finally {
      stop.abort();
    }
    const summary = await done;
    expect(summary).toMatchObject({ applied: 5, deadLetters: 0 });
    expect(accepted).toBeGreaterThan(2); // it did reconnect after the resets
  });
});
