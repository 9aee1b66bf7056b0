import { EMPTY_EXEC_DETAILS, type ExecDetails, type LockKeysDetails } from '@tikv/common';

/**
 * What one `lockKeys` call whose caller asked for its {@link LockKeysDetails} counts while it
 * runs (client-go fills `lockCtx.Stats` in `KVTxn.lockKeys` and `actionPessimisticLock`); the
 * request counts and times come from the call's {@link ExecDetails} when it settles.
 *
 * @internal
 */
export class LockKeysStats {
  /** Keys the call had to lock (client-go `LockKeys`). */
  lockKeys = 0;
  aggressiveLockNewCount = 0;
  aggressiveLockDerivedCount = 0;
  lockedWithConflictCount = 0;
  /** For-update ts retries after write conflicts. */
  retryCount = 0;
  /** The backoff kinds of the call's backoffer, in order. */
  backoffKinds: readonly string[] = [];

  /**
   * The details, once the call has settled.
   *
   * @param totalMs - the call's wall time, in milliseconds
   * @param exec - the call's execution details
   */
  finish(totalMs: number, exec: ExecDetails = EMPTY_EXEC_DETAILS): LockKeysDetails {
    const lock = exec.rpcByCommand.PessimisticLock;
    return Object.freeze({
      totalMs,
      regionCount: lock?.regionCount ?? 0,
      lockKeys: this.lockKeys,
      aggressiveLockNewCount: this.aggressiveLockNewCount,
      aggressiveLockDerivedCount: this.aggressiveLockDerivedCount,
      lockedWithConflictCount: this.lockedWithConflictCount,
      resolveLockMs: exec.resolveLockMs,
      backoffMs: exec.backoffMs,
      backoffKinds: Object.freeze([...this.backoffKinds]),
      lockRpcTimeMs: lock?.timeMs ?? 0,
      lockRpcCount: lock?.count ?? 0,
      retryCount: this.retryCount,
      exec,
    });
  }
}
