// Public face of src/faults: the one network-fault description shared by the simulator and the
// live transport, and the unit parsers experiment files use.
export {
  FaultModel,
  LatencySampler,
  LinkModel,
  defaultLinkSpec,
  defaultNetworkSpec,
  distMeanUs,
  distNames,
  latencyDistToPlain,
  networkSpecToPlain,
  newMessageFate,
  nodeIdMax,
  parseLatencyDist,
  parseLinkKey,
  parseNetworkSpec,
  parsePartition,
} from './fault-model.js';
export type {
  DistName,
  LatencyDist,
  LinkOverride,
  LinkPatch,
  LinkSpec,
  MessageFate,
  NetworkSpec,
  NodeSelector,
  Partition,
} from './fault-model.js';
export { IssueList, SpecError, describeValue, formatIssues, isPlainObject } from './spec-error.js';
export type { SpecIssue } from './spec-error.js';
export {
  formatBytes,
  formatDurationUs,
  formatPercent,
  formatRatePerSec,
  parseBytes,
  parseDurationUs,
  parseProbability,
  parseRatePerSec,
} from './units.js';
