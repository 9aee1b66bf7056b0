import { connectCluster } from '@tikv/cluster';
import {
  type BytesLike,
  ClientClosedError,
  checkArray,
  checkBoundKey,
  checkForwardRange,
  checkKey,
  checkKeys,
  checkObject,
  checkOptionalBoolean,
  checkOptionalBytes,
  checkPairs,
  checkRequestOptions,
  checkReverseRange,
  checkValue,
  type ExecDetailsOptions,
  firstRepeatedKey,
  InvalidArgumentError,
  invalidArgument,
  type RequestOptions,
  sortKeys,
} from '@tikv/common';
import { KeyMode } from '@tikv/keyspace';
import { type KeyLocator, type Operation, RegionExecutor, type RegionSender } from '@tikv/rpc';
import { type BatchShape, batchDeleteKeys, batchGetKeys, batchPutItems, type PutItem } from './batch-ops.js';
import { columnFamilyArg, scanLimitArg, ttlArg, ttlsArg } from './input-validation.js';
import { checksumRange, deleteRangeWalk, type ScanShape, scanPages, scanRange } from './range-ops.js';
import type {
  RawBatchPutOptions,
  RawBatchScanOptions,
  RawCallOptions,
  RawPutOptions,
  RawScanIterOptions,
  RawScanOptions,
} from './raw-call-options.js';
import {
  type RawClientOptions,
  type RawClientTuning,
  type ResolvedRawClientTuning,
  resolveRawClientTuning,
} from './raw-client-options.js';
import { throwIfStorageError } from './raw-errors.js';
import { DEFAULT_SCAN_PAGE_SIZE, WRITE } from './raw-limits.js';
import type { CompareAndSwapResult, KeyRangeInput, KvPair, KvPairInput, RawChecksum } from './raw-types.js';

const EMPTY = new Uint8Array(0);
const WRITE_TO_KEY = Object.freeze({ request: WRITE });

/** The pieces a {@link RawClient} runs on; `RawClient.connect` wires the real ones, a test may pass fakes. */
export interface RawClientParts {
  /** Sends region requests and handles region errors (`@tikv/rpc`'s `RegionRequestSender`). */
  readonly sender: RegionSender;
  /** Locates keys (`@tikv/region-cache`'s `RegionCache`). */
  readonly locator: KeyLocator;
  /** The cluster id PD reported. @defaultValue 0n */
  readonly clusterId?: bigint;
  /** Releases the pieces; called once by `close()`. */
  readonly close?: () => Promise<void>;
}

/** State shared by a client and the views made with `withColumnFamily` / `withAtomicForCas`. */
interface SharedState {
  readonly parts: RawClientParts;
  closing: Promise<void> | undefined;
}

/**
 * The RawKV client (client-go `rawkv.Client`): single-key and batch reads and writes, scans,
 * TTLs, compare-and-swap and checksums over TiKV's raw key space. Keys and values are
 * `Uint8Array` (strings are taken as UTF-8); every method takes `{ signal, timeoutMs }` last.
 *
 * @example
 * ```ts
 * const raw = await RawClient.connect({ pdEndpoints: ['127.0.0.1:2379'] });
 * await raw.put('k', 'v');
 * const v = await raw.get('k'); // Uint8Array | undefined
 * await raw.close();
 * ```
 */
export class RawClient {
  #shared: SharedState;
  readonly #tuning: ResolvedRawClientTuning;
  readonly #exec: RegionExecutor;

  /**
   * Builds a client on given parts (tests, custom wiring). Most callers use {@link RawClient.connect}.
   *
   * @param parts - the sender, locator, cluster id and a close hook
   * @param tuning - behaviour options (column family, atomic mode, batch sizes, backoff budget)
   */
  constructor(parts: RawClientParts, tuning: RawClientTuning = {}) {
    this.#shared = { parts, closing: undefined };
    this.#tuning = resolveRawClientTuning(tuning);
    this.#exec = this.#makeExecutor();
  }

  /**
   * Connects to a cluster: a PD client, a region cache, the gRPC transport (with the keyspace
   * codec in API V2) and a region request sender, wired by `@tikv/cluster`'s `connectCluster`
   * for raw keys.
   *
   * @param options - endpoints, API version, keyspace, TLS and tuning
   * @param call - cancels or bounds the connection attempt
   * @returns the connected client
   */
  static async connect(options: RawClientOptions, call?: RequestOptions): Promise<RawClient> {
    checkObject(options, 'options');
    checkRequestOptions(call, 'call');
    const tuning = resolveRawClientTuning(options);
    const cluster = await connectCluster(
      { ...options, clock: tuning.clock, logger: tuning.logger, keyMode: KeyMode.RAW },
      call,
    );
    return new RawClient(
      {
        sender: cluster.sender,
        locator: cluster.regionCache,
        clusterId: cluster.clusterId,
        close: cluster.close,
      },
      tuning,
    );
  }

  #makeExecutor(): RegionExecutor {
    const t = this.#tuning;
    return new RegionExecutor({
      sender: this.#shared.parts.sender,
      locator: this.#shared.parts.locator,
      maxBackoffMs: t.maxBackoffMs,
      maxConcurrency: t.maxBatchConcurrency,
      clock: t.clock,
      logger: t.logger,
    });
  }

  #view(tuning: Partial<RawClientTuning>): RawClient {
    const view = new RawClient(this.#shared.parts, { ...this.#tuning, ...tuning });
    view.#shared = this.#shared;
    return view;
  }

  /** The id of the cluster PD reported (0n when built on parts without one). */
  get clusterId(): bigint {
    return this.#shared.parts.clusterId ?? 0n;
  }

  /** Whether `close()` has been called (on this client or a view sharing its connections). */
  get closed(): boolean {
    return this.#shared.closing !== undefined;
  }

  /**
   * A client sharing this one's connections with another default column family (client-go
   * `SetColumnFamily`, without changing this client). Closing either closes both.
   */
  withColumnFamily(columnFamily: string): RawClient {
    if (typeof columnFamily !== 'string') throw invalidArgument('columnFamily', 'a string', columnFamily);
    return this.#view({ columnFamily });
  }

  /**
   * A client sharing this one's connections in or out of atomic mode (client-go
   * `SetAtomicForCAS`, without changing this client). Closing either closes both.
   */
  withAtomicForCas(atomicForCas: boolean): RawClient {
    if (typeof atomicForCas !== 'boolean') throw invalidArgument('atomicForCas', 'a boolean', atomicForCas);
    return this.#view({ atomicForCas });
  }

  /** The client's column family and atomic mode. */
  get settings(): { readonly columnFamily: string; readonly atomicForCas: boolean } {
    return { columnFamily: this.#tuning.columnFamily, atomicForCas: this.#tuning.atomicForCas };
  }

  /**
   * Starts an operation; its `scope` must be disposed when the operation settles. The call
   * options are checked here, in one place every call passes.
   */
  #begin(opts: (RequestOptions & ExecDetailsOptions) | undefined): Operation {
    checkRequestOptions(opts);
    if (this.closed) throw new ClientClosedError('raw client is closed');
    return this.#exec.begin(opts);
  }

  #cf(opts: RawCallOptions | undefined): string {
    return columnFamilyArg(opts?.columnFamily, this.#tuning.columnFamily);
  }

  #batchShape(opts: RawCallOptions | undefined): BatchShape {
    return {
      cf: this.#cf(opts),
      forCas: this.#tuning.atomicForCas,
      maxBatchKeys: this.#tuning.maxBatchKeys,
      maxBatchPutBytes: this.#tuning.maxBatchPutBytes,
    };
  }

  /**
   * Reads one key (client-go `Get`).
   *
   * @returns the value (a zero-length array for an empty value), or undefined when absent
   */
  async get(key: BytesLike, options?: RawCallOptions): Promise<Uint8Array | undefined> {
    const k = checkKey(key);
    const cf = this.#cf(options);
    const { bo, scope } = this.#begin(options);
    try {
      const {
        response: { value },
      } = await this.#exec.sendToKey(bo, k, () => ({
        $case: 'RawGet' as const,
        value: { context: undefined, key: k, cf },
      }));
      throwIfStorageError(value.error);
      return value.notFound ? undefined : (value.value ?? EMPTY);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Reads many keys (client-go `BatchGet`), split by region and batch size and sent
   * concurrently. Repeated keys are read once.
   *
   * @returns the values aligned with `keys`; undefined where a key is absent
   */
  async batchGet(keys: readonly BytesLike[], options?: RawCallOptions): Promise<(Uint8Array | undefined)[]> {
    const ks = checkKeys(keys);
    const shape = this.#batchShape(options);
    const { bo, scope } = this.#begin(options);
    try {
      if (ks.length === 0) return [];
      // Sorted and without repeats by comparing bytes (no string per key); already sorted
      // distinct keys pass through as they are, and so do their values.
      const { keys: distinct, slots } = sortKeys(ks);
      const values = new Array<Uint8Array | undefined>(distinct.length).fill(undefined);
      await batchGetKeys(this.#exec, bo, distinct, values, shape);
      if (slots === undefined) return values;
      const out = new Array<Uint8Array | undefined>(ks.length);
      for (let i = 0; i < ks.length; i++) out[i] = values[slots[i] as number];
      return out;
    } finally {
      scope.dispose();
    }
  }

  /** Writes one key (client-go `Put` / `PutWithTTL`). An empty value is a value. */
  async put(key: BytesLike, value: BytesLike, options?: RawPutOptions): Promise<void> {
    const k = checkKey(key);
    const v = checkValue(k, value);
    const ttl = ttlArg(options?.ttlSeconds);
    const cf = this.#cf(options);
    const { bo, scope } = this.#begin(options);
    try {
      const forCas = this.#tuning.atomicForCas;
      const {
        response: { value: resp },
      } = await this.#exec.sendToKey(
        bo,
        k,
        () => ({
          $case: 'RawPut' as const,
          value: { context: undefined, key: k, value: v, cf, ttl, forCas },
        }),
        WRITE_TO_KEY,
      );
      throwIfStorageError(resp.error);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Writes many pairs (client-go `BatchPut` / `BatchPutWithTTL`), split by region and by
   * 16 KiB of keys and values, sent concurrently. Not atomic across regions.
   *
   * @throws InvalidArgumentError for a repeated key or a `ttlSeconds` array of another length
   */
  async batchPut(pairs: readonly KvPairInput[], options?: RawBatchPutOptions): Promise<void> {
    const checked = checkPairs(pairs);
    const ttls = ttlsArg(options?.ttlSeconds, checked.length);
    const repeat = firstRepeatedKey(checked.map((p) => p.key));
    if (repeat >= 0) throw new InvalidArgumentError(`batchPut: pairs[${repeat}].key repeats an earlier key`);
    const items: readonly PutItem[] =
      typeof ttls === 'bigint' ? checked : checked.map((p, i) => ({ ...p, ttl: ttls[i] as bigint }));
    const shape = this.#batchShape(options);
    const { bo, scope } = this.#begin(options);
    try {
      if (items.length === 0) return;
      await batchPutItems(this.#exec, bo, items, typeof ttls === 'bigint' ? ttls : 0n, shape);
    } finally {
      scope.dispose();
    }
  }

  /** Deletes one key (client-go `Delete`); deleting an absent key succeeds. */
  async delete(key: BytesLike, options?: RawCallOptions): Promise<void> {
    const k = checkKey(key);
    const cf = this.#cf(options);
    const { bo, scope } = this.#begin(options);
    try {
      const forCas = this.#tuning.atomicForCas;
      const {
        response: { value },
      } = await this.#exec.sendToKey(
        bo,
        k,
        () => ({ $case: 'RawDelete' as const, value: { context: undefined, key: k, cf, forCas } }),
        WRITE_TO_KEY,
      );
      throwIfStorageError(value.error);
    } finally {
      scope.dispose();
    }
  }

  /** Deletes many keys (client-go `BatchDelete`), split by region, sent concurrently. */
  async batchDelete(keys: readonly BytesLike[], options?: RawCallOptions): Promise<void> {
    const ks = checkKeys(keys);
    const shape = this.#batchShape(options);
    const { bo, scope } = this.#begin(options);
    try {
      if (ks.length === 0) return;
      await batchDeleteKeys(this.#exec, bo, sortKeys(ks).keys, shape);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Deletes every key in `[startKey, endKey)` (client-go `DeleteRange`), one request per region;
   * an empty `endKey` is unbounded. Not atomic across regions.
   *
   * @throws InvalidArgumentError when `startKey > endKey`
   */
  async deleteRange(startKey: BytesLike, endKey: BytesLike, options?: RawCallOptions): Promise<void> {
    const start = checkBoundKey(startKey, 'startKey');
    const end = checkBoundKey(endKey, 'endKey');
    checkForwardRange(start, end);
    const cf = this.#cf(options);
    const { bo, scope } = this.#begin(options);
    try {
      await deleteRangeWalk(this.#exec, bo, start, end, cf, WRITE);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Reads pairs in `[startKey, endKey)` in ascending order across regions (client-go `Scan`);
   * an empty `endKey` is unbounded.
   *
   * @throws MaxScanLimitExceededError for a limit over 10 240
   * @throws InvalidArgumentError when `startKey > endKey`
   */
  scan(startKey: BytesLike, endKey: BytesLike, options?: RawScanOptions): Promise<KvPair[]> {
    return this.#scan(startKey, endKey, options, false);
  }

  /**
   * Reads pairs with keys `< startKey` and `>= endKey` in descending order (client-go
   * `ReverseScan`: `startKey` is the upper bound). An empty `endKey` is unbounded below; an
   * empty `startKey` reads nothing, as in client-go.
   *
   * @throws MaxScanLimitExceededError for a limit over 10 240
   * @throws InvalidArgumentError when `startKey < endKey`
   */
  reverseScan(startKey: BytesLike, endKey: BytesLike, options?: RawScanOptions): Promise<KvPair[]> {
    return this.#scan(startKey, endKey, options, true);
  }

  async #scan(
    startKey: BytesLike,
    endKey: BytesLike,
    options: RawScanOptions | undefined,
    reverse: boolean,
  ): Promise<KvPair[]> {
    const start = checkBoundKey(startKey, 'startKey');
    const end = checkBoundKey(endKey, 'endKey');
    const limit = scanLimitArg(options?.limit);
    if (reverse) checkReverseRange(start, end);
    else checkForwardRange(start, end);
    const shape = this.#scanShape(options);
    const { bo, scope } = this.#begin(options);
    try {
      return await scanRange(this.#exec, bo, start, end, limit, reverse, shape);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Iterates over `[startKey, endKey)` (or, with `reverse`, `reverseScan`'s range) without a
   * limit, fetching `pageSize` pairs per request and moving from region to region. `break`
   * stops it; the signal and `timeoutMs` cover the whole iteration.
   */
  async *scanIter(
    startKey: BytesLike,
    endKey: BytesLike,
    options?: RawScanIterOptions,
  ): AsyncGenerator<KvPair, void, undefined> {
    const start = checkBoundKey(startKey, 'startKey');
    const end = checkBoundKey(endKey, 'endKey');
    const pageSize = scanLimitArg(options?.pageSize ?? DEFAULT_SCAN_PAGE_SIZE, 'options.pageSize');
    if (pageSize === 0) throw new InvalidArgumentError('options.pageSize must be >= 1, got number 0');
    const reverse = checkOptionalBoolean(options?.reverse, 'options.reverse') ?? false;
    if (reverse) checkReverseRange(start, end);
    else checkForwardRange(start, end);
    const shape = this.#scanShape(options);
    // One scope for the whole iteration (its signal and deadline); each page gets a whole
    // backoff budget of its own.
    const { bo: first, scope } = this.#begin(options);
    let used = false;
    try {
      const pages = scanPages(
        this.#exec,
        () => {
          if (!used) {
            used = true;
            return first;
          }
          if (this.closed) throw new ClientClosedError('raw client is closed');
          return this.#exec.backofferIn(scope);
        },
        start,
        end,
        pageSize,
        reverse,
        shape,
      );
      for await (const page of pages) yield* page;
    } finally {
      scope.dispose();
    }
  }

  /**
   * Scans several ranges, each `[startKey, endKey)` up to `eachLimit` pairs, concurrently.
   *
   * @returns one array of pairs per range, aligned with `ranges`
   */
  async batchScan(ranges: readonly KeyRangeInput[], options?: RawBatchScanOptions): Promise<KvPair[][]> {
    const limit = scanLimitArg(options?.eachLimit, 'options.eachLimit');
    const parsed = checkArray(ranges, 'ranges').map((r, i) => {
      const range = checkObject(r, `ranges[${i}]`) as { startKey?: unknown; endKey?: unknown };
      const start = checkBoundKey(range.startKey, `ranges[${i}].startKey`);
      const end = range.endKey === undefined ? EMPTY : checkBoundKey(range.endKey, `ranges[${i}].endKey`);
      checkForwardRange(start, end);
      return { start, end };
    });
    const shape = this.#scanShape(options);
    const { bo, scope } = this.#begin(options);
    try {
      return await this.#exec.mapConcurrently(bo, parsed, (r, child) =>
        scanRange(this.#exec, child, r.start, r.end, limit, false, shape),
      );
    } finally {
      scope.dispose();
    }
  }

  #scanShape(options: RawScanOptions | RawScanIterOptions | RawBatchScanOptions | undefined): ScanShape {
    return {
      keyOnly: checkOptionalBoolean(options?.keyOnly, 'options.keyOnly') ?? false,
      cf: this.#cf(options),
    };
  }

  /**
   * The remaining time to live of a key, in seconds (client-go `GetKeyTTL`); 0 for a key
   * without one. Needs a TTL-enabled cluster (API V2).
   *
   * @returns the TTL, or undefined when the key is absent
   */
  async getKeyTTL(key: BytesLike, options?: RawCallOptions): Promise<number | undefined> {
    const k = checkKey(key);
    const cf = this.#cf(options);
    const { bo, scope } = this.#begin(options);
    try {
      const {
        response: { value },
      } = await this.#exec.sendToKey(bo, k, () => ({
        $case: 'RawGetKeyTTL' as const,
        value: { context: undefined, key: k, cf },
      }));
      throwIfStorageError(value.error);
      return value.notFound ? undefined : Number(value.ttl);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Writes `next` if the key's value equals `expected` (undefined: the key must be absent), in
   * one atomic step (client-go `CompareAndSwap`). Needs `atomicForCas`.
   *
   * @returns the previous value (undefined: absent) and whether the swap happened
   * @throws InvalidArgumentError when the client is not in atomic mode
   */
  async compareAndSwap(
    key: BytesLike,
    expected: BytesLike | undefined,
    next: BytesLike,
    options?: RawCallOptions,
  ): Promise<CompareAndSwapResult> {
    if (!this.#tuning.atomicForCas) {
      throw new InvalidArgumentError('compareAndSwap needs a client in atomic mode (atomicForCas: true)');
    }
    const k = checkKey(key);
    const prev = checkOptionalBytes(expected, 'expected');
    const v = checkValue(k, next, 'next');
    const cf = this.#cf(options);
    const { bo, scope } = this.#begin(options);
    try {
      const {
        response: { value },
      } = await this.#exec.sendToKey(
        bo,
        k,
        () => ({
          $case: 'RawCompareAndSwap' as const,
          value: {
            context: undefined,
            key: k,
            value: v,
            previousNotExist: prev === undefined,
            previousValue: prev ?? EMPTY,
            cf,
            ttl: 0n,
            delete: false,
          },
        }),
        WRITE_TO_KEY,
      );
      throwIfStorageError(value.error);
      const previous = value.previousNotExist ? undefined : (value.previousValue ?? EMPTY);
      return { previous, swapped: value.succeed };
    } finally {
      scope.dispose();
    }
  }

  /**
   * TiKV's checksum of `[startKey, endKey)` (client-go `Checksum`): the XOR of each pair's
   * CRC-64, the pair count and the byte count, one request per region.
   */
  async checksum(
    startKey: BytesLike,
    endKey: BytesLike,
    options?: RequestOptions & ExecDetailsOptions,
  ): Promise<RawChecksum> {
    const start = checkBoundKey(startKey, 'startKey');
    const end = checkBoundKey(endKey, 'endKey');
    checkForwardRange(start, end);
    const { bo, scope } = this.#begin(options);
    try {
      return await checksumRange(this.#exec, bo, start, end);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Closes the client and everything `connect` opened (PD client, region cache, connections).
   * Calls in flight reject; later calls reject with `ClientClosedError`. Idempotent.
   */
  async close(): Promise<void> {
    const root = this.#shared;
    if (root.closing === undefined) root.closing = (root.parts.close ?? (async () => {}))();
    await root.closing;
  }
}
