import { ColumnFamily, type KvEngine } from '../storage/kv-engine.js';
import { compareBytes } from '../storage/ordered-map.js';
import type { ConcurrencyManager } from './concurrency-manager.js';
import { decodeTxnKeySafe, MvccReader } from './mvcc-reader.js';
import { MvccTxn } from './mvcc-txn.js';
import { TS_MAX, truncateTs } from './txn-key.js';
import { type Write, WriteType } from './write-record.js';

/** What one key's GC did (`GcInfo`). */
export interface GcInfo {
  foundVersions: number;
  deletedVersions: number;
}

/**
 * TiKV's `gc` action for one key: below the safe point, LOCK and ROLLBACK records above the
 * newest PUT/DELETE are removed, every version older than that PUT/DELETE is removed, and a
 * DELETE that is the newest version at or below the safe point goes too. Versions above the safe
 * point are untouched.
 */
export function gcKey(txn: MvccTxn, reader: MvccReader, rawKey: Uint8Array, safePoint: bigint): GcInfo {
  const info: GcInfo = { foundVersions: 0, deletedVersions: 0 };
  const del = (commitTs: bigint, w: Write): void => {
    txn.deleteWrite(rawKey, commitTs);
    if (w.writeType === WriteType.Put && w.shortValue === undefined) txn.deleteValue(rawKey, w.startTs);
    info.deletedVersions++;
  };
  let state: 'rewind' | 'removeIdempotent' | 'removeAll' = 'rewind';
  let pendingDelete: { commitTs: bigint; write: Write } | undefined;
  let cur = TS_MAX;
  for (;;) {
    const found = reader.seekWrite(rawKey, cur);
    if (found === undefined) break;
    const { commitTs, write } = found;
    cur = commitTs - 1n;
    info.foundVersions++;
    if (state === 'rewind') {
      if (commitTs > safePoint) continue;
      state = 'removeIdempotent';
    }
    if (state === 'removeIdempotent') {
      if (write.writeType === WriteType.Put) state = 'removeAll';
      else if (write.writeType === WriteType.Delete) {
        state = 'removeAll';
        pendingDelete = { commitTs, write };
      } else del(commitTs, write);
      continue;
    }
    del(commitTs, write);
    if (commitTs === 0n) break;
  }
  if (pendingDelete !== undefined) del(pendingDelete.commitTs, pendingDelete.write);
  return info;
}

/**
 * Garbage collection driven by PD's GC safe points: when the safe point that applies to some data
 * advances, every key of that data is collected as TiKV's compaction filter collects it (the
 * newest version at or below the safe point survives, unless it is a DELETE). Runs lazily, before
 * the next transactional command after the safe point moved.
 */
export class GcRunner {
  readonly #engine: KvEngine;
  readonly #cm: ConcurrencyManager;
  /** The GC safe point for a raw key (API V2 keys carry their keyspace). */
  readonly #safePointFor: (rawKey: Uint8Array) => bigint;
  /** A cheap fingerprint of every safe point; GC runs when it changes. */
  readonly #fingerprint: () => string;
  #applied = '';

  constructor(
    engine: KvEngine,
    cm: ConcurrencyManager,
    safePointFor: (rawKey: Uint8Array) => bigint,
    fingerprint: () => string,
  ) {
    this.#engine = engine;
    this.#cm = cm;
    this.#safePointFor = safePointFor;
    this.#fingerprint = fingerprint;
    this.#applied = fingerprint();
  }

  /** Collects garbage if a safe point moved since the last run. */
  maybeRun(): void {
    const now = this.#fingerprint();
    if (now === this.#applied) return;
    this.#applied = now;
    this.run();
  }

  /** Collects every key below its safe point; returns the number of versions removed. */
  run(): number {
    const users: Uint8Array[] = [];
    let last: Uint8Array | undefined;
    for (const { key } of this.#engine.cf(ColumnFamily.Write).scan()) {
      const user = truncateTs(key);
      if (last !== undefined && compareBytes(last, user) === 0) continue;
      last = user;
      users.push(user);
    }
    const txn = new MvccTxn(0n, this.#cm);
    const reader = new MvccReader(this.#engine, 0n);
    let deleted = 0;
    for (const encoded of users) {
      const raw = decodeTxnKeySafe(encoded);
      const safePoint = this.#safePointFor(raw);
      if (safePoint === 0n) continue;
      deleted += gcKey(txn, reader, raw, safePoint).deletedVersions;
    }
    txn.apply(this.#engine);
    return deleted;
  }
}
