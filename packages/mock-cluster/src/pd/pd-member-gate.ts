import type { FaultRegistry } from '../faults/fault-registry.js';
import type {
  BidiHandler,
  GenericServiceDefinition,
  ServerStreamHandler,
  ServiceHandlers,
  UnaryHandler,
} from '../server/grpc-host.js';
import { GrpcStatus, isUnimplementedHandler, type RpcContext, RpcError } from '../server/rpc-error.js';
import type { PdMembership } from './pd-members.js';

/**
 * How PD checks a method's requests before serving them (PD's `grpc_service.go`), by what each
 * handler calls first:
 * - `open`: nothing (GetMembers, GetClusterInfo: a client does not know the cluster id yet, and
 *   any member answers).
 * - `leader`: `unaryMiddleware`: a `pd-forwarded-host` naming the leader is served as the leader
 *   would; otherwise a follower answers UNAVAILABLE "not leader"; then the cluster id.
 * - `follower-read`: `unaryFollowerMiddleware` (region reads): as `leader`, but a follower serves
 *   the request when it carries `pd-allow-follower-handle`.
 * - `tso`: the TSO stream, per request: the forwarded host, the cluster id, then only the leader
 *   allocates (a follower fails the stream with UNKNOWN "... not leader ...").
 * - `query-region`: the QueryRegion stream, per request: the cluster id only; followers answer
 *   from their synced copy of the regions.
 * - `keyspace`: the keyspace service's `validateRequest`: leader, then cluster id (no forwarding).
 * - `meta-storage`: the meta storage service's `checkServing`: leader only, no header check
 *   (the resource manager's `checkServing` is the same).
 */
export type PdRequestPolicy =
  | 'open'
  | 'leader'
  | 'follower-read'
  | 'tso'
  | 'query-region'
  | 'keyspace'
  | 'meta-storage';

/** The `pdpb.PD` methods that are not plain `leader` calls. */
const PD_POLICIES: Readonly<Record<string, PdRequestPolicy>> = {
  GetMembers: 'open',
  GetClusterInfo: 'open',
  // PD serves global config from its etcd client on any member, with no header to check.
  StoreGlobalConfig: 'open',
  LoadGlobalConfig: 'open',
  WatchGlobalConfig: 'open',
  Tso: 'tso',
  QueryRegion: 'query-region',
  GetRegion: 'follower-read',
  GetPrevRegion: 'follower-read',
  GetRegionByID: 'follower-read',
  ScanRegions: 'follower-read',
  BatchScanRegions: 'follower-read',
};

/** The policy of a `pdpb.PD` method. */
export function pdMethodPolicy(method: string): PdRequestPolicy {
  return PD_POLICIES[method] ?? 'leader';
}

/** PD's metadata keys: the leader a follower forwards to, and the permit for follower reads. */
const FORWARDED_HOST = 'pd-forwarded-host';
const ALLOW_FOLLOWER_HANDLE = 'pd-allow-follower-handle';

/** What a member's gate checks against. */
export interface PdGateDeps {
  readonly clusterId: bigint;
  readonly faults: FaultRegistry;
  readonly membership: PdMembership;
}

function metadataValue(ctx: RpcContext, key: string): string | undefined {
  const v = ctx.metadata?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * The checks one PD member applies to requests before the shared services serve them: injected
 * gRPC faults (the mock's own), then PD's leadership and header checks for the method's
 * {@link PdRequestPolicy}.
 */
export class PdMemberGate {
  readonly #d: PdGateDeps;
  readonly #index: number;

  constructor(deps: PdGateDeps, index: number) {
    this.#d = deps;
    this.#index = index;
  }

  /** Checks one request of `method` (a unary call, or one message on a stream). */
  check(method: string, policy: PdRequestPolicy, header: unknown, ctx: RpcContext): void {
    const injected = this.#d.faults.take({ method });
    if (injected !== undefined && typeof injected === 'object' && 'grpcStatus' in injected) {
      throw new RpcError(injected.grpcStatus, injected.message ?? `injected fault on ${method}`);
    }
    if (policy === 'open') return;
    const clusterId = (header as { clusterId?: bigint } | undefined)?.clusterId ?? 0n;
    if (policy === 'query-region') {
      this.#checkClusterId(clusterId);
      return;
    }
    const m = this.#d.membership;
    if (policy === 'keyspace' || policy === 'meta-storage') {
      if (!m.isLeader(this.#index)) throw new RpcError(GrpcStatus.UNAVAILABLE, 'not leader');
      if (policy === 'keyspace') this.#checkClusterId(clusterId);
      return;
    }
    let asLeader = m.isLeader(this.#index);
    const forwarded = metadataValue(ctx, FORWARDED_HOST);
    if (forwarded !== undefined && forwarded !== '') {
      if (m.leaderIndex === undefined) throw new RpcError(GrpcStatus.UNAVAILABLE, 'not leader');
      if (!m.isLeaderUrl(forwarded)) {
        throw new RpcError(
          GrpcStatus.INVALID_ARGUMENT,
          `forwarded host ${JSON.stringify(forwarded)} is not a client URL of the PD leader: pd is not leader of cluster`,
        );
      }
      // Forwarded to the leader, which serves it as its own request.
      if (!m.isRunning(m.leaderIndex)) {
        throw new RpcError(GrpcStatus.UNAVAILABLE, `failed to forward to ${forwarded}: connection refused`);
      }
      asLeader = true;
    }
    if (policy === 'tso') {
      this.#checkClusterId(clusterId);
      if (!asLeader) {
        throw new RpcError(
          GrpcStatus.UNKNOWN,
          '[PD:tso:ErrGenerateTimestamp]generate timestamp failed, requested pd is not leader of cluster',
        );
      }
      return;
    }
    if (!asLeader) {
      if (policy === 'leader') throw new RpcError(GrpcStatus.UNAVAILABLE, 'not leader');
      if (metadataValue(ctx, ALLOW_FOLLOWER_HANDLE) === undefined) {
        throw new RpcError(GrpcStatus.UNAVAILABLE, 'not leader and follower handling not allowed');
      }
    }
    this.#checkClusterId(clusterId);
  }

  #checkClusterId(got: bigint): void {
    if (got !== this.#d.clusterId) {
      throw new RpcError(
        GrpcStatus.FAILED_PRECONDITION,
        `mismatch cluster id, need ${this.#d.clusterId} but got ${got}`,
      );
    }
  }

  /**
   * Wraps a service's handlers so that each request passes {@link PdMemberGate.check} first.
   * Handlers that answer UNIMPLEMENTED pass through as they are.
   */
  wrap(
    def: GenericServiceDefinition,
    handlers: ServiceHandlers,
    policyOf: (method: string) => PdRequestPolicy,
  ): ServiceHandlers {
    const out: Record<string, UnaryHandler | BidiHandler | ServerStreamHandler> = {};
    for (const [key, m] of Object.entries(def.methods)) {
      const h = handlers[key];
      if (h === undefined) continue;
      if (isUnimplementedHandler(h)) {
        out[key] = h;
        continue;
      }
      const policy = policyOf(m.name);
      if (m.requestStream) {
        const bidi = h as BidiHandler;
        const gated: BidiHandler = (requests, ctx) =>
          bidi(this.#checkEach(m.name, policy, requests, ctx) as AsyncIterable<never>, ctx);
        out[key] = gated;
      } else if (m.responseStream) {
        const stream = h as ServerStreamHandler;
        const gated: ServerStreamHandler = (request, ctx) => {
          this.check(m.name, policy, (request as { header?: unknown }).header, ctx);
          return stream(request, ctx);
        };
        out[key] = gated;
      } else {
        const unary = h as UnaryHandler;
        const gated: UnaryHandler = (request, ctx) => {
          this.check(m.name, policy, (request as { header?: unknown }).header, ctx);
          return unary(request, ctx);
        };
        out[key] = gated;
      }
    }
    return out;
  }

  async *#checkEach(
    method: string,
    policy: PdRequestPolicy,
    requests: AsyncIterable<unknown>,
    ctx: RpcContext,
  ): AsyncIterable<unknown> {
    for await (const req of requests) {
      this.check(method, policy, (req as { header?: unknown }).header, ctx);
      yield req;
    }
  }
}
