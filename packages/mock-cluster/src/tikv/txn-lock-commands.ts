import { kvrpcpb } from '@tikv/proto';
import { MvccError, toKeyError } from '../mvcc/mvcc-error.js';
import type { TxnRequestRunner } from './txn-request-runner.js';
import { pessimisticLockFields } from './txn-responses.js';

/**
 * KvPessimisticLock with TiKV's lock waiting, and GetLockWaitInfo, for one store.
 */
export class TxnLockCommands {
  readonly #r: TxnRequestRunner;

  constructor(runner: TxnRequestRunner) {
    this.#r = runner;
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
    const first = this.#r.run(
      kvrpcpb.PessimisticLockResponse,
      req.context,
      'write',
      (region) => {
        const keys = req.mutations.map((m) => m.key);
        this.#r.writeKeys(req.context, 'acquire_pessimistic_lock', keys, region, true);
        const out = this.#r.txn.storage.acquirePessimisticLock({
          keys: req.mutations.map((m) => ({
            key: m.key,
            shouldNotExist: m.assertion === kvrpcpb.Assertion.NotExist,
            shared: m.op === kvrpcpb.Op.SharedPessimisticLock,
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
        if (out.shrunk !== undefined) {
          // An exclusive request made shared locks shrink-only: TiKV answers at once, no wait.
          return kvrpcpb.PessimisticLockResponse.fromPartial({
            errors: [toKeyError(new MvccError({ kind: 'KeyIsLocked', info: out.shrunk }))],
          });
        }
        if (out.lockedBy !== undefined) {
          locked = out.lockedBy.info;
          return lockedResponse(toKeyError(new MvccError({ kind: 'KeyIsLocked', info: out.lockedBy.info })));
        }
        return kvrpcpb.PessimisticLockResponse.fromPartial(pessimisticLockFields(out.results, forceLock));
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
    const waits = this.#r.txn.lockWaits;
    const lockInfo = locked;
    const waitMs = waits?.waitMsFor(req.waitTimeout);
    if (lockInfo === undefined || waits === undefined || waitMs === undefined) return first;
    const wait = {
      startTs: req.startVersion,
      lockInfo,
      allowLockWithConflict: forceLock,
      resourceGroupTag: req.context?.resourceGroupTag,
      storeId: this.#r.storeId,
      isFirstLock: req.isFirstLock,
    };
    // The first lock of a transaction holds nothing anyone could wait for: TiKV skips detection.
    const dead = req.isFirstLock ? undefined : waits.detect(wait);
    if (dead !== undefined) {
      return lockedResponse(
        toKeyError(
          new MvccError({
            kind: 'Deadlock',
            startTs: req.startVersion,
            lockTs: dead.lockTs,
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
      if (outcome.kind === 'deadlock') {
        return lockedResponse(
          toKeyError(
            new MvccError({
              kind: 'Deadlock',
              startTs: req.startVersion,
              lockTs: outcome.found.lockTs,
              lockKey: outcome.lockInfo.key,
              deadlockKeyHash: outcome.found.keyHash,
              waitChain: outcome.found.waitChain,
            }),
          ),
        );
      }
      // The lock waited for last (a newer holder's when the key changed hands meanwhile), with
      // the time since that change: 0 when the lock never changed, as TiKV reports it.
      const last =
        outcome.kind === 'timeout'
          ? { ...outcome.lockInfo, durationToLastUpdateMs: BigInt(outcome.sinceUpdateMs) }
          : { ...lockInfo, durationToLastUpdateMs: 0n };
      return lockedResponse(toKeyError(new MvccError({ kind: 'KeyIsLocked', info: last })));
    });
  }

  /** GetLockWaitInfo: every request waiting for a lock in the cluster. */
  getLockWaitInfo(_req: kvrpcpb.GetLockWaitInfoRequest): kvrpcpb.GetLockWaitInfoResponse {
    return kvrpcpb.GetLockWaitInfoResponse.fromPartial({ entries: this.#r.txn.lockWaits?.waitInfo() ?? [] });
  }
}
