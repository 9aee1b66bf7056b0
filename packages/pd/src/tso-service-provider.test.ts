import { ManualClock, noopLogger } from '@tikv/common';
import { tsopb } from '@tikv/proto';
import type { BidiCallHandlers } from './grpc-bidi-call.js';
import type { PdConnections } from './pd-connections.js';
import { TsoServiceProvider } from './tso-service-provider.js';

const CLUSTER = 7n;

/** A fake TSO microservice: `primary` answers Tso; FindGroupByKeyspaceID names it. */
function fakeService() {
  const state = {
    primary: 'http://t1:1',
    group: 4,
    finds: 0,
    dropped: [] as string[],
    requests: [] as { url: string; req: tsopb.TsoRequest }[],
    /** A header error the next Tso response carries. */
    headerError: undefined as tsopb.Error | undefined,
    findFails: false,
  };
  const connections = {
    service: () => ({
      findGroupByKeyspaceID: async () => {
        state.finds++;
        if (state.findFails) throw new Error('find failed');
        return tsopb.FindGroupByKeyspaceIDResponse.fromPartial({
          header: { clusterId: CLUSTER },
          keyspaceGroup: { id: state.group, members: [{ address: state.primary, isPrimary: true }] },
          modRevision: 1n,
        });
      },
    }),
    openBidiCall: (url: string, _method: unknown, h: BidiCallHandlers<tsopb.TsoResponse>) => {
      let logical = 0n;
      return {
        write: (bytes: Buffer) => {
          const req = tsopb.TsoRequest.decode(bytes);
          state.requests.push({ url, req });
          const error = state.headerError;
          state.headerError = undefined;
          logical += BigInt(req.count);
          const resp = tsopb.TsoResponse.fromPartial({
            header: { clusterId: CLUSTER, keyspaceGroupId: state.group, error },
            count: req.count,
            timestamp: { physical: 1000n, logical },
          });
          queueMicrotask(() => h.onResponse(resp));
        },
        cancel: () => {},
      };
    },
    drop: (url: string) => state.dropped.push(url),
    close: () => {},
  } as unknown as PdConnections;
  const provider = new TsoServiceProvider({
    clusterId: () => CLUSTER,
    keyspaceId: 9,
    connections,
    tsoServerUrls: async () => ['http://t1:1'],
    clock: new ManualClock({ autoAdvance: true }),
    random: () => 0,
    logger: noopLogger,
    discovery: { maxUpdateRetries: 1 },
  });
  return { state, provider };
}

describe('TsoServiceProvider (PD TSO client in the API service mode)', () => {
  test('opens a stream to the group primary whose requests carry the cluster, keyspace, group and callee ids', async () => {
    const { state, provider } = fakeService();
    const stream = await provider.open(new AbortController().signal);
    expect(stream.url).toBe('http://t1:1');
    const r = await stream.request(3);
    expect(r).toEqual({ physical: 1000n, logical: 3n, count: 3 });
    expect(state.requests[0]?.req).toEqual(
      expect.objectContaining({
        count: 3,
        header: expect.objectContaining({
          clusterId: CLUSTER,
          keyspace: { $case: 'keyspaceId', value: 9 },
          keyspaceGroupId: 4,
          calleeId: 't1:1',
        }),
      }),
    );
    expect(provider.lastServedGroup).toBe(4);
    // A header error breaks the stream (and rejects the request).
    state.headerError = { type: tsopb.ErrorType.UNKNOWN, message: 'boom' };
    await expect(stream.request(1)).rejects.toThrow('boom');
    expect(stream.broken).toBe(true);
    stream.close();
    await provider.close();
  });

  test('a moved primary is looked up again before the next stream; a callee mismatch drops the connection', async () => {
    const { state, provider } = fakeService();
    const signal = new AbortController().signal;
    await provider.open(signal);
    expect(state.finds).toBe(1);
    state.primary = 'http://t2:2';
    provider.onStreamFailure(new Error('generate timestamp failed: not primary'), 'http://t1:1');
    const s2 = await provider.open(signal);
    expect(state.finds).toBe(2);
    expect(s2.url).toBe('http://t2:2');
    provider.onStreamFailure(new Error('mismatch callee id, need x but got y'), 'http://t2:2');
    expect(state.dropped).toEqual(['http://t2:2']);
    // A failed lookup with a known primary keeps it; with none it fails the open.
    state.findFails = true;
    provider.onStreamFailure(new Error('not leader'), 'http://t2:2');
    expect((await provider.open(signal)).url).toBe('http://t2:2');
    provider.onStreamFailure(new Error('reset'), 'http://t2:2');
    s2.close();
    await provider.close();
    const fresh = fakeService();
    fresh.state.findFails = true;
    const e = await fresh.provider.open(signal).catch((x: unknown) => x);
    expect(e).toEqual(expect.objectContaining({ code: 'RPC_ERROR', retryable: true }));
    expect((e as Error).message).toContain('no TSO primary known for keyspace 9');
    expect((e as Error).message).toContain('find failed');
    await fresh.provider.close();
  });
});
