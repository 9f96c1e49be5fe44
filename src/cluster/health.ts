/**
 * Health of a Redis Cluster as the SDK needs it: the cluster's own state, and on every node
 * whether it can run the scripts (script cache or Functions library) and, for a replica,
 * whether it is in sync. Read-only: it loads nothing.
 */
import type { Cluster, Redis } from "ioredis";
import { SCRIPTS } from "../generated/scripts.js";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { buildFunctionsLibrary } from "../build/functionsLibrary.js";
import { libraryState } from "./loader.js";
import { clusterReady, masters, nodeAddress, replicas } from "./topology.js";
import type { ScriptMode } from "./transport.js";

/** What `mathd health` found on one node of a cluster. */
export interface ClusterNodeHealth {
  readonly address: string;
  readonly role: "master" | "replica";
  /** `cluster_state` from CLUSTER INFO on this node (`ok` or `fail`). */
  readonly clusterState: string;
  /** Manifest scripts absent from this node's script cache (EVALSHA mode needs them on masters). */
  readonly scriptsMissing: readonly string[];
  /** The `mathd` library on this node: this build's digest, another generation, or none. */
  readonly library: "current" | "stale" | "absent";
  /** Replicas: `master_link_status` (`up` when in sync). */
  readonly masterLink?: string;
  /** Replicas: bytes behind the master, from the master's INFO replication. */
  readonly lagBytes?: number;
}

/** A cluster's health: every node, with the problems (exit 1) and warnings found. */
export interface ClusterHealth {
  readonly ok: boolean;
  /** `cluster_slots_ok` as a master reports it: 16384 when every slot is served. */
  readonly slotsOk: number;
  readonly nodes: readonly ClusterNodeHealth[];
  /** One line per problem (the cluster cannot serve every call), for the health report. */
  readonly problems: readonly string[];
  /** Worth knowing but healed on first use: a master missing scripts after a failover or restart. */
  readonly warnings: readonly string[];
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
}

async function nodeHealth(node: Redis, role: "master" | "replica", scripts: readonly ScriptManifestEntry[], library: ReturnType<typeof buildFunctionsLibrary>) {
  const [clusterInfo, exists, state, replication] = await Promise.all([
    node.call("CLUSTER", "INFO") as Promise<string>,
    node.script("EXISTS", ...scripts.map((s) => s.sha1)) as Promise<number[]>,
    libraryState(node, library),
    node.info("replication"),
  ]);
  const health: ClusterNodeHealth = {
    address: nodeAddress(node),
    role,
    clusterState: infoField(clusterInfo, "cluster_state") ?? "unknown",
    scriptsMissing: scripts.filter((_, i) => Number(exists[i]) !== 1).map((s) => s.name),
    library: state,
    ...(role === "replica" ? { masterLink: infoField(replication, "master_link_status") ?? "unknown" } : {}),
  };
  return { health, slotsOk: Number(infoField(clusterInfo, "cluster_slots_ok") ?? 0), lags: replicaLags(replication) };
}

/** From a master's INFO replication: each replica's `ip:port` and how many bytes it is behind. */
function replicaLags(replication: string): Map<string, number> {
  const own = Number(infoField(replication, "master_repl_offset"));
  const lags = new Map<string, number>();
  for (const m of replication.matchAll(/^slave\d+:ip=([^,]+),port=(\d+),state=[^,]+,offset=(\d+)/gm)) {
    if (Number.isFinite(own)) lags.set(`${m[1]}:${m[2]}`, Math.max(0, own - Number(m[3])));
  }
  return lags;
}

/**
 * Reads every node ioredis knows. `mode` says what the masters must hold: the scripts
 * (`evalsha`) or the current library (`functions`); replicas must be linked to their master.
 */
export async function clusterHealth(
  cluster: Cluster,
  options: { scripts?: readonly ScriptManifestEntry[]; mode?: ScriptMode } = {},
): Promise<ClusterHealth> {
  await clusterReady(cluster);
  const scripts = options.scripts ?? SCRIPTS;
  const library = buildFunctionsLibrary(scripts);
  const mode = options.mode ?? "evalsha";
  const read = await Promise.all([
    ...masters(cluster).map((node) => nodeHealth(node, "master", scripts, library)),
    ...replicas(cluster).map((node) => nodeHealth(node, "replica", scripts, library)),
  ]);
  const lags = new Map(read.flatMap((r) => (r.health.role === "master" ? [...r.lags] : [])));
  const nodes = read.map((r): ClusterNodeHealth => {
    const lag = lags.get(r.health.address);
    return r.health.role === "replica" && lag !== undefined ? { ...r.health, lagBytes: lag } : r.health;
  });
  const slotsOk = Math.min(...read.filter((r) => r.health.role === "master").map((r) => r.slotsOk));
  const problems: string[] = [];
  const warnings: string[] = [];
  if (slotsOk !== 16384) problems.push(`only ${slotsOk} of 16384 slots are served`);
  for (const n of nodes) {
    if (n.clusterState !== "ok") problems.push(`${n.address}: cluster_state ${n.clusterState}`);
    if (n.role === "master" && mode === "evalsha" && n.scriptsMissing.length > 0) {
      warnings.push(`${n.address}: scripts not loaded: ${n.scriptsMissing.join(", ")} (loaded on first use)`);
    }
    if (n.role === "master" && mode === "functions" && n.library !== "current") problems.push(`${n.address}: mathd library ${n.library}`);
    if (n.role === "replica" && n.masterLink !== "up") problems.push(`${n.address}: replica link ${n.masterLink}`);
  }
  return { ok: problems.length === 0, slotsOk, nodes, problems, warnings };
}
