import type { kvrpcpb } from '@tikv/proto';
import type { KvRequestInfo, KvResponseInfo } from './request-unit-model.js';

/**
 * A TiKV request as the interceptors of `@tikv/rpc` see it: the command's name (`$case`) and its
 * message (with its `Context`). Declared here so that `@tikv/pd` does not depend on `@tikv/rpc`.
 */
export interface KvRequestLike {
  readonly $case: string;
  readonly value: unknown;
}

/** A TiKV response as the interceptors of `@tikv/rpc` see it. */
export interface KvResponseLike {
  readonly $case: string;
  readonly value: unknown;
}

/** Transactional writes (client-go `IsTxnWriteRequest`). */
const TXN_WRITES: ReadonlySet<string> = new Set([
  'PessimisticLock',
  'Prewrite',
  'Commit',
  'BatchRollback',
  'PessimisticRollback',
  'CheckTxnStatus',
  'CheckSecondaryLocks',
  'Cleanup',
  'TxnHeartBeat',
  'ResolveLock',
  'FlashbackToVersion',
  'PrepareFlashbackToVersion',
  'Flush',
]);
/** Raw writes (client-go `IsRawWriteRequest`). */
const RAW_WRITES: ReadonlySet<string> = new Set(['RawPut', 'RawBatchPut', 'RawDelete']);

/** The request source of internal requests left out of resource control (client-go `shouldBypass`). */
const BYPASS_SOURCE = 'internal_others';

/** A request's `Context`, whatever its message type. */
export function contextOf(request: KvRequestLike): kvrpcpb.Context | undefined {
  return (request.value as { context?: kvrpcpb.Context } | undefined)?.context;
}

/** The resource group a request names in its context (`resource_control_context`); '' when none. */
export function resourceGroupOf(request: KvRequestLike): string {
  return contextOf(request)?.resourceControlContext?.resourceGroupName ?? '';
}

/** What a request costs before it is sent (client-go `resourcecontrol.MakeRequestInfo`). */
export function kvRequestInfo(request: KvRequestLike): KvRequestInfo {
  const bypass = (contextOf(request)?.requestSource ?? '').includes(BYPASS_SOURCE);
  const isWrite = TXN_WRITES.has(request.$case) || RAW_WRITES.has(request.$case);
  if (!isWrite) return { isWrite: false, writeBytes: 0, replicaNumber: 0, bypass };
  let writeBytes = 0;
  if (request.$case === 'Prewrite') {
    const r = request.value as kvrpcpb.PrewriteRequest;
    for (const m of r.mutations) writeBytes += m.key.length + m.value.length;
    writeBytes += r.primaryLock.length;
    for (const s of r.secondaries) writeBytes += s.length;
  } else if (request.$case === 'Commit') {
    for (const k of (request.value as kvrpcpb.CommitRequest).keys) writeBytes += k.length;
  }
  return { isWrite: true, writeBytes, replicaNumber: 0, bypass };
}

/** What a response says it cost (client-go `resourcecontrol.MakeResponseInfo`). */
export function kvResponseInfo(response: KvResponseLike | undefined): KvResponseInfo {
  if (response === undefined) return { readBytes: 0, kvCpuMs: 0, succeeded: false };
  let details: kvrpcpb.ExecDetailsV2 | undefined;
  let readBytes = 0;
  switch (response.$case) {
    case 'Get':
    case 'BatchGet':
      details = (response.value as { execDetailsV2?: kvrpcpb.ExecDetailsV2 }).execDetailsV2;
      break;
    case 'Scan':
      // client-go takes the encoded size of a ScanResponse; its pairs' bytes are that, near enough.
      for (const p of (response.value as kvrpcpb.ScanResponse).pairs)
        readBytes += p.key.length + p.value.length;
      break;
    default:
      return { readBytes: 0, kvCpuMs: 0, succeeded: true };
  }
  const scan = details?.scanDetailV2;
  if (scan !== undefined) readBytes = Number(scan.processedVersionsSize);
  const time = details?.timeDetailV2;
  const kvCpuMs =
    time !== undefined
      ? Number(time.processWallTimeNs) / 1e6
      : details?.timeDetail !== undefined
        ? Number(details.timeDetail.processWallTimeMs)
        : 0;
  return { readBytes, kvCpuMs, succeeded: true };
}
