// Public face of src/kv: the replicated KV state machine and its command encoding.
export {
  KvDecodeError,
  KvStateMachine,
  decodeCommand,
  encodeCommand,
  isKvCommand,
  keyBytesMax,
  valueBytesMax,
} from './state-machine.js';
export type { KvCommand, KvOpName, KvResult, KvStateMachineOptions, KvStatus } from './state-machine.js';
