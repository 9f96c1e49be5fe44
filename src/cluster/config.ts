/**
 * Cluster mode's configuration. ioredis users name a cluster by its startup nodes
 * (`new Cluster([{ host, port }, ...])`), so the SDK takes either such a `Cluster` or the same
 * list as `MATHD_CLUSTER_NODES=host:port,host:port` (any reachable nodes; ioredis discovers the
 * rest). A cluster has only DB 0: the database map's numbers cannot apply there, so settings
 * that move a database (`MATHD_DB_<NAME>`, a `db` option) are refused instead of ignored.
 */
import { ConfigurationError, shownValue } from "../core/errors.js";
import { optionNames, refuseUnknownOptions } from "../core/options.js";

/** The environment variable that selects cluster mode. */
export const CLUSTER_NODES_ENV = "MATHD_CLUSTER_NODES";

/** A startup node as ioredis's `Cluster` takes it. */
export interface StartupNode {
  readonly host: string;
  readonly port: number;
}

const STARTUP_NODE_SETTINGS = optionNames<StartupNode>({ host: true, port: true });

/** Whether a port number is one a node can listen on. */
const isPort = (port: unknown): port is number => Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65_535;

/**
 * Startup nodes given as objects, checked as `MATHD_CLUSTER_NODES` is ({@link clusterNodesFromEnv}):
 * at least one, each `{ host, port }` and nothing else (a `prot` would leave ioredis's default
 * port, 6379: maybe another server).
 */
export function checkedStartupNodes(nodes: unknown): readonly StartupNode[] {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new ConfigurationError("cluster", "must be an ioredis Cluster or a list of at least one { host, port }");
  nodes.forEach((node: unknown, i) => {
    const name = `cluster[${i}]`;
    refuseUnknownOptions(node ?? null, STARTUP_NODE_SETTINGS, { name, kind: "setting", error: ConfigurationError });
    const { host, port } = node as StartupNode;
    if (typeof host !== "string" || host === "") throw new ConfigurationError(`${name}.host`, `must be a host name or address, got ${shownValue(host)}`);
    if (!isPort(port)) throw new ConfigurationError(`${name}.port`, `must be an integer in 1..65535, got ${shownValue(port ?? null)}`);
  });
  return nodes as readonly StartupNode[];
}

const NODE = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * Parses `host:port,host:port` (IPv6 as `[::1]:7000`). Undefined when the variable is unset or
 * empty (standalone mode); a ConfigurationError naming the variable for any malformed entry.
 */
export function clusterNodesFromEnv(env: NodeJS.ProcessEnv = process.env): StartupNode[] | undefined {
  const text = env[CLUSTER_NODES_ENV]?.trim();
  if (!text) return undefined;
  return text.split(",").map((part) => {
    const m = NODE.exec(part.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || !isPort(port)) {
      throw new ConfigurationError(CLUSTER_NODES_ENV, `${JSON.stringify(part.trim())} is not host:port (e.g. 10.0.0.5:7000,10.0.0.6:7000)`);
    }
    const host = (m[1] as string).replace(/^\[(.*)\]$/, "$1");
    return { host, port };
  });
}

/**
 * Refuses what would move a database in cluster mode: any `MATHD_DB_<NAME>` variable, or a
 * non-zero `db` option. The key families carry the database's role in their first word
 * (`ticks:`, `indicator:`, `news:` ...), so all of them live in DB 0 side by side.
 */
export function refuseDatabaseSettings(env: NodeJS.ProcessEnv = process.env, db?: number): void {
  const moved = Object.keys(env).filter((name) => name.startsWith("MATHD_DB_") && env[name] !== undefined && env[name] !== "");
  if (moved.length > 0) {
    throw new ConfigurationError(
      moved.sort()[0] as string,
      `a Redis Cluster has only DB 0, where every key family lives under its own prefix; unset ${moved.sort().join(", ")}`,
    );
  }
  if (db !== undefined && db !== 0) {
    throw new ConfigurationError("db", `a Redis Cluster has only DB 0 (got ${db}); key families replace the database map there`);
  }
}
