import {
  type Backoffer,
  BackoffKinds,
  type Clock,
  KeyIsLockedError,
  keyErrorFromWire,
  keysEqual,
  keyToLatin1,
  type LockInfo,
  lockInfoFromWire,
  MAX_WRITE_EXECUTION_MS,
  TiKVError,
  type WireKeyError,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { LockResolving } from '../txn-deps.js';
import type { LockRequestTagger } from './lock-keys-options.js';

/** A lock whose holder refreshed it this recently is waited for, not resolved (client-go `skipResolveThresholdMs`). */
const SKIP_RESOLVE_THRESHOLD_MS = 300;

const keyOf = (k: Uint8Array): Uint8Array => k;
const keySize = (k: Uint8Array): number => k.length;

/** What a pessimistic lock request learned about one key (client-go `ReturnedValue`). */
export interface LockedValue {
  /** Whether the key has a value (known with `returnValues`, `checkExistence` or `lockOnlyIfExists`). */
  readonly exists: boolean;
  /** The key's latest value, with `returnValues`. */
  readonly value: Uint8Array | undefined;
  /**
   * Aggressive locking only: the commit ts of a newer version the lock was taken over anyway
   * (client-go `LockedWithConflictTS`); 0n for a normal lock.
   */
  readonly lockedWithConflictTs: bigint;
}

/** One `lockKeys` call's request (client-go `LockCtx` and the committer fields it uses). @internal */
export interface PessimisticLockSpec {
  readonly exec: RegionExecutor;
  readonly resolver: LockResolving;
  readonly clock: Clock;
  /** Keys to lock, sorted, unique. */
  readonly keys: readonly Uint8Array[];
  readonly primaryKey: Uint8Array;
  readonly startTs: bigint;
  readonly forUpdateTs: bigint;
  /** The transaction's first lock, of one key: TiKV may skip checks (client-go `isFirstLock`). */
  readonly isFirstLock: boolean;
  /** Milliseconds to wait for other transactions' locks in all; `undefined` waits as long as the call allows; 0 does not wait. */
  readonly waitTimeoutMs: number | undefined;
  readonly returnValues: boolean;
  readonly checkExistence: boolean;
  readonly lockOnlyIfExists: boolean;
  /** The lock TTL to ask for: the transaction's age plus the managed TTL. */
  readonly lockTtlMs: () => number;
  /** Keys to lock with a not-exist assertion (presumed absent in the buffer). */
  readonly assertNotExist: (key: Uint8Array) => boolean;
  readonly request: RegionRequestOptions;
  /** The primary's lock was written: start the TTL manager. */
  readonly onPrimaryLocked: () => void;
  /**
   * Force-lock wake-up mode (aggressive locking of one key): a newer version does not fail the
   * lock, which is taken "with conflict" and reports that version's commit ts. @defaultValue false
   */
  readonly forceLock?: boolean | undefined;
  /** Shared locks (`Op::SharedPessimisticLock`) instead of exclusive ones. @defaultValue false */
  readonly shared?: boolean | undefined;
  /** The call's own tag (client-go `LockCtx.ResourceGroupTag`), in place of `request`'s tag and tagger. */
  readonly resourceGroupTag?: Uint8Array | undefined;
  /** The call's own tagger (client-go `LockCtx.ResourceGroupTagger`), used when no call tag is set. */
  readonly resourceGroupTagger?: LockRequestTagger | undefined;
}

/**
 * The request options of one lock request: the call's tag, else what its tagger makes of the
 * request (client-go sets `req.ResourceGroupTag` from `LockCtx`), else the transaction's.
 */
function lockRequestOptions(
  spec: PessimisticLockSpec,
  request: kvrpcpb.PessimisticLockRequest,
): RegionRequestOptions {
  if (spec.resourceGroupTag === undefined && spec.resourceGroupTagger === undefined) return spec.request;
  const tag = spec.resourceGroupTag ?? spec.resourceGroupTagger?.(request);
  return { ...spec.request, resourceGroupTag: tag, resourceGroupTagger: undefined };
}

/**
 * Acquires pessimistic locks (client-go `actionPessimisticLock`, normal wake-up mode): grouped by
 * region, the primary's batch first and the rest concurrently. A batch that meets another
 * transaction's lock resolves it (waiting in TiKV up to the wait timeout each attempt) and tries
 * again until the lock is gone, the wait time is used up (`LOCK_WAIT_TIMEOUT`), or at once with
 * no wait (`LOCK_ACQUIRE_FAILED_NO_WAIT`); a deadlock, a write conflict (a newer commit than
 * `forUpdateTs`) or an existing key for an insert fail it, typed.
 *
 * @returns what TiKV answered per key (latin1 key string), with `returnValues` / `checkExistence`
 * @internal
 */
export async function pessimisticLock(
  spec: PessimisticLockSpec,
  bo: Backoffer,
): Promise<Map<string, LockedValue>> {
  const values = new Map<string, LockedValue>();
  const waitStartMs = spec.clock.now();
  const holdsPrimary = spec.keys.some((k) => keysEqual(k, spec.primaryKey));
  await spec.exec.runBatches(bo, {
    items: spec.keys,
    keyOf,
    sorted: true,
    limit: { maxBytes: 16 * 1024, sizeOf: keySize },
    concurrency: 16,
    ...(holdsPrimary ? { primary: { key: spec.primaryKey } } : {}),
    send: async (batch, child) => {
      const isPrimary = holdsPrimary && batch.items.some((k) => keysEqual(k, spec.primaryKey));
      const wait = effectiveWaitMs(spec, waitStartMs);
      const lockRequest: kvrpcpb.PessimisticLockRequest = {
        context: undefined,
        mutations: batch.items.map((key) => ({
          op: spec.shared === true ? kvrpcpb.Op.SharedPessimisticLock : kvrpcpb.Op.PessimisticLock,
          key,
          value: new Uint8Array(0),
          assertion: spec.assertNotExist(key) ? kvrpcpb.Assertion.NotExist : kvrpcpb.Assertion.None,
        })),
        primaryLock: spec.primaryKey,
        startVersion: spec.startTs,
        lockTtl: BigInt(spec.lockTtlMs()),
        forUpdateTs: spec.forUpdateTs,
        isFirstLock: spec.isFirstLock,
        waitTimeout: BigInt(wait),
        force: false,
        returnValues: spec.returnValues,
        minCommitTs: spec.forUpdateTs + 1n,
        checkExistence: spec.checkExistence,
        lockOnlyIfExists: spec.lockOnlyIfExists,
        wakeUpMode:
          spec.forceLock === true
            ? kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock
            : kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeNormal,
      };
      const response = await spec.exec.sendToRegion(
        child,
        batch.region,
        { $case: 'PessimisticLock', value: lockRequest },
        lockRequestOptions(spec, lockRequest),
      );
      if (response === undefined) return 'regionError';
      const answer = response.value;
      if (spec.forceLock === true && answer.results.length > 0) {
        // client-go `handlePessimisticLockResponseForceLockMode`: one key, one result.
        const result = answer.results[0] as kvrpcpb.PessimisticLockKeyResult;
        if (result.type !== kvrpcpb.PessimisticLockKeyResultType.LockResultFailed) {
          if (isPrimary) spec.onPrimaryLocked();
          const conflict = result.type === kvrpcpb.PessimisticLockKeyResultType.LockResultLockedWithConflict;
          if (conflict || spec.returnValues || spec.checkExistence) {
            values.set(keyToLatin1(batch.items[0] as Uint8Array), {
              exists: result.existence,
              value: (spec.returnValues || conflict) && result.existence ? result.value : undefined,
              lockedWithConflictTs: conflict ? result.lockedWithConflictTs : 0n,
            });
          }
          return 'done';
        }
        // Failed: the key errors say why (a lock to resolve); none means try again.
        if (answer.errors.length === 0) return 'retry';
      }
      if (answer.errors.length === 0) {
        if (isPrimary) spec.onPrimaryLocked();
        if (spec.returnValues || spec.checkExistence || spec.lockOnlyIfExists) {
          batch.items.forEach((key, i) => {
            const exists = answer.notFounds[i] !== true;
            values.set(keyToLatin1(key), {
              exists,
              value: spec.returnValues && exists ? answer.values[i] : undefined,
              lockedWithConflictTs: 0n,
            });
          });
        }
        return 'done';
      }
      const locks = locksToResolve(answer.errors);
      // Locks refreshed just now are waited for in TiKV, not resolved: they count as alive.
      const alive =
        locks.length === 0 ||
        (
          await spec.resolver.resolveLocks(child, {
            callerStartTs: 0n,
            locks,
            pessimisticRegionResolve: true,
          })
        ).msBeforeTxnExpired > 0;
      if (alive) {
        const first = lockInfoFromWire(answer.errors[0]?.locked as kvrpcpb.LockInfo);
        const holder = `transaction ${first.lockVersion}`;
        if (spec.waitTimeoutMs === 0) {
          throw new TiKVError(
            'LOCK_ACQUIRE_FAILED_NO_WAIT',
            `a key is locked by ${holder} and no wait was asked`,
          );
        }
        if (spec.waitTimeoutMs !== undefined && spec.clock.now() - waitStartMs >= spec.waitTimeoutMs) {
          throw new TiKVError(
            'LOCK_WAIT_TIMEOUT',
            `lock wait timeout: a key is still locked by ${holder} after ${spec.waitTimeoutMs} ms`,
          );
        }
        // TiKV waited for the lock already, unless no wait was left (it then answered at once).
        if (wait < 0) {
          await child.backoff(BackoffKinds.txnLock, new KeyIsLockedError(first));
        }
      }
      return 'retry';
    },
  });
  return values;
}

/**
 * The wait timeout of the next request (client-go `calculateEffectiveWaitTime`): what is left of
 * the caller's, -1 (no wait) once it is used up, 0 (TiKV's default wait, again and again) for no limit.
 */
function effectiveWaitMs(spec: PessimisticLockSpec, waitStartMs: number): number {
  const limit = spec.waitTimeoutMs;
  if (limit === undefined) return 0;
  if (limit <= 0) return -1;
  const left = limit - (spec.clock.now() - waitStartMs);
  return left <= 0 ? -1 : Math.ceil(left);
}

/**
 * The locks to resolve among a lock request's key errors (client-go `handleKeyErrorForResolve`):
 * any other key error (deadlock, write conflict, already exists, ...) is thrown typed.
 */
function locksToResolve(errors: readonly kvrpcpb.KeyError[]): LockInfo[] {
  const locks: LockInfo[] = [];
  for (const keyError of errors) {
    const locked = keyError.locked;
    if (locked === undefined) throw keyErrorFromWire(keyError as WireKeyError);
    const infos = locked.sharedLockInfos.length > 0 ? locked.sharedLockInfos : [locked];
    for (const info of infos) {
      const fresh =
        info.durationToLastUpdateMs > 0n && info.durationToLastUpdateMs < BigInt(SKIP_RESOLVE_THRESHOLD_MS);
      if (!fresh) locks.push(lockInfoFromWire(info));
    }
  }
  return locks;
}

/**
 * Releases pessimistic locks with `PessimisticRollback` (client-go `actionPessimisticRollback`),
 * grouped by region; locks of `forUpdateTs` or older are released.
 *
 * @internal
 */
export async function pessimisticRollback(
  exec: RegionExecutor,
  bo: Backoffer,
  keys: readonly Uint8Array[],
  startTs: bigint,
  forUpdateTs: bigint,
  request: RegionRequestOptions,
): Promise<void> {
  if (keys.length === 0) return;
  await exec.runBatches(bo, {
    items: keys,
    keyOf,
    sorted: true,
    limit: { maxBytes: 16 * 1024, sizeOf: keySize },
    concurrency: 16,
    send: async (batch, child) => {
      const response = await exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'PessimisticRollback',
          value: { context: undefined, startVersion: startTs, forUpdateTs, keys: [...batch.items] },
        },
        request,
      );
      if (response === undefined) return 'regionError';
      const keyError = response.value.errors[0];
      if (keyError !== undefined) throw keyErrorFromWire(keyError as WireKeyError);
      return 'done';
    },
  });
}

/** The request options of lock and rollback requests (client-go `MaxWriteExecutionTime`). @internal */
export const PESSIMISTIC_REQUEST: RegionRequestOptions = Object.freeze({
  maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS,
});

/**
 * The request options of a transaction's lock and pessimistic rollback requests: client-go's
 * lock request context (priority, request source, resource group, its tag or tagger) with the
 * write execution limit.
 *
 * @internal
 */
export function pessimisticRequestOptions(o: {
  readonly priority?: RegionRequestOptions['priority'];
  readonly requestSource?: string | undefined;
  readonly resourceGroupName?: string | undefined;
  readonly resourceGroupTag?: Uint8Array | undefined;
  readonly resourceGroupTagger?: RegionRequestOptions['resourceGroupTagger'];
}): RegionRequestOptions {
  if (
    o.priority === undefined &&
    o.requestSource === undefined &&
    o.resourceGroupName === undefined &&
    o.resourceGroupTag === undefined &&
    o.resourceGroupTagger === undefined
  ) {
    return PESSIMISTIC_REQUEST;
  }
  return Object.freeze({
    ...PESSIMISTIC_REQUEST,
    ...(o.priority === undefined ? {} : { priority: o.priority }),
    ...(o.requestSource === undefined ? {} : { requestSource: o.requestSource }),
    ...(o.resourceGroupName === undefined ? {} : { resourceGroupName: o.resourceGroupName }),
    ...(o.resourceGroupTag === undefined ? {} : { resourceGroupTag: o.resourceGroupTag }),
    ...(o.resourceGroupTagger === undefined ? {} : { resourceGroupTagger: o.resourceGroupTagger }),
  });
}
