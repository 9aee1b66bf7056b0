import { InvalidArgumentError, invalidArgument } from '@tikv/common';

/** PD's default keyspace group: it exists from the start and serves every keyspace not assigned elsewhere. */
export const DEFAULT_KEYSPACE_GROUP_ID = 0;

/** How many members PD keeps in a keyspace group when it can (`DefaultKeyspaceGroupReplicaCount`). */
export const KEYSPACE_GROUP_REPLICAS = 2;

/** PD's largest keyspace group id (`MaxKeyspaceGroupCountInUse - 1`). */
export const MAX_KEYSPACE_GROUP_ID = 4095;

/** A keyspace group of the mock's TSO microservice, as given to `MockCluster.start`. */
export interface TsoKeyspaceGroupSpec {
  /** The group id, 0 to 4095 (0 is the default group). */
  readonly id: number;
  /** The keyspace ids it serves. @defaultValue [] */
  readonly keyspaces?: readonly number[] | undefined;
  /** The TSO servers (indexes) that are its members. @defaultValue every server */
  readonly members?: readonly number[] | undefined;
  /** The member that is its primary (serves its timestamps). @defaultValue the first member */
  readonly primary?: number | undefined;
}

/** The TSO microservice mode of a mock cluster (`MockClusterOptions.tsoService`). */
export interface TsoServiceSpec {
  /** How many TSO servers run. @defaultValue 2 */
  readonly servers?: number | undefined;
  /**
   * Whether PD lists the TSO servers in `GetClusterInfo.tso_urls`. false plays a PD older than
   * that field: clients then find the default group's primary in PD's etcd
   * (`/ms/<cluster-id>/tso/00000/primary`, which the mock keeps). @defaultValue true
   */
  readonly advertiseUrls?: boolean | undefined;
  /**
   * The keyspace groups. The default group 0 (every server a member, server 0 its primary) is
   * added when not listed. @defaultValue [group 0]
   */
  readonly keyspaceGroups?: readonly TsoKeyspaceGroupSpec[] | undefined;
}

/** A keyspace group as the handle reports it. */
export interface TsoKeyspaceGroupInfo {
  readonly id: number;
  /** Keyspace ids assigned to it, ascending. */
  readonly keyspaces: readonly number[];
  /** Member servers (indexes), ascending. */
  readonly members: readonly number[];
  /** The primary's server index; undefined while no member runs. */
  readonly primary: number | undefined;
  /**
   * While a split is under way, the split source's id (on both the source and the target, as
   * PD's `SplitState`); undefined otherwise.
   */
  readonly splitSource?: number | undefined;
}

interface Group {
  readonly id: number;
  readonly keyspaces: Set<number>;
  members: number[];
  primary: number | undefined;
  splitSource: number | undefined;
}

function checkId(name: string, v: unknown, max: number): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
  throw invalidArgument(name, `an integer in [0, ${max}]`, v);
}

/**
 * The keyspace-group metadata PD keeps in etcd for the TSO microservice: which group serves a
 * keyspace, each group's members and primary, and the etcd mod revision every change bumps (a
 * client never takes an answer older than what it already has).
 */
export class KeyspaceGroups {
  readonly #groups = new Map<number, Group>();
  readonly #lookup = new Map<number, number>();
  readonly #servers: number;
  readonly #running: boolean[];
  readonly #listeners = new Set<() => void>();
  #revision = 1n;

  constructor(spec: TsoServiceSpec) {
    const servers = spec.servers ?? 2;
    if (!(Number.isInteger(servers) && servers >= 1 && servers <= 16))
      throw invalidArgument('options.tsoService.servers', 'an integer in [1, 16]', servers);
    this.#servers = servers;
    this.#running = Array.from({ length: servers }, () => true);
    const specs = spec.keyspaceGroups ?? [];
    if (!specs.some((g) => g.id === DEFAULT_KEYSPACE_GROUP_ID))
      this.create({ id: DEFAULT_KEYSPACE_GROUP_ID });
    for (const g of specs) this.create(g);
  }

  /** Registers a listener of every change (groups, keyspaces, primaries). */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  /** How many TSO servers there are. */
  get serverCount(): number {
    return this.#servers;
  }

  /** The etcd mod revision of the metadata. */
  get modRevision(): bigint {
    return this.#revision;
  }

  /** Adds a keyspace group; its keyspaces leave the groups they were in. */
  create(spec: TsoKeyspaceGroupSpec): TsoKeyspaceGroupInfo {
    const id = checkId('keyspace group id', spec.id, MAX_KEYSPACE_GROUP_ID);
    if (this.#groups.has(id)) throw new InvalidArgumentError(`keyspace group ${id} already exists`);
    const members = [...new Set(spec.members ?? Array.from({ length: this.#servers }, (_, i) => i))].sort(
      (a, b) => a - b,
    );
    if (members.length === 0) throw new InvalidArgumentError(`keyspace group ${id} needs a member`);
    for (const m of members) this.#checkServer(m);
    const primary = spec.primary ?? members.find((m) => this.#running[m]);
    if (primary !== undefined && !members.includes(primary))
      throw new InvalidArgumentError(`primary ${primary} is not a member of keyspace group ${id}`);
    this.#groups.set(id, { id, keyspaces: new Set(), members, primary, splitSource: undefined });
    for (const k of spec.keyspaces ?? []) this.#assign(k, id);
    this.#revision++;
    this.#changed();
    return this.group(id) as TsoKeyspaceGroupInfo;
  }

  /** One group, or undefined. */
  group(id: number): TsoKeyspaceGroupInfo | undefined {
    const g = this.#groups.get(id);
    if (g === undefined) return undefined;
    return {
      id: g.id,
      keyspaces: [...g.keyspaces].sort((a, b) => a - b),
      members: [...g.members],
      primary: g.primary,
      ...(g.splitSource === undefined ? {} : { splitSource: g.splitSource }),
    };
  }

  /** Every group by id. */
  list(): TsoKeyspaceGroupInfo[] {
    return [...this.#groups.keys()].sort((a, b) => a - b).map((id) => this.group(id) as TsoKeyspaceGroupInfo);
  }

  /** The group a keyspace is assigned to, or undefined (then the default group serves it). */
  groupOf(keyspaceId: number): number | undefined {
    return this.#lookup.get(keyspaceId);
  }

  /** Whether `server` is a member of group `id` (holds its allocator). */
  isMember(id: number, server: number): boolean {
    return this.#groups.get(id)?.members.includes(server) ?? false;
  }

  /** Whether group `id` contains `keyspaceId`. */
  contains(id: number, keyspaceId: number): boolean {
    return this.#groups.get(id)?.keyspaces.has(keyspaceId) ?? false;
  }

  /** Whether a server runs. */
  running(server: number): boolean {
    return this.#running[server] === true;
  }

  /** Moves a keyspace to group `id` (as a split or a move of PD's keyspace group API does). */
  move(keyspaceId: number, id: number): void {
    if (!this.#groups.has(id)) throw new InvalidArgumentError(`keyspace group ${id} does not exist`);
    this.#assign(keyspaceId, id);
    this.#revision++;
    this.#changed();
  }

  /**
   * Splits `keyspaces` off group `sourceId` into a new group `targetId` (PD's
   * `POST /pd/api/v2/tso/keyspace-groups/<source>/split`): the target takes the source's members
   * and primary, and both are in split state until the target's primary serves its first
   * timestamp ({@link KeyspaceGroups.finishSplit}).
   */
  split(sourceId: number, targetId: number, keyspaces: readonly number[]): TsoKeyspaceGroupInfo {
    const source = this.#groups.get(sourceId);
    if (source === undefined) throw new InvalidArgumentError(`keyspace group ${sourceId} does not exist`);
    if (source.splitSource !== undefined)
      throw new InvalidArgumentError(`keyspace group ${sourceId} is in split state`);
    for (const k of keyspaces) {
      const own = this.#lookup.get(k) ?? DEFAULT_KEYSPACE_GROUP_ID;
      if (own !== sourceId)
        throw new InvalidArgumentError(`keyspace ${k} is not in keyspace group ${sourceId}`);
    }
    const target = this.create({ id: targetId, keyspaces, members: source.members, primary: source.primary });
    source.splitSource = sourceId;
    (this.#groups.get(targetId) as Group).splitSource = sourceId;
    this.#revision++;
    this.#changed();
    return { ...target, splitSource: sourceId };
  }

  /** Ends the split of target group `id` (PD's `FinishSplitKeyspaceByID`); nothing when it is in none. */
  finishSplit(id: number): void {
    const target = this.#groups.get(id);
    if (target?.splitSource === undefined || target.splitSource === id) return;
    const source = this.#groups.get(target.splitSource);
    if (source !== undefined) source.splitSource = undefined;
    target.splitSource = undefined;
    this.#revision++;
    this.#changed();
  }

  /** Makes `server` the primary of group `id` (a primary resignation and election). */
  setPrimary(id: number, server: number): void {
    const g = this.#groups.get(id);
    if (g === undefined) throw new InvalidArgumentError(`keyspace group ${id} does not exist`);
    if (!this.#running[server]) throw new InvalidArgumentError(`server ${server} is stopped`);
    if (!g.members.includes(server))
      throw new InvalidArgumentError(`server ${server} is not a member of keyspace group ${id}`);
    g.primary = server;
    this.#changed();
  }

  /**
   * Marks a server stopped or started. PD then gives every group with fewer than two running
   * members ({@link KEYSPACE_GROUP_REPLICAS}) running servers up to that count, dropping the
   * stopped ones (its `allocNodesToAllKeyspaceGroups`, every second there, at once here; nothing
   * while no server runs). A stopped primary's groups elect the next running member at once; a
   * started server becomes the primary of groups that had none.
   */
  setRunning(server: number, running: boolean): void {
    this.#checkServer(server);
    this.#running[server] = running;
    const runningServers = this.#running.flatMap((r, i) => (r ? [i] : []));
    for (const g of this.#groups.values()) {
      const live = g.members.filter((m) => this.#running[m]);
      if (runningServers.length === 0 || live.length >= KEYSPACE_GROUP_REPLICAS) continue;
      if (live.length === g.members.length && live.length === runningServers.length) continue;
      const members = [...live];
      for (const s of runningServers) {
        if (members.length >= KEYSPACE_GROUP_REPLICAS) break;
        if (!members.includes(s)) members.push(s);
      }
      g.members = members.sort((a, b) => a - b);
      this.#revision++;
    }
    for (const g of this.#groups.values()) {
      if (!running && g.primary === server) g.primary = g.members.find((m) => this.#running[m]);
      if (running && g.primary === undefined && g.members.includes(server)) g.primary = server;
    }
    this.#changed();
  }

  #assign(keyspaceId: number, id: number): void {
    const k = checkId('keyspace id', keyspaceId, 0xffffff);
    const old = this.#lookup.get(k);
    if (old !== undefined) this.#groups.get(old)?.keyspaces.delete(k);
    this.#groups.get(id)?.keyspaces.add(k);
    this.#lookup.set(k, id);
  }

  #checkServer(server: number): void {
    if (!(Number.isInteger(server) && server >= 0 && server < this.#servers))
      throw new InvalidArgumentError(`TSO server ${server} does not exist (0..${this.#servers - 1})`);
  }
}
