/**
 * `@tikv/common`: the shared building blocks of the TiKV TypeScript client.
 *
 * Errors, the Backoffer and its backoff kinds, key and byte utilities, the
 * memcomparable and number codecs, TSO timestamp helpers, logger and metrics
 * hooks, AbortSignal helpers and option resolution.
 *
 * @packageDocumentation
 */

// Shared async helpers and the CRC-64 (issue 11: one pending-request helper, one AsyncQueue,
// one CRC-64 for every package).
export { AsyncQueue } from './async/async-queue.js';
export { PendingRequest } from './async/pending-request.js';
export { MAX_BACKOFF_MS } from './backoff/backoff-budgets.js';
export {
  type BackoffKind,
  type BackoffKindName,
  BackoffKinds,
  BackoffSequence,
  backoffSleepMs,
  defineBackoffKind,
  Jitter,
  TXN_LOCK_FAST_KIND_NAME,
} from './backoff/backoff-kind.js';
export {
  BACKOFF_CHANNEL,
  type BackoffEvent,
  Backoffer,
  type BackofferBudgetOptions,
  type BackofferCopyOptions,
  type BackofferOptions,
  type BackoffOptions,
  DEFAULT_BACKOFFER_OPTIONS,
  type ForkedBackoffer,
  MAX_RECORDED_BACKOFF_ERRORS,
} from './backoff/backoffer.js';
export { mayBackoffForRegionError } from './backoff/region-error-backoff.js';
export type { Decoded } from './codec/decoded.js';
export {
  decodeBytes,
  decodeBytesDesc,
  ENC_GROUP_SIZE,
  ENC_MARKER,
  ENC_PAD,
  encodeBytes,
  encodeBytesDesc,
  encodedBytesLength,
} from './codec/memcomparable-bytes.js';
export {
  decodeCmpUintToInt,
  decodeInt,
  decodeIntDesc,
  decodeUint,
  decodeUintDesc,
  encodeIntBE,
  encodeIntDesc,
  encodeIntToCmpUint,
  encodeUintBE,
  encodeUintDesc,
  I64_MAX,
  I64_MIN,
  toI64,
  toU64,
  U64_MAX,
} from './codec/number.js';
export {
  decodeComparableUvarint,
  decodeComparableVarint,
  decodeUvarint,
  decodeVarint,
  encodeComparableUvarint,
  encodeComparableVarint,
  encodeUvarint,
  encodeVarint,
  MAX_VARINT64_LENGTH,
} from './codec/varint.js';
export type {
  CommitDetails,
  CommitDetailsOptions,
  ExecDetails,
  ExecDetailsOptions,
  LockKeysDetails,
  LockKeysDetailsOptions,
  RpcStats,
  ScanDetail,
  TimeDetail,
  WriteDetail,
} from './details/exec-details.js';
export {
  deliverDetails,
  EMPTY_EXEC_DETAILS,
  ExecDetailsCollector,
  MAX_REQUEST_ERROR_LABELS,
  mergeExecDetails,
  mergeLockKeysDetails,
  type WireExecDetails,
  type WireScanDetailV2,
  type WireTimeDetail,
  type WireTimeDetailV2,
  type WireWriteDetail,
  withExecDetails,
} from './details/exec-details-collector.js';
export {
  ApiVersionMismatchError,
  type ApiVersionMismatchFields,
} from './errors/api-version-mismatch-error.js';
export {
  BackoffBudgetExceededError,
  type BackoffBudgetExceededFields,
  type BackoffErrorRecord,
  type BackoffKindStats,
  ClientClosedError,
  CodecError,
  DeadlineExceededError,
  InvalidArgumentError,
  MaxScanLimitExceededError,
  PD_ERROR_TYPE_NAMES,
  PdError,
  PdErrorType,
  pdErrorFromWire,
  StoreTokenLimitError,
  UndeterminedError,
} from './errors/client-errors.js';
export { ErrorCode, isErrorCode } from './errors/error-code.js';
export {
  type ErrorClassByCode,
  type ErrorForCode,
  isKeyError,
  isRetryableError,
  isTiKVError,
} from './errors/is-tikv-error.js';
export {
  keyErrorFromWire,
  lockInfoFromWire,
  type WireEnum,
  type WireKeyError,
  type WireLockInfo,
  type WireU64,
  type WireWaitForEntry,
} from './errors/key-error-from-wire.js';
export {
  AlreadyExistsError,
  type AlreadyExistsOptions,
  Assertion,
  AssertionFailedError,
  type AssertionFailedFields,
  CommitTsExpiredError,
  type CommitTsExpiredFields,
  CommitTsTooLargeError,
  DeadlockError,
  type DeadlockFields,
  KeyError,
  type KeyErrorCode,
  type KeyErrorOptions,
  KeyIsLockedError,
  LockUpgradeConflictError,
  type LockUpgradeConflictFields,
  LockUpgradeConflictReason,
  PrimaryMismatchError,
  RetryableKeyError,
  SharedLockLostError,
  type SharedLockLostFields,
  TxnAbortedError,
  TxnLockNotFoundError,
  TxnNotFoundError,
  type TxnNotFoundFields,
  WriteConflictError,
  type WriteConflictFields,
  WriteConflictReason,
} from './errors/key-errors.js';
export { type LockInfo, makeLockInfo, OP_NAMES, Op, type WaitForEntry } from './errors/lock-info.js';
export { PdUnreachableError, type PdUnreachableErrorOptions } from './errors/pd-unreachable-error.js';
export {
  isFakeEpochNotMatch,
  isRetryableRegionErrorKind,
  RegionError,
  RegionErrorKind,
  type RegionErrorOptions,
  serverBusyHintMs,
} from './errors/region-error.js';
export { regionErrorFromWire, type WireRegionError } from './errors/region-error-from-wire.js';
export { RpcError, type RpcErrorFields } from './errors/rpc-error.js';
export { EntryTooLargeError, KeyTooLargeError, TxnTooLargeError } from './errors/size-errors.js';
export { TIKV_ERROR_BRAND, TiKVError, type TiKVErrorOptions } from './errors/tikv-error.js';
export { crc64 } from './hash/crc64.js';
export { type LogFields, type Logger, noopLogger } from './hooks/logger.js';
export { METRIC_NAMES, type MetricLabels, type MetricsHook, noopMetrics } from './hooks/metrics.js';
export { bytesToHex, formatKey } from './keys/key-format.js';
export {
  compareEndKeys,
  isRangeEmpty,
  type KeyRange,
  keyInRange,
  rangeContains,
  rangeIntersect,
} from './keys/key-range.js';
export { firstRepeatedKey, type SortedKeys, searchSortedKey, sortKeys } from './keys/key-set.js';
export {
  type BytesLike,
  compareKeys,
  concatBytes,
  hexToBytes,
  keysEqual,
  keyToLatin1,
  nextKey,
  prefixNext,
  toBytes,
} from './keys/key-utils.js';
export { type AbortListener, offAbort, onAbort } from './options/abort-listeners.js';
export {
  type OperationScope,
  type OperationScopeOptions,
  openOperationScope,
  withOperationScope,
} from './options/operation-scope.js';
export { raceSignal } from './options/race-signal.js';
export {
  abortReason,
  anySignal,
  combineSignal,
  deadlineSignal,
  isDeadlineExceeded,
  type RequestOptions,
  throwIfAborted,
} from './options/request-options.js';
export {
  type DefinedOnly,
  definedOnly,
  mustBeInRange,
  mustBeNonNegative,
  mustBeNonNegativeInteger,
  mustBePositive,
  mustBePositiveInteger,
  type OptionRule,
  type OptionRules,
  type Resolved,
  resolveOptions,
} from './options/resolve-options.js';
export { pemBytes, type TlsOptions } from './options/tls-options.js';
export {
  buildRequestSource,
  ExplicitRequestSourceType,
  InternalTxnType,
  isInternalRequestSource,
  type RequestSourceParts,
} from './request/request-source.js';
export {
  type Clock,
  type ClockTimer,
  createSeededRandom,
  MAX_TIMER_MS,
  ManualClock,
  type ManualClockOptions,
  type RandomSource,
  type SleepOptions,
  sleepMs,
  systemClock,
} from './time/clock.js';
export {
  composeTs,
  dateFromTs,
  extractLogical,
  extractPhysical,
  GLOBAL_TXN_SCOPE,
  isLockExpired,
  LOGICAL_MASK,
  lowerLimitStartTs,
  MAX_LOGICAL,
  msUntilExpired,
  PHYSICAL_SHIFT_BITS,
  physicalFromDate,
  staleTsFromLast,
  tsFromDate,
  tsFromMs,
} from './tso/tso.js';
export {
  checkArray,
  checkBytes,
  checkObject,
  checkOptionalBoolean,
  checkOptionalBytes,
  checkOptionalNonNegativeInteger,
  checkOptionalString,
  checkOptionsObject,
  checkRequestOptions,
  invalidArgument,
} from './validation/argument-checks.js';
export { describeValue } from './validation/describe-value.js';
export {
  type CheckedPair,
  checkBoundKey,
  checkForwardRange,
  checkKey,
  checkKeys,
  checkPairs,
  checkReverseRange,
  checkValue,
  uniqueKeys,
} from './validation/key-checks.js';
export {
  MAX_ENTRY_SIZE_BYTES,
  MAX_KEY_SIZE_BYTES,
  MAX_WRITE_EXECUTION_MS,
} from './validation/tikv-limits.js';
