// Reads with commit ts (client-go `kv.WithReturnCommitTS()`): `getEntry` / `batchGetEntries` of
// snapshots and of optimistic, pessimistic and pipelined transactions, the snapshot cache's
// commit ts, and the check that a value asked with its commit ts came with one (client-go
// `checkCommitTSRequired`), against the embedded mock cluster. An interceptor takes the commit
// ts out of the answers while `strip` is set, as a TiKV without `need_commit_ts` would.
import { type ExecDetails, isTiKVError } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { TransactionClient, type TransactionClientOptions, type ValueEntry } from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const k = (s: string): Uint8Array => enc.encode(s);
const view = (e: ValueEntry | undefined) =>
  e === undefined ? undefined : { value: dec.decode(e.value), commitTs: e.commitTs };

type Interceptor = NonNullable<NonNullable<TransactionClientOptions['sender']>['interceptors']>[number];

let cluster: MockCluster;
let client: TransactionClient;
let strip = false;
let sentGets = 0;
let committedAt = 0n;

const stripper: Interceptor = {
  name: 'strip-commit-ts',
  wrap: (next) => async (address, request, o) => {
    if (request.$case === 'Get' || request.$case === 'BatchGet') {
      if (request.value.needCommitTs) sentGets++;
    }
    const resp = await next(address, request, o);
    if (!strip) return resp;
    if (resp.$case === 'Get') return { ...resp, value: { ...resp.value, commitTs: 0n } };
    if (resp.$case === 'BatchGet') {
      return {
        ...resp,
        value: { ...resp.value, pairs: resp.value.pairs.map((p) => ({ ...p, commitTs: 0n })) },
      };
    }
    return resp;
  },
};

beforeAll(async () => {
  cluster = await MockCluster.start({ regionKeyEncoding: 'memcomparable' });
  cluster.split([k('m')]);
  client = await TransactionClient.connect({
    pdEndpoints: cluster.pdEndpoints,
    sender: { interceptors: [stripper] },
  });
  const txn = await client.begin();
  for (const name of ['a', 'b', 'n', 'z']) txn.put(name, `v${name}`);
  committedAt = await txn.commit();
});

afterAll(async () => {
  await client.close();
  await cluster.close();
});

afterEach(() => {
  strip = false;
});

async function missing(read: Promise<unknown>): Promise<void> {
  const err = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTiKVError(err, 'NOT_SUPPORTED')).toBe(true);
}

describe('Snapshot', () => {
  test('entries across regions carry the commit ts; the cache keeps it', async () => {
    const snap = client.snapshot(await client.currentTimestamp());
    const sent = sentGets;
    expect((await snap.batchGetEntries([k('z'), k('a'), k('x'), k('a')])).map(view)).toEqual([
      { value: 'vz', commitTs: committedAt },
      { value: 'va', commitTs: committedAt },
      undefined,
      { value: 'va', commitTs: committedAt },
    ]);
    expect(view(await snap.getEntry(k('n')))).toEqual({ value: 'vn', commitTs: committedAt });
    expect(await snap.getEntry(k('y'))).toBeUndefined();
    expect(sentGets - sent).toBe(4); // a batch per region, a point get each for n and y
    // All cached now, with their commit ts: nothing is sent, even when TiKV would leave it out.
    strip = true;
    const hits = snap.cacheHits;
    expect((await snap.batchGetEntries([k('a'), k('x'), k('z')])).map((e) => e?.commitTs)).toEqual([
      committedAt,
      undefined,
      committedAt,
    ]);
    expect(view(await snap.getEntry(k('n')))).toEqual({ value: 'vn', commitTs: committedAt });
    expect(await snap.getEntry(k('y'))).toBeUndefined();
    expect(snap.cacheHits - hits).toBe(5);
    expect(sentGets - sent).toBe(4);
    // The plain reads use the same entries.
    expect(dec.decode(await snap.get(k('a')))).toBe('va');
  });

  test('a value cached without its commit ts is read again; a missing commit ts throws', async () => {
    const snap = client.snapshot(await client.currentTimestamp());
    await snap.batchGet([k('a'), k('b')]);
    await snap.get(k('n'));
    const sent = sentGets;
    expect(view(await snap.getEntry(k('n')))).toEqual({ value: 'vn', commitTs: committedAt });
    expect((await snap.batchGetEntries([k('a')])).map(view)).toEqual([
      { value: 'va', commitTs: committedAt },
    ]);
    expect(sentGets - sent).toBe(2);
    strip = true;
    await missing(snap.batchGetEntries([k('a'), k('b')]));
    await missing(snap.getEntry(k('z')));
    // The values were still cached, for the plain reads.
    const hits = snap.cacheHits;
    expect(dec.decode(await snap.get(k('z')))).toBe('vz');
    expect((await snap.batchGet([k('b')])).map((v) => dec.decode(v))).toEqual(['vb']);
    expect(snap.cacheHits - hits).toBe(2);
  });

  test('the execution details of reads with commit ts', async () => {
    const snap = client.snapshot(await client.currentTimestamp());
    const got: ExecDetails[] = [];
    await snap.getEntry(k('a'), { onDetails: (d) => got.push(d) });
    await snap.batchGetEntries([k('b'), k('z')], { onDetails: (d) => got.push(d) });
    expect(got.map((d) => Object.keys(d.rpcByCommand))).toEqual([['Get'], ['BatchGet']]);
  });
});

describe('Transaction', () => {
  test("own writes have commit ts 0n, deletes hide, the rest is the snapshot's", async () => {
    const txn = await client.begin();
    txn.put('a', 'mine');
    txn.delete('b');
    expect(view(await txn.getEntry('a'))).toEqual({ value: 'mine', commitTs: 0n });
    expect(await txn.getEntry('b')).toBeUndefined();
    const got: ExecDetails[] = [];
    expect(view(await txn.getEntry('n', { onDetails: (d) => got.push(d) }))).toEqual({
      value: 'vn',
      commitTs: committedAt,
    });
    expect(
      (await txn.batchGetEntries(['a', 'b', 'z', 'q'], { onDetails: (d) => got.push(d) })).map(view),
    ).toEqual([
      { value: 'mine', commitTs: 0n },
      undefined,
      { value: 'vz', commitTs: committedAt },
      undefined,
    ]);
    expect(got).toHaveLength(2);
    strip = true;
    txn.snapshot.cleanCache([k('z')]);
    await missing(txn.getEntry('z'));
    await missing(txn.batchGetEntries(['a', 'z']));
    await txn.rollback();
  });

  test('pessimistic: the values lockKeys returned are not entries; the snapshot answers', async () => {
    const txn = await client.begin({ pessimistic: true });
    await txn.lockKeys([k('a'), k('z')], { forUpdateTs: txn.startTs, returnValues: true });
    const sent = sentGets;
    expect(view(await txn.getEntry('a'))).toEqual({ value: 'va', commitTs: committedAt });
    expect((await txn.batchGetEntries(['z', 'n'])).map(view)).toEqual([
      { value: 'vz', commitTs: committedAt },
      { value: 'vn', commitTs: committedAt },
    ]);
    expect(sentGets - sent).toBe(2); // z and n share a region
    // The plain reads use the locked values.
    expect(dec.decode(await txn.get('a'))).toBe('va');
    await txn.rollback();
  });

  test('pipelined: own writes, buffered or flushed, have commit ts 0n', async () => {
    strip = true;
    const txn = await client.begin({ pipelined: true });
    try {
      txn.put('f1', 'flushed');
      expect(await txn.flush({ force: true })).toBe(true);
      await txn.flushWait();
      txn.put('f2', 'buffered');
      expect(view(await txn.getEntry('f1'))).toEqual({ value: 'flushed', commitTs: 0n });
      expect((await txn.batchGetEntries(['f2', 'f1', 'f3'])).map(view)).toEqual([
        { value: 'buffered', commitTs: 0n },
        { value: 'flushed', commitTs: 0n },
        undefined,
      ]);
      strip = false;
      expect(view(await txn.getEntry('a'))).toEqual({ value: 'va', commitTs: committedAt });
      expect((await txn.batchGetEntries(['f1', 'z'])).map(view)).toEqual([
        { value: 'flushed', commitTs: 0n },
        { value: 'vz', commitTs: committedAt },
      ]);
      txn.delete('f2');
      expect(await txn.getEntry('f2')).toBeUndefined();
      expect(await txn.batchGetEntries(['f2'])).toEqual([undefined]);
    } finally {
      await txn.rollback();
      await txn.whenCommitSettled();
    }
  });
});
