/**
 * The mock cluster's ceiling: RawGet and RawPut throughput over one BatchCommands stream
 * (128 commands a message, 8 messages in flight) against the standalone mock cluster process,
 * so client benchmarks know what the server side can take. Baseline in the same run: unary
 * RawGet calls from 64 concurrent callers.
 */
import { type kvrpcpb, pdpb, tikvpb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';

type Cmd = NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>;

const BATCH = 128;
const WINDOW = 8;

/** Sends `total` commands over one BatchCommands stream, keeping WINDOW batches in flight. */
export async function streamRun(
  kv: ReturnType<typeof createClient<typeof tikvpb.TikvDefinition>>,
  total: number,
  make: (i: number) => Cmd,
): Promise<number> {
  let next = 0;
  let done = 0;
  const outbox: tikvpb.BatchCommandsRequest[] = [];
  let wake: (() => void) | undefined;
  const enqueue = () => {
    const n = Math.min(BATCH, total - next);
    if (n <= 0) return;
    const requestIds: bigint[] = [];
    const requests: tikvpb.BatchCommandsRequest_Request[] = [];
    for (let i = 0; i < n; i++, next++) {
      requestIds.push(BigInt(next));
      requests.push({ cmd: make(next) });
    }
    outbox.push(tikvpb.BatchCommandsRequest.fromPartial({ requests, requestIds }));
    wake?.();
  };
  async function* requests(): AsyncGenerator<tikvpb.BatchCommandsRequest> {
    while (done < total) {
      const msg = outbox.shift();
      if (msg) yield msg;
      else await new Promise<void>((r) => (wake = r));
    }
  }
  for (let i = 0; i < WINDOW; i++) enqueue();
  const start = performance.now();
  for await (const resp of kv.batchCommands(requests())) {
    done += resp.requestIds.length;
    if (done % BATCH === 0) enqueue();
    if (done >= total) {
      wake?.();
      break;
    }
  }
  return (total * 1000) / (performance.now() - start);
}

/** Runs the mock cluster ceiling suite and prints its table. */
export async function runMockClusterBench(total = 200_000): Promise<void> {
  const cluster = await startStandaloneCluster();
  const pdChannel = createChannel(cluster.pdEndpoint);
  const storeChannel = createChannel([...cluster.stores.values()][0] ?? '');
  try {
    const pd = createClient(pdpb.PDDefinition, pdChannel);
    const header = { clusterId: cluster.clusterId };
    const { region, leader } = await pd.getRegion({ header, regionKey: new Uint8Array([1]) });
    if (region === undefined) throw new Error('PD knows no region for the bench key');
    const context: Partial<kvrpcpb.Context> = {
      regionId: region.id,
      regionEpoch: region.regionEpoch,
      peer: leader,
    };
    const kv = createClient(tikvpb.TikvDefinition, storeChannel);
    const value = new Uint8Array(100);
    const key = (i: number) => new TextEncoder().encode(`key${i % 10_000}`);

    let i = 0;
    await runConcurrent(64, 200, () => kv.rawGet({ context, key: key(i++) }));
    const unary = await runConcurrent(64, 2000, () => kv.rawGet({ context, key: key(i++) }));
    const put = await streamRun(kv, total, (n) => ({
      $case: 'RawPut',
      value: { context, key: key(n), value } as kvrpcpb.RawPutRequest,
    }));
    const get = await streamRun(kv, total, (n) => ({
      $case: 'RawGet',
      value: { context, key: key(n) } as kvrpcpb.RawGetRequest,
    }));
    printRows(
      `mock cluster ceiling: one store, ${BATCH} commands a message, ${WINDOW} messages in flight`,
      ['benchmark', 'ops/s', 'x baseline'],
      [
        ['unary RawGet x64 (baseline)', formatRate(unary.opsPerSec), '1.00'],
        ['BatchCommands RawPut (100 B)', formatRate(put), (put / unary.opsPerSec).toFixed(2)],
        ['BatchCommands RawGet', formatRate(get), (get / unary.opsPerSec).toFixed(2)],
      ],
    );
  } finally {
    pdChannel.close();
    storeChannel.close();
    await cluster.stop();
  }
}
