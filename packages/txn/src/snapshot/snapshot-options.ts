import {
  type ExecDetailsOptions,
  InvalidArgumentError,
  mustBeNonNegativeInteger,
  mustBePositiveInteger,
  type RequestOptions,
  type Resolved,
  resolveOptions,
} from '@tikv/common';
import type {
  CommandPriority,
  IsolationLevel,
  RegionRequestOptions,
  ReplicaReadType,
  ResourceGroupTagger,
  StoreLabelMatch,
} from '@tikv/rpc';

/** Keys one `Scan` request asks for (client-go `DefaultScanBatchSize`). */
export const DEFAULT_SCAN_BATCH_SIZE = 256;
/** Most keys in one `BatchGet` request (client-go `batchGetSize`). */
export const DEFAULT_BATCH_GET_SIZE = 5120;
/** Backoff budget of one read, in milliseconds (client-go `getMaxBackoff`, `batchGetMaxBackoff`, `scannerNextMaxBackoff`). */
export const SNAPSHOT_READ_MAX_BACKOFF_MS = 20_000;

/** What a {@link ReplicaReadAdjuster} decides for one read request. */
export interface ReplicaReadAdjustment {
  /** The replica read kind of the request; `'leader'` sends it to the leader as a leader read. */
  readonly replicaRead: ReplicaReadType;
  /** Prefer replicas on stores carrying these labels (replaces the snapshot's `matchStoreLabels`). */
  readonly matchStoreLabels?: readonly StoreLabelMatch[] | undefined;
}

/**
 * Decides, per `Get` or `BatchGet` request of a replica-read snapshot, which replicas may serve
 * it, from how many keys it reads (client-go `ReplicaReadAdjuster`; TiDB's closest-adaptive
 * replica read sends small reads to the leader and larger ones to the closest replica).
 */
export type ReplicaReadAdjuster = (keyCount: number) => ReplicaReadAdjustment;

/** Options of a {@link Snapshot}: how its reads are sent. */
export interface SnapshotOptions {
  /** `Context.priority` of every read. @defaultValue 'normal' */
  readonly priority?: CommandPriority | undefined;
  /** `Context.isolationLevel`: `SI` reads see locks, `RC` reads the latest committed versions. @defaultValue 'SI' */
  readonly isolationLevel?: IsolationLevel | undefined;
  /** Scans return keys with zero-length values (client-go `SetKeyOnly`). @defaultValue false */
  readonly keyOnly?: boolean | undefined;
  /** `Context.notFillCache`: TiKV does not fill its block cache with what the reads load. @defaultValue false */
  readonly notFillCache?: boolean | undefined;
  /** `Context.requestSource`, also on the lock resolution the reads cause. @defaultValue none */
  readonly requestSource?: string | undefined;
  /** The resource group the reads are charged to. @defaultValue none */
  readonly resourceGroupName?: string | undefined;
  /** `Context.resourceGroupTag`. @defaultValue none */
  readonly resourceGroupTag?: Uint8Array | undefined;
  /**
   * Computes `Context.resourceGroupTag` per read request when `resourceGroupTag` is not set
   * (client-go `KVSnapshot.SetResourceGroupTagger`). @defaultValue none
   */
  readonly resourceGroupTagger?: ResourceGroupTagger | undefined;
  /** Which replica serves the reads (the region request sender's replica selector). @defaultValue 'leader' */
  readonly replicaRead?: ReplicaReadType | undefined;
  /** Stale reads on any replica at the snapshot's ts; a read that meets a lock goes on at the leader. @defaultValue false */
  readonly staleRead?: boolean | undefined;
  /** Prefer replicas on stores carrying these labels. @defaultValue none */
  readonly matchStoreLabels?: readonly StoreLabelMatch[] | undefined;
  /**
   * With a `replicaRead` other than `'leader'`, adjusts each `Get` and `BatchGet` request's replica
   * read kind and labels by its key count (client-go `SetReplicaReadAdjuster`); scans and stale
   * reads keep the snapshot's settings. @defaultValue none
   */
  readonly replicaReadAdjuster?: ReplicaReadAdjuster | undefined;
  /** Load-based replica read: a leader busier than this many milliseconds sends the read to a follower. @defaultValue 0 (off) */
  readonly busyThresholdMs?: number | undefined;
  /** `Context.maxExecutionDurationMs` of the reads, in milliseconds (client-go `SetKVReadTimeout`). @defaultValue the sender's attempt timeout */
  readonly readTimeoutMs?: number | undefined;
  /** Keys asked for by one `Scan` request (client-go `SetScanBatchSize`). @defaultValue 256 */
  readonly scanBatchSize?: number | undefined;
  /** Most keys in one `BatchGet` request. @defaultValue 5120 */
  readonly batchGetSize?: number | undefined;
  /**
   * Bytes of keys and values read by `get` / `batchGet` kept in the snapshot's cache (client-go
   * keeps every one); 0 turns the cache off. A snapshot at the maximum ts never caches.
   * @defaultValue 67108864 (64 MiB)
   */
  readonly maxCacheBytes?: number | undefined;
}

/** {@link SnapshotOptions} with defaults applied. */
export type ResolvedSnapshotOptions = Resolved<
  Omit<
    SnapshotOptions,
    | 'requestSource'
    | 'resourceGroupName'
    | 'resourceGroupTag'
    | 'resourceGroupTagger'
    | 'readTimeoutMs'
    | 'replicaReadAdjuster'
  >
> &
  Pick<
    SnapshotOptions,
    | 'requestSource'
    | 'resourceGroupName'
    | 'resourceGroupTag'
    | 'resourceGroupTagger'
    | 'readTimeoutMs'
    | 'replicaReadAdjuster'
  >;

/** Defaults of {@link SnapshotOptions}. */
export const DEFAULT_SNAPSHOT_OPTIONS = Object.freeze({
  priority: 'normal',
  isolationLevel: 'SI',
  keyOnly: false,
  notFillCache: false,
  replicaRead: 'leader',
  staleRead: false,
  matchStoreLabels: Object.freeze([]) as readonly StoreLabelMatch[],
  busyThresholdMs: 0,
  scanBatchSize: DEFAULT_SCAN_BATCH_SIZE,
  batchGetSize: DEFAULT_BATCH_GET_SIZE,
  maxCacheBytes: 64 * 1024 * 1024,
} as const satisfies Resolved<
  Omit<
    SnapshotOptions,
    | 'requestSource'
    | 'resourceGroupName'
    | 'resourceGroupTag'
    | 'resourceGroupTagger'
    | 'readTimeoutMs'
    | 'replicaReadAdjuster'
  >
>);

/**
 * Options of snapshot and transaction reads ({@link Snapshot.get}, {@link Snapshot.batchGet},
 * `Transaction.get`, `Transaction.batchGet`): the signal and timeout, and `onDetails`, which
 * receives the read's execution details (RPCs, backoff by kind, region errors, and TiKV's time
 * and scan details) once it settles; a read answered from a buffer or cache reports empty ones.
 */
export interface SnapshotReadOptions extends RequestOptions, ExecDetailsOptions {}

/** Options of {@link Snapshot.scan} and {@link Snapshot.scanIter}. */
export interface SnapshotScanOptions extends SnapshotReadOptions {
  /** Walk from the largest key down. @defaultValue false */
  readonly reverse?: boolean | undefined;
  /** Leave the values out. @defaultValue the snapshot's `keyOnly` */
  readonly keyOnly?: boolean | undefined;
  /** The most pairs to return. @defaultValue no limit */
  readonly limit?: number | undefined;
}

/**
 * Defaults applied and checked.
 *
 * @throws InvalidArgumentError naming a bad field
 * @internal
 */
export function resolveSnapshotOptions(options: SnapshotOptions | undefined): ResolvedSnapshotOptions {
  if (options !== undefined && RESOLVED.has(options)) return options as ResolvedSnapshotOptions;
  const r = resolveOptions<SnapshotOptions>(DEFAULT_SNAPSHOT_OPTIONS as Resolved<SnapshotOptions>, options, {
    scanBatchSize: mustBePositiveInteger,
    batchGetSize: mustBePositiveInteger,
    maxCacheBytes: mustBeNonNegativeInteger,
    busyThresholdMs: mustBeNonNegativeInteger,
    readTimeoutMs: (v) => (v === undefined ? undefined : mustBePositiveInteger(v)),
  });
  if (r.resourceGroupTagger !== undefined && typeof r.resourceGroupTagger !== 'function') {
    throw new InvalidArgumentError('options.resourceGroupTagger must be a function');
  }
  if (r.replicaReadAdjuster !== undefined && typeof r.replicaReadAdjuster !== 'function') {
    throw new InvalidArgumentError('options.replicaReadAdjuster must be a function');
  }
  if (r.staleRead && r.replicaRead !== 'leader') {
    throw new InvalidArgumentError('options.staleRead picks its replica itself: leave replicaRead at leader');
  }
  RESOLVED.add(r);
  return r as ResolvedSnapshotOptions;
}

/** The objects {@link resolveSnapshotOptions} returned: resolving one again returns it as it is. */
const RESOLVED = new WeakSet<object>();

/**
 * The region request options of the reads: `leader` drops stale read and load-based replica read
 * (client-go reads at the leader once a read has met a lock).
 *
 * @internal
 */
export function readRequestOptions(o: ResolvedSnapshotOptions, leader: boolean): RegionRequestOptions {
  return Object.freeze({
    priority: o.priority,
    isolationLevel: o.isolationLevel,
    notFillCache: o.notFillCache,
    replicaRead: o.replicaRead,
    ...(o.staleRead && !leader ? { staleRead: true } : {}),
    ...(o.matchStoreLabels.length > 0 ? { matchStoreLabels: o.matchStoreLabels } : {}),
    ...(o.busyThresholdMs > 0 && !leader ? { busyThresholdMs: o.busyThresholdMs } : {}),
    ...(o.readTimeoutMs === undefined ? {} : { maxExecutionDurationMs: o.readTimeoutMs }),
    ...(o.requestSource === undefined ? {} : { requestSource: o.requestSource }),
    ...(o.resourceGroupName === undefined ? {} : { resourceGroupName: o.resourceGroupName }),
    ...(o.resourceGroupTag === undefined ? {} : { resourceGroupTag: o.resourceGroupTag }),
    ...(o.resourceGroupTagger === undefined ? {} : { resourceGroupTagger: o.resourceGroupTagger }),
  });
}

/**
 * The request options of one `Get` / `BatchGet` of `keyCount` keys: `base`, adjusted by the
 * snapshot's {@link ReplicaReadAdjuster} when the snapshot reads from replicas and is no stale
 * snapshot (client-go applies it to every follower read; TiDB never pairs it with stale reads).
 *
 * @internal
 */
export function adjustedReadOptions(
  o: ResolvedSnapshotOptions,
  base: RegionRequestOptions,
  keyCount: number,
): RegionRequestOptions {
  const adjust = o.replicaReadAdjuster;
  if (adjust === undefined || o.staleRead || base.replicaRead === undefined || base.replicaRead === 'leader')
    return base;
  const a = adjust(keyCount);
  return {
    ...base,
    replicaRead: a.replicaRead,
    ...(a.matchStoreLabels === undefined ? {} : { matchStoreLabels: a.matchStoreLabels }),
  };
}
