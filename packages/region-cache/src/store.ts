import type { SourceStore, SourceStoreLabel } from './region-source.js';
import { StoreHealthStatus } from './slow-score.js';

/** How far a store's address is known (client-go `resolveState`). */
export const ResolveState = Object.freeze({
  /** Just created; its address is being fetched. */
  UNRESOLVED: 'unresolved',
  /** The address is known and valid. */
  RESOLVED: 'resolved',
  /** A request failed on it; its address will be fetched again. */
  NEED_CHECK: 'needCheck',
  /** Removed from the cluster; regions routed to it are invalidated. */
  TOMBSTONE: 'tombstone',
} as const);
/** One of the {@link ResolveState} values. */
export type ResolveState = (typeof ResolveState)[keyof typeof ResolveState];

/** Whether a store answers (client-go `livenessState`). */
export const Liveness = Object.freeze({
  REACHABLE: 'reachable',
  UNREACHABLE: 'unreachable',
  UNKNOWN: 'unknown',
} as const);
/** One of the {@link Liveness} values. */
export type Liveness = (typeof Liveness)[keyof typeof Liveness];

/** The kind of engine a store runs. */
export const StoreType = Object.freeze({ TIKV: 'tikv', TIFLASH: 'tiflash' } as const);
/** One of the {@link StoreType} values. */
export type StoreType = (typeof StoreType)[keyof typeof StoreType];

/** A label requirement: a store matches when it carries every such label. */
export type LabelMatch = readonly SourceStoreLabel[];

/**
 * The engine a store runs, from its `engine` label (`tiflash` and
 * `tiflash_compute` are TiFlash; anything else is TiKV).
 *
 * @param labels - the store's labels
 * @returns the store type
 */
export function storeTypeFromLabels(labels: readonly SourceStoreLabel[]): StoreType {
  for (const l of labels) {
    if (l.key === 'engine' && (l.value === 'tiflash' || l.value === 'tiflash_compute'))
      return StoreType.TIFLASH;
  }
  return StoreType.TIKV;
}

function hasLabel(labels: readonly SourceStoreLabel[], key: string, value: string): boolean {
  return labels.some((l) => l.key === key && l.value === value);
}

/**
 * A store as the cache knows it: address, labels, resolve state, liveness, the
 * failure epoch and the health status. One object per store id lives for the
 * life of the cache; its fields change when the store is re-resolved, so
 * holders always see the current address.
 */
export class Store {
  /** The store id. */
  readonly id: bigint;
  /** The address requests go to; empty until resolved. */
  address = '';
  /** The peer address (TiFlash proxies). */
  peerAddress = '';
  /** The status (HTTP) address. */
  statusAddress = '';
  /** The store's labels. */
  labels: readonly SourceStoreLabel[] = [];
  /** The engine the store runs. */
  storeType: StoreType = StoreType.TIKV;
  /** How far the address is known. */
  resolveState: ResolveState = ResolveState.UNRESOLVED;
  /**
   * The failure epoch. A cached region remembers each store's epoch when it is
   * built; bumping it invalidates, lazily, every region that routes to the store.
   */
  epoch = 0;
  /** Whether the store answers. */
  liveness: Liveness = Liveness.REACHABLE;
  /** When the store became unreachable (clock milliseconds), if it is. */
  unreachableSinceMs: number | undefined;
  /** Slow scores. */
  readonly health = new StoreHealthStatus();
  /**
   * Requests this client has in flight to the store, counted only while a store limit is set
   * (client-go `tokenCount`).
   */
  tokenCount = 0;
  /** @internal coalesces concurrent first resolutions */
  resolving: Promise<string> | undefined;
  private estimatedWaitMs = 0;
  private waitUpdatedAtMs = 0;

  /** @param id - the store id */
  constructor(id: bigint) {
    this.id = id;
  }

  /** Whether the store runs TiFlash. */
  get isTiFlash(): boolean {
    return this.storeType === StoreType.TIFLASH;
  }

  /**
   * Copies address, labels and type from the source's answer.
   *
   * @param meta - the store as the source reports it
   */
  updateFrom(meta: SourceStore): void {
    this.address = meta.address;
    this.peerAddress = meta.peerAddress;
    this.statusAddress = meta.statusAddress;
    this.labels = meta.labels;
    this.storeType = storeTypeFromLabels(meta.labels);
  }

  /**
   * @param key - a label key
   * @returns the label's value, or undefined when the store has no such label
   */
  labelValue(key: string): string | undefined {
    return this.labels.find((l) => l.key === key)?.value;
  }

  /**
   * Whether the store carries every label of `labels` (an empty list matches any store).
   *
   * @param labels - the required labels
   * @returns true when all are present
   */
  isLabelsMatch(labels: LabelMatch | undefined): boolean {
    if (labels === undefined || labels.length === 0) return true;
    return labels.every((l) => hasLabel(this.labels, l.key, l.value));
  }

  /**
   * Whether the store has exactly these labels (order aside).
   *
   * @param labels - labels to compare with
   * @returns true when the sets are equal
   */
  isSameLabels(labels: readonly SourceStoreLabel[]): boolean {
    return labels.length === this.labels.length && labels.every((l) => hasLabel(this.labels, l.key, l.value));
  }

  /**
   * Whether the store's id is one of `ids` (an empty list matches any store).
   *
   * @param ids - store ids
   * @returns true on a match
   */
  isStoreMatch(ids: readonly bigint[] | undefined): boolean {
    return ids === undefined || ids.length === 0 || ids.includes(this.id);
  }

  /**
   * Moves the resolve state from `from` to `to`.
   *
   * @returns true when the state is now `to`
   */
  changeResolveState(from: ResolveState, to: ResolveState): boolean {
    if (this.resolveState === to) return true;
    if (this.resolveState !== from) return false;
    this.resolveState = to;
    return true;
  }

  /**
   * Records the wait TiKV estimated for new requests on this store.
   *
   * @param waitMs - the estimated wait in milliseconds
   * @param nowMs - the current time in milliseconds
   */
  updateServerLoad(waitMs: number, nowMs: number): void {
    this.estimatedWaitMs = waitMs;
    this.waitUpdatedAtMs = nowMs;
  }

  /**
   * An optimistic estimate of how long a new request would wait on this store:
   * the last estimate TiKV returned minus the time since.
   *
   * @param nowMs - the current time in milliseconds
   * @returns milliseconds, never negative
   */
  estimatedWait(nowMs: number): number {
    return Math.max(0, this.estimatedWaitMs - (nowMs - this.waitUpdatedAtMs));
  }
}
