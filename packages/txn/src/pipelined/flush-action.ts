import {
  AlreadyExistsError,
  type Backoffer,
  BackoffKinds,
  KeyIsLockedError,
  keyErrorFromWire,
  keysEqual,
  type LockInfo,
  type Logger,
  lockInfoFromWire,
  regionErrorFromWire,
  TiKVError,
  type WireKeyError,
  WriteConflictError,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { BatchOutcome, RegionBatch, RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { TxnMutation } from '../commit/mutations.js';
import { backOffRegionError, sendToRegion } from '../commit/send-outcome.js';
import { KeyFlags } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving } from '../txn-deps.js';

const keyOf = (m: TxnMutation): Uint8Array => m.key;
const keyValueSize = (m: TxnMutation): number => m.key.length + m.value.length;

/** The lock TTL of a flush, in ms: client-go's `max(defaultLockTTL, ManagedLockTTL)`. */
export const FLUSH_LOCK_TTL_FLOOR_MS = 3_000;

/** What one generation's flush needs from its transaction. @internal */
export interface FlushContext {
  readonly exec: RegionExecutor;
  readonly resolver: LockResolving;
  readonly logger: Logger;
  readonly startTs: bigint;
  readonly primaryKey: Uint8Array;
  /** The generation being flushed: its flags and values explain an already-exists answer. */
  readonly buffer: MemBuffer;
  /** The lock TTL written, in ms. */
  readonly lockTtlMs: number;
  readonly assertionLevel: kvrpcpb.AssertionLevel;
  /** Bytes of keys and values per request (the commit batch size). */
  readonly batchSizeBytes: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  readonly request: RegionRequestOptions;
  /** Told once the batch holding the primary is written: the heartbeats start. */
  readonly onPrimaryFlushed: () => void;
}

/**
 * Writes one generation's mutations as locks (client-go `pipelinedFlushMutations` and
 * `actionPipelinedFlush`): `KvFlush` requests grouped by region, cut at the commit batch size,
 * sent concurrently. A batch that meets locks resolves them and backs off `txnLock` while they
 * live; a lock of a newer transaction is a write conflict at once; a region error regroups the
 * batch.
 *
 * @throws WriteConflictError, AlreadyExistsError and the other typed key errors
 * @internal
 */
export async function flushMutations(
  c: FlushContext,
  bo: Backoffer,
  mutations: readonly TxnMutation[],
  generation: bigint,
): Promise<void> {
  if (mutations.length === 0) return;
  if (c.primaryKey.length === 0) {
    throw new TiKVError('INTERNAL', 'pipelined flush: the primary key must be chosen before a flush');
  }
  await c.exec.runBatches(bo, {
    items: mutations,
    keyOf,
    sorted: true,
    limit: { maxBytes: c.batchSizeBytes, sizeOf: keyValueSize },
    concurrency: c.concurrency,
    send: (batch, child) => flushBatch(c, batch, child, generation),
  });
}

/** One batch (client-go `actionPipelinedFlush.handleSingleBatch`). */
async function flushBatch(
  c: FlushContext,
  batch: RegionBatch<TxnMutation>,
  bo: Backoffer,
  generation: bigint,
): Promise<BatchOutcome<TxnMutation>> {
  const request = {
    $case: 'Flush' as const,
    value: {
      context: undefined,
      // A TxnMutation is a kvrpcpb.Mutation: the items go in as they are.
      mutations: batch.items as TxnMutation[],
      primaryKey: c.primaryKey,
      startTs: c.startTs,
      minCommitTs: c.startTs + 1n,
      generation,
      lockTtl: BigInt(c.lockTtlMs),
      assertionLevel: c.assertionLevel,
    },
  };
  const answer = await sendToRegion(c.exec, bo, batch.region, request, c.request);
  if (answer.regionError !== undefined) {
    if (answer.regionError.diskFull !== undefined) {
      throw regionErrorFromWire(answer.regionError, { regionId: batch.region.id });
    }
    await backOffRegionError(bo, batch.region, answer.regionError);
    return 'regionError';
  }
  const errors = answer.response.value.errors;
  if (errors.length === 0) {
    if (batch.items.some((m) => keysEqual(m.key, c.primaryKey))) c.onPrimaryFlushed();
    return 'done';
  }
  const locks = locksOf(c, errors);
  c.logger.info('pipelined flush: met locks', { startTs: c.startTs, generation, locks: locks.length });
  const resolved = await c.resolver.resolveLocks(bo, { callerStartTs: c.startTs, locks });
  if (resolved.msBeforeTxnExpired > 0) {
    await bo.backoff(BackoffKinds.txnLock, new KeyIsLockedError(locks[0] as LockInfo), {
      maxSleepMs: resolved.msBeforeTxnExpired,
    });
  }
  return 'retry';
}

/**
 * The locks of a flush's key errors; an already-exists or other key error is thrown typed, and a
 * lock of a newer transaction is a write conflict (the flush could never commit after it).
 */
function locksOf(c: FlushContext, errors: readonly kvrpcpb.KeyError[]): LockInfo[] {
  const locks: LockInfo[] = [];
  for (const keyError of errors) {
    if (keyError.alreadyExist !== undefined) throw keyExists(c, keyError);
    const locked = keyError.locked;
    if (locked === undefined) throw keyErrorFromWire(keyError as WireKeyError);
    const lock = lockInfoFromWire(locked);
    if (lock.lockVersion > c.startTs) {
      throw new WriteConflictError({
        startTs: c.startTs,
        conflictStartTs: lock.lockVersion,
        conflictCommitTs: 0n,
        key: lock.key,
        primary: c.primaryKey,
        reason: 'Optimistic',
      });
    }
    locks.push(lock);
  }
  return locks;
}

/**
 * An `already_exist` answer (client-go `extractKeyExistsErr`, then `handleAlreadyExistErr`): only a
 * key the generation presumed absent becomes an {@link AlreadyExistsError}, which carries the value
 * being inserted (client-go `ErrKeyExist.Value`, from the flushing generation); another key is an
 * internal error.
 */
function keyExists(c: FlushContext, keyError: kvrpcpb.KeyError): TiKVError {
  const wire = keyErrorFromWire(keyError as WireKeyError) as AlreadyExistsError;
  const flags = c.buffer.getFlags(wire.key);
  if (flags === undefined || !KeyFlags.hasPresumeKeyNotExists(flags)) {
    return new TiKVError('INTERNAL', 'TiKV answered already-exists for a key not presumed absent', {
      cause: wire,
    });
  }
  const value = c.buffer.get(wire.key);
  if (value === undefined) {
    c.logger.warn('pipelined flush: the value of an already-existing key is not in the generation', {
      startTs: c.startTs,
    });
  }
  return new AlreadyExistsError(wire.key, { debugInfo: wire.debugInfo, value: value?.slice() });
}

/** The `kvrpcpb.AssertionLevel` of an assertion level name. @internal */
export const ASSERTION_LEVEL_WIRE = Object.freeze({
  off: kvrpcpb.AssertionLevel.Off,
  fast: kvrpcpb.AssertionLevel.Fast,
  strict: kvrpcpb.AssertionLevel.Strict,
} as const);
