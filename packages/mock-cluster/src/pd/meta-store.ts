import { compareKeys } from '@tikv/common';

/** A stored key as etcd keeps it. */
export interface MetaKeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Revision of the key's latest creation. */
  readonly createRevision: bigint;
  /** Revision of the key's latest change (for a deletion event: the deletion's). */
  readonly modRevision: bigint;
  /** Changes since the latest creation (1 on creation; 0 in a deletion event). */
  readonly version: bigint;
}

/** One change, as a watcher sees it. */
export interface MetaEvent {
  readonly type: 'put' | 'delete';
  readonly kv: MetaKeyValue;
  /** The key-value before the change, if there was one. */
  readonly prevKv: MetaKeyValue | undefined;
}

/** An etcd key range: `[key, rangeEnd)`, one key when `rangeEnd` is empty, open when it is `\0`. */
export interface MetaRange {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

/** What a ranged read finds. */
export interface MetaRangeResult {
  readonly kvs: MetaKeyValue[];
  /** Keys in the range (beyond the limit too). */
  readonly count: number;
  readonly more: boolean;
}

/** A refusal etcd answers (PD puts its text in the response header). */
export class MetaStoreError extends Error {
  override name = 'MetaStoreError';
}

/** Whether `key` lies in an etcd range. */
export function inMetaRange(r: MetaRange, key: Uint8Array): boolean {
  if (r.rangeEnd.length === 0) return compareKeys(key, r.key) === 0;
  if (compareKeys(key, r.key) < 0) return false;
  if (r.rangeEnd.length === 1 && r.rangeEnd[0] === 0) return true;
  return compareKeys(key, r.rangeEnd) < 0;
}

const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');

/**
 * The etcd key-value store behind PD's meta storage service, in memory and with etcd's MVCC
 * bookkeeping: one store revision (starting at 1) that every change moves on by one, per-key
 * create/mod revisions and versions, reads at a past revision, and a history watchers replay from
 * any revision. Nothing is compacted, and leases are not supported.
 */
export class MetaStore {
  #revision = 1n;
  /** Every change in revision order (the history reads and watchers replay). */
  readonly #history: MetaEvent[] = [];
  readonly #live = new Map<string, MetaKeyValue>();
  readonly #watchers = new Set<(e: MetaEvent) => void>();

  /** The current store revision. */
  get revision(): bigint {
    return this.#revision;
  }

  #checkKey(key: Uint8Array): void {
    if (key.length === 0) throw new MetaStoreError('etcdserver: key is not provided');
  }

  /** Keys in `r` at `revision` (0: now), in key order, at most `limit` (0: all). */
  range(r: MetaRange, options: { limit?: bigint; revision?: bigint } = {}): MetaRangeResult {
    this.#checkKey(r.key);
    const at = options.revision ?? 0n;
    if (at > this.#revision)
      throw new MetaStoreError('etcdserver: mvcc: required revision is a future revision');
    let found: MetaKeyValue[];
    if (at <= 0n || at === this.#revision) {
      found = [...this.#live.values()].filter((kv) => inMetaRange(r, kv.key));
    } else {
      const state = new Map<string, MetaKeyValue>();
      for (const e of this.#history) {
        if (e.kv.modRevision > at) break;
        if (!inMetaRange(r, e.kv.key)) continue;
        if (e.type === 'put') state.set(hex(e.kv.key), e.kv);
        else state.delete(hex(e.kv.key));
      }
      found = [...state.values()];
    }
    found.sort((a, b) => compareKeys(a.key, b.key));
    const limit = options.limit ?? 0n;
    const kvs = limit > 0n && BigInt(found.length) > limit ? found.slice(0, Number(limit)) : found;
    return { kvs, count: found.length, more: kvs.length < found.length };
  }

  /** Writes a key; returns the key-value it replaced. */
  put(key: Uint8Array, value: Uint8Array, lease = 0n): MetaKeyValue | undefined {
    this.#checkKey(key);
    if (lease !== 0n) throw new MetaStoreError('etcdserver: requested lease not found');
    const prev = this.#live.get(hex(key));
    const rev = ++this.#revision;
    const kv: MetaKeyValue = {
      key: Uint8Array.from(key),
      value: Uint8Array.from(value),
      createRevision: prev?.createRevision ?? rev,
      modRevision: rev,
      version: (prev?.version ?? 0n) + 1n,
    };
    this.#live.set(hex(key), kv);
    this.#emit({ type: 'put', kv, prevKv: prev });
    return prev;
  }

  /** Deletes one key (no revision is used when it is absent); returns what was deleted. */
  delete(key: Uint8Array): MetaKeyValue | undefined {
    this.#checkKey(key);
    const prev = this.#live.get(hex(key));
    if (prev === undefined) return undefined;
    const rev = ++this.#revision;
    this.#live.delete(hex(key));
    const kv: MetaKeyValue = {
      key: prev.key,
      value: new Uint8Array(0),
      createRevision: 0n,
      modRevision: rev,
      version: 0n,
    };
    this.#emit({ type: 'delete', kv, prevKv: prev });
    return prev;
  }

  #emit(e: MetaEvent): void {
    this.#history.push(e);
    for (const w of this.#watchers) w(e);
  }

  /**
   * Calls `listener` with every change in `r` from `startRevision` on (0: from the next change):
   * first the history, then live changes, in revision order. Returns the unsubscribe function.
   */
  watch(r: MetaRange, startRevision: bigint, listener: (e: MetaEvent) => void): () => void {
    const from = startRevision > 0n ? startRevision : this.#revision + 1n;
    for (const e of this.#history) {
      if (e.kv.modRevision >= from && inMetaRange(r, e.kv.key)) listener(e);
    }
    const w = (e: MetaEvent): void => {
      if (inMetaRange(r, e.kv.key)) listener(e);
    };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }
}
