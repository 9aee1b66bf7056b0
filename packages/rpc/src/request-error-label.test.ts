import { type ExecDetails, ExecDetailsCollector, openOperationScope, TiKVError } from '@tikv/common';
import { errorpb } from '@tikv/proto';
import { DetailsScope } from './details-scope.js';
import { regionErrorLabel, sendErrorLabel } from './request-error-label.js';
import { RpcError } from './rpc-error.js';

describe('regionErrorToLabel', () => {
  test.each([
    [{ notLeader: { regionId: 1n } }, 'not_leader'],
    [{ regionNotFound: { regionId: 1n } }, 'region_not_found'],
    [{ keyNotInRegion: { key: new Uint8Array(1) } }, 'key_not_in_region'],
    [{ epochNotMatch: { currentRegions: [] } }, 'epoch_not_match'],
    [{ serverIsBusy: { reason: 'x' } }, 'server_is_busy'],
    [{ staleCommand: {} }, 'stale_command'],
    [{ storeNotMatch: {} }, 'store_not_match'],
    [{ raftEntryTooLarge: {} }, 'raft_entry_too_large'],
    [{ maxTimestampNotSynced: {} }, 'max_timestamp_not_synced'],
    [{ readIndexNotReady: {} }, 'read_index_not_ready'],
    [{ proposalInMergingMode: {} }, 'proposal_in_merging_mode'],
    [{ dataIsNotReady: {} }, 'data_is_not_ready'],
    [{ regionNotInitialized: {} }, 'region_not_initialized'],
    [{ diskFull: {} }, 'disk_full'],
    [{ RecoveryInProgress: {} }, 'recovery_in_progress'],
    [{ FlashbackInProgress: {} }, 'flashback_in_progress'],
    [{ FlashbackNotPrepared: {} }, 'flashback_not_prepared'],
    [{ isWitness: {} }, 'peer_is_witness'],
    [{ mismatchPeerId: {} }, 'mismatch_peer_id'],
    [{ bucketVersionNotMatch: {} }, 'bucket_version_not_match'],
    [{ undeterminedResult: {} }, 'undetermined_result'],
    [{}, 'unknown'],
  ] as [errorpb.DeepPartial<errorpb.Error>, string][])('%o -> %s', (arm, label) => {
    expect(regionErrorLabel(errorpb.Error.fromPartial({ message: 'm', ...arm }))).toBe(label);
  });

  test('NotLeader takes precedence over a second arm, as client-go checks it first', () => {
    const e = errorpb.Error.fromPartial({ notLeader: { regionId: 1n }, serverIsBusy: { reason: 'x' } });
    expect(regionErrorLabel(e)).toBe('not_leader');
  });
});

test('send error labels: gRPC status name, client error code, unknown', () => {
  const unavailable = new RpcError('down', {
    address: 'a',
    command: 'Get',
    grpcCode: 14,
    requestSent: false,
  });
  expect(sendErrorLabel(unavailable)).toBe('rpc:UNAVAILABLE');
  expect(sendErrorLabel(new RpcError('x', { address: 'a', command: 'Get', requestSent: false }))).toBe(
    'rpc:RPC_ERROR',
  );
  expect(sendErrorLabel(new TiKVError('DEADLINE_EXCEEDED', 'late'))).toBe('rpc:DEADLINE_EXCEEDED');
  expect(sendErrorLabel(new Error('plain'))).toBe('rpc:unknown');
  expect(sendErrorLabel(null)).toBe('rpc:unknown');
});

test('a details scope delivers once, follows its inner scope, and survives a throwing callback', () => {
  const controller = new AbortController();
  const inner = openOperationScope({ signal: controller.signal, timeoutMs: 1000 });
  const got: ExecDetails[] = [];
  const collector = new ExecDetailsCollector();
  const scope = new DetailsScope(inner, collector, (d) => got.push(d));
  expect(scope.signal).toBe(inner.signal);
  expect(scope.deadlineAtMs).toBe(inner.deadlineAtMs);
  collector.recordRpc('Get', 1, false);
  scope.dispose();
  scope[Symbol.dispose]();
  expect(got).toHaveLength(1);
  expect(got[0]?.rpcCount).toBe(1);
  const throwing = new DetailsScope(openOperationScope(undefined), new ExecDetailsCollector(), () => {
    throw new Error('observer');
  });
  expect(() => throwing.dispose()).not.toThrow();
});
