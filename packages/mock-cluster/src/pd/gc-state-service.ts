import { pdpb } from '@tikv/proto';
import type { FaultRegistry } from '../faults/fault-registry.js';
import type { KeyspaceInfo } from './keyspace-service.js';
import { checkPdRequest } from './pd-request-check.js';

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

/** What the GC state service serves from. */
export interface GcStateDeps {
  readonly clusterId: bigint;
  readonly faults: FaultRegistry;
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

  #validate(method: string, header: { readonly clusterId: bigint } | undefined): void {
    checkPdRequest(this.#d, method, header);
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
    const level = keyspaceId !== undefined && this.#keyspaceLevel().some((k) => k.id === keyspaceId);
    return this.#states.get(level ? (keyspaceId as number) : NULL_KEYSPACE_ID)?.gcSafePoint ?? 0n;
  }

  #keyspaceLevel(): KeyspaceInfo[] {
    return this.#d.keyspaces().filter((k) => k.config[GC_MANAGEMENT_TYPE] === KEYSPACE_LEVEL_GC);
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

  #barrier(id: string, ts: bigint, ttlSeconds: bigint): Barrier {
    if (ttlSeconds <= 0n) throw new GcRefusal(`invalid argument for ttl: ${ttlSeconds}s`);
    if (id === RESERVED_BARRIER_ID) {
      throw new GcRefusal(`trying to set a GC barrier with a barrier ID that is reserved: ${id}`);
    }
    if (id === '') throw new GcRefusal('invalid argument for barrierID: ');
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

  async advanceTxnSafePoint(
    req: pdpb.AdvanceTxnSafePointRequest,
  ): Promise<P<pdpb.AdvanceTxnSafePointResponse>> {
    this.#validate('AdvanceTxnSafePoint', req.header);
    return this.#answer(() => {
      const s = this.#state(this.#scope(req.keyspaceScope, false));
      const old = s.txnSafePoint;
      if (req.target < old) {
        throw new GcRefusal(
          `trying to update txn safe point to a smaller value, current value: ${old}, given: ${req.target}`,
        );
      }
      const now = this.#d.nowMs();
      let min = req.target;
      let blocker = '';
      const consider = (m: Map<string, Barrier>, kind: string): void => {
        for (const b of [...m.values()]) {
          if (this.#expired(b, now)) {
            m.delete(b.id);
          } else if (b.ts < min) {
            min = b.ts;
            blocker = `${kind} { BarrierID: ${JSON.stringify(b.id)}, BarrierTS: ${b.ts} }`;
          }
        }
      };
      consider(s.barriers, 'GCBarrier');
      consider(this.#globals, 'GlobalGCBarrier');
      s.txnSafePoint = min > old ? min : old;
      return { oldTxnSafePoint: old, newTxnSafePoint: s.txnSafePoint, blockerDescription: blocker };
    });
  }

  async advanceGCSafePoint(req: pdpb.AdvanceGCSafePointRequest): Promise<P<pdpb.AdvanceGCSafePointResponse>> {
    this.#validate('AdvanceGCSafePoint', req.header);
    return this.#answer(() => {
      const s = this.#state(this.#scope(req.keyspaceScope, false));
      const old = s.gcSafePoint;
      if (req.target < old) {
        throw new GcRefusal(
          `trying to update GC safe point to a smaller value, current value: ${old}, given: ${req.target}`,
        );
      }
      if (req.target > s.txnSafePoint) {
        throw new GcRefusal(
          `trying to update GC safe point to a too large value that exceeds the txn safe point, current value: ${old}, given: ${req.target}, current txn safe point: ${s.txnSafePoint}`,
        );
      }
      s.gcSafePoint = req.target;
      return { oldGcSafePoint: old, newGcSafePoint: req.target };
    });
  }

  async setGCBarrier(req: pdpb.SetGCBarrierRequest): Promise<P<pdpb.SetGCBarrierResponse>> {
    this.#validate('SetGCBarrier', req.header);
    return this.#answer(() => {
      const b = this.#barrier(req.barrierId, req.barrierTs, req.ttlSeconds);
      const s = this.#state(this.#scope(req.keyspaceScope, true));
      if (b.ts < s.txnSafePoint) {
        throw new GcRefusal(
          `trying to set a GC barrier on ts ${b.ts} which is already behind the txn safe point ${s.txnSafePoint}`,
        );
      }
      s.barriers.set(b.id, b);
      return { newBarrierInfo: this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async deleteGCBarrier(req: pdpb.DeleteGCBarrierRequest): Promise<P<pdpb.DeleteGCBarrierResponse>> {
    this.#validate('DeleteGCBarrier', req.header);
    return this.#answer(() => {
      if (req.barrierId === RESERVED_BARRIER_ID) {
        throw new GcRefusal(
          `trying to set a GC barrier with a barrier ID that is reserved: ${req.barrierId}`,
        );
      }
      if (req.barrierId === '') throw new GcRefusal('invalid argument for barrierID: ');
      const s = this.#state(this.#scope(req.keyspaceScope, true));
      const b = s.barriers.get(req.barrierId);
      s.barriers.delete(req.barrierId);
      return { deletedBarrierInfo: b === undefined ? undefined : this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async setGlobalGCBarrier(req: pdpb.SetGlobalGCBarrierRequest): Promise<P<pdpb.SetGlobalGCBarrierResponse>> {
    this.#validate('SetGlobalGCBarrier', req.header);
    return this.#answer(() => {
      const b = this.#barrier(req.barrierId, req.barrierTs, req.ttlSeconds);
      const scopes: Array<[number, string]> = [
        [NULL_KEYSPACE_ID, '<null_keyspace>'],
        ...this.#keyspaceLevel().map((k): [number, string] => [k.id, k.name]),
      ];
      for (const [id, name] of scopes) {
        const txn = this.#state(id).txnSafePoint;
        if (b.ts < txn) {
          throw new GcRefusal(
            `trying to set a global GC barrier on ts ${b.ts} which is already behind the txn safe point ${txn} of keyspace ${name}`,
          );
        }
      }
      this.#globals.set(b.id, b);
      return { newBarrierInfo: this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async deleteGlobalGCBarrier(
    req: pdpb.DeleteGlobalGCBarrierRequest,
  ): Promise<P<pdpb.DeleteGlobalGCBarrierResponse>> {
    this.#validate('DeleteGlobalGCBarrier', req.header);
    return this.#answer(() => {
      if (req.barrierId === '') throw new GcRefusal('invalid argument for barrierID: ');
      const b = this.#globals.get(req.barrierId);
      this.#globals.delete(req.barrierId);
      return { deletedBarrierInfo: b === undefined ? undefined : this.#wireBarrier(b, this.#d.nowMs()) };
    });
  }

  async getGCState(req: pdpb.GetGCStateRequest): Promise<P<pdpb.GetGCStateResponse>> {
    this.#validate('GetGCState', req.header);
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
    this.#validate('GetAllKeyspacesGCStates', req.header);
    const ids = [
      NULL_KEYSPACE_ID,
      ...this.#keyspaceLevel()
        .filter((k) => k.state === 'enabled')
        .map((k) => k.id),
    ];
    return {
      header: this.#header(),
      gcStates: ids.map((id) => this.#wireState(id, req.excludeGcBarriers)),
      globalGcBarriers: req.excludeGlobalGcBarriers ? [] : this.#wireBarriers(this.#globals),
    };
  }
}
