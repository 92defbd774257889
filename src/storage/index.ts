// The storage folder's public face: the core's Storage interface and MemoryStorage (which live in
// core, since the core's tests need them without I/O), and the durable LMDB store of live nodes.

export type { Storage, InitialState } from '../core/storage.js';
export { MemoryStorage } from '../core/storage.js';
export { LmdbStorage, storageDirFor, DATA_FILE, LOCK_FILE, MARKER_FILE, WAL_FILE } from './lmdb-storage.js';
export type { LmdbStorageOptions, StorageDescription, StorageRecovery, StorageTraceEvent } from './lmdb-storage.js';
export { StorageError, StorageOpenError, StorageCorruptError } from './errors.js';
export { checkLmdbDataFile } from './lmdb-file.js';
