import type { Backoffer, LockInfo, RequestOptions } from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';

/** The keyspace id of unified (cluster-level) GC: PD's `NullKeyspaceID`. */
export const NULL_KEYSPACE_ID = 0xffffffff;

/** What advancing the txn safe point reported (PD `AdvanceTxnSafePointResult`). */
export interface TxnSafePointAdvance {
  readonly oldTxnSafePoint: bigint;
  /** Where it got: below the target when a GC barrier blocks it. */
  readonly newTxnSafePoint: bigint;
  /** Names what kept the txn safe point below the target; empty otherwise. */
  readonly blockerDescription: string;
}

/** What advancing the GC safe point reported (PD `AdvanceGCSafePointResult`). */
export interface GcSafePointAdvance {
  readonly oldGcSafePoint: bigint;
  readonly newGcSafePoint: bigint;
}

/** A GC barrier: the txn safe point may not pass `barrierTs` while it lives. */
export interface GcBarrier {
  readonly barrierId: string;
  readonly barrierTs: bigint;
  /** Time left to live in ms as PD reported it; `Infinity` never expires. */
  readonly ttlMs: number;
}

/** The GC state of one GC scope, as far as the GC worker reads it. */
export interface GcStateView {
  readonly txnSafePoint: bigint;
  readonly gcSafePoint: bigint;
}

/**
 * The GC states API of one GC scope (PD's `GCStatesClient` and `InternalController`):
 * `@tikv/pd`'s `pd.gcStates(keyspaceId)` satisfies it. The barrier methods are optional: a
 * {@link GcWorker} built on an API without them refuses barrier calls with `NOT_SUPPORTED`.
 */
export interface GcStatesApi {
  /** Moves the txn safe point towards `target`, as far as the barriers allow. */
  advanceTxnSafePoint(target: bigint, options?: RequestOptions): Promise<TxnSafePointAdvance>;
  /** Moves the GC safe point to `target` (never past the txn safe point). */
  advanceGcSafePoint(target: bigint, options?: RequestOptions): Promise<GcSafePointAdvance>;
  /** The scope's txn and GC safe points. */
  getGcState(options?: RequestOptions): Promise<GcStateView>;
  /** Adds or renews a keyspace-level barrier. */
  setGcBarrier?(
    barrierId: string,
    barrierTs: bigint,
    ttlMs: number,
    options?: RequestOptions,
  ): Promise<GcBarrier>;
  /** Deletes a keyspace-level barrier; undefined when there was none. */
  deleteGcBarrier?(barrierId: string, options?: RequestOptions): Promise<GcBarrier | undefined>;
  /** Adds or renews a cluster-wide barrier (blocks every keyspace). */
  setGlobalGcBarrier?(
    barrierId: string,
    barrierTs: bigint,
    ttlMs: number,
    options?: RequestOptions,
  ): Promise<GcBarrier>;
  /** Deletes a cluster-wide barrier; undefined when there was none. */
  deleteGlobalGcBarrier?(barrierId: string, options?: RequestOptions): Promise<GcBarrier | undefined>;
}

/**
 * Resolves the locks of one region whatever their TTL (client-go `LockResolver.BatchResolveLocks`):
 * the package's `LockResolver` implements it.
 */
export interface BatchLockResolving {
  /**
   * @returns false after a region error (the caller scans again), true when done
   */
  batchResolveLocks(bo: Backoffer, locks: readonly LockInfo[], region: RegionVerId): Promise<boolean>;
}

/**
 * The keyspace a client's GC runs in: its own id when the keyspace runs keyspace-level GC
 * (`gc_management_type = keyspace_level` in its config), else unified GC
 * ({@link NULL_KEYSPACE_ID}; always in API V1). Pass the result to `pd.gcStates(id)`.
 *
 * @param keyspace - the codec's keyspace meta (undefined in API V1)
 * @returns the GC scope's keyspace id
 */
export function gcKeyspaceIdOf(
  keyspace: { readonly id: number; readonly config: Readonly<Record<string, string>> } | undefined,
): number {
  if (keyspace === undefined) return NULL_KEYSPACE_ID;
  return keyspace.config.gc_management_type === 'keyspace_level' ? keyspace.id : NULL_KEYSPACE_ID;
}
