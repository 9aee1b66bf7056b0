/**
 * `@tikv/txn`: the transactional client of the TiKV TypeScript client (client-go's `txnkv`).
 *
 * This first part holds the transaction's write buffer ({@link MemBuffer}, client-go's
 * `unionstore.MemDB`) and the read path that merges it over a snapshot ({@link UnionStore}).
 *
 * @packageDocumentation
 */

export type { KvPair } from './kv-pair.js';
export { MAX_KEY_LENGTH as MAX_BUFFER_KEY_BYTES } from './membuffer/art-layout.js';
export {
  applyFlagsOp,
  applyFlagsOps,
  FlagsOp,
  KeyFlags,
  PERSISTENT_KEY_FLAGS,
} from './membuffer/key-flags.js';
export {
  MemBuffer,
  type MemBufferCheckpoint,
  type MemBufferIterOptions,
} from './membuffer/mem-buffer.js';
export type { MemBufferIterator } from './membuffer/mem-buffer-iterator.js';
export {
  DEFAULT_MEM_BUFFER_LIMITS,
  type MemBufferLimits,
  type MemBufferOptions,
} from './membuffer/mem-buffer-options.js';
export type { MemBufferSnapshot, MemBufferSnapshotIterOptions } from './membuffer/mem-buffer-snapshot.js';
export type {
  LockResolving,
  ResolveLocksOptions,
  ResolveLocksResult,
  TxnOracle,
  TxnParts,
} from './txn-deps.js';
export type { SnapshotIterateOptions, SnapshotReader } from './union-store/snapshot-reader.js';
export { type UnionScanOptions, UnionStore, unionIterate } from './union-store/union-store.js';
