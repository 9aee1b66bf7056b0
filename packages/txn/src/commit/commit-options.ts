import {
  InvalidArgumentError,
  MAX_BACKOFF_MS,
  mustBeNonNegative,
  mustBeNonNegativeInteger,
  mustBePositive,
  mustBePositiveInteger,
  type OptionRule,
  type Resolved,
  resolveOptions,
} from '@tikv/common';
import { type CommandPriority, DiskFullOpt, type ResourceGroupTagger } from '@tikv/rpc';
import type { KeyFlags } from '../membuffer/key-flags.js';

/** How strictly TiKV checks the mutations' existence assertions (kvproto `AssertionLevel`). */
export const AssertionLevel = Object.freeze({
  /** No check; assertions are not even sent. */
  OFF: 'off',
  /** Checked where it costs nothing extra (the key was read anyway). */
  FAST: 'fast',
  /** Always checked, reading the key when needed. */
  STRICT: 'strict',
} as const);
/** One of the {@link AssertionLevel} values. */
export type AssertionLevel = (typeof AssertionLevel)[keyof typeof AssertionLevel];

/**
 * Leaves buffered entries out of the commit (client-go `KVFilter.IsUnnecessaryKeyValue`): return
 * true for a key whose write need not be committed. A filtered key that holds a pessimistic lock is
 * still prewritten as a lock, so the lock is released.
 */
export type CommitKeyFilter = (key: Uint8Array, value: Uint8Array, flags: KeyFlags) => boolean;

/**
 * How one transaction commits (client-go's `KVTxn` setters and `config.TiKVClient` /
 * `config.Config` commit settings). Every field is optional; defaults are client-go's
 * ({@link DEFAULT_COMMIT_OPTIONS}).
 */
export interface CommitOptions {
  /**
   * Try async commit (client-go `SetEnableAsyncCommit`): the transaction is committed once every
   * prewrite succeeded, at the largest `min_commit_ts` TiKV answered, and all keys are committed in
   * the background. Falls back to 2PC when the transaction is too large
   * ({@link CommitOptions.asyncCommitKeysLimit}, {@link CommitOptions.asyncCommitTotalKeySizeLimitBytes})
   * or when TiKV declines. @defaultValue false
   */
  readonly asyncCommit?: boolean | undefined;
  /**
   * Try one-phase commit (client-go `SetEnable1PC`): a transaction whose mutations fit one prewrite
   * request (one region, one batch) is committed by that request. Falls back to 2PC otherwise, or
   * when TiKV declines. @defaultValue false
   */
  readonly onePc?: boolean | undefined;
  /**
   * Give up linearizability for async commit and 1PC (client-go `SetCausalConsistency`): skip the
   * timestamp fetched before prewrite that makes the commit ts larger than every snapshot already
   * taken; only causally related transactions are then ordered. @defaultValue false
   */
  readonly causalConsistency?: boolean | undefined;
  /** Assertion checks TiKV makes on prewrite (client-go `SetAssertionLevel`). @defaultValue 'off' */
  readonly assertionLevel?: AssertionLevel | undefined;
  /**
   * When the transaction began, in milliseconds of the committer's clock (`TxnParts.clock`): the
   * time spent before commit is added to the lock TTL, and async commit's `max_commit_ts` counts
   * from it (client-go `txn.startTime`). @defaultValue when the committer is created
   */
  readonly startTimeMs?: number | undefined;
  /**
   * The primary key when it was chosen before commit (a pessimistic transaction's first locked
   * key); it must be one of the buffer's mutations. @defaultValue the first mutation's key, as
   * client-go chooses it
   */
  readonly primaryKey?: Uint8Array | undefined;
  /** Leaves entries out of the commit (client-go `SetKVFilter`). @defaultValue none */
  readonly filter?: CommitKeyFilter | undefined;
  /**
   * Vetoes a commit ts (client-go `SetCommitTSUpperBoundCheck`, TiDB's cached tables): false fails
   * the commit before the primary is committed, and what was prewritten is rolled back. Setting it
   * turns async commit and 1PC off (their commit ts is never checked). @defaultValue none
   */
  readonly commitTsUpperBoundCheck?: ((commitTs: bigint) => boolean) | undefined;
  /**
   * Checks the commit ts of a 2PC commit before the primary is committed (client-go's
   * `SchemaLeaseChecker.CheckBySchemaVer`): throwing (or rejecting) fails the commit, and what was
   * prewritten is rolled back. @defaultValue none
   */
  readonly commitTsChecker?: ((commitTs: bigint) => void | Promise<void>) | undefined;
  /** `Context.priority` of the commit's requests. @defaultValue 'normal' */
  readonly priority?: CommandPriority | undefined;
  /** `Context.requestSource` of the commit's requests. @defaultValue none */
  readonly requestSource?: string | undefined;
  /** `Context.resourceControlContext.resourceGroupName`. @defaultValue none */
  readonly resourceGroupName?: string | undefined;
  /** `Context.resourceGroupTag`. @defaultValue none */
  readonly resourceGroupTag?: Uint8Array | undefined;
  /**
   * Computes `Context.resourceGroupTag` per request (prewrite, commit, rollback) when
   * `resourceGroupTag` is not set (client-go `SetResourceGroupTagger`). @defaultValue none
   */
  readonly resourceGroupTagger?: ResourceGroupTagger | undefined;
  /**
   * Whether prewrite and commit may write while TiKV's disk is almost full (client-go
   * `SetDiskFullOpt`; rollbacks and lock requests do not carry it, as in client-go).
   * @defaultValue 'notAllowedOnFull'
   */
  readonly diskFullOpt?: DiskFullOpt | undefined;

  /**
   * Prewrite and commit requests are cut at this many bytes of keys (plus values for prewrite) per
   * region (client-go `TxnCommitBatchSize`). @defaultValue 16384 (16 KiB)
   */
  readonly commitBatchSizeBytes?: number | undefined;
  /** Most prewrite, commit or rollback requests in flight at once (client-go `CommitterConcurrency`). @defaultValue 128 */
  readonly concurrency?: number | undefined;
  /**
   * The TTL a heartbeat keeps a large transaction's primary lock alive for, in milliseconds, and
   * the ceiling of the TTL computed from the transaction's size (client-go `ManagedLockTTL`).
   * @defaultValue 20000
   */
  readonly managedLockTtlMs?: number | undefined;
  /** Milliseconds between TTL heartbeats. @defaultValue half of `managedLockTtlMs` (client-go's ticker) */
  readonly heartbeatIntervalMs?: number | undefined;
  /**
   * Transactions larger than this many bytes of keys and values keep their primary lock alive
   * with heartbeats once it is prewritten (client-go `TTLRefreshedTxnSize`). @defaultValue 33554432 (32 MiB)
   */
  readonly ttlRefreshedTxnSizeBytes?: number | undefined;
  /**
   * Heartbeats stop this many milliseconds after the transaction's start ts, so a lost client
   * never holds its locks forever (client-go `MaxTxnTTL`). @defaultValue 3600000 (1 hour)
   */
  readonly maxTxnTtlMs?: number | undefined;
  /** Async commit only for at most this many keys (client-go `AsyncCommit.KeysLimit`). @defaultValue 256 */
  readonly asyncCommitKeysLimit?: number | undefined;
  /**
   * Async commit only when the keys total at most this many bytes (client-go
   * `AsyncCommit.TotalKeySizeLimit`). @defaultValue 4096 (4 KiB)
   */
  readonly asyncCommitTotalKeySizeLimitBytes?: number | undefined;
  /**
   * How far past the current time async commit's `max_commit_ts` lies, in milliseconds (client-go
   * `AsyncCommit.SafeWindow`). @defaultValue 2000
   */
  readonly asyncCommitSafeWindowMs?: number | undefined;
  /**
   * A transaction older than this (by its start ts) is not committed (client-go `MaxTxnTimeUse`),
   * in milliseconds. @defaultValue 86400000 (24 hours)
   */
  readonly maxTxnTimeUseMs?: number | undefined;
  /** Backoff budget of prewrite, in milliseconds (client-go `PrewriteMaxBackoff`). @defaultValue 40000 */
  readonly prewriteMaxBackoffMs?: number | undefined;
  /** Backoff budget of the primary's commit, in milliseconds (client-go `CommitMaxBackoff`). @defaultValue 40000 */
  readonly commitMaxBackoffMs?: number | undefined;
  /**
   * Backoff budget of the background commit of the secondaries, in milliseconds (client-go
   * `CommitSecondaryMaxBackoff`). @defaultValue 41000
   */
  readonly commitSecondaryMaxBackoffMs?: number | undefined;
  /** Backoff budget of the rollback after a failed commit, in milliseconds (client-go `cleanupMaxBackoff`). @defaultValue 20000 */
  readonly cleanupMaxBackoffMs?: number | undefined;
  /** Backoff budget of one TTL heartbeat, in milliseconds (client-go `keepAliveMaxBackoff`). @defaultValue 20000 */
  readonly keepAliveMaxBackoffMs?: number | undefined;
}

/** The options of {@link CommitOptions} that have a default value. */
export type CommitTuning = Omit<
  CommitOptions,
  | 'startTimeMs'
  | 'primaryKey'
  | 'filter'
  | 'commitTsUpperBoundCheck'
  | 'commitTsChecker'
  | 'priority'
  | 'requestSource'
  | 'resourceGroupName'
  | 'resourceGroupTag'
  | 'resourceGroupTagger'
  | 'diskFullOpt'
  | 'heartbeatIntervalMs'
>;

/** client-go's commit defaults (`config.DefaultConfig`, `kv.DefTxnCommitBatchSize`, 2pc.go). */
export const DEFAULT_COMMIT_OPTIONS: Resolved<CommitTuning> = Object.freeze({
  asyncCommit: false,
  onePc: false,
  causalConsistency: false,
  assertionLevel: AssertionLevel.OFF,
  commitBatchSizeBytes: 16 * 1024,
  concurrency: 128,
  managedLockTtlMs: 20_000,
  ttlRefreshedTxnSizeBytes: 32 * 1024 * 1024,
  maxTxnTtlMs: 60 * 60 * 1000,
  asyncCommitKeysLimit: 256,
  asyncCommitTotalKeySizeLimitBytes: 4 * 1024,
  asyncCommitSafeWindowMs: 2_000,
  maxTxnTimeUseMs: 24 * 60 * 60 * 1000,
  prewriteMaxBackoffMs: MAX_BACKOFF_MS.prewrite,
  commitMaxBackoffMs: MAX_BACKOFF_MS.commit,
  commitSecondaryMaxBackoffMs: MAX_BACKOFF_MS.commitSecondary,
  cleanupMaxBackoffMs: MAX_BACKOFF_MS.cleanup,
  keepAliveMaxBackoffMs: MAX_BACKOFF_MS.keepAlive,
});

/** {@link CommitOptions} with the defaults applied. @internal */
export interface ResolvedCommitOptions extends Resolved<CommitTuning> {
  readonly heartbeatIntervalMs: number;
  readonly startTimeMs: number | undefined;
  readonly primaryKey: Uint8Array | undefined;
  readonly filter: CommitKeyFilter | undefined;
  readonly commitTsUpperBoundCheck: ((commitTs: bigint) => boolean) | undefined;
  readonly commitTsChecker: ((commitTs: bigint) => void | Promise<void>) | undefined;
  readonly priority: CommandPriority | undefined;
  readonly requestSource: string | undefined;
  readonly resourceGroupName: string | undefined;
  readonly resourceGroupTag: Uint8Array | undefined;
  readonly resourceGroupTagger: ResourceGroupTagger | undefined;
  readonly diskFullOpt: DiskFullOpt | undefined;
}

const mustBeBoolean: OptionRule<boolean> = (v) =>
  typeof v === 'boolean' ? undefined : `must be a boolean, got ${String(v)}`;
const mustBeAssertionLevel: OptionRule<AssertionLevel> = (v) =>
  v === 'off' || v === 'fast' || v === 'strict'
    ? undefined
    : `must be 'off', 'fast' or 'strict', got ${String(v)}`;

/** The objects {@link resolveCommitOptions} returned: resolving one again returns it as it is. */
const RESOLVED = new WeakSet<object>();

/**
 * Applies {@link DEFAULT_COMMIT_OPTIONS} to a transaction's commit options and checks them.
 *
 * @param options - the caller's options
 * @returns the options, defaults applied, frozen
 * @throws InvalidArgumentError naming the first invalid option
 * @internal
 */
export function resolveCommitOptions(options: CommitOptions | undefined): ResolvedCommitOptions {
  if (options !== undefined && RESOLVED.has(options)) return options as ResolvedCommitOptions;
  const o = options ?? {};
  const tuning = resolveOptions<CommitTuning>(
    DEFAULT_COMMIT_OPTIONS,
    {
      asyncCommit: o.asyncCommit,
      onePc: o.onePc,
      causalConsistency: o.causalConsistency,
      assertionLevel: o.assertionLevel,
      commitBatchSizeBytes: o.commitBatchSizeBytes,
      concurrency: o.concurrency,
      managedLockTtlMs: o.managedLockTtlMs,
      ttlRefreshedTxnSizeBytes: o.ttlRefreshedTxnSizeBytes,
      maxTxnTtlMs: o.maxTxnTtlMs,
      asyncCommitKeysLimit: o.asyncCommitKeysLimit,
      asyncCommitTotalKeySizeLimitBytes: o.asyncCommitTotalKeySizeLimitBytes,
      asyncCommitSafeWindowMs: o.asyncCommitSafeWindowMs,
      maxTxnTimeUseMs: o.maxTxnTimeUseMs,
      prewriteMaxBackoffMs: o.prewriteMaxBackoffMs,
      commitMaxBackoffMs: o.commitMaxBackoffMs,
      commitSecondaryMaxBackoffMs: o.commitSecondaryMaxBackoffMs,
      cleanupMaxBackoffMs: o.cleanupMaxBackoffMs,
      keepAliveMaxBackoffMs: o.keepAliveMaxBackoffMs,
    },
    {
      asyncCommit: mustBeBoolean,
      onePc: mustBeBoolean,
      causalConsistency: mustBeBoolean,
      assertionLevel: mustBeAssertionLevel,
      commitBatchSizeBytes: mustBePositiveInteger,
      concurrency: mustBePositiveInteger,
      managedLockTtlMs: mustBePositiveInteger,
      ttlRefreshedTxnSizeBytes: mustBeNonNegativeInteger,
      maxTxnTtlMs: mustBePositive,
      asyncCommitKeysLimit: mustBeNonNegativeInteger,
      asyncCommitTotalKeySizeLimitBytes: mustBeNonNegativeInteger,
      asyncCommitSafeWindowMs: mustBeNonNegativeInteger,
      maxTxnTimeUseMs: mustBePositive,
      prewriteMaxBackoffMs: mustBeNonNegative,
      commitMaxBackoffMs: mustBeNonNegative,
      commitSecondaryMaxBackoffMs: mustBeNonNegative,
      cleanupMaxBackoffMs: mustBeNonNegative,
      keepAliveMaxBackoffMs: mustBeNonNegative,
    },
  );
  const heartbeatIntervalMs = o.heartbeatIntervalMs ?? tuning.managedLockTtlMs / 2;
  if (!(Number.isFinite(heartbeatIntervalMs) && heartbeatIntervalMs > 0)) {
    throw new InvalidArgumentError(
      `option heartbeatIntervalMs must be a finite number > 0, got ${String(heartbeatIntervalMs)}`,
    );
  }
  checkStartTimeMs(o.startTimeMs);
  if (o.primaryKey !== undefined && !(o.primaryKey instanceof Uint8Array)) {
    throw new InvalidArgumentError('option primaryKey must be a Uint8Array');
  }
  if (o.filter !== undefined && typeof o.filter !== 'function') {
    throw new InvalidArgumentError('option filter must be a function');
  }
  if (o.diskFullOpt !== undefined && !(Object.values(DiskFullOpt) as unknown[]).includes(o.diskFullOpt)) {
    throw new InvalidArgumentError(
      `option diskFullOpt must be one of ${Object.values(DiskFullOpt).join(', ')}, got ${String(o.diskFullOpt)}`,
    );
  }
  for (const name of ['commitTsUpperBoundCheck', 'commitTsChecker', 'resourceGroupTagger'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') {
      throw new InvalidArgumentError(`option ${name} must be a function`);
    }
  }
  const resolved: ResolvedCommitOptions = Object.freeze({
    ...tuning,
    heartbeatIntervalMs,
    startTimeMs: o.startTimeMs,
    primaryKey: o.primaryKey,
    filter: o.filter,
    commitTsUpperBoundCheck: o.commitTsUpperBoundCheck,
    commitTsChecker: o.commitTsChecker,
    priority: o.priority,
    requestSource: o.requestSource,
    resourceGroupName: o.resourceGroupName,
    resourceGroupTag: o.resourceGroupTag,
    resourceGroupTagger: o.resourceGroupTagger,
    diskFullOpt: o.diskFullOpt,
  });
  RESOLVED.add(resolved);
  return resolved;
}

/**
 * `options` when {@link resolveCommitOptions} made it, else undefined.
 *
 * @internal
 */
export function alreadyResolved(options: CommitOptions): ResolvedCommitOptions | undefined {
  return RESOLVED.has(options) ? (options as ResolvedCommitOptions) : undefined;
}

/**
 * Checks `startTimeMs` of {@link CommitOptions}.
 *
 * @throws InvalidArgumentError when it is given and not a finite number
 * @internal
 */
export function checkStartTimeMs(startTimeMs: number | undefined): void {
  if (startTimeMs !== undefined && !Number.isFinite(startTimeMs)) {
    throw new InvalidArgumentError(`option startTimeMs must be a finite number, got ${String(startTimeMs)}`);
  }
}
