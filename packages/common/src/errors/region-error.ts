import { TiKVError } from './tikv-error.js';

/**
 * The arms of kvproto's `errorpb.Error`, in field order, plus `Other` for an
 * error whose arm this client does not know (only the message is set).
 */
export const RegionErrorKind = Object.freeze({
  NotLeader: 'NotLeader',
  RegionNotFound: 'RegionNotFound',
  KeyNotInRegion: 'KeyNotInRegion',
  EpochNotMatch: 'EpochNotMatch',
  ServerIsBusy: 'ServerIsBusy',
  StaleCommand: 'StaleCommand',
  StoreNotMatch: 'StoreNotMatch',
  RaftEntryTooLarge: 'RaftEntryTooLarge',
  MaxTimestampNotSynced: 'MaxTimestampNotSynced',
  ReadIndexNotReady: 'ReadIndexNotReady',
  ProposalInMergingMode: 'ProposalInMergingMode',
  DataIsNotReady: 'DataIsNotReady',
  RegionNotInitialized: 'RegionNotInitialized',
  DiskFull: 'DiskFull',
  RecoveryInProgress: 'RecoveryInProgress',
  FlashbackInProgress: 'FlashbackInProgress',
  FlashbackNotPrepared: 'FlashbackNotPrepared',
  IsWitness: 'IsWitness',
  MismatchPeerId: 'MismatchPeerId',
  BucketVersionNotMatch: 'BucketVersionNotMatch',
  UndeterminedResult: 'UndeterminedResult',
  Other: 'Other',
} as const);

/** One of the {@link RegionErrorKind} names. */
export type RegionErrorKind = (typeof RegionErrorKind)[keyof typeof RegionErrorKind];

/**
 * Region error kinds that the request sender must not retry: client-go
 * surfaces them to the caller instead of backing off (flashback in progress or
 * not prepared, an entry too large for raft, an undetermined result).
 */
const NON_RETRYABLE_KINDS: ReadonlySet<RegionErrorKind> = new Set<RegionErrorKind>([
  'RaftEntryTooLarge',
  'FlashbackInProgress',
  'FlashbackNotPrepared',
  'UndeterminedResult',
]);

/**
 * Tells whether the request sender may retry after a region error of this kind.
 *
 * @param kind - the region error kind
 * @returns false for the kinds client-go returns to the caller
 */
export function isRetryableRegionErrorKind(kind: RegionErrorKind): boolean {
  return !NON_RETRYABLE_KINDS.has(kind);
}

/** Fields of a {@link RegionError} besides its kind and message. */
export interface RegionErrorOptions extends ErrorOptions {
  /** The region the request was sent to, when known. */
  readonly regionId?: bigint;
  /** The store the request was sent to, when known. */
  readonly storeId?: bigint;
  /**
   * The server's payload for this arm (for example the `EpochNotMatch`
   * message with its `currentRegions`), kept as received.
   */
  readonly detail?: unknown;
  /** Overrides the default retryable flag derived from the kind. */
  readonly retryable?: boolean;
}

/**
 * A region error returned by TiKV (kvproto `errorpb.Error`).
 *
 * Region errors are handled inside the request sender (refresh the region
 * cache, switch peers, back off, retry); users normally meet them only in the
 * `cause` chain of a `BackoffBudgetExceededError`.
 */
export class RegionError extends TiKVError {
  override name = 'RegionError';
  /** Which `errorpb.Error` arm was set. */
  readonly kind: RegionErrorKind;
  /** The region the request was sent to, when known. */
  readonly regionId: bigint | undefined;
  /** The store the request was sent to, when known. */
  readonly storeId: bigint | undefined;
  /** The server's payload for the arm, unchanged. */
  readonly detail: unknown;

  /**
   * @param kind - the arm of `errorpb.Error` that was set
   * @param message - the server's message (kept in the error message)
   * @param options - region and store ids, the arm payload, cause
   */
  constructor(kind: RegionErrorKind, message: string, options: RegionErrorOptions = {}) {
    const where = options.regionId === undefined ? '' : ` (region ${options.regionId})`;
    const text = message === '' ? kind : `${kind}: ${message}`;
    super('REGION_ERROR', `region error${where}: ${text}`, {
      retryable: options.retryable ?? isRetryableRegionErrorKind(kind),
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.kind = kind;
    this.regionId = options.regionId;
    this.storeId = options.storeId;
    this.detail = options.detail;
  }
}

/**
 * Tells whether a region error is client-go's "fake" EpochNotMatch: an
 * EpochNotMatch whose payload lists no current regions, which the sender treats
 * like any other region error (back off) rather than as a real epoch change.
 *
 * @param err - a region error
 * @returns true for an EpochNotMatch without current regions
 */
export function isFakeEpochNotMatch(err: RegionError): boolean {
  if (err.kind !== 'EpochNotMatch') return false;
  const detail = err.detail as { currentRegions?: unknown } | null | undefined;
  const regions = detail?.currentRegions;
  return !Array.isArray(regions) || regions.length === 0;
}

/**
 * The server's backoff suggestion carried by a ServerIsBusy region error
 * (`backoffMs`, else `estimatedWaitMs`), for the `minSleepMs` option of
 * `Backoffer.backoff`.
 *
 * @param err - a region error
 * @returns the hint in milliseconds, or undefined when there is none
 */
export function serverBusyHintMs(err: RegionError): number | undefined {
  if (err.kind !== 'ServerIsBusy') return undefined;
  const detail = err.detail as { backoffMs?: unknown; estimatedWaitMs?: unknown } | null | undefined;
  for (const v of [detail?.backoffMs, detail?.estimatedWaitMs]) {
    const ms = typeof v === 'bigint' ? Number(v) : v;
    if (typeof ms === 'number' && Number.isFinite(ms) && ms > 0) return ms;
  }
  return undefined;
}
