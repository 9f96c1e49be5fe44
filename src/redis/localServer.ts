/**
 * A throwaway `redis-server` on a free loopback port, for the demo, tests and benchmarks when no
 * Redis is given. Nothing is persisted; stopping it removes everything it held.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { MathDispatcherError } from "../core/errors.js";

/** `redis-server` could not be started. */
export class LocalRedisError extends MathDispatcherError {}

/** A running local server. */
export interface LocalRedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Kills the server with SIGKILL (a crash: no shutdown, nothing flushed) and waits for it to exit. */
  kill(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open and nothing answers, as on a stalled host. */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
}

/** A port the OS reports free on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new LocalRedisError(`redis-server exited with code ${child.exitCode}`);
    const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === "PONG") return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new LocalRedisError(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function spawnServer(port: number, settings: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning", ...settings],
      { stdio: "ignore" },
    );
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new LocalRedisError(
          error.code === "ENOENT"
            ? "redis-server is not on PATH: install Redis (apt-get install redis-server) or set REDIS_URL"
            : `could not start redis-server: ${error.message}`,
        ),
      ),
    );
    child.once("spawn", () => {
      // a throwaway server must not outlive the process that started it, even on a crash
      const killOnExit = () => child.kill("SIGKILL");
      process.once("exit", killOnExit);
      child.once("exit", () => process.off("exit", killOnExit));
      resolve(child);
    });
  });
}

/**
 * Starts `redis-server` from PATH on a free loopback port (or `port`), with `settings` as more
 * of its command line (`["--databases", "4"]`).
 */
export async function startLocalRedis(port?: number, settings: readonly string[] = []): Promise<LocalRedisServer> {
  const chosen = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const start = async () => {
    child = await spawnServer(chosen, settings);
    await waitForPing(chosen, child, 10_000);
  };
  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once("exit", r));
    running.kill("SIGCONT"); // a frozen server would not act on SIGTERM
    running.kill(signal);
    await exited;
  };
  await start();
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    start,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    freeze: () => void child?.kill("SIGSTOP"),
    thaw: () => void child?.kill("SIGCONT"),
  };
}
