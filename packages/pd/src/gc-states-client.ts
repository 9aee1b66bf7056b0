import { InvalidArgumentError, TiKVError } from '@tikv/common';
import type { pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import type { PdRpcClient } from './pd-connections.js';

/** The keyspace id of unified (cluster-level) GC, PD's `NullKeyspaceID`. */
export const NULL_KEYSPACE_ID = 0xffffffff;

/** `ttl_seconds` on the wire meaning "never expires" (Go's `math.MaxInt64`). */
const WIRE_TTL_NEVER = (1n << 63n) - 1n;
/** Seconds beyond which PD's Go client saturates a TTL to "never" (a `time.Duration` overflow). */
const SATURATING_TTL_SECONDS = WIRE_TTL_NEVER / 1_000_000_000n;

/** A keyspace-level GC barrier: GC may not pass `barrierTs` while it lives. */
export interface GcBarrierInfo {
  readonly barrierId: string;
  readonly barrierTs: bigint;
  /** Time left to live in ms as PD reported it (rounded down to seconds); `Infinity`: never expires. */
  readonly ttlMs: number;
  /** The local clock (ms) when the call that reported it started; with `ttlMs`, dates expiry. */
  readonly fetchedAtMs: number;
}

/** A cluster-wide GC barrier: blocks the txn safe point of every keyspace. */
export type GlobalGcBarrierInfo = GcBarrierInfo;

/** The GC progress of one GC scope. */
export interface GcState {
  /** The keyspace PD answered for ({@link NULL_KEYSPACE_ID} for unified GC). */
  readonly keyspaceId: number;
  /** Whether the keyspace runs its own GC (else the state is the unified one). */
  readonly isKeyspaceLevelGc: boolean;
  readonly txnSafePoint: bigint;
  readonly gcSafePoint: bigint;
  /** The keyspace's barriers; empty when excluded. */
  readonly barriers: readonly GcBarrierInfo[];
  /** The global barriers, when asked for (undefined otherwise). */
  readonly globalBarriers?: readonly GlobalGcBarrierInfo[] | undefined;
}

/** The GC states of every GC scope of the cluster. */
export interface ClusterGcStates {
  /**
   * By keyspace id: unified GC under {@link NULL_KEYSPACE_ID}, then every enabled keyspace
   * (those without keyspace-level GC with `isKeyspaceLevelGc: false` and zero safe points).
   */
  readonly states: ReadonlyMap<number, GcState>;
  /** The global barriers; undefined when excluded. */
  readonly globalBarriers: readonly GlobalGcBarrierInfo[] | undefined;
}

/** What {@link GcStatesClient.advanceTxnSafePoint} reports. */
export interface AdvanceTxnSafePointResult {
  readonly oldTxnSafePoint: bigint;
  readonly target: bigint;
  /** Where it got: below `target` when a barrier blocks it (then `blockerDescription` says which). */
  readonly newTxnSafePoint: bigint;
  /** Empty unless something kept the txn safe point below `target`. */
  readonly blockerDescription: string;
}

/** What {@link GcStatesClient.advanceGcSafePoint} reports. */
export interface AdvanceGcSafePointResult {
  readonly oldGcSafePoint: bigint;
  readonly target: bigint;
  readonly newGcSafePoint: bigint;
}

/** Options of {@link GcStatesClient.getGcState}. */
export interface GetGcStateOptions extends CallOptions {
  /** Leave the keyspace's barriers out. @defaultValue false */
  readonly excludeGcBarriers?: boolean | undefined;
  /** Also report the global barriers. @defaultValue false */
  readonly includeGlobalGcBarriers?: boolean | undefined;
}

/** Options of {@link GcStatesClient.getAllKeyspacesGcStates}. */
export interface GetAllKeyspacesGcStatesOptions extends CallOptions {
  /** Leave every keyspace's barriers out. @defaultValue false */
  readonly excludeGcBarriers?: boolean | undefined;
  /** Leave the global barriers out. @defaultValue false */
  readonly excludeGlobalGcBarriers?: boolean | undefined;
}

/** How {@link GcStatesClient} reaches PD (the PD client's unary call with its retry policy). */
export interface GcStatesTransport {
  header(): pdpb.RequestHeader;
  call<T extends { readonly header?: pdpb.ResponseHeader | undefined }>(
    what: string,
    options: CallOptions | undefined,
    fn: (rpc: PdRpcClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T>;
}

/**
 * PD's GC states API bound to one keyspace (PD's Go `GCStatesClient` plus `InternalController`),
 * from {@link PdClient.gcStates}. Transport failures are retried with the PD backoff; PD's
 * refusals (a decreasing safe point, a GC safe point past the txn safe point, a barrier behind
 * the txn safe point, a reserved barrier id) reject at once with a `PdError` (type `UNKNOWN`,
 * PD's message).
 */
export class GcStatesClient {
  readonly #t: GcStatesTransport;
  /** The keyspace this client is bound to. */
  readonly keyspaceId: number;

  /** @internal */
  constructor(transport: GcStatesTransport, keyspaceId: number) {
    if (!Number.isInteger(keyspaceId) || keyspaceId < 0 || keyspaceId > NULL_KEYSPACE_ID) {
      throw new InvalidArgumentError(`keyspace id must be a uint32, got ${keyspaceId}`);
    }
    this.#t = transport;
    this.keyspaceId = keyspaceId;
  }

  #scope(): pdpb.KeyspaceScope {
    return { keyspace: { $case: 'keyspaceId', value: this.keyspaceId } };
  }

  /**
   * Tries to move the txn safe point to `target` (GC management only). It stops at the smallest
   * live barrier and never goes back; a `target` below the current value is refused.
   */
  async advanceTxnSafePoint(target: bigint, options?: CallOptions): Promise<AdvanceTxnSafePointResult> {
    const r = await this.#t.call('AdvanceTxnSafePoint', options, (rpc, signal) =>
      rpc.advanceTxnSafePoint({ header: this.#t.header(), keyspaceScope: this.#scope(), target }, { signal }),
    );
    return {
      oldTxnSafePoint: r.oldTxnSafePoint,
      target,
      newTxnSafePoint: r.newTxnSafePoint,
      blockerDescription: r.blockerDescription,
    };
  }

  /**
   * Moves the GC safe point to `target` (GC management only); refused when `target` is below the
   * current value or above the txn safe point.
   */
  async advanceGcSafePoint(target: bigint, options?: CallOptions): Promise<AdvanceGcSafePointResult> {
    const r = await this.#t.call('AdvanceGCSafePoint', options, (rpc, signal) =>
      rpc.advanceGCSafePoint({ header: this.#t.header(), keyspaceScope: this.#scope(), target }, { signal }),
    );
    return { oldGcSafePoint: r.oldGcSafePoint, target, newGcSafePoint: r.newGcSafePoint };
  }

  /**
   * Adds or renews a GC barrier: the txn safe point may not pass `barrierTs` for `ttlMs` (rounded
   * up to whole seconds; `Infinity` never expires). Refused when `barrierTs` is below the txn
   * safe point or the id is empty or `gc_worker`.
   *
   * @throws TiKVError `INVALID_ARGUMENT` for an empty id or a non-positive TTL (before any call)
   */
  async setGcBarrier(
    barrierId: string,
    barrierTs: bigint,
    ttlMs: number,
    options?: CallOptions,
  ): Promise<GcBarrierInfo> {
    const ttlSeconds = ttlToWire(barrierId, ttlMs);
    const fetchedAtMs = Date.now();
    const r = await this.#t.call('SetGCBarrier', options, (rpc, signal) =>
      rpc.setGCBarrier(
        { header: this.#t.header(), keyspaceScope: this.#scope(), barrierId, barrierTs, ttlSeconds },
        { signal },
      ),
    );
    return barrierFromWire(required(r.newBarrierInfo, 'SetGCBarrier'), fetchedAtMs);
  }

  /** Deletes a GC barrier; resolves with what it was, or undefined when there was none. */
  async deleteGcBarrier(barrierId: string, options?: CallOptions): Promise<GcBarrierInfo | undefined> {
    const fetchedAtMs = Date.now();
    const r = await this.#t.call('DeleteGCBarrier', options, (rpc, signal) =>
      rpc.deleteGCBarrier({ header: this.#t.header(), keyspaceScope: this.#scope(), barrierId }, { signal }),
    );
    return r.deletedBarrierInfo === undefined
      ? undefined
      : barrierFromWire(r.deletedBarrierInfo, fetchedAtMs);
  }

  /** The keyspace's GC state (the unified one for a keyspace without keyspace-level GC). */
  async getGcState(options?: GetGcStateOptions): Promise<GcState> {
    const fetchedAtMs = Date.now();
    const r = await this.#t.call('GetGCState', options, (rpc, signal) =>
      rpc.getGCState(
        {
          header: this.#t.header(),
          keyspaceScope: this.#scope(),
          excludeGcBarriers: options?.excludeGcBarriers ?? false,
          includeGlobalGcBarriers: options?.includeGlobalGcBarriers ?? false,
        },
        { signal },
      ),
    );
    const state = stateFromWire(required(r.gcState, 'GetGCState'), fetchedAtMs);
    const globals = r.globalGcBarriers?.barriers.map((b) => barrierFromWire(b, fetchedAtMs));
    return { ...state, globalBarriers: globals };
  }

  /**
   * Adds or renews a global GC barrier, which blocks every keyspace (independent of this
   * client's keyspace). Refused when `barrierTs` is below any keyspace's txn safe point.
   *
   * @throws TiKVError `INVALID_ARGUMENT` for an empty id or a non-positive TTL (before any call)
   */
  async setGlobalGcBarrier(
    barrierId: string,
    barrierTs: bigint,
    ttlMs: number,
    options?: CallOptions,
  ): Promise<GlobalGcBarrierInfo> {
    const ttlSeconds = ttlToWire(barrierId, ttlMs);
    const fetchedAtMs = Date.now();
    const r = await this.#t.call('SetGlobalGCBarrier', options, (rpc, signal) =>
      rpc.setGlobalGCBarrier({ header: this.#t.header(), barrierId, barrierTs, ttlSeconds }, { signal }),
    );
    return barrierFromWire(required(r.newBarrierInfo, 'SetGlobalGCBarrier'), fetchedAtMs);
  }

  /** Deletes a global GC barrier; resolves with what it was, or undefined when there was none. */
  async deleteGlobalGcBarrier(
    barrierId: string,
    options?: CallOptions,
  ): Promise<GlobalGcBarrierInfo | undefined> {
    const fetchedAtMs = Date.now();
    const r = await this.#t.call('DeleteGlobalGCBarrier', options, (rpc, signal) =>
      rpc.deleteGlobalGCBarrier({ header: this.#t.header(), barrierId }, { signal }),
    );
    return r.deletedBarrierInfo === undefined
      ? undefined
      : barrierFromWire(r.deletedBarrierInfo, fetchedAtMs);
  }

  /**
   * The GC states of unified GC (under {@link NULL_KEYSPACE_ID}) and of every enabled keyspace.
   * A keyspace with keyspace-level GC carries its own state; any other enabled keyspace is
   * listed too, with `isKeyspaceLevelGc: false`, zero safe points and no barriers (its GC
   * follows the unified state), as PD reports it.
   */
  async getAllKeyspacesGcStates(options?: GetAllKeyspacesGcStatesOptions): Promise<ClusterGcStates> {
    const fetchedAtMs = Date.now();
    const excludeGlobal = options?.excludeGlobalGcBarriers ?? false;
    const r = await this.#t.call('GetAllKeyspacesGCStates', options, (rpc, signal) =>
      rpc.getAllKeyspacesGCStates(
        {
          header: this.#t.header(),
          excludeGcBarriers: options?.excludeGcBarriers ?? false,
          excludeGlobalGcBarriers: excludeGlobal,
        },
        { signal },
      ),
    );
    const states = new Map<number, GcState>();
    for (const s of r.gcStates) {
      const state = stateFromWire(s, fetchedAtMs);
      states.set(state.keyspaceId, state);
    }
    return {
      states,
      globalBarriers: excludeGlobal
        ? undefined
        : r.globalGcBarriers.map((b) => barrierFromWire(b, fetchedAtMs)),
    };
  }
}

/**
 * Whether a barrier has expired by the local clock (PD's `IsExpired`): unreliable under clock
 * drift, and a little early since PD rounds the TTL it reports down.
 */
export function isGcBarrierExpired(barrier: GcBarrierInfo, nowMs: number = Date.now()): boolean {
  return nowMs - barrier.fetchedAtMs > barrier.ttlMs;
}

function ttlToWire(barrierId: string, ttlMs: number): bigint {
  if (barrierId === '') throw new InvalidArgumentError('barrierId must not be empty');
  if (ttlMs === Number.POSITIVE_INFINITY) return WIRE_TTL_NEVER;
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) {
    throw new InvalidArgumentError(`ttlMs must be positive or Infinity, got ${ttlMs}`);
  }
  return BigInt(Math.ceil(ttlMs / 1000));
}

function ttlFromWire(ttlSeconds: bigint): number {
  if (ttlSeconds < 0n) return 0;
  if (ttlSeconds > SATURATING_TTL_SECONDS) return Number.POSITIVE_INFINITY;
  return Number(ttlSeconds) * 1000;
}

function barrierFromWire(b: pdpb.GCBarrierInfo, fetchedAtMs: number): GcBarrierInfo {
  return { barrierId: b.barrierId, barrierTs: b.barrierTs, ttlMs: ttlFromWire(b.ttlSeconds), fetchedAtMs };
}

function stateFromWire(s: pdpb.GCState, fetchedAtMs: number): GcState {
  const k = s.keyspaceScope?.keyspace;
  return {
    keyspaceId: k?.$case === 'keyspaceId' ? k.value : NULL_KEYSPACE_ID,
    isKeyspaceLevelGc: s.isKeyspaceLevelGc,
    txnSafePoint: s.txnSafePoint,
    gcSafePoint: s.gcSafePoint,
    barriers: s.gcBarriers.map((b) => barrierFromWire(b, fetchedAtMs)),
  };
}

function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new TiKVError('INTERNAL', `${what} response is missing its payload`);
  return v;
}
