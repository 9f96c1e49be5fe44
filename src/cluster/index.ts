/**
 * Redis Cluster support: script transports (EVALSHA or Functions, standalone or cluster), the
 * loaders behind them, slot routing, cluster configuration and health. See docs/SCALING.md.
 */
export {
  ClusterScriptTransport,
  READ_FROM,
  SCRIPT_MODES,
  StandaloneScriptTransport,
  type ScriptCall,
  type ReadFrom,
  type ScriptMode,
  type ScriptTransport,
  type TransportOptions,
} from "./transport.js";
export { runKeyed, type Command, type KeyedCommand, type Outcome } from "./pipeline.js";
export { librariesOnNode, loadLibraries, loadScripts, pruneLibraries, type LibrariesOnNode, type RoundTrip } from "./loader.js";
export { clusterReady, groupBySlotOwner, masters, nodeAddress, replicas, slotOf, type CallGroup } from "./topology.js";
export { CLUSTER_NODES_ENV, clusterNodesFromEnv, refuseDatabaseSettings, type StartupNode } from "./config.js";
export { clusterHealth, type ClusterHealth, type ClusterHealthOptions, type ClusterNodeHealth } from "./health.js";
