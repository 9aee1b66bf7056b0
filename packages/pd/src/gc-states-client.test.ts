import type { pdpb } from '@tikv/proto';
import { GcStatesClient, NULL_KEYSPACE_ID } from './gc-states-client.js';

/** A transport answering every call with one canned response. */
function fake(resp: Record<string, unknown>): GcStatesClient {
  const rpc = new Proxy({}, { get: () => async () => resp });
  return new GcStatesClient(
    {
      header: () => ({ clusterId: 1n, senderId: 0n, callerId: '', callerComponent: '' }),
      call: (_what, _opts, fn) => fn(rpc as never, new AbortController().signal) as never,
    },
    NULL_KEYSPACE_ID,
  );
}

describe('GcStatesClient wire mapping', () => {
  test('saturates huge TTLs to Infinity and clamps negative ones to 0, as PD Go client does', async () => {
    const huge: pdpb.GCBarrierInfo = { barrierId: 'a', barrierTs: 1n, ttlSeconds: 10_000_000_000n };
    expect((await fake({ newBarrierInfo: huge }).setGcBarrier('a', 1n, 1)).ttlMs).toBe(
      Number.POSITIVE_INFINITY,
    );
    const neg: pdpb.GCBarrierInfo = { barrierId: 'a', barrierTs: 1n, ttlSeconds: -3n };
    expect((await fake({ newBarrierInfo: neg }).setGlobalGcBarrier('a', 1n, 1)).ttlMs).toBe(0);
  });

  test('a response missing its payload is an INTERNAL error', async () => {
    await expect(fake({}).setGcBarrier('a', 1n, 1_000)).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(fake({}).getGcState()).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  test('a state without a keyspace scope belongs to unified GC', async () => {
    const gcState: pdpb.GCState = {
      keyspaceScope: undefined,
      isKeyspaceLevelGc: false,
      txnSafePoint: 2n,
      gcSafePoint: 1n,
      gcBarriers: [],
    };
    const s = await fake({ gcState, globalGcBarriers: { barriers: [] } }).getGcState();
    expect(s).toMatchObject({ keyspaceId: NULL_KEYSPACE_ID, txnSafePoint: 2n, globalBarriers: [] });
    const all = await fake({ gcStates: [gcState], globalGcBarriers: [] }).getAllKeyspacesGcStates();
    expect(all.states.get(NULL_KEYSPACE_ID)?.gcSafePoint).toBe(1n);
  });
});
