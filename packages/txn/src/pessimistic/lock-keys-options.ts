import {
  type ExecDetailsOptions,
  invalidArgument,
  type LockKeysDetailsOptions,
  type RequestOptions,
} from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';

/**
 * Computes the `Context.resourceGroupTag` of one lock request of a `lockKeys` call from the request
 * itself (client-go `LockCtx.ResourceGroupTagger`, which receives the `PessimisticLockRequest`):
 * its mutations (the keys of one region's batch), start ts, for-update ts, wait timeout...
 * `undefined` sends no tag. It must not throw.
 */
export type LockRequestTagger = (request: Readonly<kvrpcpb.PessimisticLockRequest>) => Uint8Array | undefined;

/**
 * Options of {@link Transaction.lockKeys} (client-go `LockCtx`). `onDetails` receives the call's
 * execution details (the PessimisticLock requests, backoff by kind, lock wait and resolve time),
 * `onLockDetails` client-go's `LockKeysDetails` (keys, regions, lock RPCs, retries, aggressive
 * locking counts, with those execution details), each once the call settles.
 */
export interface LockKeysOptions extends RequestOptions, ExecDetailsOptions, LockKeysDetailsOptions {
  /**
   * Milliseconds to wait in all for other transactions' locks before failing with
   * `LOCK_WAIT_TIMEOUT`. @defaultValue no limit (the call's `timeoutMs` and `signal` still apply)
   */
  readonly waitTimeoutMs?: number | undefined;
  /** Fail with `LOCK_ACQUIRE_FAILED_NO_WAIT` instead of waiting for a lock. @defaultValue false */
  readonly noWait?: boolean | undefined;
  /** Return each key's latest value; later reads of the key in the transaction use it. @defaultValue false */
  readonly returnValues?: boolean | undefined;
  /** Return whether each key exists. @defaultValue false */
  readonly checkExistence?: boolean | undefined;
  /** Lock only the keys that exist (needs `returnValues`, as in client-go). @defaultValue false */
  readonly lockOnlyIfExists?: boolean | undefined;
  /**
   * Lock at this for-update ts instead of a fresh one (client-go `LockCtx.ForUpdateTS`); a write
   * conflict is then thrown instead of retried at a newer ts. @defaultValue a fresh ts per call
   */
  readonly forUpdateTs?: bigint | undefined;
  /**
   * Take shared locks (client-go `LockCtx.InShareMode`, TiKV `Op::SharedPessimisticLock`): any
   * number of transactions may hold a key in share mode at once; an exclusive lock of the key
   * waits until every shared holder commits or rolls back, and a shared lock waits for an
   * exclusive one. Pessimistic transactions only (an optimistic transaction's `lockKeys` only
   * marks keys, as client-go does); the primary must already be chosen by an exclusive lock, a
   * shared key cannot later be locked exclusively by the same transaction, and aggressive locking
   * does not take shared locks. A transaction holding shared locks commits with two-phase commit
   * (no async commit, no 1PC). TiKV loads no value for a shared lock, so `returnValues`,
   * `checkExistence` and `lockOnlyIfExists` cannot be combined with it.
   * @defaultValue false
   */
  readonly inShareMode?: boolean | undefined;
  /**
   * `Context.resourceGroupTag` of this call's lock requests (client-go `LockCtx.ResourceGroupTag`),
   * in place of the transaction's `resourceGroupTag` and `resourceGroupTagger`; wins over
   * `resourceGroupTagger`. The transaction's other requests keep its own tag.
   * @defaultValue the transaction's tag or tagger
   */
  readonly resourceGroupTag?: Uint8Array | undefined;
  /**
   * Computes the tag of each lock request of this call (one per region batch and attempt) from
   * the request (client-go `LockCtx.ResourceGroupTagger`), in place of the transaction's tag and
   * tagger, when `resourceGroupTag` is not set.
   * @defaultValue the transaction's tag or tagger
   */
  readonly resourceGroupTagger?: LockRequestTagger | undefined;
}

/** What `lockKeys` learned about one key. */
export interface LockKeysResult {
  readonly key: Uint8Array;
  /** The transaction held the lock before this call: nothing was asked for it. */
  readonly alreadyLocked: boolean;
  /** Whether the key is locked now (false: `lockOnlyIfExists` skipped a missing key). */
  readonly locked: boolean;
  /** Whether the key has a value; `undefined` unless TiKV was asked (`returnValues`, `checkExistence`). */
  readonly exists: boolean | undefined;
  /** The key's latest value, with `returnValues`. */
  readonly value: Uint8Array | undefined;
  /**
   * In an aggressive locking stage, the commit ts of a newer write the lock was taken over
   * (client-go `LockedWithConflictTS`: TiKV locked the key although its latest commit is newer
   * than the for-update ts); 0n otherwise.
   */
  readonly lockedWithConflictTs: bigint;
}

/** Checks the options `lockKeys` does not hand on to a checked constructor. @internal */
export function checkLockKeysOptions(o: LockKeysOptions | undefined): void {
  if (o === undefined) return;
  const w = o.waitTimeoutMs;
  if (w !== undefined && !(Number.isFinite(w) && w >= 0)) {
    throw invalidArgument('options.waitTimeoutMs', 'a number >= 0', w);
  }
  const ts = o.forUpdateTs;
  if (ts !== undefined && (typeof ts !== 'bigint' || ts <= 0n)) {
    throw invalidArgument('options.forUpdateTs', 'a bigint timestamp > 0', ts);
  }
  if (o.resourceGroupTag !== undefined && !(o.resourceGroupTag instanceof Uint8Array)) {
    throw invalidArgument('options.resourceGroupTag', 'a Uint8Array', o.resourceGroupTag);
  }
  if (o.resourceGroupTagger !== undefined && typeof o.resourceGroupTagger !== 'function') {
    throw invalidArgument('options.resourceGroupTagger', 'a function', o.resourceGroupTagger);
  }
  if (o.inShareMode === true) {
    for (const name of ['returnValues', 'checkExistence', 'lockOnlyIfExists'] as const) {
      if (o[name] === true) {
        throw invalidArgument(`options.${name}`, 'false with inShareMode (shared locks load no value)', true);
      }
    }
  }
  if (o.lockOnlyIfExists === true && o.returnValues !== true) {
    throw invalidArgument(
      'options.lockOnlyIfExists',
      'used with returnValues: true (as client-go requires)',
      true,
    );
  }
}
