import type { KvEngine } from '../storage/kv-engine.js';
import type { ConcurrencyManager } from './concurrency-manager.js';
import { isMvccError, type MvccError } from './mvcc-error.js';
import { PointGetter, type PointGetterOptions, type ValueEntry } from './point-getter.js';
import { checkTsConflict, needCheckLocks } from './read-check.js';
import { Scanner, type ScanResult } from './scanner.js';
import { encodeTxnKey } from './txn-key.js';

/** Options shared by the transactional reads. */
export interface TxnReadOptions extends PointGetterOptions {
  /** Stale reads do not bump `max_ts` (TiKV's `prepare_snap_ctx`). */
  readonly staleRead?: boolean;
  readonly loadCommitTs?: boolean;
}

/** One key of a batch get: its value or the error that blocked it. */
export type BatchGetResult =
  | { readonly key: Uint8Array; readonly entry: ValueEntry }
  | { readonly key: Uint8Array; readonly error: MvccError };

/**
 * The snapshot read checks the lock CF as any read does; the replica-read rule (a ts = max read
 * of a primary is blocked too) applies only to the memory-lock check of the read index.
 */
function snapshotOptions<T extends TxnReadOptions>(o: T): T {
  return o.replicaRead === true ? { ...o, replicaRead: false } : o;
}

/**
 * TiKV's read path: bump `max_ts` to the read ts, check the concurrency manager's memory locks,
 * then read the snapshot.
 */
export class TxnReads {
  readonly #engine: KvEngine;
  readonly #cm: ConcurrencyManager;

  constructor(engine: KvEngine, cm: ConcurrencyManager) {
    this.#engine = engine;
    this.#cm = cm;
  }

  #prepare(keys: readonly Uint8Array[], o: TxnReadOptions): void {
    if (o.staleRead !== true) this.#cm.updateMaxTs(o.ts);
    if (!needCheckLocks(o.isolation)) return;
    for (const key of keys)
      this.#cm.readKeyCheck(encodeTxnKey(key), (lock, raw) => checkTsConflict(lock, raw, o));
  }

  /** KvGet: the value at ts (undefined when absent); throws the blocking lock or conflict. */
  get(key: Uint8Array, o: TxnReadOptions): ValueEntry | undefined {
    this.#prepare([key], o);
    return new PointGetter(this.#engine, snapshotOptions(o)).getEntry(key, o.loadCommitTs === true);
  }

  /** KvBatchGet: present keys and per-key lock errors, in request order. */
  batchGet(keys: readonly Uint8Array[], o: TxnReadOptions): BatchGetResult[] {
    this.#prepare(keys, o);
    const getter = new PointGetter(this.#engine, snapshotOptions(o));
    const out: BatchGetResult[] = [];
    for (const key of keys) {
      try {
        const entry = getter.getEntry(key, o.loadCommitTs === true);
        if (entry !== undefined) out.push({ key, entry });
      } catch (e) {
        if (isMvccError(e, 'KeyIsLocked')) out.push({ key, error: e });
        else throw e;
      }
    }
    return out;
  }

  /** KvScan over `[lower, upper)` (raw keys), forward or backward. */
  scan(
    o: TxnReadOptions & {
      readonly lower?: Uint8Array;
      readonly upper?: Uint8Array;
      readonly desc?: boolean;
      readonly limit: number;
      readonly sampleStep: number;
    },
  ): ScanResult[] {
    if (o.staleRead !== true) this.#cm.updateMaxTs(o.ts);
    if (needCheckLocks(o.isolation)) {
      const lower = o.lower === undefined || o.lower.length === 0 ? undefined : encodeTxnKey(o.lower);
      const upper = o.upper === undefined || o.upper.length === 0 ? undefined : encodeTxnKey(o.upper);
      this.#cm.readRangeCheck(lower, upper, (lock, raw) => checkTsConflict(lock, raw, o));
    }
    return new Scanner(this.#engine, snapshotOptions(o)).scan(o.limit, o.sampleStep);
  }
}
