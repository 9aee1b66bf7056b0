import type { errorpb } from '@tikv/proto';
import { kvrpcpb, metapb, tikvpb } from '@tikv/proto';
import type { RpcContext, SourcePeerRole } from '@tikv/region-cache';
import {
  type RegionRequestOptions,
  toCommandPri,
  toDiskFullOpt,
  toIsolationLevel,
} from './request-options.js';
import { type ResponseFor, type TikvRequest, unaryMethodOf } from './tikv-commands.js';

const PEER_ROLES: Readonly<Record<SourcePeerRole, metapb.PeerRole>> = {
  voter: metapb.PeerRole.Voter,
  learner: metapb.PeerRole.Learner,
  incomingVoter: metapb.PeerRole.IncomingVoter,
  demotingVoter: metapb.PeerRole.DemotingVoter,
};

/**
 * A `Context` with every field at its default, for requests that bring none: a shallow copy of
 * it (with fresh arrays) is about five times cheaper than `Context.fromPartial({})`. Not frozen:
 * V8 copies a frozen object by the slow path.
 */
const DEFAULT_CONTEXT: Readonly<kvrpcpb.Context> = kvrpcpb.Context.fromPartial({});

/** Reads a request's context whatever its message type. */
function contextOf(request: TikvRequest): kvrpcpb.Context | undefined {
  return (request.value as { context?: kvrpcpb.Context }).context;
}

/** The read flags and retry state of one attempt. */
export interface AttemptFlags {
  readonly replicaRead: boolean;
  readonly staleRead: boolean;
  readonly isRetryRequest: boolean;
  readonly busyThresholdMs: number;
  readonly maxExecutionDurationMs: number;
  readonly requestSource: string;
  /** The tag a {@link RegionRequestOptions.resourceGroupTagger} computed for the request. */
  readonly taggedResourceGroup?: Uint8Array | undefined;
}

/** Settings fixed for the sender. */
export interface SenderContextSettings {
  readonly apiVersion: kvrpcpb.APIVersion | undefined;
  readonly keyspaceId: number | undefined;
  readonly clusterId: bigint | undefined;
}

/**
 * A copy of `request` whose `Context` routes it to the chosen peer (client-go
 * `tikvrpc.SetContext` and the sender's request decoration): region id, epoch, peer, API
 * version, keyspace, request source, resource group, priority, isolation, replica and stale
 * read flags, retry flag, execution deadline and disk-full option. Fields the caller set and the
 * options do not cover (resolved locks, txn source...) are kept.
 *
 * @internal
 */
export function withContext<R extends TikvRequest>(
  request: R,
  rpcCtx: RpcContext,
  options: RegionRequestOptions,
  flags: AttemptFlags,
  settings: SenderContextSettings,
): R {
  const base = contextOf(request);
  const ctx: kvrpcpb.Context =
    base === undefined
      ? { ...DEFAULT_CONTEXT, resolvedLocks: [], committedLocks: [] }
      : kvrpcpb.Context.fromPartial(base);
  ctx.regionId = rpcCtx.region.id;
  ctx.regionEpoch = { confVer: rpcCtx.region.confVer, version: rpcCtx.region.version };
  ctx.peer = {
    id: rpcCtx.peer.id,
    storeId: rpcCtx.peer.storeId,
    role: PEER_ROLES[rpcCtx.peer.role] ?? metapb.PeerRole.Voter,
    isWitness: rpcCtx.peer.isWitness,
  };
  if (settings.apiVersion !== undefined) ctx.apiVersion = settings.apiVersion;
  if (settings.keyspaceId !== undefined) ctx.keyspace = { $case: 'keyspaceId', value: settings.keyspaceId };
  if (settings.clusterId !== undefined) ctx.clusterId = settings.clusterId;
  if (flags.requestSource !== '') ctx.requestSource = flags.requestSource;
  if (options.resourceGroupName !== undefined) {
    ctx.resourceControlContext = kvrpcpb.ResourceControlContext.fromPartial({
      ...(ctx.resourceControlContext ?? {}),
      resourceGroupName: options.resourceGroupName,
    });
  }
  if (options.resourceGroupTag !== undefined) ctx.resourceGroupTag = options.resourceGroupTag;
  else if (flags.taggedResourceGroup !== undefined && ctx.resourceGroupTag.length === 0) {
    ctx.resourceGroupTag = flags.taggedResourceGroup;
  }
  const diskFullOpt = toDiskFullOpt(options.diskFullOpt);
  if (diskFullOpt !== undefined) ctx.diskFullOpt = diskFullOpt;
  const pri = toCommandPri(options.priority);
  if (pri !== undefined) ctx.priority = pri;
  const iso = toIsolationLevel(options.isolationLevel);
  if (iso !== undefined) ctx.isolationLevel = iso;
  if (options.notFillCache !== undefined) ctx.notFillCache = options.notFillCache;
  ctx.replicaRead = flags.replicaRead;
  ctx.staleRead = flags.staleRead;
  ctx.isRetryRequest = flags.isRetryRequest || ctx.isRetryRequest;
  ctx.busyThresholdMs = flags.busyThresholdMs;
  if (flags.maxExecutionDurationMs > 0)
    ctx.maxExecutionDurationMs = BigInt(Math.ceil(flags.maxExecutionDurationMs));
  return { ...request, value: { ...request.value, context: ctx } } as R;
}

/**
 * The request source TiKV sees (client-go `patchRequestSource`): the replica kind first
 * (`leader_`, `follower_`, `stale_follower_`, `retry_leader_follower_`), the caller's source last.
 *
 * @internal
 */
export function patchRequestSource(
  input: string,
  state: { readType: string; isRetry: boolean; staleRead: boolean; replicaType: string },
): { source: string; readType: string } {
  if (state.isRetry) {
    return { source: `retry_${state.readType}_${state.replicaType}_${input}`, readType: state.readType };
  }
  const readType = state.staleRead ? `stale_${state.replicaType}` : state.replicaType;
  return { source: `${readType}_${input}`, readType };
}

/**
 * The region error of a response, whatever its message type.
 *
 * @internal
 */
export function regionErrorOf(response: { value: unknown }): errorpb.Error | undefined {
  const value = response.value as { regionError?: errorpb.Error } | undefined;
  return value?.regionError ?? undefined;
}

/**
 * A response of the request's type carrying only a region error (client-go
 * `GenRegionErrorResp`), for when the request cannot be sent (the region left the cache).
 *
 * @internal
 */
export function regionErrorResponse<R extends TikvRequest>(
  request: R,
  regionError: errorpb.Error,
): ResponseFor<R> {
  const method = unaryMethodOf(request.$case);
  const type = method === undefined ? undefined : tikvpb.TikvDefinition.methods[method].responseType;
  const value =
    type === undefined ? { regionError } : (type.fromPartial as (p: object) => object)({ regionError });
  return { $case: request.$case, value } as unknown as ResponseFor<R>;
}

/** Commands a follower may serve with a replica read (client-go `isReadReq`). @internal */
export function isReadRequest(command: string): boolean {
  return READ_COMMANDS.has(command);
}

/**
 * client-go's `isReadReq` (Get, BatchGet, Scan, Coprocessor) plus the raw reads, which TiKV
 * serves from a follower's snapshot the same way.
 */
const READ_COMMANDS: ReadonlySet<string> = new Set([
  'Get',
  'BatchGet',
  'Scan',
  'Coprocessor',
  'RawGet',
  'RawBatchGet',
  'RawScan',
  'RawBatchScan',
  'RawGetKeyTTL',
  'RawChecksum',
]);
