import { BackoffKinds } from '../backoff/backoff-kind.js';
import { Backoffer } from '../backoff/backoffer.js';
import { ManualClock } from '../time/clock.js';
import type { ExecDetails, LockKeysDetails } from './exec-details.js';
import {
  EMPTY_EXEC_DETAILS,
  ExecDetailsCollector,
  MAX_REQUEST_ERROR_LABELS,
  mergeExecDetails,
  mergeLockKeysDetails,
  type WireExecDetails,
  withExecDetails,
} from './exec-details-collector.js';

const ZERO_TIME_V2 = {
  waitWallTimeNs: 0n,
  processWallTimeNs: 0n,
  processSuspendWallTimeNs: 0n,
  kvReadWallTimeNs: 0n,
  totalRpcWallTimeNs: 0n,
  kvGrpcProcessTimeNs: 0n,
  kvGrpcWaitTimeNs: 0n,
};

describe('ExecDetailsCollector', () => {
  test('RecordRPCRuntimeStats: attempts, time and regions by command; retries', () => {
    const c = new ExecDetailsCollector();
    c.recordRpc('Get', 3, false);
    c.recordRpc('Get', 4, true, 7n);
    c.recordRpc('Get', 1, false, 7n);
    c.recordRpc('Prewrite', 2, false, 8n);
    const d = c.snapshot();
    expect(d.rpcByCommand).toEqual({
      Get: { count: 3, timeMs: 8, regionCount: 1 },
      Prewrite: { count: 1, timeMs: 2, regionCount: 1 },
    });
    expect(d.rpcCount).toBe(4);
    expect(d.rpcTimeMs).toBe(10);
    expect(d.retries).toBe(1);
  });

  test('RecordRPCErrorStats: at most 16 labels, the rest counted together', () => {
    const c = new ExecDetailsCollector();
    for (let i = 0; i < MAX_REQUEST_ERROR_LABELS; i++) c.recordRequestError(`e${i}`);
    c.recordRequestError('e0');
    c.recordRequestError('late');
    c.recordRequestError('later');
    const d = c.snapshot();
    expect(Object.keys(d.requestErrors)).toHaveLength(MAX_REQUEST_ERROR_LABELS);
    expect(d.requestErrors.e0).toBe(2);
    expect(d.requestErrors.late).toBeUndefined();
    expect(d.otherErrorCount).toBe(2);
  });

  test('MergeFromTimeDetail: V2 when present, else the millisecond fields', () => {
    const c = new ExecDetailsCollector();
    c.recordStoreDetails({
      timeDetailV2: { ...ZERO_TIME_V2, processWallTimeNs: 5n, waitWallTimeNs: 2n, totalRpcWallTimeNs: 9n },
      timeDetail: {
        waitWallTimeMs: 100n,
        processWallTimeMs: 100n,
        kvReadWallTimeMs: 100n,
        totalRpcWallTimeNs: 100n,
      },
    });
    c.recordStoreDetails({
      timeDetail: { waitWallTimeMs: 1n, processWallTimeMs: 2n, kvReadWallTimeMs: 3n, totalRpcWallTimeNs: 4n },
    });
    const t = c.snapshot().timeDetail;
    expect(t.processTimeNs).toBe(5 + 2_000_000);
    expect(t.waitTimeNs).toBe(2 + 1_000_000);
    expect(t.kvReadWallTimeNs).toBe(3_000_000);
    expect(t.totalRpcWallTimeNs).toBe(13);
    expect(c.snapshot().storeDetailCount).toBe(2);
  });

  test('MergeFromScanDetailV2 and MergeFromWriteDetailPb sum field by field', () => {
    const c = new ExecDetailsCollector();
    const scan = {
      processedVersions: 2n,
      totalVersions: 3n,
      processedVersionsSize: 40n,
      rocksdbDeleteSkippedCount: 1n,
      rocksdbKeySkippedCount: 2n,
      rocksdbBlockCacheHitCount: 3n,
      rocksdbBlockReadCount: 4n,
      rocksdbBlockReadByte: 5n,
      rocksdbBlockReadNanos: 6n,
      getSnapshotNanos: 7n,
    };
    const write = Object.fromEntries(
      [
        'storeBatchWaitNanos',
        'proposeSendWaitNanos',
        'persistLogNanos',
        'raftDbWriteLeaderWaitNanos',
        'raftDbSyncLogNanos',
        'raftDbWriteMemtableNanos',
        'commitLogNanos',
        'applyBatchWaitNanos',
        'applyLogNanos',
        'applyMutexLockNanos',
        'applyWriteLeaderWaitNanos',
        'applyWriteWalNanos',
        'applyWriteMemtableNanos',
        'latchWaitNanos',
        'processNanos',
        'throttleNanos',
        'pessimisticLockWaitNanos',
      ].map((f, i) => [f, BigInt(i + 1)]),
    ) as unknown as WireExecDetails['writeDetail'];
    c.recordStoreDetails({ scanDetailV2: scan, writeDetail: write });
    c.recordStoreDetails({ scanDetailV2: scan });
    const d = c.snapshot();
    expect(d.scanDetail).toEqual({
      totalKeys: 6,
      processedKeys: 4,
      processedKeysSize: 80,
      rocksdbDeleteSkippedCount: 2,
      rocksdbKeySkippedCount: 4,
      rocksdbBlockCacheHitCount: 6,
      rocksdbBlockReadCount: 8,
      rocksdbBlockReadBytes: 10,
      rocksdbBlockReadNs: 12,
      getSnapshotNs: 14,
      iaCacheHitCount: 0,
      iaRemoteReadSegmentCount: 0,
      iaRemoteReadSegmentBytes: 0,
      iaRemoteReadSegmentNs: 0,
    });
    expect(d.writeDetail.storeBatchWaitNs).toBe(1);
    expect(d.writeDetail.schedulerLatchWaitNs).toBe(14);
    expect(d.writeDetail.schedulerProcessNs).toBe(15);
    expect(d.writeDetail.schedulerPessimisticLockWaitNs).toBe(17);
  });

  test('a snapshot is a copy: later records do not change it; empty parts are shared frozen empties', () => {
    const c = new ExecDetailsCollector();
    c.recordBackoff('regionMiss', 4);
    const before = c.snapshot();
    c.recordBackoff('regionMiss', 8);
    c.recordResolveLock(3);
    expect(before.backoffMsByKind).toEqual({ regionMiss: 4 });
    expect(Object.isFrozen(before.timeDetail)).toBe(true);
    expect(before.timeDetail).toBe(new ExecDetailsCollector().snapshot().timeDetail);
    const after = c.snapshot();
    expect(after).toMatchObject({ backoffCount: 2, backoffMs: 12, resolveLockMs: 3 });
    expect(c.backoffKindsSince(1)).toEqual(['regionMiss']);
  });
});

describe('execdetails_test.go', () => {
  test('TestScanDetailMergeFromScanDetailV2IncludesIAFields: every ScanDetailV2 field lands in its field', () => {
    const c = new ExecDetailsCollector();
    c.recordStoreDetails({
      scanDetailV2: {
        processedVersions: 10n,
        processedVersionsSize: 20n,
        totalVersions: 30n,
        rocksdbDeleteSkippedCount: 4n,
        rocksdbKeySkippedCount: 5n,
        rocksdbBlockCacheHitCount: 6n,
        rocksdbBlockReadCount: 7n,
        rocksdbBlockReadByte: 8n,
        rocksdbBlockReadNanos: 9_000n,
        getSnapshotNanos: 7_000n,
        iaCacheHitCount: 2n,
        iaRemoteReadSegmentCount: 3n,
        iaRemoteReadSegmentBytes: 128n,
        iaRemoteReadSegmentNanos: 5_000n,
      },
    });
    expect(c.snapshot().scanDetail).toEqual({
      totalKeys: 30,
      processedKeys: 10,
      processedKeysSize: 20,
      rocksdbDeleteSkippedCount: 4,
      rocksdbKeySkippedCount: 5,
      rocksdbBlockCacheHitCount: 6,
      rocksdbBlockReadCount: 7,
      rocksdbBlockReadBytes: 8,
      rocksdbBlockReadNs: 9_000,
      getSnapshotNs: 7_000,
      iaCacheHitCount: 2,
      iaRemoteReadSegmentCount: 3,
      iaRemoteReadSegmentBytes: 128,
      iaRemoteReadSegmentNs: 5_000,
    });
  });

  test('TestScanDetailMergeIncludesIAFields: merging sums the IA fields', () => {
    const ia = (hits: bigint, count: bigint, bytes: bigint, ns: bigint): ExecDetails => {
      const c = new ExecDetailsCollector();
      c.recordStoreDetails({
        scanDetailV2: {
          processedVersions: 0n,
          processedVersionsSize: 0n,
          totalVersions: 0n,
          rocksdbDeleteSkippedCount: 0n,
          rocksdbKeySkippedCount: 0n,
          rocksdbBlockCacheHitCount: 0n,
          rocksdbBlockReadCount: 0n,
          rocksdbBlockReadByte: 0n,
          rocksdbBlockReadNanos: 0n,
          getSnapshotNanos: 0n,
          iaCacheHitCount: hits,
          iaRemoteReadSegmentCount: count,
          iaRemoteReadSegmentBytes: bytes,
          iaRemoteReadSegmentNanos: ns,
        },
      });
      return c.snapshot();
    };
    const merged = mergeExecDetails(ia(1n, 2n, 64n, 3_000n), ia(4n, 5n, 256n, 7_000n)).scanDetail;
    expect(merged).toMatchObject({
      iaCacheHitCount: 5,
      iaRemoteReadSegmentCount: 7,
      iaRemoteReadSegmentBytes: 320,
      iaRemoteReadSegmentNs: 10_000,
    });
  });
});

describe('backoff by kind through the Backoffer', () => {
  test('sleeps of the backoffer, its clones and its forks are all recorded once', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    const c = new ExecDetailsCollector();
    const bo = new Backoffer({ clock, random: () => 0.5, execDetails: c });
    const settle = (p: Promise<void>): Promise<void> => p;
    await settle(bo.backoff(BackoffKinds.regionMiss, new Error('x')));
    const clone = bo.clone();
    const fork = bo.fork();
    expect(clone.execDetails).toBe(c);
    expect(fork.backoffer.execDetails).toBe(c);
    await settle(clone.backoff(BackoffKinds.tikvRPC, new Error('y')));
    await settle(fork.backoffer.backoff(BackoffKinds.tikvRPC, new Error('z')));
    bo.updateUsingForked(fork.backoffer);
    fork.dispose();
    const d = c.snapshot();
    expect(d.backoffCountByKind).toEqual({ regionMiss: 1, tikvRPC: 2 });
    expect(d.backoffMs).toBe(
      (bo.backoffSleepMs.get('regionMiss') ?? 0) +
        (clone.backoffSleepMs.get('tikvRPC') ?? 0) +
        (fork.backoffer.backoffSleepMs.get('tikvRPC') ?? 0),
    );
    expect(d.backoffMsByKind.regionMiss).toBe(bo.backoffSleepMs.get('regionMiss'));
    expect(new Backoffer().execDetails).toBeUndefined();
  });
});

describe('merging and delivery', () => {
  const one = (): ExecDetails => {
    const c = new ExecDetailsCollector();
    c.recordRpc('Get', 2, true, 1n);
    c.recordBackoff('regionMiss', 3);
    c.recordRequestError('not_leader');
    c.recordStoreDetails({ timeDetailV2: { ...ZERO_TIME_V2, processWallTimeNs: 10n } });
    return c.snapshot();
  };

  test('mergeExecDetails sums every field', () => {
    const m = mergeExecDetails(one(), one());
    expect(m).toMatchObject({
      rpcCount: 2,
      rpcTimeMs: 4,
      retries: 2,
      backoffCount: 2,
      backoffMs: 6,
      storeDetailCount: 2,
      backoffMsByKind: { regionMiss: 6 },
      requestErrors: { not_leader: 2 },
      rpcByCommand: { Get: { count: 2, timeMs: 4, regionCount: 2 } },
    });
    expect(m.timeDetail.processTimeNs).toBe(20);
    expect(mergeExecDetails(EMPTY_EXEC_DETAILS, one()).rpcByCommand.Get?.count).toBe(1);
  });

  test('TestLockKeysDetailsMerge: counts and times summed, backoff kinds joined, one retry a merge', () => {
    const exec = one();
    const a: LockKeysDetails = {
      totalMs: 10,
      regionCount: 2,
      lockKeys: 5,
      aggressiveLockNewCount: 1,
      aggressiveLockDerivedCount: 2,
      lockedWithConflictCount: 3,
      resolveLockMs: 100,
      backoffMs: 200,
      backoffKinds: ['txnLock'],
      lockRpcTimeMs: 300,
      lockRpcCount: 4,
      retryCount: 1,
      exec,
    };
    const b: LockKeysDetails = {
      totalMs: 20,
      regionCount: 3,
      lockKeys: 7,
      aggressiveLockNewCount: 4,
      aggressiveLockDerivedCount: 5,
      lockedWithConflictCount: 6,
      resolveLockMs: 150,
      backoffMs: 250,
      backoffKinds: ['regionMiss'],
      lockRpcTimeMs: 350,
      lockRpcCount: 5,
      retryCount: 0,
      exec: EMPTY_EXEC_DETAILS,
    };
    const m = mergeLockKeysDetails(a, b);
    expect(m).toMatchObject({
      totalMs: 30,
      regionCount: 5,
      lockKeys: 12,
      aggressiveLockNewCount: 5,
      aggressiveLockDerivedCount: 7,
      lockedWithConflictCount: 9,
      resolveLockMs: 250,
      backoffMs: 450,
      lockRpcTimeMs: 650,
      lockRpcCount: 9,
      // client-go adds one per merge (1 + 1 = 2); the later call's own retries (none) are added.
      retryCount: 2,
    });
    expect(m.backoffKinds).toEqual(['txnLock', 'regionMiss']);
    expect(m.exec.rpcCount).toBe(exec.rpcCount);
    expect(Object.isFrozen(m)).toBe(true);
    // The inputs are left as they were (client-go's Clone keeps the kinds apart).
    expect(a.backoffKinds).toEqual(['txnLock']);
    expect(mergeLockKeysDetails(m, { ...b, retryCount: 3 }).retryCount).toBe(2 + 3 + 1);
  });

  test('withExecDetails: one call of onDetails whatever ran inside, errors of the callback ignored', async () => {
    const got: ExecDetails[] = [];
    const r = await withExecDetails({ onDetails: (d: ExecDetails) => got.push(d) }, async (o) => {
      o?.onDetails?.(one());
      o?.onDetails?.(one());
      return 5;
    });
    expect(r).toBe(5);
    expect(got).toHaveLength(1);
    expect(got[0]?.rpcCount).toBe(2);

    await expect(
      withExecDetails({ onDetails: (d: ExecDetails) => got.push(d) }, async () => {
        throw new Error('inner');
      }),
    ).rejects.toThrow('inner');
    expect(got[1]).toBe(EMPTY_EXEC_DETAILS);

    const thrower = (): void => {
      throw new Error('observer');
    };
    await expect(withExecDetails({ onDetails: thrower }, async () => 1)).resolves.toBe(1);
    await expect(withExecDetails(undefined, async (o) => o)).resolves.toBeUndefined();
  });
});
