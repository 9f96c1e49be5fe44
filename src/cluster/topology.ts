/**
 * What a script transport needs to know about a Redis Cluster, read from the ioredis `Cluster`
 * itself (its slot map and connection pool), never from a separate CLUSTER NODES round trip:
 * then routing here and ioredis's own routing always agree.
 *
 * Node addresses are `host:port` as ioredis keys them. A cluster behind a `natMap` would need
 * the mapping applied; the SDK does not support natMap clusters yet.
 */
import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";

/** `host:port` of a node connection, as ioredis's slot map names nodes. */
export function nodeAddress(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** The slot of a key (hash tags honoured): the same function ioredis routes with. */
export function slotOf(key: string | Buffer): number {
  return calculateSlot(key);
}

/** The slot every key of a call shares, -1 if they do not share one, undefined for no keys. */
export function slotOfKeys(keys: readonly (string | Buffer)[]): number | undefined {
  return keys.length === 0 ? undefined : calculateSlot.generateMulti(keys);
}

/** The wait of {@link clusterReady} under way, by cluster. */
const readyWaits = new WeakMap<Cluster, Promise<void>>();

/**
 * Waits until the cluster has connected and read its slot map (ioredis status `ready`); starts
 * connecting a lazy cluster. Routing by slot is impossible before that.
 */
export async function clusterReady(cluster: Cluster): Promise<void> {
  if (cluster.status === "ready") return;
  if (cluster.status === "wait") {
    await cluster.connect();
    return;
  }
  // one wait a cluster, whatever the number of calls at a cold start: a pair of listeners each
  // made Node warn of a leak (MaxListenersExceededWarning) from the eleventh call on
  let waiting = readyWaits.get(cluster);
  if (!waiting) {
    waiting = new Promise<void>((resolve, reject) => {
      const onReady = () => {
        cluster.off("end", onEnd);
        resolve();
      };
      const onEnd = () => {
        cluster.off("ready", onReady);
        reject(new Error("the cluster connection ended before it was ready"));
      };
      cluster.once("ready", onReady);
      cluster.once("end", onEnd);
    }).finally(() => readyWaits.delete(cluster));
    readyWaits.set(cluster, waiting);
  }
  await waiting;
}

/** The master connections ioredis holds, one per master serving slots. */
export function masters(cluster: Cluster): Redis[] {
  return cluster.nodes("master");
}

/** The replica connections ioredis holds (ioredis names the role "slave"). */
export function replicas(cluster: Cluster): Redis[] {
  return cluster.nodes("slave");
}

/** The connection to a node by address, if ioredis holds one. */
export function nodeByAddress(cluster: Cluster, address: string): Redis | undefined {
  return cluster.nodes("all").find((node) => nodeAddress(node) === address);
}

/**
 * The nodes serving a slot per ioredis's slot map: the master first, then its replicas
 * (ioredis's `slots[slot]`, from CLUSTER SLOTS). Empty before the map is read.
 */
export function slotNodes(cluster: Cluster, slot: number): readonly string[] {
  return cluster.slots[slot] ?? [];
}

/**
 * A signature of the topology that matters for loading scripts: which nodes are masters and
 * which replicas. Compared across ioredis `refresh` events, which fire on every slot-map read,
 * so scripts are reloaded only when the answer actually changed (a failover, a new node).
 */
export function topologySignature(cluster: Cluster): string {
  const list = (role: "master" | "slave") => cluster.nodes(role).map(nodeAddress).sort().join(",");
  return `masters=${list("master")};replicas=${list("slave")}`;
}

/** Calls that go to the same node, with each call's index in the caller's list. */
export interface CallGroup<C> {
  /**
   * ioredis's node list for the group's slots (`master;replica;...`): the unit one cluster
   * pipeline may address. `undefined` for calls without keys (any master may run them).
   */
  readonly nodes: string | undefined;
  /** A slot of the group, to route the group and to find its master again. */
  readonly slot: number | undefined;
  readonly calls: readonly C[];
  /** `indexes[j]` is the position of `calls[j]` in the caller's list. */
  readonly indexes: readonly number[];
}

/**
 * Splits calls by the node set serving their first key's slot: one group per master in a
 * healthy cluster, which is exactly what one ioredis cluster pipeline accepts. Groups keep the
 * callers' order inside, and carry the callers' indexes so results can be put back in order.
 * Calls whose keys span slots are returned apart in `crossSlot` (Redis would refuse them, and
 * ioredis would fail their whole pipeline).
 */
export function groupBySlotOwner<C extends { readonly keys: readonly (string | Buffer)[] }>(
  cluster: Cluster,
  calls: readonly C[],
): { groups: CallGroup<C>[]; crossSlot: number[] } {
  const groups = new Map<string, { slot: number | undefined; calls: C[]; indexes: number[] }>();
  const crossSlot: number[] = [];
  calls.forEach((call, index) => {
    const slot = slotOfKeys(call.keys);
    if (slot === -1) {
      crossSlot.push(index);
      return;
    }
    const nodes = slot === undefined ? "" : slotNodes(cluster, slot).join(";");
    let group = groups.get(nodes);
    if (!group) groups.set(nodes, (group = { slot, calls: [], indexes: [] }));
    group.calls.push(call);
    group.indexes.push(index);
  });
  return {
    groups: [...groups.entries()].map(([nodes, g]) => ({ nodes: nodes === "" ? undefined : nodes, ...g })),
    crossSlot,
  };
}
