// Public face of src/experiment: experiment files (YAML) -> a validated spec -> the run matrix.
// The runner and the results writer build on these.
export { parseExperiment, resolvePoint, experimentDefaults, experimentLimits } from './schema.js';
export { expandMatrix, formatMatrix } from './matrix.js';
export { ExperimentFileError, formatIssue } from './errors.js';
export { experimentFileBytesMax } from './yaml-source.js';
export {
  arrivalKinds,
  attachKinds,
  experimentModes,
  faultKinds,
  keyDistKinds,
  loopKinds,
  nodeTargetNames,
  seedScopes,
  storageKinds,
} from './types.js';
export type {
  ArrivalKind,
  AttachKind,
  ClusterSpec,
  DiskModel,
  DownTarget,
  ExperimentIssue,
  ExperimentMode,
  ExperimentSource,
  ExperimentSpec,
  FaultAction,
  FaultKind,
  FaultSpec,
  KeyDist,
  KeyDistKind,
  LoopKind,
  LoopSpec,
  NetworkChange,
  NodeTarget,
  PlannedRun,
  ProcessingModel,
  RunMatrix,
  RunSpec,
  SeedScope,
  StopSpec,
  StorageKind,
  SweepAxis,
  WorkloadSpec,
} from './types.js';
