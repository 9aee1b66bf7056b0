import { status as GrpcStatus } from '@grpc/grpc-js';
import type { errorpb } from '@tikv/proto';
import { RpcError } from './rpc-error.js';

/** The arms of `errorpb.Error` in client-go's order of precedence, with their labels. */
const REGION_ERROR_LABELS: readonly (readonly [keyof errorpb.Error, string])[] = [
  ['notLeader', 'not_leader'],
  ['regionNotFound', 'region_not_found'],
  ['keyNotInRegion', 'key_not_in_region'],
  ['epochNotMatch', 'epoch_not_match'],
  ['serverIsBusy', 'server_is_busy'],
  ['staleCommand', 'stale_command'],
  ['storeNotMatch', 'store_not_match'],
  ['raftEntryTooLarge', 'raft_entry_too_large'],
  ['maxTimestampNotSynced', 'max_timestamp_not_synced'],
  ['readIndexNotReady', 'read_index_not_ready'],
  ['proposalInMergingMode', 'proposal_in_merging_mode'],
  ['dataIsNotReady', 'data_is_not_ready'],
  ['regionNotInitialized', 'region_not_initialized'],
  ['diskFull', 'disk_full'],
  ['RecoveryInProgress', 'recovery_in_progress'],
  ['FlashbackInProgress', 'flashback_in_progress'],
  ['FlashbackNotPrepared', 'flashback_not_prepared'],
  ['isWitness', 'peer_is_witness'],
  ['mismatchPeerId', 'mismatch_peer_id'],
  ['bucketVersionNotMatch', 'bucket_version_not_match'],
  ['undeterminedResult', 'undetermined_result'],
];

/**
 * The label of a region error in execution details, by the arm that is set (client-go
 * `regionErrorToLabel`; its two message-text checks are left out: errors are classified by
 * protocol field).
 *
 * @internal
 */
export function regionErrorLabel(e: errorpb.Error): string {
  for (const [field, label] of REGION_ERROR_LABELS) {
    const v = e[field];
    if (v !== undefined && v !== null && typeof v === 'object') return label;
  }
  return 'unknown';
}

/**
 * The label of a failed send in execution details: `rpc:` and the gRPC status name, or the
 * client error's code for an attempt that timed out on this side (`rpc:UNAVAILABLE`,
 * `rpc:DEADLINE_EXCEEDED`...).
 *
 * @internal
 */
export function sendErrorLabel(e: unknown): string {
  if (e instanceof RpcError && e.grpcCode !== undefined) {
    const name = (GrpcStatus as unknown as Record<number, string | undefined>)[e.grpcCode];
    return `rpc:${name ?? String(e.grpcCode)}`;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `rpc:${code}` : 'rpc:unknown';
}
