/**
 * The figures in docs/SCALING.md: `npx tsx test/cluster/measureScaling.ts`.
 *
 * Starts throwaway clusters of 1 and of 3 masters on loopback (no replicas) and, for each,
 * measures per script mode:
 * - server time per stream_update call, for trade ticks and for one-minute bars (INFO
 *   commandstats usec per call, over all masters): the cost that decides how many ticks/s one
 *   master holds;
 * - throughput of the same calls through ClusterScriptTransport.runMany: 200 symbols, 4 senders
 *   in parallel, each sending batches of its 50 symbols (one update per symbol per batch);
 * - redis-benchmark SET throughput in cluster mode, as the plain-command ceiling of the machine.
 * Bounded: a fixed number of calls per run (and 3 runs, median reported). Not a test: times are
 * reported, never asserted. Progress goes to stderr, the table to stdout.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { Cluster } from "ioredis";
import { SCRIPTS } from "../../src/generated/scripts.js";
import { ClusterScriptTransport, type ScriptMode } from "../../src/cluster/transport.js";
import { startCluster } from "../support/cluster.js";
import { streamTickCall, streamUpdateCall } from "./calls.js";
import { commandCalls } from "../support/redis.js";

const SYMBOLS = Array.from({ length: 200 }, (_, i) => `SYM${i}`);
const SENDERS = 4;
const BATCHES_PER_SENDER = 100; // 4 x 100 batches x 50 symbols = 20,000 ticks per run
const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function usecPerCall(cluster: Cluster, command: string): Promise<number> {
  let calls = 0;
  let usec = 0;
  for (const node of cluster.nodes("master")) {
    const info = await node.info("commandstats");
    const m = new RegExp(`^cmdstat_${command}:calls=(\\d+),usec=(\\d+)`, "m").exec(info);
    if (m) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
  }
  return calls === 0 ? NaN : usec / calls;
}

async function run(masters: number, mode: ScriptMode, kind: "tick" | "bar", cluster: Cluster) {
  const call = kind === "tick" ? streamTickCall : streamUpdateCall;
  const transport = new ClusterScriptTransport(cluster, { mode });
  await transport.prepare();
  await Promise.all(cluster.nodes("master").map((n) => n.call("CONFIG", "RESETSTAT")));
  const started = process.hrtime.bigint();
  let failed = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, s) => {
      const mine = SYMBOLS.filter((_, i) => i % SENDERS === s);
      for (let b = 0; b < BATCHES_PER_SENDER; b++) {
        const outcomes = await transport.runMany(mine.map((symbol) => call(symbol, b)));
        failed += outcomes.filter((o) => !o.ok).length;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const calls = SENDERS * BATCHES_PER_SENDER * (SYMBOLS.length / SENDERS);
  const command = mode === "evalsha" ? "evalsha" : "fcall";
  const served = (await Promise.all(cluster.nodes("master").map((n) => commandCalls(n, command)))).reduce((a, b) => a + b, 0);
  const usec = await usecPerCall(cluster, command);
  transport.close();
  if (failed > 0 || served !== calls) throw new Error(`${masters} masters ${mode}: ${failed} failed, ${served} of ${calls} served`);
  return { masters, mode, kind, callsPerSecond: calls / seconds, usecPerCall: usec };
}

function benchmarkSet(port: number, cluster: boolean): number {
  // redis-benchmark refuses --cluster for a single node, which serves every slot anyway
  const out = execFileSync(
    "redis-benchmark",
    [...(cluster ? ["--cluster"] : []), "-h", "127.0.0.1", "-p", String(port), "-t", "set", "-n", "200000", "-c", "50", "-P", "16", "-q", "--threads", "2"],
    { encoding: "utf8", timeout: 60_000 },
  );
  const m = /SET: ([\d.]+) requests per second/.exec(out);
  return m ? Number(m[1]) : NaN;
}

const results: Record<string, unknown>[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);
for (const masters of [1, 3]) {
  const harness = await startCluster({ masters });
  const cluster = new Cluster([...harness.startupNodes]);
  cluster.on("error", () => undefined);
  try {
    await cluster.ping();
    const ports = harness.nodes.map((n) => n.port);
    for (const kind of ["tick", "bar"] as const) {
      for (const mode of ["evalsha", "functions"] as const) {
        const runs = [];
        for (let r = 0; r < RUNS; r++) {
          // every run starts from empty state and sends the same updates (09:16 IST on)
          await Promise.all(cluster.nodes("master").map((n) => n.flushall()));
          runs.push(await run(masters, mode, kind, cluster));
        }
        const rates = runs.map((x) => x.callsPerSecond);
        const usec = runs.map((x) => x.usecPerCall);
        results.push({
          masters,
          mode,
          kind,
          "calls/s median": Math.round(median(rates)),
          "calls/s max": Math.round(Math.max(...rates)),
          "server us/call median": Number(median(usec).toFixed(1)),
          "server us/call min": Number(Math.min(...usec).toFixed(1)),
        });
        log(JSON.stringify(results.at(-1)));
      }
    }
    results.push({ masters, mode: "redis-benchmark SET -P 16", "calls/s median": Math.round(benchmarkSet(ports[0] as number, masters > 1)) });
  } finally {
    cluster.disconnect();
    await harness.stop();
  }
}
const update = SCRIPTS.find((s) => s.name === "stream_update");
console.log(
  `machine: ${cpus().length} cores (${cpus()[0]?.model}), load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}, ` +
    `node ${process.version}, ${execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim()}; ` +
    `stream_update ${update?.version} (${update?.sha1.slice(0, 12)})`,
);
console.table(results);
