import { pdpb } from '@tikv/proto';
import { GrpcStatus, RpcError } from '../server/rpc-error.js';
import type { KeyspaceInfo } from './keyspace-service.js';

type P<T> = pdpb.DeepPartial<T>;

/** The keyspace id of unified (cluster-level) GC: any id beyond 24 bits lands here. */
export const NULL_KEYSPACE_ID = 0xffffffff;
/** The keyspace config entry that selects the GC mode, and its keyspace-level value. */
const GC_MANAGEMENT_TYPE = 'gc_management_type';
const KEYSPACE_LEVEL_GC = 'keyspace_level';
/** A barrier id PD keeps for the pre-GC-states `gc_worker` service safe point. */
const RESERVED_BARRIER_ID = 'gc_worker';
/** `ttl_seconds` meaning "never expires" (Go's `math.MaxInt64`). */
const TTL_NEVER = (1n << 63n) - 1n;
/** The most seconds a Go `time.Duration` holds; PD saturates longer service safe point TTLs to "never". */
const MAX_DURATION_SECONDS = TTL_NEVER / 1_000_000_000n;
/** The service id the pre-GC-states API maps to global GC barriers (BR's). */
const NATIVE_BR_SERVICE_ID = 'native_br';

interface Barrier {
  readonly id: string;
  readonly ts: bigint;
  /** Expiry on the mock's clock in ms; undefined: never. */
  readonly expiresAtMs: number | undefined;
}

interface KeyspaceGcState {
  txnSafePoint: bigint;
  gcSafePoint: bigint;
  readonly barriers: Map<string, Barrier>;
}

/** A refusal PD's GC state manager answers in the header (type UNKNOWN, as PD's gRPC layer wraps it). */
class GcRefusal extends Error {}
/** A barrier below the txn safe point (the compatibility layer ignores this one). */
class BehindTxnSafePoint extends GcRefusal {}

/** What advancing a txn safe point did. */
interface TxnAdvance {
  readonly old: bigint;
  readonly next: bigint;
  /** PD's description of the barrier that held the txn safe point back ('' when none did). */
  readonly blockerDescription: string;
  /** That barrier's id ('' when none did). */
  readonly blockerId: string;
}

/** What the GC state service serves from. */
export interface GcStateDeps {
  readonly clusterId: bigint;
  /** The mock's clock in ms (barrier TTLs). */
  nowMs(): number;
  /** The keyspaces PD knows (their config selects keyspace-level GC). */
  keyspaces(): readonly KeyspaceInfo[];
}

/**
 * PD's GC states API (`AdvanceTxnSafePoint` .. `GetAllKeyspacesGCStates`) with the semantics of
 * PD's GC state manager, in memory: one state per GC scope (unified GC under the null keyspace,
 * plus each keyspace whose `gc_management_type` is `keyspace_level`). The txn safe point only
 * moves forward and stops at the smallest live barrier (keyspace or global); the GC safe point
 * only moves forward and never passes the txn safe point; barriers below the txn safe point are
 * refused; expired barriers are dropped when the txn safe point advances and hidden from reads.
 */
export class GcStateService {
  readonly #d: GcStateDeps;
  readonly #states = new Map<number, KeyspaceGcState>();
  readonly #globals = new Map<string, Barrier>();

  constructor(deps: GcStateDeps) {
    this.#d = deps;
  }

  #header(error?: string): P<pdpb.ResponseHeader> {
    return {
      clusterId: this.#d.clusterId,
      error: error === undefined ? undefined : { type: pdpb.ErrorType.UNKNOWN, message: error },
    };
  }

  /** Runs one handler, turning refusals into a header error. */
  #answer<T extends object>(
    fn: () => T,
  ): (T & { header: P<pdpb.ResponseHeader> }) | { header: P<pdpb.ResponseHeader> } {
    try {
      return { ...fn(), header: this.#header() };
    } catch (e) {
      if (e instanceof GcRefusal) return { header: this.#header(e.message) };
      throw e;
    }
  }

  #state(id: number): KeyspaceGcState {
    let s = this.#states.get(id);
    if (s === undefined) {
      s = { txnSafePoint: 0n, gcSafePoint: 0n, barriers: new Map() };
      this.#states.set(id, s);
    }
    return s;
  }

  /**
   * The GC safe point that applies to a keyspace's data (its own with keyspace-level GC, else the
   * unified one; `undefined` id = API V1 data), for the stores' garbage collection.
   */
  gcSafePointFor(keyspaceId: number | undefined): bigint {
    const level =
      keyspaceId !== undefined &&
      this.#d
        .keyspaces()
        .some((k) => k.id === keyspaceId && k.config[GC_MANAGEMENT_TYPE] === KEYSPACE_LEVEL_GC);
    return this.#states.get(level ? (keyspaceId as number) : NULL_KEYSPACE_ID)?.gcSafePoint ?? 0n;
  }

  /** The GC scope a request operates on: user APIs fall back to unified GC, internal ones refuse. */
  #scope(scope: pdpb.KeyspaceScope | undefined, userApi: boolean): number {
    const id = scope?.keyspace?.$case === 'keyspaceId' ? scope.keyspace.value : NULL_KEYSPACE_ID;
    if ((id & ~0xffffff) !== 0) return NULL_KEYSPACE_ID;
    const meta = this.#d.keyspaces().find((k) => k.id === id);
    if (meta === undefined) throw new GcRefusal(`keyspace id ${id} not found`);
    if (meta.config[GC_MANAGEMENT_TYPE] === KEYSPACE_LEVEL_GC) return id;
    if (userApi) return NULL_KEYSPACE_ID;
    throw new GcRefusal(
      `trying to manage GC in keyspace ${meta.name} (id: ${id}) where keyspace level GC is not enabled`,
    );
  }

  #expired(b: Barrier, now: number): boolean {
    return b.expiresAtMs !== undefined && now >= b.expiresAtMs;
  }

  /** A GC barrier from a `SetGCBarrier` request (TTL and id checked first, as PD does). */
  #barrier(id: string, ts: bigint, ttlSeconds: bigint): Barrier {
    if (ttlSeconds <= 0n) throw new GcRefusal(`invalid argument for ttl: ${ttlSeconds}s`);
    this.#checkBarrierId(id);
    return this.#newBarrier(id, ts, ttlSeconds);
  }

  #newBarrier(id: string, ts: bigint, ttlSeconds: bigint): Barrier {
    const expiresAtMs = ttlSeconds >= TTL_NEVER ? undefined : this.#d.nowMs() + Number(ttlSeconds) * 1000;
    return { id, ts, expiresAtMs };
  }

  #wireBarrier(b: Barrier, now: number): pdpb.GCBarrierInfo {
    const ttlSeconds =
      b.expiresAtMs === undefined ? TTL_NEVER : BigInt(Math.max(0, Math.floor((b.expiresAtMs - now) / 1000)));
    return { barrierId: b.id, barrierTs: b.ts, ttlSeconds };
  }

  #wireBarriers(m: ReadonlyMap<string, Barrier>): pdpb.GCBarrierInfo[] {
    const now = this.#d.nowMs();
    return [...m.values()]
      .filter((b) => !this.#expired(b, now))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((b) => this.#wireBarrier(b, now));
  }

  #wireState(id: number, excludeBarriers: boolean): pdpb.GCState {
    const s = this.#state(id);
    return {
      keyspaceScope: { keyspace: { $case: 'keyspaceId', value: id } },
      isKeyspaceLevelGc: id !== NULL_KEYSPACE_ID,
      txnSafePoint: s.txnSafePoint,
      gcSafePoint: s.gcSafePoint,
      gcBarriers: excludeBarriers ? [] : this.#wireBarriers(s.barriers),
    };
  }

  /** Advances the txn safe point of a scope as far as its barriers allow (PD's `advanceTxnSafePointImpl`). */
  #advanceTxn(id: number, target: bigint): TxnAdvance {
    const s = this.#state(id);
    const old = s.txnSafePoint;
    if (target < old) {
      throw new GcRefusal(
        `trying to update txn safe point to a smaller value, current value: ${old}, given: ${target}`,
      );
    }
    const now = this.#d.nowMs();
    let min = target;
    let blocker: { kind: string; barrier: Barrier } | undefined;
    const consider = (m: Map<string, Barrier>, kind: string): void => {
      for (const b of [...m.values()]) {
        if (this.#expired(b, now)) {
          m.delete(b.id);
        } else if (b.ts < min) {
          min = b.ts;
          blocker = { kind, barrier: b };
        }
      }
    };
    consider(s.barriers, 'GCBarrier');
    consider(this.#globals, 'GlobalGCBarrier');
    s.txnSafePoint = min > old ? min : old;
    const b = blocker as { kind: string; barrier: Barrier } | undefined;
    return {
      old,
      next: s.txnSafePoint,
      blockerDescription:
        b === undefined
          ? ''
          : `${b.kind} { BarrierID: ${JSON.stringify(b.barrier.id)}, BarrierTS: ${b.barrier.ts} }`,
      blockerId: b?.barrier.id ?? '',
    };
  }

  /**
   * Advances the GC safe point of a scope, never past its txn safe point. `compatible` is the
   * legacy `UpdateGCSafePoint`: a smaller target leaves the value as it is instead of failing.
   */
  #advanceGc(id: number, target: bigint, compatible: boolean): { old: bigint; next: bigint } {
    const s = this.#state(id);
    const old = s.gcSafePoint;
    if (target < old) {
      if (compatible) return { old, next: old };
      throw new GcRefusal(
        `trying to update GC safe point to a smaller value, current value: ${old}, given: ${target}`,
      );
    }
    if (target > s.txnSafePoint) {
      throw new GcRefusal(
        `trying to update GC safe point to a too large value that exceeds the txn safe point, current value: ${old}, given: ${target}, current txn safe point: ${s.txnSafePoint}`,
      );
    }
    s.gcSafePoint = target;
    return { old, next: target };
  }

  #checkBarrierId(id: string): void {
    if (id === RESERVED_BARRIER_ID) {
      throw new GcRefusal(`trying to set a GC barrier with a barrier ID that is reserved: ${id}`);
    }
    if (id === '') throw new GcRefusal('invalid argument for barrierID: ');
  }

  #setBarrier(id: number, b: Barrier): Barrier {
    this.#checkBarrierId(b.id);
    const s = this.#state(id);
    if (b.ts < s.txnSafePoint) {
      throw new BehindTxnSafePoint(
        `trying to set a GC barrier on ts ${b.ts} which is already behind the txn safe point ${s.txnSafePoint}`,
      );
    }
    s.barriers.set(b.id, b);
    return b;
  }

  #deleteBarrier(id: number, barrierId: string): Barrier | undefined {
    this.#checkBarrierId(barrierId);
    const s = this.#state(id);
    const b = s.barriers.get(barrierId);
    s.barriers.delete(barrierId);
    return b;
  }

  /** The largest txn safe point of unified GC and every enabled keyspace, and whose it is. */
  #maxTxnSafePoint(): { ts: bigint; owner: string } {
    let max = { ts: -1n, owner: '' };
    for (const k of this.#d.keyspaces()) {
      if (k.state !== 'enabled') continue;
      const ts = this.#states.get(k.id)?.txnSafePoint ?? 0n;
      if (ts > max.ts) max = { ts, owner: `{ name: ${JSON.stringify(k.name)}, id: ${k.id} }` };
    }
    const unified = this.#states.get(NULL_KEYSPACE_ID)?.txnSafePoint ?? 0n;
    if (unified > max.ts) max = { ts: unified, owner: '<null_keyspace>' };
    return max;
  }

  #setGlobalBarrier(b: Barrier): Barrier {
    if (b.id === '') throw new GcRefusal('invalid argument for barrierID: ');
    const max = this.#maxTxnSafePoint();
    if (b.ts < max.ts) {
      throw new BehindTxnSafePoint(
        `trying to set a global GC barrier on ts ${b.ts} which is already behind the txn safe point ${max.ts} of keyspace ${max.owner}`,
      );
    }
    this.#globals.set(b.id, b);
    return b;
  }

  #deleteGlobalBarrier(barrierId: string): Barrier | undefined {
    if (barrierId === '') throw new GcRefusal('invalid argument for barrierID: ');
    const b = this.#globals.get(barrierId);
    this.#globals.delete(barrierId);
    return b;
  }

  async advanceTxnSafePoint(
    req: pdpb.AdvanceTxnSafePointRequest,
  ): Promise<P<pdpb.AdvanceTxnSafePointResponse>> {
    return this.#answer(() => {
      const r = this.#advanceTxn(this.#scope(req.keyspaceScope, false), req.target);
      return { oldTxnSafePoint: r.old, newTxnSafePoint: r.next, blockerDescription: r.blockerDescription };
    });
  }

  async advanceGCSafePoint(req: pdpb.AdvanceGCSafePointRequest): Promise<P<pdpb.AdvanceGCSafePointResponse>> {
    return this.#answer(() => {
      const r = this.#advanceGc(this.#scope(req.keyspaceScope, false), req.target, false);
      return { oldGcSafePoint: r.old, newGcSafePoint: r.next };
    });
  }

  async setGCBarrier(req: pdpb.SetGCBarrierRequest): Promise<P<pdpb.SetGCBarrierResponse>> {
    return this.#answer(() => {
      const b = this.#barrier(req.barrierId, req.barrierTs, req.ttlSeconds);
      this.#setBarrier(this.#scope(req.keyspaceScope, true), b);
      return { newBarrierInfo: this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async deleteGCBarrier(req: pdpb.DeleteGCBarrierRequest): Promise<P<pdpb.DeleteGCBarrierResponse>> {
    return this.#answer(() => {
      this.#checkBarrierId(req.barrierId);
      const b = this.#deleteBarrier(this.#scope(req.keyspaceScope, true), req.barrierId);
      return { deletedBarrierInfo: b === undefined ? undefined : this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async setGlobalGCBarrier(req: pdpb.SetGlobalGCBarrierRequest): Promise<P<pdpb.SetGlobalGCBarrierResponse>> {
    return this.#answer(() => {
      if (req.ttlSeconds <= 0n) throw new GcRefusal(`invalid argument for ttl: ${req.ttlSeconds}s`);
      const b = this.#setGlobalBarrier(this.#newBarrier(req.barrierId, req.barrierTs, req.ttlSeconds));
      return { newBarrierInfo: this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async deleteGlobalGCBarrier(
    req: pdpb.DeleteGlobalGCBarrierRequest,
  ): Promise<P<pdpb.DeleteGlobalGCBarrierResponse>> {
    return this.#answer(() => {
      const b = this.#deleteGlobalBarrier(req.barrierId);
      return { deletedBarrierInfo: b === undefined ? undefined : this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  // The pre-GC-states API, which PD still serves as a compatibility layer over the GC states
  // (PD's `Compatible*` methods of its GC state manager). Unlike the GC states API, PD returns
  // their refusals as gRPC errors (UNKNOWN), not in the response header.

  /** Runs a compatibility call: a refusal becomes a gRPC UNKNOWN error, as PD's handler returns it. */
  #compat<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof GcRefusal) throw new RpcError(GrpcStatus.UNKNOWN, e.message);
      throw e;
    }
  }

  /** `UpdateGCSafePoint`: advances unified GC's GC safe point; a smaller value answers the current one. */
  async updateGCSafePoint(req: pdpb.UpdateGCSafePointRequest): Promise<P<pdpb.UpdateGCSafePointResponse>> {
    return this.#compat(() => {
      const r = this.#advanceGc(NULL_KEYSPACE_ID, req.safePoint, true);
      return { header: this.#header(), newSafePoint: r.next };
    });
  }

  /** `GetGCSafePoint`: unified GC's GC safe point. */
  async getGCSafePoint(_req: pdpb.GetGCSafePointRequest): Promise<P<pdpb.GetGCSafePointResponse>> {
    return { header: this.#header(), safePoint: this.#state(NULL_KEYSPACE_ID).gcSafePoint };
  }

  /**
   * `UpdateServiceGCSafePoint` on unified GC: `gc_worker` advances the txn safe point (its TTL
   * must be infinite); `native_br` sets (TTL > 0) or deletes a global GC barrier; any other
   * service sets or deletes a GC barrier of that id. A barrier behind the txn safe point is not
   * set, silently. The answer is a simulated minimum service safe point: the txn safe point as
   * `gc_worker`'s, or for `gc_worker` itself the barrier that held it back.
   */
  async updateServiceGCSafePoint(
    req: pdpb.UpdateServiceGCSafePointRequest,
  ): Promise<P<pdpb.UpdateServiceGCSafePointResponse>> {
    return this.#compat(() => {
      const serviceId = new TextDecoder().decode(req.serviceId);
      const nowMs = this.#d.nowMs();
      // PD reports `expired_at - now` with `expired_at` = MaxInt64 for every simulated answer.
      const ttl = TTL_NEVER - BigInt(Math.floor(nowMs / 1000));
      const answer = (id: string, minSafePoint: bigint): P<pdpb.UpdateServiceGCSafePointResponse> => ({
        header: this.#header(),
        serviceId: new TextEncoder().encode(id),
        TTL: ttl,
        minSafePoint,
      });
      if (serviceId === RESERVED_BARRIER_ID) {
        if (req.TTL !== TTL_NEVER)
          throw new GcRefusal("TTL of gc_worker's service safe point must be infinity");
        const r = this.#advanceTxn(NULL_KEYSPACE_ID, req.safePoint);
        return r.next === req.safePoint
          ? answer(RESERVED_BARRIER_ID, req.safePoint)
          : answer(r.blockerId, r.next);
      }
      const barrier = (): Barrier => ({
        id: serviceId,
        ts: req.safePoint,
        // Go's saturating seconds-to-Duration: beyond ~292 years the barrier never expires.
        expiresAtMs: req.TTL > MAX_DURATION_SECONDS ? undefined : nowMs + Number(req.TTL) * 1000,
      });
      const ignoreBehind = (fn: () => unknown): void => {
        try {
          fn();
        } catch (e) {
          if (!(e instanceof BehindTxnSafePoint)) throw e;
        }
      };
      if (serviceId === NATIVE_BR_SERVICE_ID) {
        ignoreBehind(() =>
          req.TTL > 0n ? this.#setGlobalBarrier(barrier()) : this.#deleteGlobalBarrier(serviceId),
        );
        return answer(RESERVED_BARRIER_ID, this.#maxTxnSafePoint().ts);
      }
      ignoreBehind(() =>
        req.TTL > 0n
          ? this.#setBarrier(NULL_KEYSPACE_ID, barrier())
          : this.#deleteBarrier(NULL_KEYSPACE_ID, serviceId),
      );
      return answer(RESERVED_BARRIER_ID, this.#state(NULL_KEYSPACE_ID).txnSafePoint);
    });
  }

  async getGCState(req: pdpb.GetGCStateRequest): Promise<P<pdpb.GetGCStateResponse>> {
    return this.#answer(() => ({
      gcState: this.#wireState(this.#scope(req.keyspaceScope, true), req.excludeGcBarriers),
      globalGcBarriers: req.includeGlobalGcBarriers
        ? { barriers: this.#wireBarriers(this.#globals) }
        : undefined,
    }));
  }

  async getAllKeyspacesGCStates(
    req: pdpb.GetAllKeyspacesGCStatesRequest,
  ): Promise<P<pdpb.GetAllKeyspacesGCStatesResponse>> {
    // As PD's `iterateAllKeyspacesGCStates`: the null keyspace, then every enabled keyspace; one
    // without keyspace-level GC appears with zero safe points and no barriers (it follows the
    // unified GC of the null keyspace).
    const gcStates = [this.#wireState(NULL_KEYSPACE_ID, req.excludeGcBarriers)];
    for (const k of this.#d.keyspaces()) {
      if (k.state !== 'enabled') continue;
      if (k.config[GC_MANAGEMENT_TYPE] === KEYSPACE_LEVEL_GC) {
        gcStates.push(this.#wireState(k.id, req.excludeGcBarriers));
      } else {
        gcStates.push({
          keyspaceScope: { keyspace: { $case: 'keyspaceId', value: k.id } },
          isKeyspaceLevelGc: false,
          txnSafePoint: 0n,
          gcSafePoint: 0n,
          gcBarriers: [],
        });
      }
    }
    return {
      header: this.#header(),
      gcStates,
      globalGcBarriers: req.excludeGlobalGcBarriers ? [] : this.#wireBarriers(this.#globals),
    };
  }
}
