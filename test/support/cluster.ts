/**
 * A throwaway Redis Cluster for tests: N masters (and R replicas per master) as `redis-server`
 * processes on free loopback ports, each in its own temporary directory, wired together with
 * CLUSTER ADDSLOTSRANGE / MEET / REPLICATE. Done by hand rather than with
 * `redis-cli --cluster create` so every replica's master is known and fixed (replica i of
 * master m), which the failover tests rely on.
 *
 * Every process is stopped by its pid in `stop()`, and killed if the test process exits first.
 * Every wait is bounded; nothing listens beyond 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

const HOST = "127.0.0.1";
const SLOTS = 16384;

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  /** The role the node was started in; after a failover ask {@link TestCluster.roles}. */
  readonly role: "master" | "replica";
  /** For a replica, the port of the master it was attached to. */
  readonly masterPort?: number;
  readonly pid: number;
}

export interface TestCluster {
  readonly nodes: readonly ClusterNode[];
  /** Masters that joined holding no slot (`spareMasters`): not in CLUSTER SLOTS, so unknown to a client until they own one. */
  readonly spares: readonly ClusterNode[];
  /** The masters as ioredis `Cluster` startup nodes. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** Each node's current role, read from CLUSTER NODES on `port` (changes after a failover). */
  roles(): Promise<Map<number, { role: "master" | "replica"; masterPort?: number }>>;
  /** The port of the master serving a slot now, per CLUSTER NODES. */
  masterOf(slot: number): Promise<number>;
  /** Waits until every node reports `cluster_state:ok` and agrees on the masters of all slots. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** A plain client on one node (for INFO, SCRIPT FLUSH, CLUSTER FAILOVER). */
  client(port: number): Redis;
  /**
   * Starts moving a slot from its master to the master on `destination`, as a reshard does
   * (IMPORTING there, then MIGRATING on the source); no key moves until the migration is told to.
   */
  startMigration(slot: number, destination: number): Promise<SlotMigration>;
  /** Stops every process (SIGTERM, then SIGKILL after 5 s) and removes the temporary dirs. */
  stop(): Promise<void>;
}

/** A slot on its way from one master to another (see {@link TestCluster.startMigration}). */
export interface SlotMigration {
  readonly slot: number;
  readonly source: number;
  readonly destination: number;
  /** Moves these keys of the slot to the destination (MIGRATE). */
  moveKeys(keys: readonly string[]): Promise<void>;
  /** Moves the slot's remaining keys, then gives the slot to the destination on every master. */
  finish(): Promise<void>;
  /** Ends the migration with the slot still the source's (the keys already moved stay on the destination). */
  cancel(): Promise<void>;
}

export interface ClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** Masters that join the cluster without a slot, to reshard to. */
  spareMasters?: number;
  /** Bound on the whole start, ms. */
  timeoutMs?: number;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` ports that are free together with their cluster bus ports (port + 10000). Drawn from
 * 20000-29999 so the bus port stays below the OS's ephemeral range and below 65536.
 */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempts = 0; ports.length < count; attempts++) {
    if (attempts > 500) throw new Error("no free loopback ports for a test cluster in 20000-29999");
    const port = 20000 + Math.floor(Math.random() * 10000);
    if (ports.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) ports.push(port);
  }
  return ports;
}

const running = new Set<ChildProcess>();
const directories = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // the servers must not outlive the test process, even when it crashes or is killed
  const killAll = () => {
    for (const child of running) child.kill("SIGKILL");
    for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", killAll);
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal); // then die of the signal as if nobody had listened
    });
  }
}

function spawnNode(port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "redis-server",
      [
        "--port", String(port),
        "--bind", HOST,
        "--dir", dir,
        "--cluster-enabled", "yes",
        "--cluster-config-file", `nodes-${port}.conf`,
        // a node learns its own address from a peer's MEET; a lone master never does and
        // announces "" in CLUSTER SLOTS, which ioredis skips (a 1-master cluster never gets ready)
        "--cluster-announce-ip", HOST,
        // short enough that a test never waits long for a failure to be noticed
        "--cluster-node-timeout", "3000",
        "--save", "",
        "--appendonly", "no",
        "--loglevel", "warning",
      ],
      { stdio: "ignore" },
    );
    child.once("error", (error) => reject(new Error(`could not start redis-server: ${error.message}`)));
    child.once("spawn", () => {
      running.add(child);
      child.once("exit", () => running.delete(child));
      resolve(child);
    });
  });
}

function plainClient(port: number): Redis {
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on("error", () => undefined); // failures surface on the commands awaited
  return client;
}

async function until(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`test cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface NodesLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: string[];
}

function parseClusterNodes(text: string): NodesLine[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.trim().split(" ");
      const port = Number((address as string).split("@")[0]!.split(":")[1]);
      return { id: id as string, port, flags: (flags as string).split(","), masterId: masterId as string, slots };
    });
}

/** Starts a cluster; see {@link TestCluster}. */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  installExitHook();

  const spareCount = options.spareMasters ?? 0;
  const ports = await freeClusterPorts(masters * (1 + replicas) + spareCount);
  const dir = mkdtempSync(join(tmpdir(), "mathd-cluster-"));
  directories.add(dir);
  const children = new Map<number, ChildProcess>();
  const clients = new Map<number, Redis>();
  const client = (port: number) => {
    let c = clients.get(port);
    if (!c) clients.set(port, (c = plainClient(port)));
    return c;
  };

  const stop = async () => {
    for (const c of clients.values()) c.disconnect();
    clients.clear();
    await Promise.all(
      [...children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    rmSync(dir, { recursive: true, force: true });
    directories.delete(dir);
  };

  try {
    for (const port of ports) children.set(port, await spawnNode(port, dir));
    for (const port of ports) {
      await until(`PING on ${port}`, deadline, async () => (await client(port).ping()) === "PONG");
    }
    const masterPorts = ports.slice(0, masters);
    const ids = new Map<number, string>();
    for (const port of ports) ids.set(port, (await client(port).call("CLUSTER", "MYID")) as string);

    // distinct config epochs up front, as redis-cli does, instead of a collision-resolution round
    for (const [i, port] of masterPorts.entries()) {
      await client(port).call("CLUSTER", "SET-CONFIG-EPOCH", String(i + 1));
      const first = Math.floor((i * SLOTS) / masters);
      const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
      await client(port).call("CLUSTER", "ADDSLOTSRANGE", String(first), String(last));
    }
    for (const port of ports.slice(1)) await client(ports[0] as number).call("CLUSTER", "MEET", HOST, String(port));
    await until("every node to know every other", deadline, async () => {
      for (const port of ports) {
        const known = parseClusterNodes((await client(port).call("CLUSTER", "NODES")) as string);
        if (known.length !== ports.length || known.some((n) => n.flags.includes("handshake"))) return false;
      }
      return true;
    });

    const nodes: ClusterNode[] = masterPorts.map((port) => ({ host: HOST, port, role: "master", pid: children.get(port)!.pid! }));
    const spares: ClusterNode[] = ports.slice(ports.length - spareCount).map((port) => ({ host: HOST, port, role: "master", pid: children.get(port)!.pid! }));
    for (let m = 0; m < masters; m++) {
      for (let r = 0; r < replicas; r++) {
        const port = ports[masters + m * replicas + r] as number;
        const masterPort = masterPorts[m] as number;
        await client(port).call("CLUSTER", "REPLICATE", ids.get(masterPort) as string);
        nodes.push({ host: HOST, port, role: "replica", masterPort, pid: children.get(port)!.pid! });
      }
    }
    if (replicas > 0) {
      await until("every replica in sync", deadline, async () => {
        for (const n of nodes.filter((x) => x.role === "replica")) {
          if (!((await client(n.port).info("replication")) as string).includes("master_link_status:up")) return false;
        }
        return true;
      });
      // see waitHealthy: a write starts each replica's replication offset
      for (const port of masterPorts) await client(port).flushall();
    }

    const roles = async () => {
      const lines = parseClusterNodes((await client(masterPorts[0] as number).call("CLUSTER", "NODES")) as string);
      const portOf = new Map(lines.map((l) => [l.id, l.port]));
      return new Map(
        lines.map((l) => [
          l.port,
          l.flags.includes("master") ? { role: "master" as const } : { role: "replica" as const, masterPort: portOf.get(l.masterId) as number },
        ]),
      );
    };

    const masterOf = async (slot: number) => {
      const lines = parseClusterNodes((await client(masterPorts[0] as number).call("CLUSTER", "NODES")) as string);
      const owner = lines.find(
        (l) =>
          l.flags.includes("master") &&
          l.slots.some((range) => {
            const [first, last] = range.split("-").map(Number);
            return slot >= (first as number) && slot <= (last ?? first as number);
          }),
      );
      if (!owner) throw new Error(`test cluster: no master serves slot ${slot}`);
      return owner.port;
    };

    const waitHealthy = async (timeoutMs = 20_000) => {
      const end = Date.now() + timeoutMs;
      await until("cluster_state:ok on every node", end, async () => {
        for (const port of ports) {
          const info = (await client(port).call("CLUSTER", "INFO")) as string;
          if (!info.includes("cluster_state:ok")) return false;
        }
        return true;
      });
      await until("every node to agree on the slot masters, every replica in sync", end, async () => {
        const views = await Promise.all(
          ports.map(async (port) => parseClusterNodes((await client(port).call("CLUSTER", "NODES")) as string)),
        );
        const masterSet = (view: NodesLine[]) =>
          view.filter((n) => n.flags.includes("master") && n.slots.length > 0).map((n) => n.port).sort().join(",");
        if (new Set(views.map(masterSet)).size !== 1) return false;
        for (const view of views) {
          const me = view.find((n) => n.flags.includes("myself"))!;
          if (me.flags.includes("slave")) {
            const info = (await client(me.port).info("replication")) as string;
            if (!info.includes("master_link_status:up")) return false;
          }
        }
        return true;
      });
      if (replicas === 0) return;
      // Redis 7.0 leaves a replica out of CLUSTER SLOTS (which ioredis reads to find replicas)
      // until it reports a non-zero replication offset; the start writes once to every master
      // (FLUSHALL of the empty cluster) to get the offsets moving, then gossip carries them.
      await until("every replica to be listed in CLUSTER SLOTS on every node", end, async () => {
        for (const port of ports) {
          const slots = (await client(port).call("CLUSTER", "SLOTS")) as unknown[][];
          if (!slots.every((range) => range.length - 2 === 1 + replicas)) return false;
        }
        return true;
      });
    };

    const allMasters = [...masterPorts, ...spares.map((spare) => spare.port)];
    const startMigration = async (slot: number, destination: number): Promise<SlotMigration> => {
      const source = await masterOf(slot);
      const idOf = async (port: number) => String(await client(port).call("CLUSTER", "MYID"));
      const [sourceId, destinationId] = await Promise.all([idOf(source), idOf(destination)]);
      await client(destination).call("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
      await client(source).call("CLUSTER", "SETSLOT", slot, "MIGRATING", destinationId);
      const moveKeys = async (keys: readonly string[]) => {
        if (keys.length > 0) await client(source).call("MIGRATE", HOST, destination, "", 0, 5000, "KEYS", ...keys);
      };
      return {
        slot,
        source,
        destination,
        moveKeys,
        async finish() {
          for (;;) {
            const keys = (await client(source).call("CLUSTER", "GETKEYSINSLOT", slot, 100)) as string[];
            if (keys.length === 0) break;
            await moveKeys(keys);
          }
          // the destination first: it takes the slot with a new config epoch, which gossip carries
          for (const port of [destination, source, ...allMasters.filter((p) => p !== source && p !== destination)]) {
            await client(port).call("CLUSTER", "SETSLOT", slot, "NODE", destinationId);
          }
        },
        async cancel() {
          await Promise.all([source, destination].map((port) => client(port).call("CLUSTER", "SETSLOT", slot, "STABLE")));
        },
      };
    };

    await waitHealthy(Math.max(1000, deadline - Date.now()));
    return {
      nodes,
      spares,
      startupNodes: masterPorts.map((port) => ({ host: HOST, port })),
      roles,
      masterOf,
      waitHealthy,
      client,
      startMigration,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
