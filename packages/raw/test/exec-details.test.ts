// Execution details of raw calls (client-go util.ExecDetails and RegionRequestRuntimeStats, as a
// raw call's onDetails option reports them) against the embedded mock cluster.
import type { ExecDetails } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { RawClient } from '../src/index.js';

let cluster: MockCluster;
let raw: RawClient;

beforeEach(async () => {
  cluster = await MockCluster.start({ stores: 1, splitKeys: ['m'] });
  raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
  await raw.batchPut([
    { key: 'a', value: 'x' },
    { key: 'b', value: 'y' },
    { key: 'n', value: 'z' },
  ]);
});

afterEach(async () => {
  await raw.close();
  await cluster.close();
});

/** Runs `call` with an `onDetails` that must be called exactly once, and returns what it got. */
async function detailsOf(
  call: (onDetails: (d: ExecDetails) => void) => Promise<unknown>,
): Promise<ExecDetails> {
  const got: ExecDetails[] = [];
  await call((d) => got.push(d));
  expect(got).toHaveLength(1);
  return got[0] as ExecDetails;
}

test('a plain get: one RawGet attempt, no backoff, no errors', async () => {
  const d = await detailsOf((onDetails) => raw.get('a', { onDetails }));
  expect(d.rpcCount).toBe(1);
  expect(d.rpcByCommand).toEqual({ RawGet: { count: 1, timeMs: d.rpcTimeMs, regionCount: 1 } });
  expect(d.rpcTimeMs).toBeGreaterThanOrEqual(0);
  expect(d.backoffCount).toBe(0);
  expect(d.backoffMs).toBe(0);
  expect(d.backoffMsByKind).toEqual({});
  expect(d.retries).toBe(0);
  expect(d.requestErrors).toEqual({});
  // Raw responses carry no ExecDetailsV2 in TiKV.
  expect(d.storeDetailCount).toBe(0);
});

test('EpochNotMatch: counted by label, and the regionMiss backoff by kind', async () => {
  const fault = cluster.inject({ method: 'RawGet', times: 1, error: 'EpochNotMatch' });
  const d = await detailsOf((onDetails) => raw.get('a', { onDetails }));
  expect(fault.hits).toBe(1);
  expect(d.requestErrors).toEqual({ epoch_not_match: 1 });
  expect(d.rpcByCommand.RawGet?.count).toBe(2);
  expect(d.rpcCount).toBe(2);
  // Handed back to the caller, which re-locates: a new request, not a sender retry.
  expect(d.retries).toBe(0);
  expect(d.backoffCountByKind).toEqual({ regionMiss: 1 });
  expect(d.backoffCount).toBe(1);
  expect(d.backoffMsByKind.regionMiss).toBeGreaterThan(0);
  expect(d.backoffMs).toBe(d.backoffMsByKind.regionMiss);
});

test('NotLeader: retried by the sender (a retry), with its label', async () => {
  const fault = cluster.inject({ method: 'RawGet', times: 1, error: 'NotLeader' });
  const d = await detailsOf((onDetails) => raw.get('a', { onDetails }));
  expect(fault.hits).toBe(1);
  expect(d.requestErrors).toEqual({ not_leader: 1 });
  expect(d.rpcCount).toBe(2);
  expect(d.retries).toBe(1);
});

test('ServerIsBusy and a failed send: backoff by kind, and the send error by gRPC status', async () => {
  cluster.inject({ method: 'RawGet', times: 1, error: 'ServerIsBusy' });
  const busy = await detailsOf((onDetails) => raw.get('a', { onDetails }));
  expect(busy.requestErrors).toEqual({ server_is_busy: 1 });
  expect(Object.keys(busy.backoffCountByKind)).toEqual(['tikvServerBusy']);
  expect(busy.backoffMsByKind.tikvServerBusy).toBe(busy.backoffMs);
  expect(busy.backoffMs).toBeGreaterThan(0);

  cluster.inject({ method: 'RawGet', times: 1, error: { grpcStatus: 14, message: 'injected' } });
  const failed = await detailsOf((onDetails) => raw.get('a', { onDetails }));
  expect(failed.requestErrors).toEqual({ 'rpc:UNAVAILABLE': 1 });
  expect(failed.backoffCountByKind).toEqual({ tikvRPC: 1 });
  expect(failed.rpcCount).toBe(2);
  expect(failed.retries).toBe(1);
});

test('batch calls sum the attempts of their regions; scanIter reports once for all pages', async () => {
  const batch = await detailsOf((onDetails) => raw.batchGet(['a', 'b', 'n'], { onDetails }));
  expect(batch.rpcByCommand.RawBatchGet?.count).toBe(2);
  const put = await detailsOf((onDetails) =>
    raw.batchPut(
      [
        { key: 'c', value: '1' },
        { key: 'o', value: '2' },
      ],
      { onDetails },
    ),
  );
  expect(put.rpcByCommand.RawBatchPut?.count).toBe(2);

  const got: ExecDetails[] = [];
  const keys: string[] = [];
  for await (const p of raw.scanIter('', '', { pageSize: 2, onDetails: (d) => got.push(d) })) {
    keys.push(new TextDecoder().decode(p.key));
  }
  expect(keys).toEqual(['a', 'b', 'c', 'n', 'o']);
  expect(got).toHaveLength(1);
  expect(got[0]?.rpcByCommand.RawScan?.count).toBeGreaterThanOrEqual(3);
});

test('onDetails is called on failure too; what it throws is ignored; a non-function is refused', async () => {
  cluster.inject({
    method: 'RawGet',
    times: Number.POSITIVE_INFINITY,
    error: { grpcStatus: 14, message: 'down' },
  });
  const got: ExecDetails[] = [];
  await expect(raw.get('a', { timeoutMs: 300, onDetails: (d) => got.push(d) })).rejects.toMatchObject({
    code: 'DEADLINE_EXCEEDED',
  });
  expect(got).toHaveLength(1);
  const failures = got[0]?.requestErrors['rpc:UNAVAILABLE'] ?? 0;
  expect(failures).toBeGreaterThanOrEqual(1);
  expect(got[0]?.backoffCountByKind.tikvRPC).toBeGreaterThanOrEqual(1);
  cluster.clearFaults();

  await expect(
    raw.get('a', {
      onDetails: () => {
        throw new Error('observer failed');
      },
    }),
  ).resolves.toEqual(new TextEncoder().encode('x'));
  await expect(
    raw.get('a', { onDetails: 'yes' as unknown as (d: ExecDetails) => void }),
  ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
});
