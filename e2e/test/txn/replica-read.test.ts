// Replica reads and stale reads end to end: what client-go's txnsnapshot/snapshot.go and
// internal/locate/replica_selector.go do for a snapshot's reads, checked against the stores that
// really served them. The embedded cluster has three labelled stores (zone z1..z3, every region
// led from z1) and a learner store (zone z4); an RPC interceptor of the reading client records
// where each request went, what its context asked for and the region error it got back.
// The mock's resolved ts follows its clock (held below the oldest lock, trailing it by
// `setResolvedTsLagMs`), and the suite's clock only moves forward when a case moves it.
import { PeerRole, type RegionInfo } from '@tikv/mock-cluster';
import { type Snapshot, TransactionClient, TwoPhaseCommitter } from '@tikv/txn';
import { embedded, embeddedTest, putAll, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

type ConnectOptions = Parameters<typeof TransactionClient.connect>[0];
type Interceptor = NonNullable<NonNullable<ConnectOptions['sender']>['interceptors']>[number];

/** One read request as the store got it, and how it was answered. */
interface Sent {
  readonly address: string;
  readonly command: string;
  readonly replicaRead: boolean;
  readonly staleRead: boolean;
  readonly busyThresholdMs: number;
  /** The region error's kind (`dataIsNotReady`, `serverIsBusy`, `notLeader`...), if any. */
  readonly regionError: string | undefined;
}

interface ReadContext {
  readonly replicaRead?: boolean;
  readonly staleRead?: boolean;
  readonly busyThresholdMs?: number;
}

const READS = new Set(['Get', 'BatchGet', 'Scan']);
const ZONES = ['z1', 'z2', 'z3'] as const;
const LEARNER_ZONE = 'z4';

/** The arm of a region error that is set. */
function regionErrorKind(err: Record<string, unknown> | undefined): string | undefined {
  if (err === undefined) return undefined;
  return Object.entries(err).find(([k, v]) => k !== 'message' && v !== undefined)?.[0] ?? 'other';
}

const busy = (estimatedWaitMs: number) => ({
  regionError: {
    message: 'server is busy',
    serverIsBusy: { reason: 'estimated wait time exceeds the threshold', estimatedWaitMs },
  },
});

describe.each(txnModes())('replica and stale reads (%s)', (_, mode) => {
  let env: TxnEnv;
  let reader: TransactionClient;
  /** How far the embedded cluster's clock is ahead of the system clock. */
  let clockOffsetMs = 0;
  const sent: Sent[] = [];
  /** Store id by zone label (embedded). */
  const zoneStore = new Map<string, bigint>();

  const recorder: Interceptor = {
    name: 'replica-read-recorder',
    wrap: (next) => async (address, request, options) => {
      const ctx = (request.value as { context?: ReadContext }).context;
      const record = (regionError: string | undefined): void => {
        if (!READS.has(request.$case)) return;
        sent.push({
          address,
          command: request.$case,
          replicaRead: ctx?.replicaRead === true,
          staleRead: ctx?.staleRead === true,
          busyThresholdMs: ctx?.busyThresholdMs ?? 0,
          regionError,
        });
      };
      try {
        const resp = await next(address, request, options);
        record(regionErrorKind((resp.value as { regionError?: Record<string, unknown> }).regionError));
        return resp;
      } catch (e) {
        record('rpc failure');
        throw e;
      }
    },
  };

  beforeAll(async () => {
    env = await startTxnEnv(mode, 'replica_read', {
      storeLabels: ZONES.map((zone) => ({ zone })),
      nowMs: () => Date.now() + clockOffsetMs,
    });
    const mock = env.target.mock;
    if (mock !== undefined) {
      for (const s of mock.stores()) zoneStore.set(s.labels.zone ?? '', s.id);
      // A learner on a store of its own, in every region (before the reader loads any region).
      const learner = await mock.addStore({ labels: { zone: LEARNER_ZONE } });
      zoneStore.set(LEARNER_ZONE, learner.id);
      for (const r of mock.regions()) mock.addPeer(r.id, learner.id, PeerRole.Learner);
    }
  });
  // A reader of its own for each case: what one case teaches a client about the stores (a slow
  // store, a busy one's queue) must not steer the next case's reads.
  const connectReader = async (): Promise<void> => {
    reader = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      sender: { interceptors: [recorder] },
    });
  };
  beforeEach(connectReader);
  afterEach(async () => {
    env.target.mock?.clearFaults();
    env.target.mock?.setResolvedTsLagMs(0);
    await reader?.close();
  });
  afterAll(async () => {
    await env?.close();
  });

  const mock = () => {
    const m = env.target.mock;
    if (m === undefined) throw new Error('this case needs the embedded cluster');
    return m;
  };
  /** The store listening on an address. */
  const storeOf = (address: string): bigint | undefined =>
    mock()
      .stores()
      .find((s) => s.address === address)?.id;
  const store = (zone: string): bigint => {
    const id = zoneStore.get(zone);
    if (id === undefined) throw new Error(`no store in zone ${zone}`);
    return id;
  };
  const regionOf = (key: Uint8Array): RegionInfo => mock().regionByKey(env.storageKey(key));
  /** The records since `mark`, with the serving store's id. */
  const since = (mark: number) => sent.slice(mark).map((s) => ({ ...s, store: storeOf(s.address) }));
  /** Moves the embedded cluster's clock (TSO, resolved ts) forward. */
  const advanceClock = (ms: number): void => {
    clockOffsetMs += ms;
  };

  /** Writes `key` = `before`, takes a ts, writes `key` = `after`; returns the ts. */
  async function twoVersions(key: Uint8Array, before: string, after: string): Promise<bigint> {
    await putAll(env.client, [[key, before]]);
    const ts = await env.client.currentTimestamp();
    await putAll(env.client, [[key, after]]);
    return ts;
  }

  /** A get, a batch get and a scan of `key` through `snap`; every one must see `want`. */
  async function readAll(snap: Snapshot, key: Uint8Array, want: string): Promise<void> {
    expect(text(await snap.get(key))).toBe(want);
    snap.cleanCache([key]);
    const [got] = await snap.batchGet([key]);
    expect(text(got)).toBe(want);
    snap.cleanCache([key]);
    const pairs = await snap.scan(key, env.end, { limit: 1 });
    expect(pairs.map((p) => text(p.value))).toEqual([want]);
  }

  test('replica and stale reads return what was committed before their ts', async () => {
    const key = env.key('any');
    const ts = await twoVersions(key, 'v1', 'v2');
    if (embedded) advanceClock(1_000);
    for (const replicaRead of ['follower', 'mixed', 'preferLeader'] as const) {
      await readAll(reader.snapshot(ts, { replicaRead }), key, 'v1');
    }
    await readAll(reader.snapshot(ts, { stale: true }), key, 'v1');
    await readAll(reader.snapshot(undefined, { replicaRead: 'follower' }), key, 'v2');
  });

  embeddedTest('follower reads are served by followers, never by the leader', async () => {
    const key = env.key('follower');
    const ts = await twoVersions(key, 'f1', 'f2');
    const leader = regionOf(key).leader.storeId;
    const mark = sent.length;
    for (let i = 0; i < 8; i++) await readAll(reader.snapshot(ts, { replicaRead: 'follower' }), key, 'f1');
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
    const key = env.key('stopped');
    await putAll(env.client, [[key, 's']]);
    const leader = regionOf(key).leader.storeId;
    const z2 = store('z2');
    await mock().stopStore(z2);
    try {
      const mark = sent.length;
      const snap = reader.snapshot(await reader.currentTimestamp(), {
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
    const key = env.key('learner');
    const ts = await twoVersions(key, 'l1', 'l2');
    const mark = sent.length;
    for (let i = 0; i < 4; i++) await readAll(reader.snapshot(ts, { replicaRead: 'learner' }), key, 'l1');
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
      const key = env.key('mixed');
      const ts = await twoVersions(key, 'm1', 'm2');
      const leader = regionOf(key).leader.storeId;
      const mark = sent.length;
      // Every replica scores the same: each read picks one at random (a miss of the leader in 80
      // reads over four replicas has a chance of 1e-10).
      for (let i = 0; i < 80; i++)
        expect(text(await reader.snapshot(ts, { replicaRead: 'mixed' }).get(key))).toBe('m1');
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
      const key = env.key('prefer');
      const ts = await twoVersions(key, 'p1', 'p2');
      const leader = regionOf(key).leader.storeId;
      let mark = sent.length;
      for (let i = 0; i < 10; i++)
        expect(text(await reader.snapshot(ts, { replicaRead: 'preferLeader' }).get(key))).toBe('p1');
      for (const r of since(mark)) {
        expect(r.store).toBe(leader);
        expect(r.replicaRead).toBe(false);
      }
      mark = sent.length;
      const fault = mock().inject({ method: 'KvGet', storeId: leader, times: 1, error: 'ServerIsBusy' });
      expect(text(await reader.snapshot(ts, { replicaRead: 'preferLeader' }).get(key))).toBe('p1');
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
      const [x, y, z] = ['replica_x', 'replica_y', 'replica_z'].map((n) => env.key(n)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      await putAll(env.client, [
        [x, 'x'],
        [y, 'y'],
        [z, 'z'],
      ]);
      env.split([env.key('replica_y1')]);
      const leader = store('z1');
      for (const k of [x, z]) expect(regionOf(k).leader.storeId).toBe(leader);
      const ts = await reader.currentTimestamp();
      // The reader learns both regions first (a read of the old region would be retried).
      await reader.snapshot(ts).batchGet([x, y, z]);
      // A hit on a follower's zone, a hit on the leader's zone, a miss (leader read).
      for (const zone of ['z2', 'z1', undefined]) {
        const counts: number[] = [];
        const snap = reader.snapshot(ts, {
          replicaRead: 'mixed',
          replicaReadAdjuster: (n) => {
            counts.push(n);
            return zone === undefined
              ? { replicaRead: 'leader' }
              : { replicaRead: 'mixed', matchStoreLabels: [{ key: 'zone', value: zone }] };
          },
        });
        const mark = sent.length;
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
    const key = env.key('labels');
    const ts = await twoVersions(key, 'z-old', 'z-new');
    const leader = regionOf(key).leader.storeId;
    for (const zone of [...ZONES, LEARNER_ZONE]) {
      const mark = sent.length;
      for (let i = 0; i < 3; i++) {
        const snap = reader.snapshot(ts, { replicaRead: 'mixed', labels: [{ key: 'zone', value: zone }] });
        await readAll(snap, key, 'z-old');
      }
      for (const r of since(mark)) {
        expect(r.store).toBe(store(zone));
        expect(r.replicaRead).toBe(store(zone) !== leader);
      }
    }
    // A follower read with the labels of a follower's store.
    const mark = sent.length;
    await readAll(
      reader.snapshot(ts, { replicaRead: 'follower', labels: [{ key: 'zone', value: 'z3' }] }),
      key,
      'z-old',
    );
    expect(new Set(since(mark).map((r) => r.store))).toEqual(new Set([store('z3')]));
  });

  embeddedTest('a stale read at a ts the replicas have caught up with is served by a follower', async () => {
    const key = env.key('stale');
    const ts = await twoVersions(key, 'old', 'new');
    advanceClock(1_000); // the safe ts (the clock, no lock held) passes ts
    const mark = sent.length;
    const snap = reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z2' }] });
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
      const key = env.key('safe');
      const locked = env.key('safe-locked');
      const { commitTs } = await putAll(env.client, [[key, 'before']]);
      const txn = await env.client.begin();
      txn.put(locked, 'pending');
      const committer = new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
        startTs: txn.startTs,
        lockResolver: env.client.lockResolver,
      });
      try {
        await committer.prewrite();
        advanceClock(1_000);
        const { minSafeTs, stores } = await reader.getMinSafeTs();
        expect(stores.map((s) => s.storeId).sort()).toEqual([...zoneStore.values()].sort());
        // Every store holds a peer of the locked key's region: none can be safe at the lock's ts.
        expect(minSafeTs).toBeLessThan(txn.startTs);
        expect(minSafeTs).toBeGreaterThanOrEqual(commitTs);
        const mark = sent.length;
        const snap = reader.snapshot(minSafeTs, { stale: true, labels: [{ key: 'zone', value: 'z3' }] });
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
      const key = env.key('bounded');
      await putAll(env.client, [[key, 'then']]);
      advanceClock(20_000);
      await putAll(env.client, [[key, 'now']]);
      await reader.currentTimestamp(); // the oracle's last ts, which the stale ts is taken from
      mock().setResolvedTsLagMs(5_000);
      let mark = sent.length;
      const back = reader.snapshot(undefined, {
        stale: { maxStalenessMs: 10_000 },
        labels: [{ key: 'zone', value: 'z2' }],
      });
      expect(text(await back.get(key))).toBe('then');
      expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
        [store('z2'), true, undefined],
      ]);
      // No staleness allowed: the follower has not caught up (the resolved ts trails by 5 s), the
      // leader serves the read as a leader read.
      mark = sent.length;
      const fresh = reader.snapshot(undefined, {
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
    const key = env.key('not-ready');
    const ts = await twoVersions(key, 'r1', 'r2');
    const leader = regionOf(key).leader.storeId;
    // The resolved ts trails the clock by a minute: no follower has caught up with ts.
    mock().setResolvedTsLagMs(60_000);
    let mark = sent.length;
    const snap = reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z3' }] });
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
    mark = sent.length;
    const [got] = await reader
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
      const key = env.key('stale-lock');
      await putAll(env.client, [[key, 'committed']]);
      const leader = regionOf(key).leader.storeId;
      const never = new TextEncoder().encode('never');
      /** The lock of a writer that crashed after its prewrite; TTL 1 ms, expired once the clock moves. */
      const strand = async (): Promise<void> => {
        mock().strandTransaction({
          keys: [env.storageKey(key)],
          value: never,
          startTs: await env.client.currentTimestamp(),
          lockTtlMs: 1,
        });
        advanceClock(1_000);
      };
      await strand();
      // Sent to the leader (its zone), which serves a stale read it has not caught up with as a
      // leader read and reports the lock; once resolved, the read goes again without staleness.
      let mark = sent.length;
      const atLeader = reader.snapshot(await reader.currentTimestamp(), {
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
      mark = sent.length;
      const atFollower = reader.snapshot(await reader.currentTimestamp(), {
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

  embeddedTest(
    'busyThresholdMs: a busy leader sends the read to a follower, a busy follower to another',
    async () => {
      const key = env.key('busy');
      const ts = await twoVersions(key, 'b1', 'b2');
      const leader = regionOf(key).leader.storeId;
      const snap = () => reader.snapshot(ts, { busyThresholdMs: 50 });
      // The leader's queue is longer than the threshold: the read goes to an idle follower.
      mock().inject({ method: 'KvGet', storeId: leader, times: 1, error: busy(500) });
      let mark = sent.length;
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
      await reader.close();
      await connectReader();
      const z2 = store('z2');
      mock().inject({ method: 'KvGet', storeId: leader, times: 1, error: busy(500) });
      mock().inject({ method: 'KvGet', storeId: z2, times: 1, error: busy(500) });
      mark = sent.length;
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
      await reader.close();
      await connectReader();
      for (const id of zoneStore.values())
        mock().inject({ method: 'KvGet', storeId: id, times: 1, error: busy(500) });
      mark = sent.length;
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

  embeddedTest('a stale read on a busy follower goes on at another replica', async () => {
    const key = env.key('stale-busy');
    const ts = await twoVersions(key, 'sb1', 'sb2');
    advanceClock(1_000);
    const fault = mock().inject({ method: 'KvGet', storeId: store('z2'), times: 1, error: busy(500) });
    const mark = sent.length;
    const snap = reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z2' }] });
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
      const key = env.key('moved');
      const ts = await twoVersions(key, 'c1', 'c2');
      advanceClock(1_000);
      const region = regionOf(key);
      const oldLeader = region.leader.storeId;
      const z2 = store('z2');
      // The reader learns the region (and its leader) first.
      expect(text(await reader.snapshot(ts).get(key))).toBe('c1');
      mock().transferLeader(region.id, z2);
      try {
        // The old leader is a follower now and serves the stale read as one.
        let mark = sent.length;
        const zone1 = reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z1' }] });
        expect(text(await zone1.get(key))).toBe('c1');
        expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
          [oldLeader, true, undefined],
        ]);
        // No follower has caught up: z3 answers DataIsNotReady, the cached leader NotLeader, the new
        // leader serves.
        mock().setResolvedTsLagMs(60_000);
        mark = sent.length;
        const zone3 = reader.snapshot(ts, { stale: true, labels: [{ key: 'zone', value: 'z3' }] });
        expect(text(await zone3.get(key))).toBe('c1');
        expect(since(mark).map((r) => [r.store, r.staleRead, r.regionError])).toEqual([
          [store('z3'), true, 'dataIsNotReady'],
          [oldLeader, false, 'notLeader'],
          [z2, false, undefined],
        ]);
        // The new leader serves a stale read it has not caught up with as a leader read.
        mark = sent.length;
        const zone2 = reader.snapshot(await reader.currentTimestamp(), {
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
