/**
 * The mock cluster's transactional ceiling: 2-key optimistic transactions (one Prewrite of both
 * keys, then one Commit) and pessimistic transactions (PessimisticLock, pessimistic Prewrite,
 * Commit of one key), every phase streamed over one BatchCommands stream against the standalone
 * mock cluster process. Baseline in the same run: the RawPut ceiling over the same stream.
 */
import { kvrpcpb, pdpb, tikvpb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { formatRate, printRows } from './harness.js';
import { streamRun } from './mock-cluster-bench.js';
import { startStandaloneCluster } from './standalone-cluster.js';

const enc = new TextEncoder();

/** Runs the transactional ceiling suite and prints its table. */
export async function runTxnCeilingBench(txns = 20_000): Promise<void> {
  const cluster = await startStandaloneCluster();
  const pdChannel = createChannel(cluster.pdEndpoint);
  const storeChannel = createChannel([...cluster.stores.values()][0] ?? '');
  try {
    const pd = createClient(pdpb.PDDefinition, pdChannel);
    const header = { clusterId: cluster.clusterId };
    const { region, leader } = await pd.getRegion({ header, regionKey: new Uint8Array([1]) });
    if (region === undefined) throw new Error('PD knows no region for the bench key');
    const context = kvrpcpb.Context.fromPartial({
      regionId: region.id,
      regionEpoch: region.regionEpoch,
      peer: leader,
    });
    const kv = createClient(tikvpb.TikvDefinition, storeChannel);
    const value = new Uint8Array(100);
    const put = (key: Uint8Array): kvrpcpb.Mutation => ({ op: kvrpcpb.Op.Put, key, value, assertion: 0 });

    const raw = await streamRun(kv, txns * 2, (n) => ({
      $case: 'RawPut',
      value: kvrpcpb.RawPutRequest.fromPartial({ context, key: enc.encode(`raw${n}`), value }),
    }));

    // 2-key optimistic transactions: start ts 10n + 10 * i, commit ts + 5.
    const keysOf = (i: number) => [enc.encode(`o${i}a`), enc.encode(`o${i}b`)];
    const startOf = (i: number) => BigInt(1_000_000 + i * 10);
    const t0 = performance.now();
    await streamRun(kv, txns, (i) => {
      const keys = keysOf(i);
      return {
        $case: 'Prewrite',
        value: kvrpcpb.PrewriteRequest.fromPartial({
          context,
          mutations: keys.map(put),
          primaryLock: keys[0] as Uint8Array,
          startVersion: startOf(i),
          lockTtl: 3000n,
        }),
      };
    });
    await streamRun(kv, txns, (i) => ({
      $case: 'Commit',
      value: kvrpcpb.CommitRequest.fromPartial({
        context,
        startVersion: startOf(i),
        keys: keysOf(i),
        commitVersion: startOf(i) + 5n,
      }),
    }));
    const optimistic = (txns * 1000) / (performance.now() - t0);

    // Pessimistic: lock, pessimistic prewrite, commit.
    const pKey = (i: number) => enc.encode(`p${i}`);
    const pStart = (i: number) => BigInt(10_000_000 + i * 10);
    const t1 = performance.now();
    await streamRun(kv, txns, (i) => ({
      $case: 'PessimisticLock',
      value: kvrpcpb.PessimisticLockRequest.fromPartial({
        context,
        mutations: [{ op: kvrpcpb.Op.PessimisticLock, key: pKey(i) }],
        primaryLock: pKey(i),
        startVersion: pStart(i),
        forUpdateTs: pStart(i),
        lockTtl: 3000n,
        waitTimeout: -1n,
      }),
    }));
    await streamRun(kv, txns, (i) => ({
      $case: 'Prewrite',
      value: kvrpcpb.PrewriteRequest.fromPartial({
        context,
        mutations: [put(pKey(i))],
        primaryLock: pKey(i),
        startVersion: pStart(i),
        forUpdateTs: pStart(i),
        pessimisticActions: [kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK],
        lockTtl: 3000n,
      }),
    }));
    await streamRun(kv, txns, (i) => ({
      $case: 'Commit',
      value: kvrpcpb.CommitRequest.fromPartial({
        context,
        startVersion: pStart(i),
        keys: [pKey(i)],
        commitVersion: pStart(i) + 5n,
      }),
    }));
    const pessimistic = (txns * 1000) / (performance.now() - t1);

    printRows(
      'mock cluster transactional ceiling: one store, phases streamed over one BatchCommands stream',
      ['benchmark', 'ops/s', 'x baseline'],
      [
        ['BatchCommands RawPut (baseline)', formatRate(raw), '1.00'],
        ['2-key prewrite+commit (txns/s)', formatRate(optimistic), (optimistic / raw).toFixed(2)],
        [
          'pessimistic lock+prewrite+commit (txns/s)',
          formatRate(pessimistic),
          (pessimistic / raw).toFixed(2),
        ],
      ],
    );
  } finally {
    pdChannel.close();
    storeChannel.close();
    await cluster.stop();
  }
}
