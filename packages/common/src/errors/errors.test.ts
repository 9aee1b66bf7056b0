import {
  BackoffBudgetExceededError,
  ClientClosedError,
  CodecError,
  DeadlineExceededError,
  InvalidArgumentError,
  MaxScanLimitExceededError,
  PdError,
  pdErrorFromWire,
  UndeterminedError,
} from './client-errors.js';
import { ErrorCode, isErrorCode } from './error-code.js';
import { isKeyError, isRetryableError, isTiKVError } from './is-tikv-error.js';
import {
  AlreadyExistsError,
  AssertionFailedError,
  CommitTsExpiredError,
  CommitTsTooLargeError,
  DeadlockError,
  KeyError,
  KeyIsLockedError,
  LockUpgradeConflictError,
  PrimaryMismatchError,
  RetryableKeyError,
  SharedLockLostError,
  TxnAbortedError,
  TxnLockNotFoundError,
  TxnNotFoundError,
  WriteConflictError,
} from './key-errors.js';
import { makeLockInfo } from './lock-info.js';
import { EntryTooLargeError, KeyTooLargeError } from './size-errors.js';
import { TIKV_ERROR_BRAND, TiKVError } from './tikv-error.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('ErrorCode', () => {
  test('maps each code to itself and is a closed set', () => {
    for (const [key, value] of Object.entries(ErrorCode)) expect(key).toBe(value);
    expect(Object.isFrozen(ErrorCode)).toBe(true);
    expect(isErrorCode('WRITE_CONFLICT')).toBe(true);
    expect(isErrorCode('write conflict')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('TiKVError', () => {
  test('carries code, retryable flag and cause (options form)', () => {
    const cause = new Error('socket hang up');
    const e = new TiKVError('RPC_ERROR', 'store 1 unreachable', { retryable: true, cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('TiKVError');
    expect(e.code).toBe('RPC_ERROR');
    expect(e.retryable).toBe(true);
    expect(e.cause).toBe(cause);
    expect(e.message).toBe('store 1 unreachable');
  });

  test('accepts the positional retryable flag', () => {
    const e = new TiKVError('RPC_ERROR', 'x', true, { cause: 'c' });
    expect(e.retryable).toBe(true);
    expect(e.cause).toBe('c');
    const plain = new TiKVError('INTERNAL', 'y');
    expect(plain.retryable).toBe(false);
    expect('cause' in plain).toBe(false);
  });

  test('isTiKVError checks the brand, and the code when given', () => {
    const e = new InvalidArgumentError('bad');
    expect(isTiKVError(e)).toBe(true);
    expect(isTiKVError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(isTiKVError(e, 'CODEC_ERROR')).toBe(false);
    expect(isTiKVError(new Error('x'))).toBe(false);
    expect(isTiKVError(null)).toBe(false);
    expect(isTiKVError('INVALID_ARGUMENT')).toBe(false);
  });

  test('the brand works across copies of the package', () => {
    // An error built by another copy: a different class, the same registered symbol.
    const otherCopyBrand: unique symbol = Symbol.for('@tikv/common.TiKVError');
    class OtherCopyError extends Error {
      readonly [otherCopyBrand] = true;
      readonly code = 'WRITE_CONFLICT';
      readonly retryable = true;
    }
    const foreign: unknown = new OtherCopyError('write conflict');
    expect(foreign instanceof TiKVError).toBe(false);
    expect(isTiKVError(foreign)).toBe(true);
    expect(isTiKVError(foreign, 'WRITE_CONFLICT')).toBe(true);
    expect(isRetryableError(foreign)).toBe(true);
    expect(TIKV_ERROR_BRAND).toBe(Symbol.for('@tikv/common.TiKVError'));
  });

  test('narrowing by code gives the subclass fields', () => {
    const e: unknown = new MaxScanLimitExceededError(20000, 10240);
    if (!isTiKVError(e, 'MAX_SCAN_LIMIT_EXCEEDED')) throw new Error('expected a match');
    expect(e.limit).toBe(20000);
    expect(e.maxLimit).toBe(10240);
  });
});

describe('client errors', () => {
  test('UndeterminedError is never retryable', () => {
    const e = new UndeterminedError('commit outcome unknown', {
      startTs: 5n,
      cause: new Error('rpc failed'),
    });
    expect(e.code).toBe('UNDETERMINED');
    expect(e.retryable).toBe(false);
    expect(e.startTs).toBe(5n);
    expect(isRetryableError(e)).toBe(false);
    expect(new UndeterminedError('x').startTs).toBeUndefined();
  });

  test('DeadlineExceededError', () => {
    const e = new DeadlineExceededError(undefined, { timeoutMs: 100 });
    expect(e.code).toBe('DEADLINE_EXCEEDED');
    expect(e.message).toBe('deadline exceeded');
    expect(e.timeoutMs).toBe(100);
    expect(e.retryable).toBe(false);
  });

  test('BackoffBudgetExceededError lists history and errors', () => {
    const e = new BackoffBudgetExceededError(
      {
        kind: 'tikvRPC',
        maxBackoffMs: 40000,
        totalSleepMs: 40100,
        excludedSleepMs: 0,
        history: [
          { kind: 'tikvRPC', attempts: 20, totalSleepMs: 30000 },
          { kind: 'regionMiss', attempts: 25, totalSleepMs: 10100 },
        ],
        recentErrors: [{ kind: 'tikvRPC', error: new Error('unavailable'), atMs: 0 }],
        longestSleepKind: 'tikvRPC',
        longestSleepMs: 30000,
        maxBackoffTimeExceeded: true,
        maxExcludedTimeExceeded: false,
      },
      { cause: 'last' },
    );
    expect(e.code).toBe('BACKOFF_EXCEEDED');
    expect(e.message).toBe(
      'backoff budget of 40000ms exhausted; last cause (tikvRPC): last\n' +
        'tikvRPC backoffer.maxSleep 40000ms is exceeded, errors:\n' +
        'tikvRPC: unavailable at 1970-01-01T00:00:00.000Z\n' +
        'total-backoff-times: 45, backoff-detail: tikvRPC:20, regionMiss:25, maxBackoffTimeExceeded: true, ' +
        'maxExcludedTimeExceeded: false\n' +
        'longest sleep type: tikvRPC, time: 30000ms',
    );
    expect(e.cause).toBe('last');
    expect(e.causeKind).toBe('tikvRPC');
    expect(e.retryable).toBe(false);
    const temporary = new TiKVError('RPC_ERROR', 'store down', { retryable: true });
    const again = new BackoffBudgetExceededError(
      { ...e, recentErrors: [], causeKind: 'tikvRPC' },
      { cause: temporary },
    );
    expect(again.retryable).toBe(true);
    expect(again.message.split('\n')[0]).toBe(
      'backoff budget of 40000ms exhausted; last cause (tikvRPC): store down',
    );
    const { causeKind: _omitted, ...withoutCauseKind } = e;
    expect(new BackoffBudgetExceededError(withoutCauseKind).message.split('\n')[0]).toBe(
      'backoff budget of 40000ms exhausted',
    );
  });

  test('the size errors: one shape, their own class and code', () => {
    const key = new KeyTooLargeError(8193, 8192);
    expect(key).toBeInstanceOf(KeyTooLargeError);
    expect(isTiKVError(key, 'KEY_TOO_LARGE')).toBe(true);
    expect(key).toMatchObject({
      name: 'KeyTooLargeError',
      sizeBytes: 8193,
      limitBytes: 8192,
      retryable: false,
      message: 'key of 8193 bytes exceeds the limit of 8192 bytes',
    });
    const entry = new EntryTooLargeError(10, 9);
    expect(entry).not.toBeInstanceOf(KeyTooLargeError);
    expect(isTiKVError(entry, 'ENTRY_TOO_LARGE')).toBe(true);
    expect(entry).toMatchObject({
      name: 'EntryTooLargeError',
      message: 'entry of 10 bytes exceeds the limit of 9 bytes',
    });
  });

  test('the small client errors', () => {
    expect(new CodecError('bad', { offset: 3 }).offset).toBe(3);
    expect(new CodecError('bad', { cause: 1 }).cause).toBe(1);
    expect(new ClientClosedError().message).toBe('client is closed');
    expect(new ClientClosedError('pd client closed').code).toBe('CLIENT_CLOSED');
    expect(new InvalidArgumentError('x').name).toBe('InvalidArgumentError');
    expect(new MaxScanLimitExceededError(2, 1).message).toBe('scan limit 2 exceeds the maximum 1');
  });

  test('PdError and pdErrorFromWire', () => {
    const e = pdErrorFromWire({ type: 6, message: 'region 4 not found' });
    expect(e).toBeInstanceOf(PdError);
    expect(e?.pdErrorType).toBe('REGION_NOT_FOUND');
    expect(e?.message).toBe('pd error REGION_NOT_FOUND: region 4 not found');
    expect(pdErrorFromWire({ type: 'NOT_BOOTSTRAPPED' })?.pdErrorType).toBe('NOT_BOOTSTRAPPED');
    expect(pdErrorFromWire({ type: 12 })?.pdErrorType).toBe('REGIONS_NOT_CONTAIN_ALL_KEY_RANGE');
    expect(pdErrorFromWire({ type: 99 })?.pdErrorType).toBe('UNKNOWN');
    expect(pdErrorFromWire({ type: 'WHAT' })?.pdErrorType).toBe('UNKNOWN');
    expect(pdErrorFromWire({ type: 0 })).toBeUndefined();
    expect(pdErrorFromWire({})).toBeUndefined();
    expect(new PdError('DATA_COMPACTED', '').message).toBe('pd error DATA_COMPACTED');
    expect(new PdError('UNKNOWN', 'x', { retryable: true }).retryable).toBe(true);
  });
});

describe('KeyError family', () => {
  const lock = makeLockInfo({
    key: k('k1'),
    primary: k('p'),
    lockVersion: 10n,
    lockTtlMs: 3000n,
    lockType: 'Put',
  });

  test.each([
    [
      new WriteConflictError({
        startTs: 1n,
        conflictStartTs: 2n,
        conflictCommitTs: 3n,
        key: k('a'),
        primary: k('b'),
        reason: 'Optimistic',
      }),
      'WRITE_CONFLICT',
      true,
    ],
    [new KeyIsLockedError(lock), 'KEY_IS_LOCKED', true],
    [new DeadlockError({ lockTs: 1n, lockKey: k('a'), deadlockKeyHash: 7n }), 'DEADLOCK', false],
    [new AlreadyExistsError(k('a')), 'ALREADY_EXISTS', false],
    [new TxnNotFoundError({ startTs: 1n, primaryKey: k('p') }), 'TXN_NOT_FOUND', false],
    [
      new CommitTsExpiredError({ startTs: 1n, attemptedCommitTs: 2n, key: k('a'), minCommitTs: 3n }),
      'COMMIT_TS_EXPIRED',
      true,
    ],
    [new CommitTsTooLargeError(9n), 'COMMIT_TS_TOO_LARGE', false],
    [
      new AssertionFailedError({
        startTs: 1n,
        key: k('a'),
        assertion: 'NotExist',
        existingStartTs: 2n,
        existingCommitTs: 3n,
      }),
      'ASSERTION_FAILED',
      false,
    ],
    [new TxnLockNotFoundError(k('a')), 'TXN_LOCK_NOT_FOUND', false],
    [new PrimaryMismatchError(lock), 'PRIMARY_MISMATCH', false],
    [
      new LockUpgradeConflictError({ key: k('a'), startTs: 1n, ownerStartTs: 2n, reason: 'SecondUpgrader' }),
      'LOCK_UPGRADE_CONFLICT',
      false,
    ],
    [new SharedLockLostError({ key: k('a'), startTs: 1n }), 'SHARED_LOCK_LOST', false],
    [new RetryableKeyError('txn may retry'), 'TXN_RETRYABLE', true],
    [new TxnAbortedError('bad'), 'TXN_ABORTED', false],
    [new KeyError('KEY_ERROR', 'unknown'), 'KEY_ERROR', false],
  ] as const)('%s has code %s and retryable %s', (error, code, retryable) => {
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(isKeyError(error)).toBe(true);
    expect(isTiKVError(error, code)).toBe(true);
    expect(error).toBeInstanceOf(KeyError);
    expect(error).toBeInstanceOf(TiKVError);
  });

  test('each subclass carries its arm’s fields, copied once by the KeyError base', () => {
    const wc = new WriteConflictError({
      startTs: 1n,
      conflictStartTs: 2n,
      conflictCommitTs: 3n,
      key: k('a'),
      primary: k('b'),
      reason: 'Optimistic',
    });
    expect(wc).toMatchObject({
      startTs: 1n,
      conflictStartTs: 2n,
      conflictCommitTs: 3n,
      reason: 'Optimistic',
    });
    expect(wc.key).toEqual(k('a'));
    expect(wc.primary).toEqual(k('b'));
    expect(new KeyIsLockedError(lock).lock).toBe(lock);
    expect(new PrimaryMismatchError(lock).lock).toBe(lock);
    expect(new AlreadyExistsError(k('x')).key).toEqual(k('x'));
    expect(new AlreadyExistsError(k('x')).value).toBeUndefined();
    expect(new AlreadyExistsError(k('x'), { value: k('v') }).value).toEqual(k('v'));
    expect(new TxnLockNotFoundError(k('y')).key).toEqual(k('y'));
    expect(new TxnNotFoundError({ startTs: 4n, primaryKey: k('p') })).toMatchObject({ startTs: 4n });
    expect(new CommitTsTooLargeError(9n).commitTs).toBe(9n);
    expect(new RetryableKeyError('again').detail).toBe('again');
    expect(new TxnAbortedError('no').detail).toBe('no');
    expect(new SharedLockLostError({ key: k('a'), startTs: 5n }).startTs).toBe(5n);
    const chain = [
      { txn: 1n, waitForTxn: 2n, keyHash: 3n, key: k('a'), resourceGroupTag: k(''), waitTimeMs: 4n },
    ];
    const d = new DeadlockError({
      lockTs: 1n,
      lockKey: k('a'),
      deadlockKeyHash: 7n,
      deadlockKey: k('d'),
      waitChain: chain,
    });
    expect(d.waitChain).toBe(chain);
    expect(d.deadlockKey).toEqual(k('d'));
    // The name and code stay the subclass's; the fields are the error's own properties.
    expect(d.name).toBe('DeadlockError');
    expect(Object.keys(d)).toEqual(
      expect.arrayContaining(['lockTs', 'lockKey', 'deadlockKeyHash', 'waitChain']),
    );
  });

  test('messages keep the server detail, keys in uppercase hex', () => {
    const wc = new WriteConflictError({
      startTs: 10n,
      conflictStartTs: 11n,
      conflictCommitTs: 12n,
      key: Uint8Array.of(0xab, 0x01),
      primary: Uint8Array.of(0xcd),
      reason: 'PessimisticRetry',
    });
    expect(wc.message).toBe(
      'write conflict { startTs: 10, conflictStartTs: 11, conflictCommitTs: 12, key: AB01, primary: CD, reason: PessimisticRetry }',
    );
    expect(new TxnAbortedError('txn 5 is rolled back').message).toBe('tikv aborts txn: txn 5 is rolled back');
    expect(new CommitTsTooLargeError(99n).message).toBe('commit ts 99 is too large');
    expect(new KeyIsLockedError(lock).message).toContain('lockVersion: 10, lockTtlMs: 3000');
  });

  test('options override retryable and carry debug info and cause', () => {
    const d = new DeadlockError(
      { lockTs: 1n, lockKey: k('a'), deadlockKeyHash: 2n },
      { retryable: true, debugInfo: { x: 1 }, cause: 'c' },
    );
    expect(d.retryable).toBe(true);
    expect(d.debugInfo).toEqual({ x: 1 });
    expect(d.cause).toBe('c');
    expect(d.waitChain).toEqual([]);
    expect(d.deadlockKey).toEqual(new Uint8Array(0));
  });

  test('isKeyError is false for other errors', () => {
    expect(isKeyError(new InvalidArgumentError('x'))).toBe(false);
    expect(isKeyError(new Error('x'))).toBe(false);
  });

  test('makeLockInfo fills protobuf defaults', () => {
    const l = makeLockInfo({});
    expect(l).toEqual({
      key: new Uint8Array(0),
      primary: new Uint8Array(0),
      lockVersion: 0n,
      lockTtlMs: 0n,
      txnSize: 0n,
      lockType: 'Put',
      lockForUpdateTs: 0n,
      useAsyncCommit: false,
      minCommitTs: 0n,
      secondaries: [],
      durationToLastUpdateMs: 0n,
      isTxnFile: false,
      sharedLockInfos: [],
    });
    expect(Object.isFrozen(l)).toBe(true);
  });
});
