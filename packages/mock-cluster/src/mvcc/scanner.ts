import { ColumnFamily, type EngineEntry, type KvEngine } from '../storage/kv-engine.js';
import { compareBytes } from '../storage/ordered-map.js';
import { isMvccError, type MvccError } from './mvcc-error.js';
import { decodeTxnKeySafe } from './mvcc-reader.js';
import { PointGetter, type PointGetterOptions } from './point-getter.js';
import { needCheckLocks } from './read-check.js';
import { encodeTxnKey, truncateTs } from './txn-key.js';

/** Options of a {@link Scanner}: the read's checks plus its range and direction. */
export interface ScannerOptions extends PointGetterOptions {
  /** Inclusive raw lower bound; undefined or empty = unbounded. */
  readonly lower?: Uint8Array | undefined;
  /** Exclusive raw upper bound; undefined or empty = unbounded. */
  readonly upper?: Uint8Array | undefined;
  /** Scan from the upper bound down (TiKV's backward scanner). */
  readonly desc?: boolean | undefined;
  /** Report commit ts with each pair. */
  readonly loadCommitTs?: boolean;
}

/** One scanned key: its value or the lock error that blocked it. */
export type ScanResult =
  | { readonly key: Uint8Array; readonly value: Uint8Array; readonly commitTs: bigint | undefined }
  | { readonly error: MvccError };

function* userKeys(entries: Iterable<EngineEntry>, versioned: boolean): Generator<Uint8Array> {
  let last: Uint8Array | undefined;
  for (const { key } of entries) {
    const user = versioned ? truncateTs(key) : key;
    if (last !== undefined && compareBytes(last, user) === 0) continue;
    last = user;
    yield user;
  }
}

/**
 * TiKV's forward and backward MVCC scanners with the latest-KV policy: every user key in range
 * that has a write or a lock yields its value at ts, in key order (or reversed). A lock that
 * blocks the read yields an error for that key and the scan goes on past it; an RCCheckTS conflict
 * ends the scan by throwing.
 */
export class Scanner {
  readonly #o: ScannerOptions;
  readonly #getter: PointGetter;
  readonly #writes: Generator<Uint8Array>;
  readonly #locks: Generator<Uint8Array> | undefined;
  #w: IteratorResult<Uint8Array> | undefined;
  #l: IteratorResult<Uint8Array> | undefined;

  constructor(engine: KvEngine, options: ScannerOptions) {
    this.#o = options;
    this.#getter = new PointGetter(engine, options);
    const bounds = {
      lower:
        options.lower === undefined || options.lower.length === 0 ? undefined : encodeTxnKey(options.lower),
      upper:
        options.upper === undefined || options.upper.length === 0 ? undefined : encodeTxnKey(options.upper),
      reverse: options.desc === true,
    };
    this.#writes = userKeys(engine.cf(ColumnFamily.Write).scan(bounds), true);
    this.#locks = needCheckLocks(options.isolation)
      ? userKeys(engine.cf(ColumnFamily.Lock).scan(bounds), false)
      : undefined;
  }

  /** Whether a lock or a newer version was met (when asked to track it). */
  get metNewerTsData(): 'unknown' | 'notMetYet' | 'met' {
    return this.#getter.metNewerTsData;
  }

  #nextUserKey(): Uint8Array | undefined {
    this.#w ??= this.#writes.next();
    if (this.#locks !== undefined) this.#l ??= this.#locks.next();
    const w = this.#w.done === true ? undefined : this.#w.value;
    const l = this.#l === undefined || this.#l.done === true ? undefined : this.#l.value;
    if (w === undefined && l === undefined) return undefined;
    let c: number;
    if (w === undefined) c = 1;
    else if (l === undefined) c = -1;
    else c = compareBytes(w, l) * (this.#o.desc === true ? -1 : 1);
    if (c <= 0) this.#w = undefined;
    if (c >= 0) this.#l = undefined;
    return (c <= 0 ? w : l) as Uint8Array;
  }

  /** The next key's value, a lock error for it, or undefined at the end of the range. */
  next(): ScanResult | undefined {
    for (;;) {
      const encoded = this.#nextUserKey();
      if (encoded === undefined) return undefined;
      const key = decodeTxnKeySafe(encoded);
      try {
        const entry = this.#getter.getEntry(key, this.#o.loadCommitTs === true);
        if (entry !== undefined) return { key, value: entry.value, commitTs: entry.commitTs };
      } catch (e) {
        if (isMvccError(e, 'KeyIsLocked')) return { error: e };
        throw e;
      }
    }
  }

  /**
   * Up to `limit` results (locked keys count), keeping every `sampleStep`-th value when
   * `sampleStep` > 0 (`Scanner::scan` of TiKV's snapshot store).
   */
  scan(limit: number, sampleStep: number): ScanResult[] {
    const out: ScanResult[] = [];
    let rows = 0;
    while (out.length < limit) {
      const r = this.next();
      if (r === undefined) break;
      if ('error' in r) {
        out.push(r);
        continue;
      }
      if (sampleStep > 0) {
        rows++;
        if ((rows - 1) % sampleStep !== 0) continue;
      }
      out.push(r);
    }
    return out;
  }
}
