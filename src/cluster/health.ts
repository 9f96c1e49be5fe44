/**
 * Health of a Redis Cluster as the SDK needs it: the cluster's own state, and on every node
 * whether it can run the scripts (script cache or Functions libraries) and, for a replica,
 * whether it is in sync. Read-only: it loads nothing.
 */
import type { Cluster, Redis } from "ioredis";
import { SCRIPTS } from "../generated/scripts.js";
import type { ScriptManifestEntry } from "../core/manifest.js";
import { scriptTimeOf, type ScriptTime } from "../core/scriptTime.js";
import { buildFunctionsLibraries, type FunctionsLibrary } from "../build/functionsLibrary.js";
import { librariesOnNode, libraryNamesToLoad } from "./loader.js";
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
  /** This build's Functions libraries on this node: all (`current`), some or of another build (`stale`), none. */
  readonly library: "current" | "stale" | "absent";
  /** This build's libraries absent from this node, or held of another build (Functions mode needs them on masters). */
  readonly librariesMissing: readonly string[];
  /** Libraries of this SDK that this build does not use: other versions, left by earlier generations. */
  readonly librariesOther: readonly string[];
  /** Replicas: `master_link_status` (`up` when in sync). */
  readonly masterLink?: string;
  /** Replicas: bytes behind the master, from the master's INFO replication. */
  readonly lagBytes?: number;
  /**
   * What scripts have cost this node since its stats reset: a master's calls, or a replica's
   * read-only ones (`readFrom: "replica"`); one hot master stands out here, not in the sum.
   */
  readonly scriptTime: ScriptTime;
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

async function nodeHealth(node: Redis, role: "master" | "replica", scripts: readonly ScriptManifestEntry[], libraries: readonly FunctionsLibrary[]) {
  // INFO all: the replication section and the commandstats in one round trip
  const [clusterInfo, exists, onNode, info] = await Promise.all([
    node.call("CLUSTER", "INFO") as Promise<string>,
    node.script("EXISTS", ...scripts.map((s) => s.sha1)) as Promise<number[]>,
    librariesOnNode(node, libraries),
    node.info("all"),
  ]);
  const health: ClusterNodeHealth = {
    address: nodeAddress(node),
    role,
    clusterState: infoField(clusterInfo, "cluster_state") ?? "unknown",
    scriptsMissing: scripts.filter((_, i) => Number(exists[i]) !== 1).map((s) => s.name),
    library: onNode.state,
    librariesMissing: libraryNamesToLoad(onNode),
    librariesOther: onNode.others,
    ...(role === "replica" ? { masterLink: infoField(info, "master_link_status") ?? "unknown" } : {}),
    scriptTime: scriptTimeOf([info]),
  };
  return { health, slotsOk: Number(infoField(clusterInfo, "cluster_slots_ok") ?? 0), lags: replicaLags(info), info };
}

/** From a master's INFO (its replication section): each replica's `ip:port` and how many bytes it is behind. */
function replicaLags(info: string): Map<string, number> {
  const own = Number(infoField(info, "master_repl_offset"));
  const lags = new Map<string, number>();
  for (const m of info.matchAll(/^slave\d+:ip=([^,]+),port=(\d+),state=[^,]+,offset=(\d+)/gm)) {
    if (Number.isFinite(own)) lags.set(`${m[1]}:${m[2]}`, Math.max(0, own - Number(m[3])));
  }
  return lags;
}

/**
 * What CLUSTER NODES (read on a master that answers) says that the slot map does not: nodes the
 * cluster flags as failing (Redis leaves a failed node out of CLUSTER SLOTS, so it is in no other
 * list here), and a master left without a replica while others keep theirs (after a failover,
 * until the old master comes back): one more failure would lose its slots.
 */
function clusterNodesFindings(text: string): { problems: string[]; warnings: string[] } {
  const rows = text.split("\n").flatMap((line) => {
    const [id, address, flags, masterId] = line.trim().split(" ");
    if (!id || !address || !flags || !masterId) return [];
    return [{ id, address: address.replace(/@.*$/, ""), flags: flags.split(","), masterId }];
  });
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const row of rows) {
    if (row.flags.includes("fail")) problems.push(`${row.address}: the cluster flags it as failed`);
    else if (row.flags.includes("fail?")) warnings.push(`${row.address}: not answering the cluster's pings (fail?)`);
  }
  const live = rows.filter((row) => !row.flags.includes("fail") && !row.flags.includes("noaddr"));
  const replicasOf = (id: string) => live.filter((row) => row.flags.includes("slave") && row.masterId === id).length;
  const liveMasters = live.filter((row) => row.flags.includes("master"));
  if (liveMasters.some((m) => replicasOf(m.id) > 0)) {
    for (const m of liveMasters) if (replicasOf(m.id) === 0) problems.push(`${m.address}: a master with no replica, where others have one`);
  }
  return { problems, warnings };
}

/** What {@link clusterHealth} checks against: the manifest's scripts, and the mode calls run in. */
export interface ClusterHealthOptions {
  scripts?: readonly ScriptManifestEntry[];
  mode?: ScriptMode;
}

/**
 * Reads every node ioredis knows. `mode` says what the masters must hold: the scripts
 * (`evalsha`) or this build's libraries (`functions`); replicas must be linked to their master. A
 * node that does not answer is a problem of its own; the others are still read.
 */
export async function clusterHealth(cluster: Cluster, options: ClusterHealthOptions = {}): Promise<ClusterHealth> {
  return (await readClusterHealth(cluster, options)).health;
}

/**
 * {@link clusterHealth}, and the `INFO all` text of each master that answered, in the order of
 * its nodes: the health report reads the server's fields and the scripts' time from them rather
 * than asking each master again.
 */
export async function readClusterHealth(cluster: Cluster, options: ClusterHealthOptions = {}): Promise<{ health: ClusterHealth; masterInfos: string[] }> {
  await clusterReady(cluster);
  const scripts = options.scripts ?? SCRIPTS;
  const libraries = buildFunctionsLibraries(scripts);
  const mode = options.mode ?? "evalsha";
  const roles = [...masters(cluster).map((node) => ({ node, role: "master" as const })), ...replicas(cluster).map((node) => ({ node, role: "replica" as const }))];
  const settled = await Promise.allSettled(roles.map(({ node, role }) => nodeHealth(node, role, scripts, libraries)));
  const read = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const problems: string[] = [];
  const warnings: string[] = [];
  settled.forEach((r, i) => {
    if (r.status === "rejected") problems.push(`${nodeAddress(roles[i]!.node)}: ${roles[i]!.role} not answering: ${(r.reason as Error).message ?? r.reason}`);
  });
  const answering = read.find((r) => r.health.role === "master");
  if (answering) {
    const node = roles.find(({ node }) => nodeAddress(node) === answering.health.address)!.node;
    const text = await (node.call("CLUSTER", "NODES") as Promise<string>).catch((error: Error) => {
      warnings.push(`${answering.health.address}: CLUSTER NODES failed, failed nodes unknown: ${error.message}`);
      return "";
    });
    const findings = clusterNodesFindings(text);
    problems.push(...findings.problems);
    warnings.push(...findings.warnings);
  }
  const lags = new Map(read.flatMap((r) => (r.health.role === "master" ? [...r.lags] : [])));
  const nodes = read.map((r): ClusterNodeHealth => {
    const lag = lags.get(r.health.address);
    return r.health.role === "replica" && lag !== undefined ? { ...r.health, lagBytes: lag } : r.health;
  });
  const slotsOk = answering ? Math.min(...read.filter((r) => r.health.role === "master").map((r) => r.slotsOk)) : 0;
  if (slotsOk !== 16384) problems.push(`only ${slotsOk} of 16384 slots are served`);
  for (const n of nodes) {
    if (n.clusterState !== "ok") problems.push(`${n.address}: cluster_state ${n.clusterState}`);
    if (n.role === "master" && mode === "evalsha" && n.scriptsMissing.length > 0) {
      warnings.push(`${n.address}: scripts not loaded: ${n.scriptsMissing.join(", ")} (loaded on first use)`);
    }
    if (n.role === "master" && mode === "functions" && n.library !== "current") {
      problems.push(`${n.address}: Functions libraries ${n.library}, missing or of another build: ${n.librariesMissing.join(", ")}`);
    }
    if (n.role === "master" && mode === "functions" && n.librariesOther.length > 0) {
      warnings.push(`${n.address}: libraries this build does not use: ${n.librariesOther.join(", ")} (mathd scripts prune)`);
    }
    if (n.role === "replica" && n.masterLink !== "up") problems.push(`${n.address}: replica link ${n.masterLink}`);
  }
  const masterInfos = read.flatMap((r) => (r.health.role === "master" ? [r.info] : []));
  return { health: { ok: problems.length === 0, slotsOk, nodes, problems, warnings }, masterInfos };
}
