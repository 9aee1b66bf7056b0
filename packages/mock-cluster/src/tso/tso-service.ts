import { tsopb } from '@tikv/proto';
import type { ServiceHandlers } from '../server/grpc-host.js';
import { GrpcStatus, type RpcContext, RpcError } from '../server/rpc-error.js';
import { type TsoAllocator, TsoError } from '../tso-allocator.js';
import { DEFAULT_KEYSPACE_GROUP_ID, type KeyspaceGroups, MAX_KEYSPACE_GROUP_ID } from './keyspace-groups.js';

type P<T> = tsopb.DeepPartial<T>;

/** The header fields of one TSO request a TSO server received (what the handle reports). */
export interface TsoRequestRecord {
  /** The server (index) that received it. */
  readonly server: number;
  readonly clusterId: bigint;
  /** `header.keyspace_id` (undefined when the header names no keyspace). */
  readonly keyspaceId: number | undefined;
  /** `header.keyspace_group_id`. */
  readonly keyspaceGroupId: number;
  /** `header.callee_id` ('' when not set). */
  readonly calleeId: string;
  readonly count: number;
  /** The group that served it (the response header's `keyspace_group_id`); undefined when refused. */
  readonly servedGroupId: number | undefined;
  /** The refusal's message, when refused. */
  readonly error: string | undefined;
}

/** What the TSO servers serve from. */
export interface TsoServiceDeps {
  readonly clusterId: bigint;
  readonly groups: KeyspaceGroups;
  /**
   * The timestamp allocator. Every group draws from PD's one allocator, so timestamps never go
   * back when a keyspace moves between groups or the cluster changes service mode (PD ensures
   * that through the timestamps it saves in etcd and its split checks).
   */
  readonly tso: TsoAllocator;
  /** The advertised `host:port` of a server (what its callee id must be). */
  address(server: number): string;
  /** Receives every TSO request's header fields. */
  record(r: TsoRequestRecord): void;
}

/** The keyspace id a header names, when it names one by id. */
function keyspaceOf(h: tsopb.RequestHeader | undefined): number | undefined {
  return h?.keyspace?.$case === 'keyspaceId' ? h.keyspace.value : undefined;
}

/**
 * `tsopb.TSO` as one server of PD's TSO microservice answers it (`pkg/mcs/tso/server/grpc_service.go`
 * and the keyspace group manager's checks). Every server shares the metadata; `server` is the
 * index of the one these handlers belong to.
 */
export class TsoService {
  readonly #d: TsoServiceDeps;
  readonly #server: number;

  constructor(deps: TsoServiceDeps, server: number) {
    this.#d = deps;
    this.#server = server;
  }

  /** The `host:port` this server advertises. */
  get address(): string {
    return this.#d.address(this.#server);
  }

  #errorHeader(type: tsopb.ErrorType, message: string, groupId: number): P<tsopb.ResponseHeader> {
    return { clusterId: this.#d.clusterId, error: { type, message }, keyspaceGroupId: groupId };
  }

  /**
   * The callee id check both methods make: '' or this server's `host:port`; the refusal names
   * the server's listen URL, as PD's does.
   */
  #calleeMismatch(h: tsopb.RequestHeader | undefined): string | undefined {
    const callee = h?.calleeId ?? '';
    if (callee === '' || callee === this.address) return undefined;
    return `mismatch callee id, need http://${this.address} but got ${callee}`;
  }

  /** PD's `ErrMismatchClusterID` text (a gRPC FAILED_PRECONDITION status). */
  #clusterMismatch(got: bigint | undefined): string {
    return `mismatch cluster id, need ${this.#d.clusterId} but got ${got ?? 0n}`;
  }

  /**
   * The group that serves `keyspaceId` when asked through `groupId`, or the refusal (PD's
   * `getKeyspaceGroupMetaWithCheck`): the asked group when it holds the keyspace and this
   * server is its member; else the keyspace's own group when this server is its member; else
   * "not served" (naming the asked group: the keyspace's group is another server's), "not
   * assigned" (a non-default group for an unassigned keyspace, or the default group on a server
   * that is not its member) or the default group.
   */
  #servingGroup(
    keyspaceId: number,
    groupId: number,
  ): { group: number } | { error: string; group: number; notAssigned?: true } {
    const g = this.#d.groups;
    const s = this.#server;
    if (g.isMember(groupId, s) && g.contains(groupId, keyspaceId)) return { group: groupId };
    const own = g.groupOf(keyspaceId);
    if (own !== undefined) {
      if (g.isMember(own, s)) return { group: own };
      return {
        group: own,
        error: `[PD:tso:ErrGetAllocator]get allocator failed, requested keyspace group with id ${groupId} is not served by this host/pod`,
      };
    }
    const notAssigned = `[PD:tso:ErrKeyspaceNotAssigned]the keyspace ${keyspaceId} isn't assigned to any keyspace group`;
    if (groupId !== DEFAULT_KEYSPACE_GROUP_ID)
      return { group: groupId, error: notAssigned, notAssigned: true };
    if (!g.isMember(DEFAULT_KEYSPACE_GROUP_ID, s))
      return { group: DEFAULT_KEYSPACE_GROUP_ID, error: notAssigned, notAssigned: true };
    return { group: DEFAULT_KEYSPACE_GROUP_ID };
  }

  /** `FindGroupByKeyspaceID`: the keyspace's group, its members and which one is primary. */
  findGroupByKeyspaceId(req: tsopb.FindGroupByKeyspaceIDRequest): P<tsopb.FindGroupByKeyspaceIDResponse> {
    const d = this.#d;
    const asked = req.header?.keyspaceGroupId ?? 0;
    if (req.header === undefined || req.header.clusterId !== d.clusterId) {
      return {
        // PD puts the text of its gRPC status error here.
        header: this.#errorHeader(
          tsopb.ErrorType.CLUSTER_MISMATCHED,
          `rpc error: code = FailedPrecondition desc = ${this.#clusterMismatch(req.header?.clusterId)}`,
          asked,
        ),
      };
    }
    const callee = this.#calleeMismatch(req.header);
    if (callee !== undefined)
      return { header: this.#errorHeader(tsopb.ErrorType.INVALID_VALUE, callee, asked) };
    if (req.modRevision > d.groups.modRevision) {
      return {
        header: this.#errorHeader(
          tsopb.ErrorType.INVALID_VALUE,
          '[PD:keyspace:ErrKeyspaceGroupModRevisionStale]keyspace group mod revision is stale',
          asked,
        ),
      };
    }
    const keyspaceId = req.keyspace?.$case === 'keyspaceId' ? req.keyspace.value : 0;
    const served = this.#servingGroup(keyspaceId, DEFAULT_KEYSPACE_GROUP_ID);
    // PD answers "not assigned" as a header error; "not served" still names the group.
    if ('notAssigned' in served)
      return { header: this.#errorHeader(tsopb.ErrorType.UNKNOWN, served.error, served.group) };
    // A server that is no member of the group still knows its members, but not its primary.
    const knowsPrimary = !('error' in served);
    const group = d.groups.group(served.group);
    if (group === undefined)
      return { header: this.#errorHeader(tsopb.ErrorType.UNKNOWN, 'keyspace group not found', served.group) };
    return {
      header: { clusterId: d.clusterId, keyspaceGroupId: group.id },
      keyspaceGroup: {
        id: group.id,
        userKind: 'basic',
        ...(group.splitSource === undefined ? {} : { splitState: { splitSource: group.splitSource } }),
        members: group.members.map((m) => ({
          address: `http://${d.address(m)}`,
          isPrimary: knowsPrimary && group.primary === m,
        })),
      },
      modRevision: d.groups.modRevision,
    };
  }

  /** One TSO request of the `Tso` stream: a gRPC error ends the stream, as the server does. */
  tso(req: tsopb.TsoRequest): P<tsopb.TsoResponse> {
    const d = this.#d;
    const h = req.header;
    const keyspaceId = keyspaceOf(h);
    const groupId = h?.keyspaceGroupId ?? 0;
    const record = (servedGroupId: number | undefined, error: string | undefined): void =>
      d.record({
        server: this.#server,
        clusterId: h?.clusterId ?? 0n,
        keyspaceId,
        keyspaceGroupId: groupId,
        calleeId: h?.calleeId ?? '',
        count: req.count,
        servedGroupId,
        error,
      });
    const refuse = (code: number, message: string): never => {
      record(undefined, message);
      throw new RpcError(code, message);
    };
    if ((h?.clusterId ?? 0n) !== d.clusterId)
      refuse(GrpcStatus.FAILED_PRECONDITION, this.#clusterMismatch(h?.clusterId));
    const callee = this.#calleeMismatch(h);
    if (callee !== undefined) refuse(GrpcStatus.FAILED_PRECONDITION, callee);
    if (groupId > MAX_KEYSPACE_GROUP_ID)
      refuse(
        GrpcStatus.UNKNOWN,
        `[PD:tso:ErrKeyspaceGroupIDInvalid]the keyspace group id is invalid, ${groupId} shouldn't >= ${MAX_KEYSPACE_GROUP_ID + 1}`,
      );
    const served = this.#servingGroup(keyspaceId ?? 0, groupId);
    if ('error' in served) refuse(GrpcStatus.UNKNOWN, served.error);
    // A member that is not the primary: PD's allocator says "not leader" (its first request to
    // a group says "is not leader due to ..." from the timestamp sync instead).
    if (d.groups.group(served.group)?.primary !== this.#server)
      refuse(
        GrpcStatus.UNKNOWN,
        '[PD:tso:ErrGenerateTimestamp]generate timestamp failed, requested pd is not leader of cluster',
      );
    let ts: { physical: bigint; logical: bigint };
    try {
      ts = d.tso.allocate(req.count);
    } catch (e) {
      if (e instanceof TsoError) refuse(GrpcStatus.UNKNOWN, e.message);
      throw e;
    }
    record(served.group, undefined);
    // The split target's first timestamps end its split (PD's TSO server finishes it then).
    d.groups.finishSplit(served.group);
    return {
      header: { clusterId: d.clusterId, keyspaceGroupId: served.group },
      count: req.count,
      timestamp: { physical: ts.physical, logical: ts.logical, suffixBits: 0 },
    };
  }

  /**
   * `GetMinTS`: the smallest timestamp of the groups this server is primary of (a zero timestamp
   * when none, as PD's); the header names the asked group.
   */
  getMinTs(req: tsopb.GetMinTSRequest): P<tsopb.GetMinTSResponse> {
    const groups = this.#d.groups.list();
    const serving = groups.filter((g) => g.primary === this.#server).length;
    const ts = serving === 0 ? { physical: 0n, logical: 0n } : this.#d.tso.allocate(1);
    return {
      header: { clusterId: this.#d.clusterId, keyspaceGroupId: req.header?.keyspaceGroupId ?? 0 },
      timestamp: { physical: ts.physical, logical: ts.logical, suffixBits: 0 },
      keyspaceGroupsServing: serving,
      keyspaceGroupsTotal: groups.length,
    };
  }
}

/** The gRPC handlers of `tsopb.TSO` for one server. */
export function createTsoHandlers(s: TsoService): ServiceHandlers {
  return {
    tso: async function* (requests: AsyncIterable<tsopb.TsoRequest>, _ctx: RpcContext) {
      for await (const req of requests) yield s.tso(req);
    },
    findGroupByKeyspaceID: (req: tsopb.FindGroupByKeyspaceIDRequest) => s.findGroupByKeyspaceId(req),
    getMinTS: (req: tsopb.GetMinTSRequest) => s.getMinTs(req),
  } as ServiceHandlers;
}
