/** redis-benchmark runs and INFO commandstats readings against the benchmark's own server. */
import { spawnSync } from "node:child_process";
import type { Redis } from "ioredis";

export interface RedisBenchmarkRun {
  port: number;
  requests: number;
  pipeline: number;
  /** The command and its arguments; with `stdin`, the last argument is read from it (-x). */
  command: (string | Buffer)[];
}

/** Requests per second that redis-benchmark (one client) reaches for the command. */
export function redisBenchmark(run: RedisBenchmarkRun): number {
  const last = run.command[run.command.length - 1];
  const binary = Buffer.isBuffer(last);
  const args = [
    "-h", "127.0.0.1", "-p", String(run.port), "-n", String(run.requests), "-c", "1", "-P", String(run.pipeline),
    "-r", "100000000", "--csv", ...(binary ? ["-x"] : []),
    ...(binary ? run.command.slice(0, -1) : run.command).map(String),
  ];
  const result = spawnSync("redis-benchmark", args, { input: binary ? last : undefined, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`redis-benchmark failed: ${result.stderr}`);
  const line = result.stdout.trim().split("\n").find((l) => !l.startsWith('"test"'));
  const rps = Number(line?.split(",")[1]?.replace(/"/g, ""));
  if (!Number.isFinite(rps) || rps <= 0) throw new Error(`cannot read redis-benchmark output: ${result.stdout}`);
  return rps;
}

/** Microseconds per call of a command, from INFO commandstats, after CONFIG RESETSTAT and `run`. */
export async function usecPerCall(redis: Redis, command: string, run: () => Promise<unknown> | unknown): Promise<number> {
  await redis.config("RESETSTAT");
  await run();
  const stats = (await redis.info("commandstats")) as string;
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+),usec=(\\d+),usec_per_call=([\\d.]+)`, "m").exec(stats);
  if (!match) throw new Error(`no commandstats for ${command}`);
  return Number(match[3]);
}
