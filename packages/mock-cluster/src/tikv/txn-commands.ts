import { kvrpcpb } from '@tikv/proto';
import { MvccError, toKeyError } from '../mvcc/mvcc-error.js';
import type { ScanResult } from '../mvcc/scanner.js';
import { checkSecondaryLocks, checkTxnStatus, cleanup, txnHeartBeat } from '../mvcc/txn-status-commands.js';
import { readExecDetails, startTimer, writeExecDetails } from './exec-details.js';
import {
  checkPointKeysInRegion,
  keyInRegion,
  keyOutOfRegionError,
  kvScanBounds,
  txnScanBounds,
} from './txn-request-check.js';
import { readOptions, type TxnRequestRunner } from './txn-request-runner.js';
import { checkTxnStatusFields } from './txn-responses.js';

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
  readonly #r: TxnRequestRunner;

  constructor(runner: TxnRequestRunner) {
    this.#r = runner;
  }

  kvGet(req: kvrpcpb.GetRequest): kvrpcpb.GetResponse {
    return this.#r.run(
      kvrpcpb.GetResponse,
      req.context,
      'read',
      (region) => {
        const started = startTimer();
        this.#r.api(req.context, 'get', [req.key]);
        checkPointKeysInRegion([req.key], region);
        this.#r.checkStaleRead(req.context, region, req.version);
        const entry = this.#r.txn.reads.get(req.key, {
          ...readOptions(req.context, req.version),
          loadCommitTs: req.needCommitTs,
        });
        const execDetailsV2 = readExecDetails(started, {
          metKeys: 1,
          processedKeys: entry === undefined ? 0 : 1,
          processedBytes: entry === undefined ? 0 : req.key.length + entry.value.length,
        });
        return kvrpcpb.GetResponse.fromPartial(
          entry === undefined
            ? { notFound: true, execDetailsV2 }
            : { value: entry.value, commitTs: entry.commitTs ?? 0n, execDetailsV2 },
        );
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvBatchGet(req: kvrpcpb.BatchGetRequest): kvrpcpb.BatchGetResponse {
    return this.#r.run(
      kvrpcpb.BatchGetResponse,
      req.context,
      'read',
      (region) => {
        const started = startTimer();
        this.#r.api(req.context, 'batch_get', req.keys);
        this.#r.checkStaleRead(req.context, region, req.version);
        const inside = req.keys.filter((k) => keyInRegion(k, region));
        const results = this.#r.txn.reads.batchGet(inside, {
          ...readOptions(req.context, req.version),
          loadCommitTs: req.needCommitTs,
        });
        const byKey = new Map(results.map((r) => [Buffer.from(r.key).toString('latin1'), r]));
        // A key outside the region fails alone, in its place, as TiKV's per-key reads do.
        const pairs = req.keys.flatMap((k): kvrpcpb.KvPair[] => {
          if (!keyInRegion(k, region)) {
            return [kvrpcpb.KvPair.fromPartial({ error: toKeyError(keyOutOfRegionError(k, region)) })];
          }
          const r = byKey.get(Buffer.from(k).toString('latin1'));
          if (r === undefined) return [];
          return 'error' in r
            ? [kvrpcpb.KvPair.fromPartial({ error: toKeyError(r.error) })]
            : [{ error: undefined, key: r.key, value: r.entry.value, commitTs: r.entry.commitTs ?? 0n }];
        });
        let processedKeys = 0;
        let processedBytes = 0;
        for (const p of pairs) {
          if (p.error !== undefined) continue;
          processedKeys++;
          processedBytes += p.key.length + p.value.length;
        }
        const execDetailsV2 = readExecDetails(started, {
          metKeys: inside.length,
          processedKeys,
          processedBytes,
        });
        return kvrpcpb.BatchGetResponse.fromPartial({ pairs, execDetailsV2 });
      },
      (e) => {
        const error = toKeyError(e);
        return { error, pairs: [{ error }] };
      },
    );
  }

  kvScan(req: kvrpcpb.ScanRequest): kvrpcpb.ScanResponse {
    return this.#r.run(
      kvrpcpb.ScanResponse,
      req.context,
      'read',
      (region) => {
        this.#r.apiRange(req.context, 'scan', req.startKey, req.endKey.length > 0 ? req.endKey : undefined);
        const { lower, upper } = kvScanBounds(region, req.startKey, req.endKey, req.reverse);
        this.#r.checkStaleRead(req.context, region, req.version);
        const results = this.#r.txn.reads.scan({
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
    return this.#r.run(
      kvrpcpb.PrewriteResponse,
      req.context,
      'write',
      (region) => {
        const started = startTimer();
        const keys = req.mutations.map((m) => m.key);
        this.#r.writeKeys(req.context, 'prewrite', keys, region, true);
        const out = this.#r.txn.storage.prewrite({
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
          execDetailsV2: writeExecDetails(started),
        });
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
  }

  kvCommit(req: kvrpcpb.CommitRequest): kvrpcpb.CommitResponse {
    return this.#r.run(
      kvrpcpb.CommitResponse,
      req.context,
      'write',
      (region) => {
        const started = startTimer();
        this.#r.writeKeys(req.context, 'commit', req.keys, region);
        const role = req.commitRole === 1 ? 'primary' : req.commitRole === 2 ? 'secondary' : undefined;
        const commitVersion = this.#r.txn.storage.commit(req.keys, req.startVersion, req.commitVersion, role);
        return kvrpcpb.CommitResponse.fromPartial({
          commitVersion,
          execDetailsV2: writeExecDetails(started),
        });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvCleanup(req: kvrpcpb.CleanupRequest): kvrpcpb.CleanupResponse {
    return this.#r.run(
      kvrpcpb.CleanupResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'cleanup', [req.key], region);
        cleanup(this.#r.txn.storage, req.key, req.startVersion, req.currentTs, req.context?.requestOrigin);
        return kvrpcpb.CleanupResponse.fromPartial({});
      },
      (e) =>
        e.detail.kind === 'Committed' ? { commitVersion: e.detail.commitTs } : { error: toKeyError(e) },
    );
  }

  kvBatchRollback(req: kvrpcpb.BatchRollbackRequest): kvrpcpb.BatchRollbackResponse {
    return this.#r.run(
      kvrpcpb.BatchRollbackResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'rollback', req.keys, region);
        this.#r.txn.storage.batchRollback(req.keys, req.startVersion);
        return kvrpcpb.BatchRollbackResponse.fromPartial({});
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvCheckTxnStatus(req: kvrpcpb.CheckTxnStatusRequest): kvrpcpb.CheckTxnStatusResponse {
    return this.#r.run(
      kvrpcpb.CheckTxnStatusResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'check_txn_status', [req.primaryKey], region);
        const status = checkTxnStatus(this.#r.txn.storage, {
          primaryKey: req.primaryKey,
          lockTs: req.lockTs,
          callerStartTs: req.callerStartTs,
          currentTs: req.currentTs,
          rollbackIfNotExist: req.rollbackIfNotExist,
          forceSyncCommit: req.forceSyncCommit,
          resolvingPessimisticLock: req.resolvingPessimisticLock,
          verifyIsPrimary: req.verifyIsPrimary,
          requestOrigin: req.context?.requestOrigin,
        });
        return kvrpcpb.CheckTxnStatusResponse.fromPartial(checkTxnStatusFields(status));
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvCheckSecondaryLocks(req: kvrpcpb.CheckSecondaryLocksRequest): kvrpcpb.CheckSecondaryLocksResponse {
    return this.#r.run(
      kvrpcpb.CheckSecondaryLocksResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'check_secondary_locks', req.keys, region);
        const s = checkSecondaryLocks(
          this.#r.txn.storage,
          req.keys,
          req.startVersion,
          req.context?.requestOrigin,
        );
        if (s.kind === 'locked') return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({ locks: s.locks });
        if (s.kind === 'committed')
          return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({ commitTs: s.commitTs });
        return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({});
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvResolveLock(req: kvrpcpb.ResolveLockRequest): kvrpcpb.ResolveLockResponse {
    return this.#r.run(
      kvrpcpb.ResolveLockResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'resolve_lock', req.keys, region);
        const txnStatus = new Map<bigint, bigint>();
        if (req.startVersion > 0n) txnStatus.set(req.startVersion, req.commitVersion);
        else for (const info of req.txnInfos) txnStatus.set(info.txn, info.status);
        if (req.keys.length > 0 && req.startVersion === 0n) {
          throw new MvccError({ kind: 'Other', message: 'resolve lock with keys needs a start version' });
        }
        this.#r.txn.storage.resolveLock({
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
    return this.#r.run(
      kvrpcpb.TxnHeartBeatResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'txn_heart_beat', [req.primaryLock], region);
        const lockTtl = txnHeartBeat(
          this.#r.txn.storage,
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
    return this.#r.run(
      kvrpcpb.ScanLockResponse,
      req.context,
      'read',
      (region) => {
        // TiKV checks no API version here (GC scans whole regions, beyond TiDB's keys).
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        const locks = this.#r.txn.storage.scanLock(
          req.maxVersion,
          lower,
          upper,
          req.limit,
          req.context?.requestOrigin,
        );
        return kvrpcpb.ScanLockResponse.fromPartial({ locks });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }

  kvDeleteRange(req: kvrpcpb.DeleteRangeRequest): kvrpcpb.DeleteRangeResponse {
    return this.#r.run(
      kvrpcpb.DeleteRangeResponse,
      req.context,
      'write',
      (region) => {
        this.#r.apiRange(req.context, 'delete_range', req.startKey, req.endKey);
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        if (!req.notifyOnly) this.#r.txn.storage.deleteRange(lower, upper);
        return kvrpcpb.DeleteRangeResponse.fromPartial({});
      },
      (e) => ({ error: e.detail.kind === 'Storage' ? e.detail.display : e.message }),
    );
  }

  mvccGetByKey(req: kvrpcpb.MvccGetByKeyRequest): kvrpcpb.MvccGetByKeyResponse {
    return this.#r.run(
      kvrpcpb.MvccGetByKeyResponse,
      req.context,
      'read',
      (region) => {
        checkPointKeysInRegion([req.key], region);
        return kvrpcpb.MvccGetByKeyResponse.fromPartial({ info: this.#r.txn.storage.mvccByKey(req.key) });
      },
      (e) => ({ error: e.detail.kind === 'Storage' ? e.detail.display : e.message }),
    );
  }

  mvccGetByStartTs(req: kvrpcpb.MvccGetByStartTsRequest): kvrpcpb.MvccGetByStartTsResponse {
    return this.#r.run(
      kvrpcpb.MvccGetByStartTsResponse,
      req.context,
      'read',
      () => {
        const found = this.#r.txn.storage.mvccByStartTs(req.startTs);
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
    return this.#r.run(
      kvrpcpb.PessimisticRollbackResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(req.context, 'pessimistic_rollback', req.keys, region);
        this.#r.txn.storage.pessimisticRollback(
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
}
