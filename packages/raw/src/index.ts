/**
 * `@tikv/raw`: the RawKV client of the TiKV TypeScript client (client-go's `rawkv` package).
 *
 * @packageDocumentation
 */

/** What `connect` rejects with when an API V2 keyspace is unknown, not enabled or not encodable. */
export { KeyspaceError, KeyspaceErrorReason } from '@tikv/keyspace';
export type {
  RawBatchPutOptions,
  RawBatchScanOptions,
  RawCallOptions,
  RawPutOptions,
  RawScanIterOptions,
  RawScanOptions,
} from './raw-call-options.js';
export { RawClient, type RawClientParts } from './raw-client.js';
export {
  DEFAULT_RAW_CLIENT_OPTIONS,
  type RawClientOptions,
  type RawClientTuning,
  type RawTlsOptions,
  type ResolvedRawClientTuning,
  resolveRawClientTuning,
} from './raw-client-options.js';
export type { RawRegionLocator, RawRequestSender, RawSendOptions } from './raw-deps.js';
export { EntryTooLargeError, KeyTooLargeError } from './raw-errors.js';
export {
  DEFAULT_SCAN_PAGE_SIZE,
  MAX_ENTRY_SIZE_BYTES,
  MAX_KEY_SIZE_BYTES,
  MAX_RAW_SCAN_LIMIT,
  MAX_WRITE_EXECUTION_MS,
  RAW_BATCH_PAIR_COUNT,
  RAW_BATCH_PUT_SIZE_BYTES,
  RAW_MAX_BACKOFF_MS,
} from './raw-limits.js';
export type { CompareAndSwapResult, KeyRangeInput, KvPair, KvPairInput, RawChecksum } from './raw-types.js';
