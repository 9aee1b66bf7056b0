import { type deadlock, type errorpb, kvrpcpb } from '@tikv/proto';
import type { RegionInfo } from '../cluster/topology-types.js';
import type { DeadlockFound } from '../lock-manager/deadlock-detector.js';
import type { WaitOutcome, WaitRequest } from '../lock-manager/lock-wait-manager.js';
import { InvalidMaxTsUpdateError } from '../mvcc/max-ts-limit.js';
import { MvccError } from '../mvcc/mvcc-error.js';
import { EntryTooLargeError } from '../mvcc/mvcc-txn.js';
import type { ReadCheckOptions } from '../mvcc/read-check.js';
import type { ResolvedTs } from '../mvcc/resolved-ts.js';
import type { TxnCommands as TxnStorage } from '../mvcc/txn-commands.js';
import type { TxnReads } from '../mvcc/txn-reads.js';
import { type AccessKind, checkContext, checkDiskFull, isRegionError } from './context-check.js';
import type { KvDeps } from './kv-deps.js';
import { raftEntryTooLarge, regionError } from './region-errors.js';
import {
  checkPointKeysInRegion,
  checkTxnApiVersion,
  checkTxnApiVersionRange,
  checkTxnKeySize,
  failRegion,
  TxnRegionErrorSignal,
} from './txn-request-check.js';

/** What the transactional handlers need besides the shared KV dependencies. */
export interface TxnDeps {
  readonly storage: TxnStorage;
  readonly reads: TxnReads;
  /** Regions in flashback, by id, with the flashback's start ts. */
  readonly flashback?: Map<bigint, bigint>;
  /** Per-region resolved ts, for stale reads and GetStoreSafeTS. */
  readonly resolvedTs?: ResolvedTs;
  /** Garbage collection, run before a command when PD's GC safe point moved. */
  readonly gc?: { maybeRun(): void } | undefined;
  /** Lock waiting for KvPessimisticLock; without it, locked keys are answered at once. */
  readonly lockWaits?: LockWaiter;
}

/** What the pessimistic lock handler needs from lock waiting (see `LockWaitManager`). */
export interface LockWaiter {
  /** The wait a `wait_timeout` asks for (ms), undefined for none. */
  waitMsFor(waitTimeout: bigint): number | undefined;
  /** Registers the wait-for edge, or returns the deadlock it would make. */
  detect(req: WaitRequest): DeadlockFound | undefined;
  /** Waits for the lock to go away. */
  wait(req: WaitRequest, waitMs: number): Promise<WaitOutcome>;
  /** The waiting requests, for GetLockWaitInfo. */
  waitInfo(): deadlock.WaitForEntry[];
}

/** The FlashbackInProgress region error of a region in flashback. */
export function flashbackInProgress(regionId: bigint, flashbackStartTs: bigint): errorpb.Error {
  return regionError({
    message: `region ${regionId} is in flashback progress, flashback_start_ts is ${flashbackStartTs}`,
    FlashbackInProgress: { regionId, flashbackStartTs },
  });
}

/** The part of a ts-proto response codec the handlers use. */
export interface Codec<R> {
  fromPartial(object: object): R;
}

/** A read's lock-check options from its context. */
export function readOptions(
  ctx: kvrpcpb.Context | undefined,
  ts: bigint,
): ReadCheckOptions & { staleRead: boolean } {
  return {
    ts,
    isolation: ctx?.isolationLevel ?? kvrpcpb.IsolationLevel.SI,
    bypassLocks: new Set(ctx?.resolvedLocks ?? []),
    accessLocks: new Set(ctx?.committedLocks ?? []),
    replicaRead: ctx?.replicaRead === true,
    staleRead: ctx?.staleRead === true,
  };
}

/**
 * The request path every transactional handler of one store shares: GC catch-up, TiKV's context
 * checks, the flashback gate, and the mapping of region and MVCC failures to responses.
 */
export class TxnRequestRunner {
  readonly #deps: KvDeps;
  readonly txn: TxnDeps;
  readonly storeId: bigint;

  constructor(deps: KvDeps, txn: TxnDeps, storeId: bigint) {
    this.#deps = deps;
    this.txn = txn;
    this.storeId = storeId;
  }

  /** The shared KV dependencies. */
  get deps(): KvDeps {
    return this.#deps;
  }

  /** Runs a handler body after the context, flashback and GC steps; maps failures to responses. */
  run<R>(
    codec: Codec<R>,
    ctx: kvrpcpb.Context | undefined,
    access: AccessKind | 'flashback',
    body: (region: RegionInfo) => R,
    onError: (e: MvccError) => object,
  ): R {
    let regionId = 0n;
    try {
      this.txn.gc?.maybeRun();
      const checked = checkContext(
        this.#deps.model,
        this.storeId,
        ctx,
        access === 'flashback' ? 'write' : access,
      );
      if (isRegionError(checked)) return codec.fromPartial({ regionError: checked });
      regionId = checked.region.id;
      if (access === 'write') {
        const full = checkDiskFull(this.#deps.model, this.storeId, ctx);
        if (full !== undefined) return codec.fromPartial({ regionError: full });
      }
      const flashbackStartTs = this.txn.flashback?.get(checked.region.id);
      if (flashbackStartTs !== undefined && access !== 'flashback') {
        return codec.fromPartial({ regionError: flashbackInProgress(checked.region.id, flashbackStartTs) });
      }
      return body(checked.region);
    } catch (e) {
      if (e instanceof TxnRegionErrorSignal) return codec.fromPartial({ regionError: e.error });
      // TiKV answers an update over the max-ts limit with a region error carrying only the text.
      if (e instanceof InvalidMaxTsUpdateError)
        return codec.fromPartial({ regionError: regionError({ message: e.message }) });
      if (e instanceof EntryTooLargeError) {
        return codec.fromPartial({ regionError: raftEntryTooLarge(regionId, BigInt(e.entrySize)) });
      }
      if (e instanceof MvccError) return codec.fromPartial(onError(e));
      throw e;
    }
  }

  /** TiKV's API-version gate for transactional commands. */
  api(ctx: kvrpcpb.Context | undefined, cmd: string, keys: Iterable<Uint8Array>): void {
    checkTxnApiVersion(this.#deps.apiVersion, ctx, cmd, keys);
  }

  /** TiKV's API-version gate for a range (`end` undefined: an open one). */
  apiRange(
    ctx: kvrpcpb.Context | undefined,
    cmd: string,
    start: Uint8Array,
    end: Uint8Array | undefined,
  ): void {
    checkTxnApiVersionRange(this.#deps.apiVersion, ctx, cmd, start, end);
  }

  /**
   * A stale read above the region's safe ts gets DataIsNotReady on a follower, as TiKV answers
   * it; the leader serves it as a leader read instead (TiKV's local reader falls back to a
   * snapshot read when its peer is a valid leader, since tikv#15726).
   */
  checkStaleRead(ctx: kvrpcpb.Context | undefined, region: RegionInfo, readTs: bigint): void {
    if (ctx?.staleRead !== true || this.txn.resolvedTs === undefined) return;
    if (region.leader.storeId === this.storeId) return;
    const safeTs = this.txn.resolvedTs.safeTs(region.startKey, region.endKey, this.storeId);
    if (readTs <= safeTs) return;
    const peerId = region.peers.find((p) => p.storeId === this.storeId)?.id ?? 0n;
    failRegion(
      regionError({
        message: `read index not ready, reason can not read index due to stale read, region ${region.id}, safe ts ${safeTs}, read ts ${readTs}`,
        dataIsNotReady: { regionId: region.id, peerId, safeTs },
      }),
    );
  }

  /**
   * Key-in-region checks of a write's keys (an abort, as TiKV's region snapshot answers them), and
   * with `admit` TiKV's API version and key size
   * checks, which `sched_txn_command` applies to prewrite, flush and pessimistic lock only.
   */
  writeKeys(
    ctx: kvrpcpb.Context | undefined,
    cmd: string,
    keys: readonly Uint8Array[],
    region: RegionInfo,
    admit = false,
  ): void {
    if (admit) {
      this.api(ctx, cmd, keys);
      checkTxnKeySize(keys, this.#deps.limits.maxKeySizeBytes);
    }
    checkPointKeysInRegion(keys, region);
  }
}
