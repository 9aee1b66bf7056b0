import { systemClock } from '@tikv/common';
import { TXN_MODE_PREFIX } from '../api-version.js';
import { LockWaitManager } from '../lock-manager/lock-wait-manager.js';
import { ConcurrencyManager } from '../mvcc/concurrency-manager.js';
import { GcRunner } from '../mvcc/gc.js';
import type { MaxTsLimit } from '../mvcc/max-ts-limit.js';
import { ResolvedTs } from '../mvcc/resolved-ts.js';
import { TxnCommands } from '../mvcc/txn-commands.js';
import { TxnReads } from '../mvcc/txn-reads.js';
import type { KvEngine } from '../storage/kv-engine.js';
import type { TxnDeps } from './txn-request-runner.js';

/** The transactional storage of a cluster and the lock waiting that goes with it. */
export interface ClusterTxn extends TxnDeps {
  readonly lockWaits: LockWaitManager;
  readonly resolvedTs: ResolvedTs;
  /** What `max_ts` updates are checked against, when anything. */
  readonly maxTsLimit: MaxTsLimit | undefined;
}

/** Where garbage collection learns its safe points (PD's GC states). */
export interface TxnGcSource {
  /** The GC safe point of a keyspace's data (undefined: API V1 data). */
  safePointFor(keyspaceId: number | undefined): bigint;
  /** Changes whenever any safe point changes. */
  fingerprint(): string;
}

/** The keyspace of an API V2 transactional key; undefined for other keys. */
function keyspaceIdOf(key: Uint8Array): number | undefined {
  if (key[0] !== TXN_MODE_PREFIX || key.length < 4) return undefined;
  return ((key[1] as number) << 16) | ((key[2] as number) << 8) | (key[3] as number);
}

/** TiKV's defaults for `wait-for-lock-timeout` and `wake-up-delay-duration`. */
export const DEFAULT_WAIT_FOR_LOCK_TIMEOUT_MS = 1000;
export const DEFAULT_WAKE_UP_DELAY_MS = 20;

/**
 * The transactional storage over a cluster's engine: one concurrency manager and one lock-wait
 * manager (with its deadlock detector) for all stores, as the storage is shared.
 *
 * @param maxTsLimit - what `max_ts` updates are checked against (none: every update is taken)
 */
export function createTxnDeps(
  engine: KvEngine,
  nowMs: () => number = Date.now,
  gc?: TxnGcSource,
  maxTsLimit?: MaxTsLimit,
): ClusterTxn {
  const cm = new ConcurrencyManager(0n, maxTsLimit);
  const storage = new TxnCommands(engine, cm);
  const lockWaits = new LockWaitManager({
    waitForLockTimeoutMs: DEFAULT_WAIT_FOR_LOCK_TIMEOUT_MS,
    wakeUpDelayMs: DEFAULT_WAKE_UP_DELAY_MS,
    // The cluster's time (`nowMs`, which tests may set) with real timers.
    clock: { ...systemClock, now: nowMs },
  });
  storage.onReleased = (released) => lockWaits.onReleased(released);
  storage.onAcquired = (locks) => lockWaits.onAcquired(locks);
  const resolvedTs = new ResolvedTs(engine, cm, nowMs);
  const gcRunner =
    gc === undefined
      ? undefined
      : new GcRunner(engine, cm, (key) => gc.safePointFor(keyspaceIdOf(key)), gc.fingerprint);
  return {
    storage,
    reads: new TxnReads(engine, cm),
    lockWaits,
    flashback: new Map(),
    resolvedTs,
    gc: gcRunner,
    maxTsLimit,
  };
}
