// Public face of src/node: live node processes (the Ready loop over LMDB and the WebSocket
// transport, the KV service, its client API, metrics and logs), local clusters of them, the
// client library, and the live driver of experiment runs.
export {
  CLUSTER_FILE,
  ClusterConfigError,
  clusterConfigDefaults,
  clusterConfigToPlain,
  dataDirOf,
  loadClusterConfig,
  newClusterId,
  newSecret,
  nodeAddress,
  nodeLogFile,
  parseClusterConfig,
  saveClusterConfig,
} from './config.js';
export type { ClusterConfig, NodeAddress, StorageKind, TransportKind } from './config.js';
export { LiveNode, putWaitersMax, readWaitersMax, roleName } from './live-node.js';
export type { Answer, LiveNodeOptions, NodeCounters } from './live-node.js';
export { NodeLog } from './log.js';
export type { NodeLogLevel } from './log.js';
export { ClientApi } from './client-api.js';
export * from './client-protocol.js';
export { controlPath, signControl, verifyControl } from './control.js';
export type { SignedControl } from './control.js';
export { nodeMetricsText } from './metrics.js';
export {
  ClientError,
  ConnectionPool,
  KvSession,
  NodeConnection,
  monotonicClockUs,
  runClosedLoop,
  runOpenLoop,
} from './client.js';
export type { Clock, ClusterTarget, ConnectOptions, LatencySample, LoadCounters, OpResult, OpSpec, SessionOptions } from './client.js';
export { ClusterError, LocalCluster, defaultFrbPath, freePorts, httpGetJson, httpGetText } from './cluster.js';
export type { ClusterUpOptions, NodeHealth } from './cluster.js';
export { runLiveCluster } from './live-runner.js';
export type { LiveRunOptions, LiveRunResult, LiveFaultEvent, LiveNodeSnapshot } from './live-runner.js';
