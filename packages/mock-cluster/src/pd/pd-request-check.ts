import type { FaultRegistry } from '../faults/fault-registry.js';
import { GrpcStatus, RpcError } from '../server/rpc-error.js';

/** What every mock PD service checks a request against. */
export interface PdRequestCheckDeps {
  readonly clusterId: bigint;
  readonly faults: FaultRegistry;
}

/**
 * Checks a PD request as PD does before serving it: an injected gRPC-status fault for the method
 * fails it first, then a header whose cluster id is not this cluster's fails with
 * FAILED_PRECONDITION (PD's "mismatch cluster id").
 */
export function checkPdRequest(
  deps: PdRequestCheckDeps,
  method: string,
  header: { readonly clusterId: bigint } | undefined,
): void {
  const injected = deps.faults.take({ method });
  if (injected !== undefined && typeof injected === 'object' && 'grpcStatus' in injected) {
    throw new RpcError(injected.grpcStatus, injected.message ?? `injected fault on ${method}`);
  }
  const got = header?.clusterId ?? 0n;
  if (got !== deps.clusterId) {
    throw new RpcError(
      GrpcStatus.FAILED_PRECONDITION,
      `mismatch cluster id, need ${deps.clusterId} but got ${got}`,
    );
  }
}
