import { isTiKVError } from './is-tikv-error.js';
import { keyErrorFromWire, lockInfoFromWire } from './key-error-from-wire.js';
import {
  AssertionFailedError,
  DeadlockError,
  KeyIsLockedError,
  LockUpgradeConflictError,
  PrimaryMismatchError,
  WriteConflictError,
} from './key-errors.js';
import { isFakeEpochNotMatch, RegionError, serverBusyHintMs } from './region-error.js';
import { regionErrorFromWire } from './region-error-from-wire.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('keyErrorFromWire (ports client-go error.ExtractKeyErr, every kvrpcpb.KeyError arm)', () => {
  test('locked', () => {
    const e = keyErrorFromWire({
      locked: {
        primaryLock: k('p'),
        lockVersion: 100n,
        key: k('k'),
        lockTtl: 3000n,
        txnSize: 2n,
        lockType: 5,
        lockForUpdateTs: 101n,
        useAsyncCommit: true,
        minCommitTs: 102n,
        secondaries: [k('s1')],
        durationToLastUpdateMs: 7n,
        sharedLockInfos: [{ lockVersion: 3n, lockType: 'SharedLock' }],
        isTxnFile: false,
      },
    });
    expect(e).toBeInstanceOf(KeyIsLockedError);
    const lock = (e as KeyIsLockedError).lock;
    expect(lock).toMatchObject({
      key: k('k'),
      primary: k('p'),
      lockVersion: 100n,
      lockTtlMs: 3000n,
      txnSize: 2n,
      lockType: 'PessimisticLock',
      lockForUpdateTs: 101n,
      useAsyncCommit: true,
      minCommitTs: 102n,
      secondaries: [k('s1')],
      durationToLastUpdateMs: 7n,
    });
    expect(lock.sharedLockInfos[0]?.lockType).toBe('SharedLock');
    expect(lock.sharedLockInfos[0]?.lockVersion).toBe(3n);
  });

  test('conflict', () => {
    const e = keyErrorFromWire({
      conflict: {
        startTs: 1n,
        conflictTs: 2n,
        key: k('a'),
        primary: k('b'),
        conflictCommitTs: 3n,
        reason: 2,
      },
      debugInfo: { mvccInfo: [] },
    });
    expect(e).toBeInstanceOf(WriteConflictError);
    expect(e).toMatchObject({
      startTs: 1n,
      conflictStartTs: 2n,
      conflictCommitTs: 3n,
      reason: 'PessimisticRetry',
    });
    expect(e.debugInfo).toEqual({ mvccInfo: [] });
    expect(keyErrorFromWire({ conflict: { reason: 'RcCheckTs' } })).toMatchObject({
      reason: 'RcCheckTs',
      startTs: 0n,
    });
    expect(keyErrorFromWire({ conflict: { reason: 42 } })).toMatchObject({ reason: 'Unknown' });
  });

  test('retryable and abort strings', () => {
    expect(keyErrorFromWire({ retryable: 'write conflict' }).code).toBe('TXN_RETRYABLE');
    expect(keyErrorFromWire({ retryable: 'write conflict' }).retryable).toBe(true);
    expect(keyErrorFromWire({ abort: 'txn aborted' }).message).toBe('tikv aborts txn: txn aborted');
    // proto3 defaults (empty strings) do not count as set
    expect(keyErrorFromWire({ retryable: '', abort: '' }).code).toBe('KEY_ERROR');
  });

  test('already exist, deadlock, assertion', () => {
    expect(keyErrorFromWire({ alreadyExist: { key: k('x') } })).toMatchObject({
      code: 'ALREADY_EXISTS',
      key: k('x'),
    });
    expect(keyErrorFromWire({ alreadyExist: {} })).toMatchObject({ key: new Uint8Array(0) });
    const d = keyErrorFromWire({
      deadlock: {
        lockTs: 5n,
        lockKey: k('a'),
        deadlockKeyHash: 77n,
        deadlockKey: k('b'),
        waitChain: [
          { txn: 1n, waitForTxn: 2n, keyHash: 3n, key: k('c'), resourceGroupTag: k('t'), waitTime: 10n },
          {},
        ],
      },
    });
    expect(d).toBeInstanceOf(DeadlockError);
    expect((d as DeadlockError).waitChain).toEqual([
      { txn: 1n, waitForTxn: 2n, keyHash: 3n, key: k('c'), resourceGroupTag: k('t'), waitTimeMs: 10n },
      {
        txn: 0n,
        waitForTxn: 0n,
        keyHash: 0n,
        key: new Uint8Array(0),
        resourceGroupTag: new Uint8Array(0),
        waitTimeMs: 0n,
      },
    ]);
    expect(keyErrorFromWire({ deadlock: {} })).toMatchObject({ lockTs: 0n, deadlockKeyHash: 0n });
    const a = keyErrorFromWire({
      assertionFailed: { startTs: 1, key: k('a'), assertion: 2, existingStartTs: 3, existingCommitTs: 4 },
    });
    expect(a).toBeInstanceOf(AssertionFailedError);
    expect(a).toMatchObject({
      assertion: 'NotExist',
      startTs: 1n,
      existingStartTs: 3n,
      existingCommitTs: 4n,
    });
    expect(keyErrorFromWire({ assertionFailed: {} })).toMatchObject({ assertion: 'None' });
  });

  test('commit ts and txn status arms', () => {
    expect(
      keyErrorFromWire({
        commitTsExpired: { startTs: 1n, attemptedCommitTs: 2n, key: k('a'), minCommitTs: 3n },
      }),
    ).toMatchObject({
      code: 'COMMIT_TS_EXPIRED',
      minCommitTs: 3n,
    });
    expect(keyErrorFromWire({ commitTsExpired: {} })).toMatchObject({ key: new Uint8Array(0) });
    expect(keyErrorFromWire({ commitTsTooLarge: { commitTs: 9n } })).toMatchObject({
      code: 'COMMIT_TS_TOO_LARGE',
      commitTs: 9n,
    });
    expect(keyErrorFromWire({ txnNotFound: { startTs: 4n, primaryKey: k('p') } })).toMatchObject({
      code: 'TXN_NOT_FOUND',
      startTs: 4n,
    });
    expect(keyErrorFromWire({ txnNotFound: {} })).toMatchObject({ primaryKey: new Uint8Array(0) });
    expect(keyErrorFromWire({ txnLockNotFound: { key: k('a') } })).toMatchObject({
      code: 'TXN_LOCK_NOT_FOUND',
    });
    expect(keyErrorFromWire({ txnLockNotFound: {} })).toMatchObject({ key: new Uint8Array(0) });
    const pm = keyErrorFromWire({ primaryMismatch: { lockInfo: { key: k('a'), lockVersion: 8n } } });
    expect(pm).toBeInstanceOf(PrimaryMismatchError);
    expect((pm as PrimaryMismatchError).lock.lockVersion).toBe(8n);
    expect(keyErrorFromWire({ primaryMismatch: {} })).toBeInstanceOf(PrimaryMismatchError);
  });

  test('shared lock arms', () => {
    const u = keyErrorFromWire({
      lockUpgradeConflict: { key: k('a'), startTs: 1n, ownerStartTs: 2n, reason: 1 },
    });
    expect(u).toBeInstanceOf(LockUpgradeConflictError);
    expect(u).toMatchObject({ reason: 'DuplicateInFlight', ownerStartTs: 2n });
    expect(keyErrorFromWire({ lockUpgradeConflict: {} })).toMatchObject({ reason: 'Unknown' });
    expect(keyErrorFromWire({ sharedLockLost: { key: k('a'), startTs: 3n } })).toMatchObject({
      code: 'SHARED_LOCK_LOST',
      startTs: 3n,
    });
    expect(keyErrorFromWire({ sharedLockLost: {} })).toMatchObject({ startTs: 0n });
  });

  test('no known arm gives KEY_ERROR', () => {
    const e = keyErrorFromWire({});
    expect(isTiKVError(e, 'KEY_ERROR')).toBe(true);
    expect(e.debugInfo).toBeUndefined();
  });

  test('lockInfoFromWire defaults an unknown lock type to Put', () => {
    expect(lockInfoFromWire({ lockType: 99 }).lockType).toBe('Put');
    expect(lockInfoFromWire({ lockType: 'Bogus' }).lockType).toBe('Put');
    expect(lockInfoFromWire({}).lockType).toBe('Put');
  });
});

describe('RegionError', () => {
  test('regionErrorFromWire picks the first arm set, in field order', () => {
    const e = regionErrorFromWire(
      {
        message: 'peer is not leader for region 3',
        notLeader: { regionId: 3n, leader: { id: 7n, storeId: 2n } },
      },
      { storeId: 1n },
    );
    expect(e).toBeInstanceOf(RegionError);
    expect(e.kind).toBe('NotLeader');
    expect(e.regionId).toBe(3n);
    expect(e.storeId).toBe(1n);
    expect(e.detail).toEqual({ regionId: 3n, leader: { id: 7n, storeId: 2n } });
    expect(e.retryable).toBe(true);
    expect(e.message).toBe('region error (region 3): NotLeader: peer is not leader for region 3');
  });

  test.each([
    ['notLeader', 'NotLeader'],
    ['regionNotFound', 'RegionNotFound'],
    ['keyNotInRegion', 'KeyNotInRegion'],
    ['epochNotMatch', 'EpochNotMatch'],
    ['serverIsBusy', 'ServerIsBusy'],
    ['staleCommand', 'StaleCommand'],
    ['storeNotMatch', 'StoreNotMatch'],
    ['raftEntryTooLarge', 'RaftEntryTooLarge'],
    ['maxTimestampNotSynced', 'MaxTimestampNotSynced'],
    ['readIndexNotReady', 'ReadIndexNotReady'],
    ['proposalInMergingMode', 'ProposalInMergingMode'],
    ['dataIsNotReady', 'DataIsNotReady'],
    ['regionNotInitialized', 'RegionNotInitialized'],
    ['diskFull', 'DiskFull'],
    ['recoveryInProgress', 'RecoveryInProgress'],
    ['RecoveryInProgress', 'RecoveryInProgress'],
    ['flashbackInProgress', 'FlashbackInProgress'],
    ['FlashbackInProgress', 'FlashbackInProgress'],
    ['flashbackNotPrepared', 'FlashbackNotPrepared'],
    ['FlashbackNotPrepared', 'FlashbackNotPrepared'],
    ['isWitness', 'IsWitness'],
    ['mismatchPeerId', 'MismatchPeerId'],
    ['bucketVersionNotMatch', 'BucketVersionNotMatch'],
    ['undeterminedResult', 'UndeterminedResult'],
  ])('arm %s gives kind %s', (field, kind) => {
    const e = regionErrorFromWire({ [field]: { regionId: 9 } });
    expect(e.kind).toBe(kind);
    expect(e.regionId).toBe(9n);
  });

  test('non-retryable kinds follow client-go', () => {
    for (const kind of [
      'RaftEntryTooLarge',
      'FlashbackInProgress',
      'FlashbackNotPrepared',
      'UndeterminedResult',
    ] as const) {
      expect(new RegionError(kind, '').retryable).toBe(false);
    }
    expect(new RegionError('ServerIsBusy', '').retryable).toBe(true);
    expect(new RegionError('ServerIsBusy', '', { retryable: false, cause: 'x' })).toMatchObject({
      retryable: false,
      cause: 'x',
    });
  });

  test('no arm gives Other with the message; region id from context wins', () => {
    const e = regionErrorFromWire({ message: 'something new' }, { regionId: 4n });
    expect(e.kind).toBe('Other');
    expect(e.regionId).toBe(4n);
    expect(e.storeId).toBeUndefined();
    expect(e.message).toBe('region error (region 4): Other: something new');
    expect(regionErrorFromWire({}).message).toBe('region error: Other');
    expect(regionErrorFromWire({ staleCommand: {} }).regionId).toBeUndefined();
    expect(regionErrorFromWire({ notLeader: { regionId: 0n } }).regionId).toBeUndefined();
    expect(regionErrorFromWire({ notLeader: null, staleCommand: {} }).kind).toBe('StaleCommand');
  });

  test('isFakeEpochNotMatch (client-go IsFakeRegionError)', () => {
    expect(isFakeEpochNotMatch(regionErrorFromWire({ epochNotMatch: { currentRegions: [] } }))).toBe(true);
    expect(isFakeEpochNotMatch(regionErrorFromWire({ epochNotMatch: {} }))).toBe(true);
    expect(
      isFakeEpochNotMatch(regionErrorFromWire({ epochNotMatch: { currentRegions: [{ id: 1n }] } })),
    ).toBe(false);
    expect(isFakeEpochNotMatch(regionErrorFromWire({ notLeader: {} }))).toBe(false);
  });

  test('serverBusyHintMs reads backoffMs, then estimatedWaitMs', () => {
    expect(
      serverBusyHintMs(regionErrorFromWire({ serverIsBusy: { backoffMs: 300n, estimatedWaitMs: 5 } })),
    ).toBe(300);
    expect(
      serverBusyHintMs(regionErrorFromWire({ serverIsBusy: { backoffMs: 0n, estimatedWaitMs: 5 } })),
    ).toBe(5);
    expect(serverBusyHintMs(regionErrorFromWire({ serverIsBusy: {} }))).toBeUndefined();
    expect(serverBusyHintMs(regionErrorFromWire({ notLeader: {} }))).toBeUndefined();
  });
});
