// Stale reads end to end: what client-go's txnsnapshot/snapshot.go and
// internal/locate/replica_selector.go do with a snapshot's stale reads: served by a follower that
// has caught up with the read ts, at the stores' min safe ts, with bounded staleness, falling back
// to the leader on DataIsNotReady or a lock, past a busy follower, and after a leader change;
// checked against the stores that really served each read (see replica-env.ts).
import { TwoPhaseCommitter } from '@tikv/txn';
import { busy, useReplicaEnv } from './replica-env.js';
import { embeddedTest, putAll, text, txnModes } from './txn-env.js';

describe.each(txnModes())('stale reads (%s)', (_, mode) => {
  const h = useReplicaEnv(mode, 'stale_read');
  const { advanceClock, mock, readAll, regionOf, since, store, twoVersions, zoneStore } = h;

  embeddedTest('a stale read at a ts the replicas have caught up with is served by a follower', async () => {
    const key = h.env.key('stale');
    const ts = await twoVersions(key, 'old', 'new');
    advanceClock(1_000); // the safe ts (the clock, no lock held) passes ts
    const mark = h.sent.length;
    const snap = h.reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z2' }] });
    expect(snap.options.staleRead).toBe(true);
    await readAll(snap, key, 'old');
    const reads = since(mark);
    expect(reads).toHaveLength(3);
    for (const r of reads) {
      expect(r.store).toBe(store('z2'));
      expect(r.staleRead).toBe(true);
      expect(r.replicaRead).toBe(false);
      expect(r.regionError).toBeUndefined();
    }
  });

  embeddedTest(
    "a stale read at the stores' min safe ts is served by a follower; a live lock holds it back",
    async () => {
      const key = h.env.key('safe');
      const locked = h.env.key('safe-locked');
      const { commitTs } = await putAll(h.env.client, [[key, 'before']]);
      const txn = await h.env.client.begin();
      txn.put(locked, 'pending');
      const committer = new TwoPhaseCommitter(h.env.client.parts, txn.memBuffer, {
        startTs: txn.startTs,
        lockResolver: h.env.client.lockResolver,
      });
      try {
        await committer.prewrite();
        advanceClock(1_000);
        const { minSafeTs, stores } = await h.reader.getMinSafeTs();
        expect(stores.map((s) => s.storeId).sort()).toEqual([...zoneStore.values()].sort());
        // Every store holds a peer of the locked key's region: none can be safe at the lock's ts.
        expect(minSafeTs).toBeLessThan(txn.startTs);
        expect(minSafeTs).toBeGreaterThanOrEqual(commitTs);
        const mark = h.sent.length;
        const snap = h.reader.snapshot(minSafeTs, { stale: true, labels: [{ key: 'zone', value: 'z3' }] });
        expect(text(await snap.get(key))).toBe('before');
        expect(await snap.get(locked)).toBeUndefined();
        for (const r of since(mark)) {
          expect(r.store).toBe(store('z3'));
          expect(r.staleRead).toBe(true);
          expect(r.regionError).toBeUndefined();
        }
      } finally {
        await committer.rollback();
        committer.close();
        await txn.rollback();
      }
    },
  );

  embeddedTest(
    'bounded staleness reads at a ts that far back, on a follower when it has caught up',
    async () => {
      const key = h.env.key('bounded');
      await putAll(h.env.client, [[key, 'then']]);
      advanceClock(20_000);
      await putAll(h.env.client, [[key, 'now']]);
      await h.reader.currentTimestamp(); // the oracle's last ts, which the stale ts is taken from
      mock().setResolvedTsLagMs(5_000);
      let mark = h.sent.length;
      const back = h.reader.snapshot(undefined, {
        stale: { maxStalenessMs: 10_000 },
        labels: [{ key: 'zone', value: 'z2' }],
      });
      expect(text(await back.get(key))).toBe('then');
      expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
        [store('z2'), true, undefined],
      ]);
      // No staleness allowed: the follower has not caught up (the resolved ts trails by 5 s), the
      // leader serves the read as a leader read.
      mark = h.sent.length;
      const fresh = h.reader.snapshot(undefined, {
        stale: { maxStalenessMs: 0 },
        labels: [{ key: 'zone', value: 'z2' }],
      });
      expect(text(await fresh.get(key))).toBe('now');
      const leader = regionOf(key).leader.storeId;
      expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
        [store('z2'), true, 'dataIsNotReady'],
        [leader, false, undefined],
      ]);
    },
  );

  embeddedTest('DataIsNotReady on a follower: the stale read goes on at the leader', async () => {
    const key = h.env.key('not-ready');
    const ts = await twoVersions(key, 'r1', 'r2');
    const leader = regionOf(key).leader.storeId;
    // The resolved ts trails the clock by a minute: no follower has caught up with ts.
    mock().setResolvedTsLagMs(60_000);
    let mark = h.sent.length;
    const snap = h.reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z3' }] });
    expect(text(await snap.get(key))).toBe('r1');
    expect(since(mark).map((r) => [r.store, r.staleRead, r.replicaRead, r.regionError])).toEqual([
      [store('z3'), true, false, 'dataIsNotReady'],
      [leader, false, false, undefined],
    ]);
    // The same with an injected DataIsNotReady, for a batch get.
    mock().setResolvedTsLagMs(0);
    advanceClock(1_000);
    const fault = mock().inject({
      method: 'KvBatchGet',
      storeId: store('z2'),
      times: 1,
      error: 'DataIsNotReady',
    });
    mark = h.sent.length;
    const [got] = await h.reader
      .snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z2' }] })
      .batchGet([key]);
    expect(text(got)).toBe('r1');
    expect(fault.hits).toBe(1);
    expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
      [store('z2'), true, 'dataIsNotReady'],
      [leader, false, undefined],
    ]);
  });

  embeddedTest(
    'a stale read that meets a lock resolves it, then reads at the leader without staleness',
    async () => {
      const key = h.env.key('stale-lock');
      await putAll(h.env.client, [[key, 'committed']]);
      const leader = regionOf(key).leader.storeId;
      const never = new TextEncoder().encode('never');
      /** The lock of a writer that crashed after its prewrite; TTL 1 ms, expired once the clock moves. */
      const strand = async (): Promise<void> => {
        mock().strandTransaction({
          keys: [h.env.storageKey(key)],
          value: never,
          startTs: await h.env.client.currentTimestamp(),
          lockTtlMs: 1,
        });
        advanceClock(1_000);
      };
      await strand();
      // Sent to the leader (its zone), which serves a stale read it has not caught up with as a
      // leader read and reports the lock; once resolved, the read goes again without staleness.
      let mark = h.sent.length;
      const atLeader = h.reader.snapshot(await h.reader.currentTimestamp(), {
        stale: true,
        labels: [{ key: 'zone', value: 'z1' }],
      });
      expect(text(await atLeader.get(key))).toBe('committed');
      expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
        [leader, true, undefined],
        [leader, false, undefined],
      ]);
      // On a follower the lock holds the safe ts back: DataIsNotReady, then the leader reads.
      await strand();
      mark = h.sent.length;
      const atFollower = h.reader.snapshot(await h.reader.currentTimestamp(), {
        stale: true,
        labels: [{ key: 'zone', value: 'z2' }],
      });
      expect(text(await atFollower.get(key))).toBe('committed');
      const reads = since(mark);
      expect(reads[0]).toMatchObject({ store: store('z2'), staleRead: true, regionError: 'dataIsNotReady' });
      expect(reads.length).toBeGreaterThan(1);
      for (const r of reads.slice(1))
        expect(r).toMatchObject({ store: leader, staleRead: false, regionError: undefined });
    },
  );

  embeddedTest('a stale read on a busy follower goes on at another replica', async () => {
    const key = h.env.key('stale-busy');
    const ts = await twoVersions(key, 'sb1', 'sb2');
    advanceClock(1_000);
    const fault = mock().inject({ method: 'KvGet', storeId: store('z2'), times: 1, error: busy(500) });
    const mark = h.sent.length;
    const snap = h.reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z2' }] });
    expect(text(await snap.get(key))).toBe('sb1');
    expect(fault.hits).toBe(1);
    const reads = since(mark);
    expect(reads[0]).toMatchObject({ store: store('z2'), staleRead: true, regionError: 'serverIsBusy' });
    expect(reads).toHaveLength(2);
    expect(reads[1]?.store).not.toBe(store('z2'));
    expect(reads[1]?.regionError).toBeUndefined();
  });

  embeddedTest(
    'stale reads after a leader change: followers serve, DataIsNotReady falls back to the new leader',
    async () => {
      const key = h.env.key('moved');
      const ts = await twoVersions(key, 'c1', 'c2');
      advanceClock(1_000);
      const region = regionOf(key);
      const oldLeader = region.leader.storeId;
      const z2 = store('z2');
      // The reader learns the region (and its leader) first.
      expect(text(await h.reader.snapshot(ts).get(key))).toBe('c1');
      mock().transferLeader(region.id, z2);
      try {
        // The old leader is a follower now and serves the stale read as one.
        let mark = h.sent.length;
        const zone1 = h.reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z1' }] });
        expect(text(await zone1.get(key))).toBe('c1');
        expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
          [oldLeader, true, undefined],
        ]);
        // No follower has caught up: z3 answers DataIsNotReady, the cached leader NotLeader, the new
        // leader serves.
        mock().setResolvedTsLagMs(60_000);
        mark = h.sent.length;
        const zone3 = h.reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z3' }] });
        expect(text(await zone3.get(key))).toBe('c1');
        expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
          [store('z3'), true, 'dataIsNotReady'],
          [oldLeader, false, 'notLeader'],
          [z2, false, undefined],
        ]);
        // The new leader serves a stale read it has not caught up with as a leader read.
        mark = h.sent.length;
        const zone2 = h.reader.snapshot(await h.reader.currentTimestamp(), {
          stale: true,
          labels: [{ key: 'zone', value: 'z2' }],
        });
        expect(text(await zone2.get(key))).toBe('c2');
        expect(since(mark).map((r) => [r.store, r.regionError])).toEqual([[z2, undefined]]);
      } finally {
        mock().transferLeader(region.id, oldLeader);
      }
    },
  );
});
