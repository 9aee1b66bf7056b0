/**
 * `@tikv/raw`: the RawKV client of the TiKV TypeScript client (client-go's `rawkv` package).
 *
 * @packageDocumentation
 */

/**
 * The errors a raw call can reject with, and the checks to tell them apart. `@tikv/raw` ships an
 * ESM and a CommonJS build whose classes are distinct: in code that mixes them `instanceof`
 * fails, so test errors with {@link isTiKVError} (a brand check that works across copies) and
 * their `code`.
 */
export {
  ApiVersionMismatchError,
  BackoffBudgetExceededError,
  type BytesLike,
  ClientClosedError,
  CodecError,
  DeadlineExceededError,
  EntryTooLargeError,
  ErrorCode,
  InvalidArgumentError,
  isRetryableError,
  isTiKVError,
  KeyError,
  KeyTooLargeError,
  MAX_ENTRY_SIZE_BYTES,
  MAX_KEY_SIZE_BYTES,
  MAX_WRITE_EXECUTION_MS,
  MaxScanLimitExceededError,
  PdError,
  RegionError,
  /** A transport failure talking to TiKV or PD (code `RPC_ERROR`). */
  RpcError,
  TiKVError,
} from '@tikv/common';
/** What `connect` rejects with when an API V2 keyspace is unknown, not enabled or not encodable. */
export { KeyOutOfKeyspaceError, KeyspaceError, KeyspaceErrorReason } from '@tikv/keyspace';
/**
 * The sender and locator a {@link RawClientParts} takes: `@tikv/rpc`'s `RegionSender` and
 * `KeyLocator` under their former names.
 */
export type {
  /** @deprecated use `KeyLocator` from `@tikv/rpc` */
  KeyLocator as RawRegionLocator,
  /** @deprecated use `RegionRequestOptions` from `@tikv/rpc` */
  RegionRequestOptions as RawSendOptions,
  /** @deprecated use `RegionSender` from `@tikv/rpc` */
  RegionSender as RawRequestSender,
} from '@tikv/rpc';
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
export {
  DEFAULT_SCAN_PAGE_SIZE,
  MAX_RAW_SCAN_LIMIT,
  RAW_BATCH_PAIR_COUNT,
  RAW_BATCH_PUT_SIZE_BYTES,
  RAW_MAX_BACKOFF_MS,
} from './raw-limits.js';
export type { CompareAndSwapResult, KeyRangeInput, KvPair, KvPairInput, RawChecksum } from './raw-types.js';
