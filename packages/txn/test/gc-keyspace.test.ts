import { connectCluster } from '@tikv/cluster';
import { Backoffer } from '@tikv/common';
import { KeyMode } from '@tikv/keyspace';
import { keyspacePrefix } from '@tikv/mock-cluster';
import { RegionExecutor } from '@tikv/rpc';
import { GcWorker, gcKeyspaceIdOf, NULL_KEYSPACE_ID } from '../src/index.js';
import { k, TxnTestCluster, t } from './txn-cluster.js';

/** API V2 with keyspace-level GC: GC runs in the keyspace's own scope and never leaves it. */
describe('GC of a keyspace with keyspace-level GC (API V2)', () => {
  let c: TxnTestCluster;
  let otherPrefix: Uint8Array;
  beforeAll(async () => {
    c = await TxnTestCluster.start({
      keyspace: 'own_gc',
      mock: {
        apiVersion: 'V2',
        keyspaces: [{ name: 'own_gc', config: { gc_management_type: 'keyspace_level' } }, { name: 'other' }],
      },
    });
    const other = c.cluster.keyspaces().find((ks) => ks.name === 'other');
    otherPrefix = keyspacePrefix('txn', other?.id as number);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('advances the keyspace scope only, and leaves other keyspaces locks alone', async () => {
    const id = gcKeyspaceIdOf(c.conn.codec.keyspaceMeta);
    expect(id).toBe(c.keyspaceId);
    expect(id).not.toBe(NULL_KEYSPACE_ID);
    // A stranded transaction in this keyspace (primary committed) and one in the other keyspace.
    const mine = c.cluster.strandTransaction({
      keys: [
        Buffer.concat([keyspacePrefix('txn', id), k('p')]),
        Buffer.concat([keyspacePrefix('txn', id), k('s')]),
      ],
      startTs: await c.ts(),
      value: k('mine'),
      commitPrimaryTs: await c.ts(),
    });
    c.cluster.strandTransaction({ keys: [Buffer.concat([otherPrefix, k('x')])], startTs: await c.ts() });
    const safePoint = await c.ts();
    const worker = new GcWorker({
      executor: c.exec,
      lockResolver: c.resolver,
      gcStates: c.conn.pd.gcStates(id),
    });
    const result = await worker.gcWithStats(safePoint);
    expect(result.newSafePoint).toBe(safePoint);
    expect(result.resolvedLocks).toBe(1);
    expect(mine.startTs).toBeLessThan(safePoint);
    expect(await c.read(k('s'))).toBe('mine');
    // The unified scope did not move.
    const unified = await c.conn.pd.gcStates(NULL_KEYSPACE_ID).getGcState();
    expect(unified.txnSafePoint).toBeLessThan(safePoint);
    expect((await c.conn.pd.gcStates(id).getGcState()).gcSafePoint).toBe(safePoint);
    // The other keyspace's lock is still there: GC scanned this keyspace only.
    const other = await connectCluster({
      pdEndpoints: c.cluster.pdEndpoints,
      keyMode: KeyMode.TXN,
      apiVersion: 'V2',
      keyspace: 'other',
    });
    try {
      const exec = new RegionExecutor({ sender: other.sender, locator: other.regionCache });
      const locks: string[] = [];
      await exec.walkRange(new Backoffer({ maxBackoffMs: 5_000 }), {
        start: new Uint8Array(0),
        end: new Uint8Array(0),
        build: (span) => ({
          $case: 'ScanLock' as const,
          value: {
            context: undefined,
            maxVersion: safePoint,
            startKey: span.startKey,
            endKey: span.endKey,
            limit: 100,
          },
        }),
        onResponse: (r) => {
          for (const l of r.value.locks) locks.push(t(l.key) as string);
          return 'next';
        },
      });
      expect(locks).toEqual(['x']);
    } finally {
      await other.close();
    }
  });
});
