import {
  Backoffer,
  type Clock,
  InvalidArgumentError,
  keyToLatin1,
  type Logger,
  MAX_BACKOFF_MS,
  noopLogger,
  type RequestOptions,
  uniqueKeys,
} from '@tikv/common';
import type { ResolvedCommitOptions } from '../commit/commit-options.js';
import { TtlManager } from '../commit/ttl-manager.js';
import { FlagsOp, KeyFlags } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving, TxnParts } from '../txn-deps.js';
import {
  type LockedValue,
  PESSIMISTIC_REQUEST,
  pessimisticLock,
  pessimisticRollback,
} from './pessimistic-lock.js';

/** Options of {@link Transaction.lockKeys} (client-go `LockCtx`). */
export interface LockKeysOptions extends RequestOptions {
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
}

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
  readonly #logger: Logger | undefined;
  /** Values the locks returned, by latin1 key: reads of these keys do not go to TiKV. */
  readonly values = new Map<string, LockedValue>();
  forUpdateTs: bigint;
  primaryKey: Uint8Array | undefined;
  #ttl: TtlManager | undefined;
  #lockedCount = 0;

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
    this.#logger = parts.logger;
    this.forUpdateTs = startTs;
  }

  /** Locks held. */
  get lockedCount(): number {
    return this.#lockedCount;
  }

  /** Locks `keys` (see `Transaction.lockKeys`). */
  async lockKeys(
    input: readonly Uint8Array[],
    options: LockKeysOptions | undefined,
  ): Promise<LockKeysResult[]> {
    const o = options ?? {};
    const results = new Map<string, LockKeysResult>();
    const toLock: Uint8Array[] = [];
    for (const key of uniqueKeys(input)) {
      const flags = this.#buffer.getFlags(key);
      if (flags !== undefined && KeyFlags.hasLocked(flags)) {
        const cached = this.values.get(keyToLatin1(key));
        results.set(keyToLatin1(key), {
          key,
          alreadyLocked: true,
          locked: true,
          exists: cached?.exists ?? (KeyFlags.hasLockedValueExists(flags) ? true : undefined),
          value: cached?.value,
        });
      } else toLock.push(key);
    }
    if (toLock.length > 0) await this.#lock(toLock, o, results);
    return input.map((k) => results.get(keyToLatin1(k)) as LockKeysResult);
  }

  async #lock(keys: Uint8Array[], o: LockKeysOptions, results: Map<string, LockKeysResult>): Promise<void> {
    const { executor: exec, oracle } = this.#parts;
    const assignedPrimary = this.primaryKey === undefined;
    if (o.lockOnlyIfExists === true && assignedPrimary && keys.length > 1) {
      // client-go `ErrLockOnlyIfExistsNoPrimaryKey`: a missing key must not become the primary.
      throw new InvalidArgumentError(
        'lockOnlyIfExists with several keys needs a primary: lock one key (or call lockKeys without lockOnlyIfExists) first',
      );
    }
    const { bo, scope } = exec.begin(o, { maxBackoffMs: LOCK_MAX_BACKOFF_MS });
    if (assignedPrimary) this.primaryKey = keys[0];
    const call = scope.signal === undefined ? undefined : { signal: scope.signal };
    let forUpdateTs = o.forUpdateTs ?? (await oracle.getTimestamp(call));
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
              request: PESSIMISTIC_REQUEST,
              onPrimaryLocked: () => this.#startTtlManager(),
            },
            bo,
          );
          this.#record(keys, values, o, results);
          if (
            assignedPrimary &&
            this.primaryKey !== undefined &&
            results.get(keyToLatin1(this.primaryKey))?.locked === false
          ) {
            // The primary did not exist and was not locked (client-go `unsetPrimaryKeyIfNeeded`).
            this.primaryKey = undefined;
            this.#ttl?.close();
            this.#ttl = undefined;
          }
          return;
        } catch (e) {
          const conflict = (e as { code?: unknown }).code === 'WRITE_CONFLICT';
          if (conflict && o.forUpdateTs === undefined && attempt < MAX_FOR_UPDATE_RETRIES) {
            // A newer commit than the for-update ts: lock again at a newer one (TiDB's statement retry).
            forUpdateTs = await oracle.getTimestamp(call);
            continue;
          }
          throw e;
        }
      }
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const keyMayBeLocked = code !== 'WRITE_CONFLICT' && code !== 'ALREADY_EXISTS';
      if (keys.length > 1 || keyMayBeLocked) this.rollbackInBackground(keys, this.forUpdateTs);
      if (assignedPrimary) {
        this.primaryKey = undefined;
        this.#ttl?.close();
        this.#ttl = undefined;
      }
      throw e;
    } finally {
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
    for (const key of keys) {
      const name = keyToLatin1(key);
      const answered = values.get(name);
      const exists = answered?.exists ?? true;
      if (o.lockOnlyIfExists === true && !exists) {
        results.set(name, { key, alreadyLocked: false, locked: false, exists: false, value: undefined });
        continue;
      }
      this.#buffer.updateFlags(
        key,
        FlagsOp.SetKeyLocked,
        FlagsOp.DelNeedCheckExists,
        exists ? FlagsOp.SetKeyLockedValueExists : FlagsOp.SetKeyLockedValueNotExists,
      );
      this.#lockedCount++;
      if (o.returnValues === true && answered !== undefined) this.values.set(name, answered);
      results.set(name, {
        key,
        alreadyLocked: false,
        locked: true,
        exists: answered?.exists,
        value: answered?.value,
      });
    }
  }

  #startTtlManager(): void {
    if (this.#ttl !== undefined || this.primaryKey === undefined) return;
    const o = this.#options;
    this.#ttl = new TtlManager({
      exec: this.#parts.executor,
      oracle: this.#parts.oracle,
      clock: this.#clock,
      logger: this.#parts.logger ?? noopLogger,
      startTs: this.#startTs,
      primaryKey: this.primaryKey,
      managedLockTtlMs: o.managedLockTtlMs,
      intervalMs: o.heartbeatIntervalMs,
      maxTxnTtlMs: o.maxTxnTtlMs,
      maxBackoffMs: o.keepAliveMaxBackoffMs,
      minCommitTs: () => 0n,
      signal: this.#parts.lifetimeSignal,
    });
    this.#ttl.run();
  }

  /** Stops the heartbeats (after commit or rollback). */
  close(): void {
    this.#ttl?.close();
  }

  /** Keys locked in the buffer. */
  lockedKeys(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (
      const it = this.#buffer.iter(undefined, undefined, { includeFlagsOnly: true });
      it.valid;
      it.next()
    ) {
      if (KeyFlags.hasLocked(it.flags())) out.push(it.key().slice());
    }
    return out;
  }

  /** Releases every lock the transaction holds (client-go `rollbackPessimisticLocks`). */
  async rollbackAll(options: RequestOptions | undefined): Promise<void> {
    this.close();
    const keys = this.lockedKeys();
    if (keys.length === 0) return;
    const { bo, scope } = this.#parts.executor.begin(options, { maxBackoffMs: MAX_BACKOFF_MS.cleanup });
    try {
      await pessimisticRollback(
        this.#parts.executor,
        bo,
        keys,
        this.#startTs,
        this.forUpdateTs,
        PESSIMISTIC_REQUEST,
      );
    } finally {
      scope.dispose();
    }
  }

  /** Releases a failed call's locks in the background (client-go `asyncPessimisticRollback`). */
  rollbackInBackground(keys: readonly Uint8Array[], forUpdateTs: bigint): void {
    const copies = keys.map((k) => k.slice());
    const bo = new Backoffer({
      maxBackoffMs: MAX_BACKOFF_MS.cleanup,
      signal: this.#parts.lifetimeSignal,
      clock: this.#clock,
    });
    pessimisticRollback(
      this.#parts.executor,
      bo,
      copies,
      this.#startTs,
      forUpdateTs,
      PESSIMISTIC_REQUEST,
    ).catch((e: unknown) => {
      this.#logger?.info('pessimistic rollback failed', { startTs: this.#startTs, error: String(e) });
    });
  }
}
