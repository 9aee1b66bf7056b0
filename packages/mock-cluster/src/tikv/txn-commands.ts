import { type deadlock, kvrpcpb } from '@tikv/proto';
import type { RegionInfo } from '../cluster/topology-types.js';
import type { DeadlockFound } from '../lock-manager/deadlock-detector.js';
import type { WaitOutcome, WaitRequest } from '../lock-manager/lock-wait-manager.js';
import { FlashbackNotPreparedError, flashbackToVersion, prepareFlashback } from '../mvcc/flashback.js';
import { MvccError, toKeyError } from '../mvcc/mvcc-error.js';
import { bufferBatchGet, flush } from '../mvcc/pipelined-dml.js';
import type { ReadCheckOptions } from '../mvcc/read-check.js';
import type { ResolvedTs } from '../mvcc/resolved-ts.js';
import type { ScanResult } from '../mvcc/scanner.js';
import type { TxnCommands as TxnStorage } from '../mvcc/txn-commands.js';
import type { TxnReads } from '../mvcc/txn-reads.js';
import { type AccessKind, checkContext, checkKeyInRegion, isRegionError } from './context-check.js';
import type { KvDeps } from './kv-deps.js';
import { regionError } from './region-errors.js';
import {
  checkKeysInRegion,
  checkTxnApiVersion,
  checkTxnKeySize,
  failRegion,
  TxnRegionErrorSignal,
  txnScanBounds,
} from './txn-request-check.js';
import { checkTxnStatusFields, pessimisticLockFields } from './txn-responses.js';

/** What the transactional handlers need besides the shared KV dependencies. */
export interface TxnDeps {
  readonly storage: TxnStorage;
  readonly reads: TxnReads;
  /** Regions in flashback, by id, with the flashback's start ts. */
  readonly flashback?: Map<bigint, bigint>;
  /** Per-region resolved ts, for stale reads and GetStoreSafeTS. */
  readonly resolvedTs?: ResolvedTs;
  /** Garbage collection, run before a command when PD's GC safe point moved. */
  readonly gc?: { maybeRun(): void };
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

function flashbackInProgress(regionId: bigint, flashbackStartTs: bigint) {
  return regionError({
    message: `region ${regionId} is in flashback progress, flashback_start_ts is ${flashbackStartTs}`,
    FlashbackInProgress: { regionId, flashbackStartTs },
  });
}

/** The part of a ts-proto response codec the handlers use. */
interface Codec<R> {
  fromPartial(object: object): R;
}

const _EMPTY = new Uint8Array(0);

function readOptions(
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

function pairOf(r: ScanResult): kvrpcpb.KvPair {
  if ('error' in r) return kvrpcpb.KvPair.fromPartial({ error: toKeyError(r.error) });
  return { error: undefined, key: r.key, value: r.value, commitTs: r.commitTs ?? 0n };
}

/**
 * The transactional commands of one store (`KvGet` … `MvccGetByStartTs`), each taking the request
 * and returning the response TiKV would send; TiKV's storage-layer failures become KeyErrors as
 * `extract_key_error` builds them, region problems become region errors.
 */
export class TxnKvCommands {
  readonly #deps: KvDeps;
  readonly #txn: TxnDeps;
  readonly #storeId: bigint;

  constructor(deps: KvDeps, txn: TxnDeps, storeId: bigint) {
    this.#deps = deps;
    this.#txn = txn;
    this.#storeId = storeId;
  }

  #run<R>(
    codec: Codec<R>,
    ctx: kvrpcpb.Context | undefined,
    access: AccessKind | 'flashback',
    body: (region: RegionInfo) => R,
    onError: (e: MvccError) => object,
  ): R {
    try {
      this.#txn.gc?.maybeRun();
      const checked = checkContext(
        this.#deps.model,
        this.#storeId,
        ctx,
        access === 'flashback' ? 'write' : access,
      );
      if (isRegionError(checked)) return codec.fromPartial({ regionError: checked });
      const flashbackStartTs = this.#txn.flashback?.get(checked.region.id);
      if (flashbackStartTs !== undefined && access !== 'flashback') {
        return codec.fromPartial({ regionError: flashbackInProgress(checked.region.id, flashbackStartTs) });
      }
      return body(checked.region);
    } catch (e) {
      if (e instanceof TxnRegionErrorSignal) return codec.fromPartial({ regionError: e.error });
      if (e instanceof MvccError) return codec.fromPartial(onError(e));
      throw e;
    }
  }

  #api(ctx: kvrpcpb.Context | undefined, cmd: string, keys: Iterable<Uint8Array>): void {
    checkTxnApiVersion(this.#deps.apiVersion, ctx, cmd, keys);
  }

  /** A stale read above the region's safe ts gets DataIsNotReady, as TiKV answers it. */
  #checkStaleRead(ctx: kvrpcpb.Context | undefined, region: RegionInfo, readTs: bigint): void {
    if (ctx?.staleRead !== true || this.#txn.resolvedTs === undefined) return;
    const safeTs = this.#txn.resolvedTs.safeTs(region.startKey, region.endKey);
    if (readTs <= safeTs) return;
    const peerId = region.peers.find((p) => p.storeId === this.#storeId)?.id ?? 0n;
    failRegion(
      regionError({
        message: `read index not ready, reason can not read index due to stale read, region ${region.id}, safe ts ${safeTs}, read ts ${readTs}`,
        dataIsNotReady: { regionId: region.id, peerId, safeTs },
      }),
    );
  }

  #writeKeys(
    ctx: kvrpcpb.Context | undefined,
    cmd: string,
    keys: readonly Uint8Array[],
    region: RegionInfo,
  ): void {
    this.#api(ctx, cmd, keys);
    checkTxnKeySize(keys, this.#deps.limits.maxKeySizeBytes);
    checkKeysInRegion(keys, region);
  }

  kvGet(req: kvrpcpb.GetRequest): kvrpcpb.GetResponse {
    return this.#run(
      kvrpcpb.GetResponse,
      req.context,
      'read',
      (region) => {
        this.#api(req.context, 'get', [req.key]);
        failRegion(checkKeyInRegion(req.key, region));
        this.#checkStaleRead(req.context, region, req.version);
        const entry = this.#txn.reads.get(req.key, {
          ...readOptions(req.context, req.version),
          loadCommitTs: req.needCommitTs,
        });
        return kvrpcpb.GetResponse.fromPartial(
          entry === undefined ? { notFound: true } : { value: entry.value, commitTs: entry.commitTs ?? 0n },
        );
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvBatchGet(req: kvrpcpb.BatchGetRequest): kvrpcpb.BatchGetResponse {
    return this.#run(
      kvrpcpb.BatchGetResponse,
      req.context,
      'read',
      (region) => {
        this.#api(req.context, 'batch_get', req.keys);
        checkKeysInRegion(req.keys, region);
        this.#checkStaleRead(req.context, region, req.version);
        const results = this.#txn.reads.batchGet(req.keys, {
          ...readOptions(req.context, req.version),
          loadCommitTs: req.needCommitTs,
        });
        const pairs = results.map((r) =>
          'error' in r
            ? kvrpcpb.KvPair.fromPartial({ error: toKeyError(r.error) })
            : { error: undefined, key: r.key, value: r.entry.value, commitTs: r.entry.commitTs ?? 0n },
        );
        return kvrpcpb.BatchGetResponse.fromPartial({ pairs });
      },
      (e) => {
        const error = toKeyError(e);
        return { error, pairs: [{ error }] };
      },
    );
  }

  kvScan(req: kvrpcpb.ScanRequest): kvrpcpb.ScanResponse {
    return this.#run(
      kvrpcpb.ScanResponse,
      req.context,
      'read',
      (region) => {
        this.#api(req.context, 'scan', req.endKey.length > 0 ? [req.startKey, req.endKey] : [req.startKey]);
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, req.reverse);
        this.#checkStaleRead(req.context, region, req.version);
        const results = this.#txn.reads.scan({
          ...readOptions(req.context, req.version),
          lower,
          upper,
          desc: req.reverse,
          omitValue: req.keyOnly,
          limit: req.limit,
          sampleStep: req.sampleStep,
        });
        return kvrpcpb.ScanResponse.fromPartial({ pairs: results.map(pairOf) });
      },
      (e) => {
        const error = toKeyError(e);
        return { error, pairs: [{ error }] };
      },
    );
  }

  kvPrewrite(req: kvrpcpb.PrewriteRequest): kvrpcpb.PrewriteResponse {
    return this.#run(
      kvrpcpb.PrewriteResponse,
      req.context,
      'write',
      (region) => {
        const keys = req.mutations.map((m) => m.key);
        this.#writeKeys(req.context, 'prewrite', keys, region);
        const out = this.#txn.storage.prewrite({
          mutations: req.mutations,
          primary: req.primaryLock,
          startTs: req.startVersion,
          lockTtl: req.lockTtl,
          skipConstraintCheck: req.skipConstraintCheck,
          forUpdateTs: req.forUpdateTs,
          pessimisticActions: req.pessimisticActions,
          forUpdateTsConstraints: req.forUpdateTsConstraints.map((c) => ({
            index: c.index,
            expectedForUpdateTs: c.expectedForUpdateTs,
          })),
          txnSize: req.txnSize,
          minCommitTs: req.minCommitTs,
          maxCommitTs: req.maxCommitTs,
          secondaryKeys: req.useAsyncCommit ? req.secondaries : undefined,
          tryOnePc: req.tryOnePc,
          assertionLevel: req.assertionLevel,
          isRetryRequest: req.context?.isRetryRequest === true,
          txnSource: req.context?.txnSource ?? 0n,
        });
        return kvrpcpb.PrewriteResponse.fromPartial({
          errors: out.locks.map(toKeyError),
          minCommitTs: out.minCommitTs,
          onePcCommitTs: out.onePcCommitTs,
        });
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
  }

  kvCommit(req: kvrpcpb.CommitRequest): kvrpcpb.CommitResponse {
    return this.#run(
      kvrpcpb.CommitResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'commit', req.keys, region);
        const role = req.commitRole === 1 ? 'primary' : req.commitRole === 2 ? 'secondary' : undefined;
        const commitVersion = this.#txn.storage.commit(req.keys, req.startVersion, req.commitVersion, role);
        return kvrpcpb.CommitResponse.fromPartial({ commitVersion });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvCleanup(req: kvrpcpb.CleanupRequest): kvrpcpb.CleanupResponse {
    return this.#run(
      kvrpcpb.CleanupResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'cleanup', [req.key], region);
        this.#txn.storage.cleanup(req.key, req.startVersion, req.currentTs);
        return kvrpcpb.CleanupResponse.fromPartial({});
      },
      (e) =>
        e.detail.kind === 'Committed' ? { commitVersion: e.detail.commitTs } : { error: toKeyError(e) },
    );
  }

  kvBatchRollback(req: kvrpcpb.BatchRollbackRequest): kvrpcpb.BatchRollbackResponse {
    return this.#run(
      kvrpcpb.BatchRollbackResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'rollback', req.keys, region);
        this.#txn.storage.batchRollback(req.keys, req.startVersion);
        return kvrpcpb.BatchRollbackResponse.fromPartial({});
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvCheckTxnStatus(req: kvrpcpb.CheckTxnStatusRequest): kvrpcpb.CheckTxnStatusResponse {
    return this.#run(
      kvrpcpb.CheckTxnStatusResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'check_txn_status', [req.primaryKey], region);
        const status = this.#txn.storage.checkTxnStatus({
          primaryKey: req.primaryKey,
          lockTs: req.lockTs,
          callerStartTs: req.callerStartTs,
          currentTs: req.currentTs,
          rollbackIfNotExist: req.rollbackIfNotExist,
          forceSyncCommit: req.forceSyncCommit,
          resolvingPessimisticLock: req.resolvingPessimisticLock,
          verifyIsPrimary: req.verifyIsPrimary,
        });
        return kvrpcpb.CheckTxnStatusResponse.fromPartial(checkTxnStatusFields(status));
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvCheckSecondaryLocks(req: kvrpcpb.CheckSecondaryLocksRequest): kvrpcpb.CheckSecondaryLocksResponse {
    return this.#run(
      kvrpcpb.CheckSecondaryLocksResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'check_secondary_locks', req.keys, region);
        const s = this.#txn.storage.checkSecondaryLocks(req.keys, req.startVersion);
        if (s.kind === 'locked') return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({ locks: s.locks });
        if (s.kind === 'committed')
          return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({ commitTs: s.commitTs });
        return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({});
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvResolveLock(req: kvrpcpb.ResolveLockRequest): kvrpcpb.ResolveLockResponse {
    return this.#run(
      kvrpcpb.ResolveLockResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'resolve_lock', req.keys, region);
        const txnStatus = new Map<bigint, bigint>();
        if (req.startVersion > 0n) txnStatus.set(req.startVersion, req.commitVersion);
        else for (const info of req.txnInfos) txnStatus.set(info.txn, info.status);
        if (req.keys.length > 0 && req.startVersion === 0n) {
          throw new MvccError({ kind: 'Other', message: 'resolve lock with keys needs a start version' });
        }
        this.#txn.storage.resolveLock({
          txnStatus,
          keys: req.keys,
          start: region.startKey,
          end: region.endKey,
        });
        return kvrpcpb.ResolveLockResponse.fromPartial({});
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvTxnHeartBeat(req: kvrpcpb.TxnHeartBeatRequest): kvrpcpb.TxnHeartBeatResponse {
    return this.#run(
      kvrpcpb.TxnHeartBeatResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'txn_heart_beat', [req.primaryLock], region);
        const lockTtl = this.#txn.storage.txnHeartBeat(
          req.primaryLock,
          req.startVersion,
          req.adviseLockTtl,
          req.minCommitTs,
        );
        return kvrpcpb.TxnHeartBeatResponse.fromPartial({ lockTtl });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvScanLock(req: kvrpcpb.ScanLockRequest): kvrpcpb.ScanLockResponse {
    return this.#run(
      kvrpcpb.ScanLockResponse,
      req.context,
      'read',
      (region) => {
        this.#api(req.context, 'scan_lock', [req.startKey]);
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        const locks = this.#txn.storage.scanLock(req.maxVersion, lower, upper, req.limit);
        return kvrpcpb.ScanLockResponse.fromPartial({ locks });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvDeleteRange(req: kvrpcpb.DeleteRangeRequest): kvrpcpb.DeleteRangeResponse {
    return this.#run(
      kvrpcpb.DeleteRangeResponse,
      req.context,
      'write',
      (region) => {
        this.#api(req.context, 'delete_range', [req.startKey]);
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        if (!req.notifyOnly) this.#txn.storage.deleteRange(lower, upper);
        return kvrpcpb.DeleteRangeResponse.fromPartial({});
      },
      (e) => ({ error: e.message }),
    );
  }

  mvccGetByKey(req: kvrpcpb.MvccGetByKeyRequest): kvrpcpb.MvccGetByKeyResponse {
    return this.#run(
      kvrpcpb.MvccGetByKeyResponse,
      req.context,
      'read',
      (region) => {
        failRegion(checkKeyInRegion(req.key, region));
        return kvrpcpb.MvccGetByKeyResponse.fromPartial({ info: this.#txn.storage.mvccByKey(req.key) });
      },
      (e) => ({ error: e.message }),
    );
  }

  mvccGetByStartTs(req: kvrpcpb.MvccGetByStartTsRequest): kvrpcpb.MvccGetByStartTsResponse {
    return this.#run(
      kvrpcpb.MvccGetByStartTsResponse,
      req.context,
      'read',
      () => {
        const found = this.#txn.storage.mvccByStartTs(req.startTs);
        return kvrpcpb.MvccGetByStartTsResponse.fromPartial(
          found === undefined
            ? { info: kvrpcpb.MvccInfo.fromPartial({}) }
            : { key: found.key, info: found.info },
        );
      },
      (e) => ({ error: e.message }),
    );
  }

  kvPessimisticRollback(req: kvrpcpb.PessimisticRollbackRequest): kvrpcpb.PessimisticRollbackResponse {
    return this.#run(
      kvrpcpb.PessimisticRollbackResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(req.context, 'pessimistic_rollback', req.keys, region);
        this.#txn.storage.pessimisticRollback(
          req.keys,
          req.startVersion,
          req.forUpdateTs,
          region.startKey,
          region.endKey,
        );
        return kvrpcpb.PessimisticRollbackResponse.fromPartial({});
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
  }

  /**
   * KvPessimisticLock. A key locked by another transaction makes the request wait (unless
   * `wait_timeout` < 0) until the lock is released, the wait times out (KeyIsLocked), or the wait
   * would deadlock (KeyError.deadlock with the wait chain). A woken legacy request answers
   * WriteConflict; a woken force-lock request tries again.
   */
  kvPessimisticLock(
    req: kvrpcpb.PessimisticLockRequest,
  ): kvrpcpb.PessimisticLockResponse | Promise<kvrpcpb.PessimisticLockResponse> {
    let locked: kvrpcpb.LockInfo | undefined;
    const forceLock = req.wakeUpMode === kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock;
    const lockedResponse = (error: kvrpcpb.KeyError) =>
      kvrpcpb.PessimisticLockResponse.fromPartial(
        forceLock
          ? { results: [{ type: kvrpcpb.PessimisticLockKeyResultType.LockResultFailed }], errors: [error] }
          : { errors: [error] },
      );
    const first = this.#run(
      kvrpcpb.PessimisticLockResponse,
      req.context,
      'write',
      (region) => {
        const keys = req.mutations.map((m) => m.key);
        this.#writeKeys(req.context, 'acquire_pessimistic_lock', keys, region);
        const out = this.#txn.storage.acquirePessimisticLock({
          keys: req.mutations.map((m) => ({
            key: m.key,
            shouldNotExist: m.assertion === kvrpcpb.Assertion.NotExist,
          })),
          primary: req.primaryLock,
          startTs: req.startVersion,
          lockTtl: req.lockTtl,
          forUpdateTs: req.forUpdateTs,
          needValue: req.returnValues,
          needCheckExistence: req.checkExistence,
          minCommitTs: req.minCommitTs,
          lockOnlyIfExists: req.lockOnlyIfExists,
          allowLockWithConflict: forceLock,
        });
        if (out.lockedBy !== undefined) {
          locked = out.lockedBy.info;
          return lockedResponse(toKeyError(new MvccError({ kind: 'KeyIsLocked', info: out.lockedBy.info })));
        }
        return kvrpcpb.PessimisticLockResponse.fromPartial(pessimisticLockFields(out.results, forceLock));
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
    const waits = this.#txn.lockWaits;
    const lockInfo = locked;
    const waitMs = waits?.waitMsFor(req.waitTimeout);
    if (lockInfo === undefined || waits === undefined || waitMs === undefined) return first;
    const wait = {
      startTs: req.startVersion,
      lockInfo,
      allowLockWithConflict: forceLock,
      resourceGroupTag: req.context?.resourceGroupTag,
    };
    const dead = waits.detect(wait);
    if (dead !== undefined) {
      return lockedResponse(
        toKeyError(
          new MvccError({
            kind: 'Deadlock',
            startTs: req.startVersion,
            lockTs: lockInfo.lockVersion,
            lockKey: lockInfo.key,
            deadlockKeyHash: dead.keyHash,
            waitChain: dead.waitChain,
          }),
        ),
      );
    }
    return waits.wait(wait, waitMs).then((outcome) => {
      if (outcome.kind === 'woken') {
        if (forceLock) return this.kvPessimisticLock(req);
        return lockedResponse(
          toKeyError(
            new MvccError({
              kind: 'WriteConflict',
              startTs: req.startVersion,
              conflictStartTs: outcome.conflictStartTs,
              conflictCommitTs: outcome.conflictCommitTs,
              key: lockInfo.key,
              primary: req.primaryLock,
              reason: kvrpcpb.WriteConflict_Reason.PessimisticRetry,
            }),
          ),
        );
      }
      const waited = outcome.kind === 'timeout' ? BigInt(Math.max(1, outcome.waitedMs)) : 0n;
      return lockedResponse(
        toKeyError(
          new MvccError({ kind: 'KeyIsLocked', info: { ...lockInfo, durationToLastUpdateMs: waited } }),
        ),
      );
    });
  }

  kvFlush(req: kvrpcpb.FlushRequest): kvrpcpb.FlushResponse {
    return this.#run(
      kvrpcpb.FlushResponse,
      req.context,
      'write',
      (region) => {
        this.#writeKeys(
          req.context,
          'flush',
          req.mutations.map((m) => m.key),
          region,
        );
        const locks = flush(this.#txn.storage, {
          mutations: req.mutations,
          primary: req.primaryKey,
          startTs: req.startTs,
          generation: req.generation,
          lockTtl: req.lockTtl,
          assertionLevel: req.assertionLevel,
          isRetryRequest: req.context?.isRetryRequest === true,
          txnSource: req.context?.txnSource ?? 0n,
        });
        return kvrpcpb.FlushResponse.fromPartial({ errors: locks.map(toKeyError) });
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
  }

  kvBufferBatchGet(req: kvrpcpb.BufferBatchGetRequest): kvrpcpb.BufferBatchGetResponse {
    return this.#run(
      kvrpcpb.BufferBatchGetResponse,
      req.context,
      'read',
      (region) => {
        this.#api(req.context, 'buffer_batch_get', req.keys);
        checkKeysInRegion(req.keys, region);
        const pairs = bufferBatchGet(this.#txn.storage, req.keys, req.version).map(
          ({ key, value }): kvrpcpb.KvPair => ({ error: undefined, key, value, commitTs: 0n }),
        );
        return kvrpcpb.BufferBatchGetResponse.fromPartial({ pairs });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  /** KvPrepareFlashbackToVersion: puts the region in flashback and runs phase one. */
  kvPrepareFlashbackToVersion(
    req: kvrpcpb.PrepareFlashbackToVersionRequest,
  ): kvrpcpb.PrepareFlashbackToVersionResponse {
    return this.#run(
      kvrpcpb.PrepareFlashbackToVersionResponse,
      req.context,
      'flashback',
      (region) => {
        const states = this.#txn.flashback;
        const current = states?.get(region.id);
        if (current !== undefined && current !== req.startTs)
          failRegion(flashbackInProgress(region.id, current));
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        states?.set(region.id, req.startTs);
        prepareFlashback(this.#txn.storage, {
          start: lower,
          end: upper,
          startTs: req.startTs,
          version: req.version,
        });
        return kvrpcpb.PrepareFlashbackToVersionResponse.fromPartial({});
      },
      (e) => ({ error: e.message }),
    );
  }

  /** KvFlashbackToVersion: phase two, then the region leaves flashback. */
  kvFlashbackToVersion(req: kvrpcpb.FlashbackToVersionRequest): kvrpcpb.FlashbackToVersionResponse {
    return this.#run(
      kvrpcpb.FlashbackToVersionResponse,
      req.context,
      'flashback',
      (region) => {
        if (this.#txn.flashback?.has(region.id) !== true) {
          failRegion(
            regionError({
              message: `region ${region.id} not prepared the flashback`,
              FlashbackNotPrepared: { regionId: region.id },
            }),
          );
        }
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        try {
          flashbackToVersion(
            this.#txn.storage,
            { start: lower, end: upper, startTs: req.startTs, version: req.version },
            req.commitTs,
          );
        } catch (e) {
          if (e instanceof FlashbackNotPreparedError) {
            failRegion(regionError({ message: e.message, FlashbackNotPrepared: { regionId: region.id } }));
          }
          throw e;
        }
        this.#txn.flashback?.delete(region.id);
        return kvrpcpb.FlashbackToVersionResponse.fromPartial({});
      },
      (e) => ({ error: e.message }),
    );
  }

  /** GetLockWaitInfo: every request waiting for a lock in the cluster. */
  getLockWaitInfo(_req: kvrpcpb.GetLockWaitInfoRequest): kvrpcpb.GetLockWaitInfoResponse {
    return kvrpcpb.GetLockWaitInfoResponse.fromPartial({ entries: this.#txn.lockWaits?.waitInfo() ?? [] });
  }
}
