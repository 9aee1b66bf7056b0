import { AsyncQueue, InvalidArgumentError } from '@tikv/common';
import { keyspacepb, pdpb } from '@tikv/proto';
import type { ServiceHandlers } from '../server/grpc-host.js';
import type { RpcContext } from '../server/rpc-error.js';

type P<T> = keyspacepb.DeepPartial<T>;

/** A keyspace's lifecycle state, as the mock's API takes it. */
export type MockKeyspaceState = 'enabled' | 'disabled' | 'archived' | 'tombstone';

/** A keyspace to create: a name, and optionally its id (else the next free one) and state. */
export interface KeyspaceSpec {
  readonly name: string;
  /** 0 .. 2^24 - 1; the next free id when omitted. */
  readonly id?: number;
  /** @defaultValue 'enabled' */
  readonly state?: MockKeyspaceState;
  /** Free-form configuration PD stores with it. */
  readonly config?: Readonly<Record<string, string>>;
}

/** A keyspace as the mock holds it. */
export interface KeyspaceInfo {
  readonly id: number;
  readonly name: string;
  readonly state: MockKeyspaceState;
  readonly config: Readonly<Record<string, string>>;
}

const STATE_WIRE: Readonly<Record<MockKeyspaceState, keyspacepb.KeyspaceState>> = {
  enabled: keyspacepb.KeyspaceState.ENABLED,
  disabled: keyspacepb.KeyspaceState.DISABLED,
  archived: keyspacepb.KeyspaceState.ARCHIVED,
  tombstone: keyspacepb.KeyspaceState.TOMBSTONE,
};
const MAX_KEYSPACE_ID = 0xffffff;
/** The header error PD's keyspace service answers for an unknown keyspace. */
const ENTRY_NOT_FOUND = pdpb.ErrorType.ENTRY_NOT_FOUND;
/** The states PD lets each state move to (PD's `stateTransitionTable`; to itself always). */
const NEXT_STATES: Readonly<Record<MockKeyspaceState, readonly MockKeyspaceState[]>> = {
  enabled: ['enabled', 'disabled'],
  disabled: ['disabled', 'enabled', 'archived'],
  archived: ['archived', 'tombstone'],
  tombstone: ['tombstone'],
};
const STATE_NAMES: Readonly<Record<MockKeyspaceState, string>> = {
  enabled: 'ENABLED',
  disabled: 'DISABLED',
  archived: 'ARCHIVED',
  tombstone: 'TOMBSTONE',
};

/** What the keyspace service serves from. */
export interface KeyspaceDeps {
  readonly clusterId: bigint;
  /** Wall clock in ms (creation and state-change times). */
  nowMs(): number;
  /**
   * With PD's keyspace groups on (the TSO microservice): the config entries PD adds to a new
   * keyspace (`tso_keyspace_group_id`, `user_kind`, `region_bound_type`); entries the keyspace
   * is created with win.
   */
  readonly groupConfig?: ((keyspaceId: number) => Readonly<Record<string, string>>) | undefined;
}

/**
 * PD's `keyspacepb.Keyspace` service with an in-memory registry: `DEFAULT` (id 0) always exists;
 * others are created through the cluster handle. Unknown names answer ENTRY_NOT_FOUND in the
 * response header, as PD does.
 */
export class KeyspaceService {
  readonly #d: KeyspaceDeps;
  readonly #byName = new Map<string, { info: KeyspaceInfo; createdAt: bigint; changedAt: bigint }>();
  /** Watchers of keyspace changes (WatchKeyspaces streams). */
  readonly #watchers = new Set<(meta: P<keyspacepb.KeyspaceMeta>) => void>();

  constructor(deps: KeyspaceDeps) {
    this.#d = deps;
    this.create({ name: 'DEFAULT', id: 0 });
  }

  /** Creates a keyspace; throws InvalidArgumentError for a duplicate name or id or an id beyond 3 bytes. */
  create(spec: KeyspaceSpec): KeyspaceInfo {
    if (spec.name === '') throw new InvalidArgumentError('keyspace name must not be empty');
    if (this.#byName.has(spec.name)) throw new InvalidArgumentError(`keyspace ${spec.name} already exists`);
    const used = new Set([...this.#byName.values()].map((e) => e.info.id));
    let id = spec.id;
    if (id === undefined) {
      id = 1;
      while (used.has(id)) id++;
    }
    if (!Number.isInteger(id) || id < 0 || id > MAX_KEYSPACE_ID) {
      throw new InvalidArgumentError(`keyspace id ${id} does not fit in 3 bytes`);
    }
    if (used.has(id)) throw new InvalidArgumentError(`keyspace id ${id} is already used`);
    const info: KeyspaceInfo = Object.freeze({
      id,
      name: spec.name,
      state: spec.state ?? 'enabled',
      config: Object.freeze({ ...this.#d.groupConfig?.(id), ...spec.config }),
    });
    const now = BigInt(Math.floor(this.#d.nowMs() / 1000));
    this.#byName.set(spec.name, { info, createdAt: now, changedAt: now });
    this.#emit(spec.name);
    return info;
  }

  /** Changes a keyspace's state; throws InvalidArgumentError for an unknown name. */
  setState(name: string, state: MockKeyspaceState): KeyspaceInfo {
    const e = this.#byName.get(name);
    if (e === undefined) throw new InvalidArgumentError(`keyspace ${name} does not exist`);
    e.info = Object.freeze({ ...e.info, state });
    e.changedAt = BigInt(Math.floor(this.#d.nowMs() / 1000));
    this.#emit(name);
    return e.info;
  }

  #emit(name: string): void {
    const meta = this.#meta(name);
    if (meta !== undefined) for (const w of this.#watchers) w(meta);
  }

  /** Every keyspace, by id. */
  list(): KeyspaceInfo[] {
    return [...this.#byName.values()].map((e) => e.info).sort((a, b) => a.id - b.id);
  }

  #header(error?: { type: number; message: string }): P<pdpb.ResponseHeader> {
    return { clusterId: this.#d.clusterId, error };
  }

  #meta(name: string): P<keyspacepb.KeyspaceMeta> | undefined {
    const e = this.#byName.get(name);
    if (e === undefined) return undefined;
    return {
      keyspace: { $case: 'id', value: e.info.id },
      name: e.info.name,
      state: STATE_WIRE[e.info.state],
      createdAt: e.createdAt,
      stateChangedAt: e.changedAt,
      config: { ...e.info.config },
    };
  }

  #nameOf(id: number): string | undefined {
    for (const e of this.#byName.values()) if (e.info.id === id) return e.info.name;
    return undefined;
  }

  #answer(name: string | undefined, what: string): P<keyspacepb.LoadKeyspaceResponse> {
    const keyspace = name === undefined ? undefined : this.#meta(name);
    if (keyspace === undefined) {
      return { header: this.#header({ type: ENTRY_NOT_FOUND, message: `keyspace ${what} not found` }) };
    }
    return { header: this.#header(), keyspace };
  }

  async loadKeyspace(req: keyspacepb.LoadKeyspaceRequest): Promise<P<keyspacepb.LoadKeyspaceResponse>> {
    return this.#answer(req.name, req.name);
  }

  async loadKeyspaceByID(
    req: keyspacepb.LoadKeyspaceByIDRequest,
  ): Promise<P<keyspacepb.LoadKeyspaceResponse>> {
    if (req.keyspace?.$case !== 'id') {
      return {
        header: this.#header({ type: ENTRY_NOT_FOUND, message: 'keyspace identities are not supported' }),
      };
    }
    return this.#answer(this.#nameOf(req.keyspace.value), `id ${req.keyspace.value}`);
  }

  /**
   * PD's `UpdateKeyspaceStateByID`: the default keyspace cannot change, an unknown id is
   * ENTRY_NOT_FOUND, a transition outside PD's table is refused (UNKNOWN); the same state is a
   * no-op that keeps the change time.
   */
  async updateKeyspaceState(
    req: keyspacepb.UpdateKeyspaceStateRequest,
  ): Promise<P<keyspacepb.UpdateKeyspaceStateResponse>> {
    const id = req.keyspace?.$case === 'id' ? req.keyspace.value : undefined;
    if (id === 0) {
      return {
        header: this.#header({
          type: pdpb.ErrorType.UNKNOWN,
          message: "[PD:keyspace:ErrModifyDefaultKeyspace]cannot modify default keyspace's state",
        }),
      };
    }
    const name = id === undefined ? undefined : this.#nameOf(id);
    if (name === undefined) {
      return {
        header: this.#header({
          type: ENTRY_NOT_FOUND,
          message: '[PD:keyspace:ErrKeyspaceNotFound]keyspace does not exist',
        }),
      };
    }
    const current = (this.#byName.get(name) as { info: KeyspaceInfo }).info.state;
    const state = (Object.keys(STATE_WIRE) as MockKeyspaceState[]).find((s) => STATE_WIRE[s] === req.state);
    if (state === undefined || !NEXT_STATES[current].includes(state)) {
      const to = state === undefined ? String(req.state) : STATE_NAMES[state];
      return {
        header: this.#header({
          type: pdpb.ErrorType.UNKNOWN,
          message: `cannot change keyspace state from ${STATE_NAMES[current]} to ${to}`,
        }),
      };
    }
    if (state !== current) this.setState(name, state);
    return { header: this.#header(), keyspace: this.#meta(name) };
  }

  /**
   * PD's `WatchKeyspaces`: first every keyspace in one message, then each created or changed
   * keyspace as it changes, until the client cancels.
   */
  watchKeyspaces(
    _req: keyspacepb.WatchKeyspacesRequest,
    ctx: RpcContext,
  ): AsyncIterable<P<keyspacepb.WatchKeyspacesResponse>> {
    const q = new AsyncQueue<P<keyspacepb.WatchKeyspacesResponse>>();
    q.push({ header: this.#header(), keyspaces: this.list().map((k) => this.#meta(k.name) ?? {}) });
    const w = (meta: P<keyspacepb.KeyspaceMeta>): void =>
      q.push({ header: this.#header(), keyspaces: [meta] });
    this.#watchers.add(w);
    const end = (): void => {
      this.#watchers.delete(w);
      q.end();
    };
    if (ctx.signal.aborted) end();
    else ctx.signal.addEventListener('abort', end, { once: true });
    return q;
  }

  async getAllKeyspaces(
    req: keyspacepb.GetAllKeyspacesRequest,
  ): Promise<P<keyspacepb.GetAllKeyspacesResponse>> {
    const start = req.startKeyspace?.$case === 'startId' ? req.startKeyspace.value : 0;
    let list = this.list().filter((k) => k.id >= start);
    if (req.limit > 0) list = list.slice(0, req.limit);
    return { header: this.#header(), keyspaces: list.map((k) => this.#meta(k.name) ?? {}) };
  }
}

/** Handlers of `keyspacepb.Keyspace`. */
export function createKeyspaceHandlers(service: KeyspaceService): ServiceHandlers {
  return {
    watchKeyspaces: service.watchKeyspaces.bind(service),
    loadKeyspace: service.loadKeyspace.bind(service),
    loadKeyspaceByID: service.loadKeyspaceByID.bind(service),
    updateKeyspaceState: service.updateKeyspaceState.bind(service),
    getAllKeyspaces: service.getAllKeyspaces.bind(service),
  } as ServiceHandlers;
}
