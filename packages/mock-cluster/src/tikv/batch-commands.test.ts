import { AsyncQueue } from '@tikv/common';
import type { tikvpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

type Req = tikvpb.DeepPartial<tikvpb.BatchCommandsRequest>;

async function collect(it: AsyncIterable<tikvpb.BatchCommandsResponse>) {
  const byId = new Map<bigint, tikvpb.BatchCommandsResponse_Response>();
  let messages = 0;
  for await (const msg of it) {
    messages++;
    expect(msg.requestIds).toHaveLength(msg.responses.length);
    for (const [i, id] of msg.requestIds.entries()) {
      byId.set(id, msg.responses[i] as tikvpb.BatchCommandsResponse_Response);
    }
  }
  return { byId, messages };
}

describe('BatchCommands', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 2, maxBatchCommands: 2000 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('serves 1,000 concurrent requests with matching request ids', async () => {
    const ctx = ctxFor(cluster.regionByKey('a'));
    const puts: Req = {
      requestIds: Array.from({ length: 1000 }, (_, i) => BigInt(i)),
      requests: Array.from({ length: 1000 }, (_, i) => ({
        cmd: { $case: 'RawPut' as const, value: { context: ctx, key: b(`bc${i}`), value: b(`v${i}`) } },
      })),
    };
    async function* one(msgs: Req[]) {
      yield* msgs;
    }
    const put = await collect(c.kv(1).batchCommands(one([puts])));
    expect(put.byId.size).toBe(1000);
    const gets: Req[] = [];
    for (let m = 0; m < 10; m++) {
      gets.push({
        requestIds: Array.from({ length: 100 }, (_, i) => BigInt(5000 + m * 100 + i)),
        requests: Array.from({ length: 100 }, (_, i) => ({
          cmd: { $case: 'RawGet' as const, value: { context: ctx, key: b(`bc${m * 100 + i}`) } },
        })),
      });
    }
    const got = await collect(c.kv(1).batchCommands(one(gets)));
    expect(got.byId.size).toBe(1000);
    for (let i = 0; i < 1000; i++) {
      const r = got.byId.get(BigInt(5000 + i))?.cmd;
      expect(r?.$case).toBe('RawGet');
      if (r?.$case === 'RawGet') expect(text(r.value.value)).toBe(`v${i}`);
    }
  });

  it('completes out of order: a slow Empty does not hold back fast requests', async () => {
    const ctx = ctxFor(cluster.regionByKey('a'));
    const input = new AsyncQueue<Req>();
    const it = c.kv(1).batchCommands(input)[Symbol.asyncIterator]();
    input.push({
      requestIds: [1n, 2n],
      requests: [
        { cmd: { $case: 'Empty', value: { testId: 7n, delayTime: 50n } } },
        { cmd: { $case: 'RawGet', value: { context: ctx, key: b('bc1') } } },
      ],
    });
    const first = await it.next();
    expect(first.value?.requestIds).toEqual([2n]);
    const second = await it.next();
    expect(second.value?.requestIds).toEqual([1n]);
    expect(second.value?.responses[0]?.cmd).toEqual({ $case: 'Empty', value: { testId: 7n } });
    input.end();
    expect((await it.next()).done).toBe(true);
  });

  it('fails the stream for unsupported commands and oversized batches', async () => {
    async function* unsupported(): AsyncIterable<Req> {
      yield { requestIds: [1n], requests: [{ cmd: { $case: 'Coprocessor', value: {} } }] };
    }
    await expect(collect(c.kv(1).batchCommands(unsupported()))).rejects.toMatchObject({ code: 12 });
    async function* oversized(): AsyncIterable<Req> {
      yield {
        requestIds: Array.from({ length: 2001 }, (_, i) => BigInt(i)),
        requests: Array.from({ length: 2001 }, () => ({ cmd: { $case: 'Empty' as const, value: {} } })),
      };
    }
    await expect(collect(c.kv(1).batchCommands(oversized()))).rejects.toMatchObject({ code: 8 });
    async function* mismatched(): AsyncIterable<Req> {
      yield { requestIds: [1n, 2n], requests: [{ cmd: { $case: 'Empty', value: {} } }] };
    }
    await expect(collect(c.kv(1).batchCommands(mismatched()))).rejects.toMatchObject({ code: 3 });
    // the server survives
    const ok = await c.kv(1).rawGet({ context: ctxFor(cluster.regionByKey('a')), key: b('bc1') });
    expect(text(ok.value)).toBe('v1');
  });

  it('unary methods without a handler answer UNIMPLEMENTED', async () => {
    await expect(c.kv(1).coprocessor({})).rejects.toMatchObject({ code: 12 });
    const drain = async () => {
      for await (const _ of c.kv(1).coprocessorStream({})) {
        /* drain */
      }
    };
    await expect(drain()).rejects.toMatchObject({ code: 12 });
  });

  it('region errors and store delays apply inside batches', async () => {
    const r = cluster.regionByKey('a');
    cluster.inject({ method: 'RawGet', times: 1, error: 'NotLeader' });
    cluster.setStoreDelay(1, 20);
    async function* one(): AsyncIterable<Req> {
      yield {
        requestIds: [9n],
        requests: [{ cmd: { $case: 'RawGet', value: { context: ctxFor(r), key: b('bc1') } } }],
      };
    }
    const started = Date.now();
    const res = await collect(c.kv(1).batchCommands(one()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    const cmd = res.byId.get(9n)?.cmd;
    expect(cmd?.$case === 'RawGet' && cmd.value.regionError?.notLeader?.leader?.storeId).toBe(1n);
    cluster.setStoreDelay(1, 0);
  });
});
