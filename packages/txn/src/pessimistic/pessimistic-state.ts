import {
  AlreadyExistsError,
  type Clock,
  InvalidArgumentError,
  keyToLatin1,
  type RequestOptions,
  TiKVError,
  uniqueKeys,
} from '@tikv/common';
import type { RegionRequestOptions } from '@tikv/rpc';
import type { ResolvedCommitOptions } from '../commit/commit-options.js';
import { FlagsOp, KeyFlags } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving, TxnParts } from '../txn-deps.js';
import {
  type AggressiveLockingContext,
  countAggressiveLocks,
  filterAggressiveLocked,
  handOverAggressiveLocks,
  heldResult,
  newAggressiveLockingContext,
  recordAggressiveLock,
  sameKey,
  selectStagePrimary,
  startNextAttempt,
} from './aggressive-locking.js';
import type { LockKeysOptions, LockKeysResult } from './lock-keys-options.js';
import type { LockKeysStats } from './lock-keys-stats.js';
import { type LockedValue, pessimisticLock, pessimisticRequestOptions } from './pessimistic-lock.js';
import { lockedKeysIn, PessimisticRollbacks } from './pessimistic-rollbacks.js';
import { PrimaryTtlKeeper } from './primary-ttl-keeper.js';

/** How many times one `lockKeys` call takes a newer for-update ts after write conflicts. */
const MAX_FOR_UPDATE_RETRIES = 64;
/** Backoff budget of one `lockKeys` call (client-go `pessimisticLockMaxBackoff`). */
const LOCK_MAX_BACKOFF_MS = 20_000;

/**
 * The pessimistic side of a transaction (client-go `KVTxn.lockKeys` and the committer's primary,
 * for-update ts and TTL manager): locks taken with `PessimisticLock`, the values they returned,
 * the heartbeats that keep them alive, and their rollback.
 *
 * @internal
 */
export class PessimisticState {
  readonly #parts: TxnParts;
  readonly #resolver: LockResolving;
  readonly #buffer: MemBuffer;
  readonly #options: ResolvedCommitOptions;
  readonly #startTs: bigint;
  readonly #startTimeMs: number;
  readonly #clock: Clock;
  /** Values the locks returned, by latin1 key: reads of these keys do not go to TiKV. */
  readonly values = new Map<string, LockedValue>();
  forUpdateTs: bigint;
  primaryKey: Uint8Array | undefined;
  /** The heartbeats of the primary's lock. */
  readonly #ttl: PrimaryTtlKeeper;
  #lockedCount = 0;
  #aggressive: AggressiveLockingContext | undefined;
  /** The for-update ts each key locked in aggressive locking really has (prewrite's constraints). */
  readonly forUpdateTsChecks = new Map<string, bigint>();
  /** The largest for-update ts a lock was taken with conflict at (client-go `maxLockedWithConflictTS`). */
  maxLockedWithConflictTs = 0n;
  /** The lock releases, made by the first one. */
  #rollbacks: PessimisticRollbacks | undefined;
  /** The request options of lock and pessimistic rollback requests. */
  readonly #request: RegionRequestOptions;

  constructor(
    parts: TxnParts,
    resolver: LockResolving,
    buffer: MemBuffer,
    options: ResolvedCommitOptions,
    startTs: bigint,
    startTimeMs: number,
    clock: Clock,
  ) {
    this.#parts = parts;
    this.#resolver = resolver;
    this.#buffer = buffer;
    this.#options = options;
    this.#startTs = startTs;
    this.#startTimeMs = startTimeMs;
    this.#clock = clock;
    this.forUpdateTs = startTs;
    this.#request = pessimisticRequestOptions(options);
    this.#ttl = new PrimaryTtlKeeper(parts, options, startTs, clock);
  }

  /** Locks held. */
  get lockedCount(): number {
    return this.#lockedCount;
  }

  /** Whether the TTL manager keeps the primary alive (client-go `IsTTLRunning`). */
  get ttlRunning(): boolean {
    return this.#ttl.running;
  }

  /** Locks `keys` (see `Transaction.lockKeys`); `stats` counts for `onLockDetails`. */
  async lockKeys(
    input: readonly Uint8Array[],
    options: LockKeysOptions | undefined,
    stats?: LockKeysStats,
  ): Promise<LockKeysResult[]> {
    const o = options ?? {};
    const results = new Map<string, LockKeysResult>();
    const toLock: Uint8Array[] = [];
    const unique = uniqueKeys(input);
    const inShareMode = o.inShareMode === true;
    if (inShareMode && this.#aggressive !== undefined) {
      throw new TiKVError('NOT_SUPPORTED', 'shared locks are not supported in aggressive (fair) locking');
    }
    // client-go `exitAggressiveLockingIfInapplicable`: several keys end the stage.
    if (this.#aggressive !== undefined && unique.length > 1) this.doneAggressiveLocking();
    const aggressive = this.#aggressive;
    for (const key of unique) {
      // client-go: a key this transaction already locked and found to exist fails an insert's
      // lock (the caller presumed it absent) without a request.
      const flags = this.#buffer.getFlags(key);
      const name = keyToLatin1(key);
      const held =
        aggressive?.currentLockedKeys.get(name) ?? aggressive?.lastRetryUnnecessaryLocks?.get(name);
      const locked = held !== undefined || (flags !== undefined && KeyFlags.hasLocked(flags));
      const valueExists =
        held !== undefined ? held.value.exists : flags !== undefined && KeyFlags.hasLockedValueExists(flags);
      if (locked && valueExists && flags !== undefined && KeyFlags.hasNeedCheckExists(flags)) {
        throw new AlreadyExistsError(key);
      }
    }
    for (const key of unique) {
      const flags = this.#buffer.getFlags(key);
      const name = keyToLatin1(key);
      if (flags !== undefined && KeyFlags.hasLockedInShareMode(flags) && !inShareMode) {
        throw new TiKVError(
          'NOT_SUPPORTED',
          'upgrading a shared lock to an exclusive lock is not supported: the key is locked in share mode',
        );
      }
      const current = aggressive?.currentLockedKeys.get(name);
      if (current !== undefined) {
        results.set(name, heldResult(key, current));
      } else if (aggressive?.lastRetryUnnecessaryLocks?.has(name) === true) {
        // Locked in the previous attempt: may stand for this one (filterAggressiveLockedKeys).
        toLock.push(key);
      } else if (flags !== undefined && KeyFlags.hasLocked(flags)) {
        const cached = this.values.get(keyToLatin1(key));
        results.set(keyToLatin1(key), {
          key,
          alreadyLocked: true,
          locked: true,
          exists: cached?.exists ?? (KeyFlags.hasLockedValueExists(flags) ? true : undefined),
          value: cached?.value,
          lockedWithConflictTs: 0n,
        });
      } else toLock.push(key);
    }
    if (toLock.length > 0) await this.#lock(toLock, o, results, stats);
    return input.map((k) => results.get(keyToLatin1(k)) as LockKeysResult);
  }

  async #lock(
    keysIn: Uint8Array[],
    o: LockKeysOptions,
    results: Map<string, LockKeysResult>,
    stats: LockKeysStats | undefined,
  ): Promise<void> {
    let keys = keysIn;
    if (stats !== undefined) stats.lockKeys = keysIn.length;
    const { executor: exec, oracle } = this.#parts;
    const assignedPrimary = this.primaryKey === undefined;
    if (o.lockOnlyIfExists === true && assignedPrimary && keys.length > 1) {
      // client-go `ErrLockOnlyIfExistsNoPrimaryKey`: a missing key must not become the primary.
      throw new InvalidArgumentError(
        'lockOnlyIfExists with several keys needs a primary: lock one key (or call lockKeys without lockOnlyIfExists) first',
      );
    }
    const aggressive = this.#aggressive;
    if (assignedPrimary && o.inShareMode === true) {
      // client-go: a shared-locked key cannot be the primary; lock one key exclusively first.
      throw new TiKVError(
        'NOT_SUPPORTED',
        'a lock in share mode needs the primary chosen: lock a key exclusively first',
      );
    }
    if (assignedPrimary) this.#selectPrimary(keys);
    const { bo, scope } = exec.begin(o, { maxBackoffMs: LOCK_MAX_BACKOFF_MS });
    const call = scope.signal === undefined ? undefined : { signal: scope.signal };
    let forUpdateTs = o.forUpdateTs ?? (await oracle.getTimestamp(call));
    if (aggressive !== undefined) {
      keys = filterAggressiveLocked(
        aggressive,
        keys,
        forUpdateTs,
        o,
        results,
        this.#clock,
        this.#options.managedLockTtlMs,
      );
      if (stats !== undefined) stats.aggressiveLockDerivedCount = keysIn.length - keys.length;
      // A new primary this attempt: its TTL manager starts over (client-go `resetTTLManagerForAggressiveLockingMode`).
      if (keys.length > 0 && assignedPrimary && !sameKey(aggressive.primaryKey, aggressive.lastPrimaryKey)) {
        this.#ttl.stop();
      }
      if (keys.length === 0) {
        scope.dispose();
        return;
      }
    }
    try {
      for (let attempt = 0; ; attempt++) {
        if (forUpdateTs > this.forUpdateTs) this.forUpdateTs = forUpdateTs;
        try {
          const values = await pessimisticLock(
            {
              exec,
              resolver: this.#resolver,
              clock: this.#clock,
              keys,
              primaryKey: this.primaryKey as Uint8Array,
              startTs: this.#startTs,
              forUpdateTs,
              isFirstLock: this.#lockedCount === 0 && keys.length === 1,
              waitTimeoutMs: o.noWait === true ? 0 : o.waitTimeoutMs,
              returnValues: o.returnValues === true,
              checkExistence: o.checkExistence === true,
              lockOnlyIfExists: o.lockOnlyIfExists === true,
              lockTtlMs: () => this.#clock.now() - this.#startTimeMs + this.#options.managedLockTtlMs,
              assertNotExist: (key) => KeyFlags.hasPresumeKeyNotExists(this.#buffer.getFlags(key) ?? 0),
              request: this.#request,
              onPrimaryLocked: () => this.#ttl.start(this.primaryKey),
              forceLock: aggressive !== undefined && keys.length === 1,
              shared: o.inShareMode === true,
              resourceGroupTag: o.resourceGroupTag,
              resourceGroupTagger: o.resourceGroupTagger,
            },
            bo,
          );
          this.#record(keys, values, o, results);
          if (stats !== undefined && aggressive !== undefined) countAggressiveLocks(stats, keys, results);
          if (
            assignedPrimary &&
            this.primaryKey !== undefined &&
            results.get(keyToLatin1(this.primaryKey))?.locked === false
          ) {
            // The primary did not exist and was not locked (client-go `unsetPrimaryKeyIfNeeded`).
            this.primaryKey = undefined;
            this.#ttl.stop();
          }
          return;
        } catch (e) {
          const conflict = (e as { code?: unknown }).code === 'WRITE_CONFLICT';
          if (conflict && o.forUpdateTs === undefined && attempt < MAX_FOR_UPDATE_RETRIES) {
            // A newer commit than the for-update ts: lock again at a newer one (TiDB's statement retry).
            forUpdateTs = await oracle.getTimestamp(call);
            if (stats !== undefined) stats.retryCount++;
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      // The keys presumed absent are not known to be absent after all (client-go
      // `UnmarkPresumeKeyNotExists`): a later write of one is a plain put, not an insert.
      for (const k of keys) {
        const f = this.#buffer.getFlags(k);
        if (f !== undefined && KeyFlags.hasPresumeKeyNotExists(f)) {
          this.#buffer.updateFlags(k, FlagsOp.DelPresumeKeyNotExists);
        }
      }
      const code = (e as { code?: unknown }).code;
      const keyMayBeLocked = code !== 'WRITE_CONFLICT' && code !== 'ALREADY_EXISTS';
      if (keys.length > 1 || keyMayBeLocked) {
        this.rollbackInBackground(keys, this.#rollbackForUpdateTs());
        if (aggressive !== undefined)
          for (const k of keys) aggressive.currentLockedKeys.delete(keyToLatin1(k));
      }
      if (assignedPrimary) {
        this.primaryKey = undefined;
        if (aggressive !== undefined) aggressive.assignedPrimaryKey = false;
        this.#ttl.stop();
      }
      throw e;
    } finally {
      if (stats !== undefined) stats.backoffKinds = bo.execDetails?.backoffKindsSince(0) ?? [];
      scope.dispose();
    }
  }

  /** Marks the keys locked in the buffer and keeps what TiKV returned (client-go's loop after the lock). */
  #record(
    keys: readonly Uint8Array[],
    values: ReadonlyMap<string, LockedValue>,
    o: LockKeysOptions,
    results: Map<string, LockKeysResult>,
  ): void {
    const aggressive = this.#aggressive;
    for (const key of keys) {
      const name = keyToLatin1(key);
      const answered = values.get(name);
      const exists = answered?.exists ?? true;
      if (aggressive !== undefined) {
        const result = recordAggressiveLock(aggressive, key, name, answered, o, this.forUpdateTs);
        this.#lockedCount++;
        results.set(name, result);
        continue;
      }
      if (o.lockOnlyIfExists === true && !exists) {
        results.set(name, {
          key,
          alreadyLocked: false,
          locked: false,
          exists: false,
          value: undefined,
          lockedWithConflictTs: 0n,
        });
        continue;
      }
      this.#buffer.updateFlags(
        key,
        FlagsOp.SetKeyLocked,
        FlagsOp.DelNeedCheckExists,
        exists ? FlagsOp.SetKeyLockedValueExists : FlagsOp.SetKeyLockedValueNotExists,
        o.inShareMode === true ? FlagsOp.SetKeyLockedInShareMode : FlagsOp.SetKeyLockedInExclusiveMode,
      );
      this.#lockedCount++;
      if (o.returnValues === true && answered !== undefined) this.values.set(name, answered);
      results.set(name, {
        key,
        alreadyLocked: false,
        locked: true,
        exists: answered?.exists,
        value: answered?.value,
        lockedWithConflictTs: 0n,
      });
    }
  }

  /** client-go `selectPrimaryForPessimisticLock`: in aggressive locking, the last attempt's primary when locked again. */
  #selectPrimary(sortedKeys: readonly Uint8Array[]): void {
    const aggressive = this.#aggressive;
    this.primaryKey =
      aggressive === undefined ? (sortedKeys[0] as Uint8Array) : selectStagePrimary(aggressive, sortedKeys);
  }

  /** Whether an aggressive locking stage is open (client-go `IsInAggressiveLockingMode`). */
  get inAggressiveLocking(): boolean {
    return this.#aggressive !== undefined;
  }

  /** Whether `key` was locked in the current aggressive locking stage (client-go `IsInAggressiveLockingStage`). */
  isInAggressiveLockingStage(key: Uint8Array): boolean {
    return this.#aggressive?.currentLockedKeys.has(keyToLatin1(key)) === true;
  }

  /** Opens an aggressive locking stage (client-go `StartAggressiveLocking`). */
  startAggressiveLocking(): void {
    if (this.#aggressive !== undefined) {
      throw new TiKVError('INVALID_TXN', 'aggressive locking is already started');
    }
    this.#aggressive = newAggressiveLockingContext(this.#clock.now());
  }

  /**
   * Starts the stage's next attempt (client-go `RetryAggressiveLocking`): the previous attempt's
   * unnecessary locks are released, and this attempt's locks become the candidates the next
   * attempt may reuse.
   */
  retryAggressiveLocking(): void {
    const a = this.#requireAggressive('retry');
    this.#releaseUnnecessary(a);
    if (a.assignedPrimaryKey) {
      a.assignedPrimaryKey = false;
      a.lastAssignedPrimaryKey = true;
      this.primaryKey = undefined; // the TTL manager keeps running until a new primary is chosen
    }
    startNextAttempt(a, this.#clock.now());
  }

  /** Ends the stage releasing every lock it took (client-go `CancelAggressiveLocking`). */
  cancelAggressiveLocking(): void {
    const a = this.#requireAggressive('cancel');
    this.#aggressive = undefined;
    this.#releaseUnnecessary(a);
    if (a.assignedPrimaryKey || a.lastAssignedPrimaryKey) {
      this.primaryKey = undefined;
      this.#ttl.stop();
    }
    const keys = [...a.currentLockedKeys.values()].map((e) => e.key);
    if (keys.length > 0) {
      this.rollbackInBackground(keys, maxTs(this.forUpdateTs, a.maxLockedWithConflictTs));
      this.#lockedCount -= keys.length;
    }
  }

  /**
   * Ends the stage keeping its locks (client-go `DoneAggressiveLocking`): they become the
   * transaction's locks, with the for-update ts each really has checked again by prewrite.
   */
  doneAggressiveLocking(): void {
    const a = this.#requireAggressive('done');
    this.#aggressive = undefined;
    if (a.lastAssignedPrimaryKey && !a.assignedPrimaryKey) this.#ttl.stop();
    this.#releaseUnnecessary(a);
    handOverAggressiveLocks(a, this.#buffer, this.values, this.forUpdateTsChecks);
    if (a.maxLockedWithConflictTs > this.maxLockedWithConflictTs) {
      this.maxLockedWithConflictTs = a.maxLockedWithConflictTs;
    }
  }

  /** Locks of the stage not yet settled (the current attempt's): commit and rollback refuse them. */
  get pendingAggressiveLocks(): number {
    return this.#aggressive?.currentLockedKeys.size ?? 0;
  }

  /** Settles when the rollbacks running in the background are done. */
  whenRollbacksSettled(): Promise<void> {
    return this.#rollbacks?.whenSettled() ?? Promise.resolve();
  }

  /** client-go `cleanupAggressiveLockingRedundantLocks`. */
  #releaseUnnecessary(a: AggressiveLockingContext): void {
    const last = a.lastRetryUnnecessaryLocks;
    if (last === undefined || last.size === 0) return;
    const keys = [...last.values()].map((e) => e.key);
    this.rollbackInBackground(keys, maxTs(this.forUpdateTs, a.maxLockedWithConflictTs));
    this.#lockedCount -= keys.length;
    last.clear();
  }

  #requireAggressive(what: string): AggressiveLockingContext {
    const a = this.#aggressive;
    if (a === undefined)
      throw new TiKVError('INVALID_TXN', `cannot ${what} aggressive locking: it is not started`);
    return a;
  }

  #rollbackForUpdateTs(): bigint {
    return maxTs(
      this.forUpdateTs,
      this.#aggressive?.maxLockedWithConflictTs ?? 0n,
      this.maxLockedWithConflictTs,
    );
  }

  /** Stops the heartbeats (after commit or rollback). */
  close(): void {
    this.#ttl.close();
  }

  /** Releases every lock the transaction holds (client-go `rollbackPessimisticLocks`). */
  async rollbackAll(options: RequestOptions | undefined): Promise<void> {
    this.close();
    const keys = lockedKeysIn(this.#buffer);
    if (keys.length === 0) return;
    await this.#rollbacksOrNew().rollback(keys, this.#rollbackForUpdateTs(), options);
  }

  /** Releases a failed call's locks in the background (client-go `asyncPessimisticRollback`). */
  rollbackInBackground(keys: readonly Uint8Array[], forUpdateTs: bigint): void {
    this.#rollbacksOrNew().inBackground(keys, forUpdateTs);
  }

  #rollbacksOrNew(): PessimisticRollbacks {
    this.#rollbacks ??= new PessimisticRollbacks(this.#parts, this.#startTs, this.#request, this.#clock);
    return this.#rollbacks;
  }
}

function maxTs(...ts: bigint[]): bigint {
  return ts.reduce((m, x) => (x > m ? x : m), 0n);
}
