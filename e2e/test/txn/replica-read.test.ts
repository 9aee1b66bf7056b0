// Replica reads end to end: what client-go's txnsnapshot/snapshot.go and
// internal/locate/replica_selector.go do with a snapshot's follower, learner, mixed and
// preferLeader reads, store labels, the replica read adjuster (snapshot_test.go
// TestReplicaReadAdjuster) and load-based replica read (busyThresholdMs), checked against the
// stores that really served each read (see replica-env.ts for the cluster and the recording).

import { busy, LEARNER_ZONE, useReplicaEnv, ZONES } from './replica-env.js';
import { embedded, embeddedTest, putAll, text, txnModes } from './txn-env.js';

describe.each(txnModes())('replica reads (%s)', (_, mode) => {
  const h = useReplicaEnv(mode, 'replica_read');
  const { advanceClock, mock, readAll, regionOf, since, store, twoVersions, zoneStore } = h;

  test('replica and stale reads return what was committed before their ts', async () => {
    const key = h.env.key('any');
    const ts = await twoVersions(key, 'v1', 'v2');
    if (embedded) advanceClock(1_000);
    for (const replicaRead of ['follower', 'mixed', 'preferLeader'] as const) {
      await readAll(h.reader.snapshot(ts, { replicaRead }), key, 'v1');
    }
    await readAll(h.reader.snapshot(ts, { stale: true }), key, 'v1');
    await readAll(h.reader.snapshot(undefined, { replicaRead: 'follower' }), key, 'v2');
  });

  embeddedTest('follower reads are served by followers, never by the leader', async () => {
    const key = h.env.key('follower');
    const ts = await twoVersions(key, 'f1', 'f2');
    const leader = regionOf(key).leader.storeId;
    const mark = h.sent.length;
    for (let i = 0; i < 8; i++) await readAll(h.reader.snapshot(ts, { replicaRead: 'follower' }), key, 'f1');
    const reads = since(mark);
    expect(reads).toHaveLength(24);
    for (const r of reads) {
      expect(r.regionError).toBeUndefined();
      expect(r.store).not.toBe(leader);
      expect(r.replicaRead).toBe(true);
      expect(r.staleRead).toBe(false);
    }
  });

  embeddedTest('a follower read skips a stopped follower and goes on at another', async () => {
    const key = h.env.key('stopped');
    await putAll(h.env.client, [[key, 's']]);
    const leader = regionOf(key).leader.storeId;
    const z2 = store('z2');
    await mock().stopStore(z2);
    try {
      const mark = h.sent.length;
      const snap = h.reader.snapshot(await h.reader.currentTimestamp(), {
        replicaRead: 'follower',
        labels: [{ key: 'zone', value: 'z2' }],
      });
      expect(text(await snap.get(key))).toBe('s');
      const reads = since(mark);
      const served = reads.filter((r) => r.regionError === undefined);
      expect(served).toHaveLength(1);
      expect(served[0]?.store).not.toBe(leader);
      expect(served[0]?.store).not.toBe(z2);
      expect(served[0]?.replicaRead).toBe(true);
    } finally {
      await mock().startStore(z2);
    }
  });

  embeddedTest('learner reads are served by the learner', async () => {
    const key = h.env.key('learner');
    const ts = await twoVersions(key, 'l1', 'l2');
    const mark = h.sent.length;
    for (let i = 0; i < 4; i++) await readAll(h.reader.snapshot(ts, { replicaRead: 'learner' }), key, 'l1');
    const reads = since(mark);
    expect(reads).toHaveLength(12);
    for (const r of reads) {
      expect(r.regionError).toBeUndefined();
      expect(r.store).toBe(store(LEARNER_ZONE));
      expect(r.replicaRead).toBe(true);
    }
  });

  embeddedTest(
    'mixed reads spread over the leader and the followers; only non-leaders get replicaRead',
    async () => {
      const key = h.env.key('mixed');
      const ts = await twoVersions(key, 'm1', 'm2');
      const leader = regionOf(key).leader.storeId;
      const mark = h.sent.length;
      // Every replica scores the same: each read picks one at random (a miss of the leader in 80
      // reads over four replicas has a chance of 1e-10).
      for (let i = 0; i < 80; i++)
        expect(text(await h.reader.snapshot(ts, { replicaRead: 'mixed' }).get(key))).toBe('m1');
      const reads = since(mark);
      expect(reads).toHaveLength(80);
      const stores = new Set(reads.map((r) => r.store));
      expect(stores.has(leader)).toBe(true);
      expect(stores.size).toBeGreaterThan(1);
      // client-go's TestReplicaReadAdjuster check: a read sent to the leader is no replica read.
      for (const r of reads) expect(r.replicaRead).toBe(r.store !== leader);
    },
  );

  embeddedTest(
    'preferLeader reads go to the leader; a busy leader hands the read to a follower',
    async () => {
      const key = h.env.key('prefer');
      const ts = await twoVersions(key, 'p1', 'p2');
      const leader = regionOf(key).leader.storeId;
      let mark = h.sent.length;
      for (let i = 0; i < 10; i++)
        expect(text(await h.reader.snapshot(ts, { replicaRead: 'preferLeader' }).get(key))).toBe('p1');
      for (const r of since(mark)) {
        expect(r.store).toBe(leader);
        expect(r.replicaRead).toBe(false);
      }
      mark = h.sent.length;
      const fault = mock().inject({ method: 'KvGet', storeId: leader, times: 1, error: 'ServerIsBusy' });
      expect(text(await h.reader.snapshot(ts, { replicaRead: 'preferLeader' }).get(key))).toBe('p1');
      expect(fault.hits).toBe(1);
      const reads = since(mark);
      expect(reads.map((r) => [r.store === leader, r.regionError])).toEqual([
        [true, 'serverIsBusy'],
        [false, undefined],
      ]);
      expect(reads[1]?.replicaRead).toBe(true);
    },
  );

  embeddedTest(
    'TestReplicaReadAdjuster: the adjuster sends each Get / BatchGet to the leader or to matching replicas',
    async () => {
      const [x, y, z] = ['replica_x', 'replica_y', 'replica_z'].map((n) => h.env.key(n)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      await putAll(h.env.client, [
        [x, 'x'],
        [y, 'y'],
        [z, 'z'],
      ]);
      h.env.split([h.env.key('replica_y1')]);
      const leader = store('z1');
      for (const k of [x, z]) expect(regionOf(k).leader.storeId).toBe(leader);
      const ts = await h.reader.currentTimestamp();
      // The reader learns both regions first (a read of the old region would be retried).
      await h.reader.snapshot(ts).batchGet([x, y, z]);
      // A hit on a follower's zone, a hit on the leader's zone, a miss (leader read).
      for (const zone of ['z2', 'z1', undefined]) {
        const counts: number[] = [];
        const snap = h.reader.snapshot(ts, {
          replicaRead: 'mixed',
          replicaReadAdjuster: (n) => {
            counts.push(n);
            return zone === undefined
              ? { replicaRead: 'leader' }
              : { replicaRead: 'mixed', matchStoreLabels: [{ key: 'zone', value: zone }] };
          },
        });
        const mark = h.sent.length;
        expect(text(await snap.get(x))).toBe('x');
        expect((await snap.batchGet([y, z])).map(text)).toEqual(['y', 'z']);
        // One Get, and a BatchGet per region: y and z are on either side of the split.
        expect(counts).toEqual([1, 1, 1]);
        const reads = since(mark);
        expect(reads.map((r) => r.command).sort()).toEqual(['BatchGet', 'BatchGet', 'Get']);
        for (const r of reads) {
          expect(r.regionError).toBeUndefined();
          expect(r.store).toBe(zone === undefined ? leader : store(zone));
          // A read the leader serves is no replica read (no read index on the leader).
          expect(r.replicaRead).toBe(zone !== undefined && r.store !== leader);
        }
      }
    },
  );

  embeddedTest('labels select the store that serves a replica read', async () => {
    const key = h.env.key('labels');
    const ts = await twoVersions(key, 'z-old', 'z-new');
    const leader = regionOf(key).leader.storeId;
    for (const zone of [...ZONES, LEARNER_ZONE]) {
      const mark = h.sent.length;
      for (let i = 0; i < 3; i++) {
        const snap = h.reader.snapshot(ts, { replicaRead: 'mixed', labels: [{ key: 'zone', value: zone }] });
        await readAll(snap, key, 'z-old');
      }
      for (const r of since(mark)) {
        expect(r.store).toBe(store(zone));
        expect(r.replicaRead).toBe(store(zone) !== leader);
      }
    }
    // A follower read with the labels of a follower's store.
    const mark = h.sent.length;
    await readAll(
      h.reader.snapshot(ts, { replicaRead: 'follower', labels: [{ key: 'zone', value: 'z3' }] }),
      key,
      'z-old',
    );
    expect(new Set(since(mark).map((r) => r.store))).toEqual(new Set([store('z3')]));
  });

  embeddedTest(
    'busyThresholdMs: a busy leader sends the read to a follower, a busy follower to another',
    async () => {
      const key = h.env.key('busy');
      const ts = await twoVersions(key, 'b1', 'b2');
      const leader = regionOf(key).leader.storeId;
      const snap = () => h.reader.snapshot(ts, { busyThresholdMs: 50 });
      // The leader's queue is longer than the threshold: the read goes to an idle follower.
      mock().inject({ method: 'KvGet', storeId: leader, times: 1, error: busy(500) });
      let mark = h.sent.length;
      expect(text(await snap().get(key))).toBe('b1');
      let reads = since(mark);
      expect(reads.map((r) => [r.store === leader, r.busyThresholdMs, r.replicaRead, r.regionError])).toEqual(
        [
          [true, 50, false, 'serverIsBusy'],
          [false, 50, true, undefined],
        ],
      );
      // The leader and one follower are busy: the read ends on another follower. (A new reader: this
      // one remembers the leader's queue for half a second and would not ask it.)
      await h.renewReader();
      const z2 = store('z2');
      mock().inject({ method: 'KvGet', storeId: leader, times: 1, error: busy(500) });
      mock().inject({ method: 'KvGet', storeId: z2, times: 1, error: busy(500) });
      mark = h.sent.length;
      expect(text(await snap().get(key))).toBe('b1');
      reads = since(mark);
      expect(reads[0]).toMatchObject({ store: leader, regionError: 'serverIsBusy' });
      // z2 answers busy if the reader happened to pick it first.
      for (const r of reads.slice(1, -1)) expect(r).toMatchObject({ store: z2, regionError: 'serverIsBusy' });
      const last = reads[reads.length - 1];
      expect(last?.regionError).toBeUndefined();
      expect([leader, z2]).not.toContain(last?.store);
      expect(last?.replicaRead).toBe(true);
      // Every replica is busy: the read falls back to the leader, without the threshold.
      await h.renewReader();
      for (const id of zoneStore.values())
        mock().inject({ method: 'KvGet', storeId: id, times: 1, error: busy(500) });
      mark = h.sent.length;
      expect(text(await snap().get(key))).toBe('b1');
      reads = since(mark);
      expect(reads).toHaveLength(5);
      expect(new Set(reads.slice(0, 4).map((r) => r.store))).toEqual(new Set(zoneStore.values()));
      expect(reads[4]).toMatchObject({
        store: leader,
        busyThresholdMs: 0,
        replicaRead: false,
        regionError: undefined,
      });
    },
  );
});
