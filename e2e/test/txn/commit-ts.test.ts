// Ports of client-go's reads with `kv.WithReturnCommitTS()` through the public API
// (`getEntry` / `batchGetEntries`): integration_tests/snapshot_test.go
// TestGetAndBatchGetWithReturnCommitTS, and snapshot_fail_test.go TestCommitTSRequiredAssertion.
// client-go's "checkCommitTSRequired-force-commit-ts-zero" failpoint pretends a read returned no
// commit ts; here a second client's interceptor takes the commit ts out of the Get and BatchGet
// answers, which is what a TiKV that ignores `need_commit_ts` would send.
import { isTiKVError } from '@tikv/common';
import type { Snapshot, ValueEntry } from '@tikv/txn';
import {
  connectSpy,
  putAll,
  type SentResponse,
  type SpyClient,
  startTxnEnv,
  type TxnEnv,
  text,
  txnModes,
} from './txn-env.js';

/** An answer as a TiKV without `need_commit_ts` sends it: no commit ts on the values. */
function withoutCommitTs(resp: SentResponse): SentResponse {
  if (resp.$case === 'Get') return { ...resp, value: { ...resp.value, commitTs: 0n } };
  if (resp.$case === 'BatchGet') {
    return {
      ...resp,
      value: { ...resp.value, pairs: resp.value.pairs.map((p) => ({ ...p, commitTs: 0n })) },
    };
  }
  return resp;
}

const entryText = (e: ValueEntry | undefined) =>
  e === undefined ? undefined : { value: text(e.value), commitTs: e.commitTs };

/** Rejects with the assertion's error: a value whose commit ts was asked for came without one. */
async function expectCommitTsMissing(read: Promise<unknown>): Promise<void> {
  const err = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTiKVError(err, 'NOT_SUPPORTED')).toBe(true);
  expect((err as Error).message).toContain('commit timestamp is required but not returned');
}

describe.each(txnModes())('commit ts reads (%s)', (_, mode) => {
  let env: TxnEnv;
  /** A client whose Get / BatchGet answers lose their commit ts while `strip` is set. */
  let spy: SpyClient;
  let strip = false;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'committs');
    spy = await connectSpy(env, {
      around: async (_request, send) => {
        const resp = await send();
        return strip ? withoutCommitTs(resp) : resp;
      },
    });
  });
  afterAll(async () => {
    await spy?.close();
    await env?.close();
  });
  afterEach(() => {
    strip = false;
  });

  test('TestGetAndBatchGetWithReturnCommitTS (snapshot_test.go): values with the commit ts of their writer', async () => {
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((s) => env.key(`return_ts_${s}`)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const { commitTs } = await putAll(env.client, [
      [a, 'a1'],
      [b, 'b1'],
      [c, 'c1'],
    ]);
    expect(commitTs).toBeGreaterThan(0n);

    const txn = await spy.client.begin();
    const snapshot = txn.snapshot;
    const sentBefore = spy.requests.length;
    const entries = await snapshot.batchGetEntries([a, b, d]);
    expect(entries.map(entryText)).toEqual([{ value: 'a1', commitTs }, { value: 'b1', commitTs }, undefined]);
    expect(entryText(await snapshot.getEntry(c))).toEqual({ value: 'c1', commitTs });
    expect(await snapshot.getEntry(e)).toBeUndefined();
    // Every read asked TiKV for the commit ts.
    const sent = spy.requests.slice(sentBefore);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const r of sent) {
      if (r.$case !== 'Get' && r.$case !== 'BatchGet') throw new Error(`unexpected ${r.$case}`);
      expect(r.value.needCommitTs).toBe(true);
    }

    // Through the transaction: its own writes are not committed (commit ts 0n), a delete hides
    // the committed value, the rest is the snapshot's (client-go's membuffer entries).
    txn.put(a, 'mine');
    txn.delete(b);
    expect(entryText(await txn.getEntry(a))).toEqual({ value: 'mine', commitTs: 0n });
    expect(await txn.getEntry(b)).toBeUndefined();
    expect(entryText(await txn.getEntry(c))).toEqual({ value: 'c1', commitTs });
    expect((await txn.batchGetEntries([a, b, c, d])).map(entryText)).toEqual([
      { value: 'mine', commitTs: 0n },
      undefined,
      { value: 'c1', commitTs },
      undefined,
    ]);
    // A plain read after them is answered by the cache, without the commit ts.
    expect(text(await snapshot.get(c))).toBe('c1');
    await txn.rollback();
  });

  describe('TestCommitTSRequiredAssertion (snapshot_fail_test.go)', () => {
    const k = (n: number) => env.key(`assert_k${n}`);
    beforeAll(async () => {
      await putAll(
        env.client,
        [1, 2, 3, 4, 5].map((n) => [k(n), `v${n}`] as const),
      );
    });

    /** Runs `body` on the snapshot of a fresh transaction of the spy client, then rolls back. */
    async function withSnapshot(body: (snapshot: Snapshot) => Promise<void>): Promise<void> {
      const txn = await spy.client.begin();
      try {
        await body(txn.snapshot);
      } finally {
        await txn.rollback();
      }
    }

    test('TestCommitTSRequiredAssertion: no_return_commit_ts_get_snapshot_and_cache', async () => {
      await withSnapshot(async (snapshot) => {
        strip = true;
        const hits = snapshot.cacheHits;
        expect(text(await snapshot.get(k(5)))).toBe('v5');
        expect(text(await snapshot.get(k(5)))).toBe('v5');
        expect(snapshot.cacheHits).toBeGreaterThanOrEqual(hits + 1);
      });
    });

    test('TestCommitTSRequiredAssertion: no_return_commit_ts_batchget_snapshot_and_cache', async () => {
      await withSnapshot(async (snapshot) => {
        strip = true;
        const hits = snapshot.cacheHits;
        expect((await snapshot.batchGet([k(4)])).map(text)).toEqual(['v4']);
        expect((await snapshot.batchGet([k(4)])).map(text)).toEqual(['v4']);
        expect(snapshot.cacheHits).toBeGreaterThanOrEqual(hits + 1);
      });
    });

    // client-go forces the check to fail on a cache hit. Here the cache keeps a commit ts only
    // when TiKV returned one, so the check is seen from both sides: a value cached with its
    // commit ts answers without a read even when TiKV would now leave it out, and a value cached
    // without one is read again and then fails.
    test('TestCommitTSRequiredAssertion: return_commit_ts_get_cache_read_must_error', async () => {
      await withSnapshot(async (snapshot) => {
        const first = await snapshot.getEntry(k(1));
        expect(first?.commitTs).toBeGreaterThan(0n);
        strip = true;
        const hits = snapshot.cacheHits;
        const sent = spy.requests.length;
        expect(await snapshot.getEntry(k(1))).toEqual(first);
        expect(snapshot.cacheHits).toBe(hits + 1);
        expect(spy.requests.length).toBe(sent);
      });
      await withSnapshot(async (snapshot) => {
        expect(text(await snapshot.get(k(1)))).toBe('v1');
        strip = true;
        const hits = snapshot.cacheHits;
        await expectCommitTsMissing(snapshot.getEntry(k(1)));
        expect(snapshot.cacheHits).toBe(hits);
        // The value itself is still cached for the reads that do not ask for the commit ts.
        expect(text(await snapshot.get(k(1)))).toBe('v1');
        expect(snapshot.cacheHits).toBe(hits + 1);
      });
    });

    test('TestCommitTSRequiredAssertion: return_commit_ts_get_snapshot_read_must_error', async () => {
      await withSnapshot(async (snapshot) => {
        strip = true;
        await expectCommitTsMissing(snapshot.getEntry(k(3)));
      });
      // Through a transaction too.
      const txn = await spy.client.begin();
      strip = true;
      await expectCommitTsMissing(txn.getEntry(k(3)));
      await txn.rollback();
    });

    test('TestCommitTSRequiredAssertion: return_commit_ts_batchget_cache_read_must_error', async () => {
      await withSnapshot(async (snapshot) => {
        const first = await snapshot.batchGetEntries([k(2)]);
        expect(first).toHaveLength(1);
        expect(first[0]?.commitTs).toBeGreaterThan(0n);
        strip = true;
        const hits = snapshot.cacheHits;
        const sent = spy.requests.length;
        expect(await snapshot.batchGetEntries([k(2)])).toEqual(first);
        expect(snapshot.cacheHits).toBe(hits + 1);
        expect(spy.requests.length).toBe(sent);
      });
      await withSnapshot(async (snapshot) => {
        expect((await snapshot.batchGet([k(2)])).map(text)).toEqual(['v2']);
        strip = true;
        const hits = snapshot.cacheHits;
        await expectCommitTsMissing(snapshot.batchGetEntries([k(2)]));
        expect(snapshot.cacheHits).toBe(hits);
      });
    });

    test('TestCommitTSRequiredAssertion: return_commit_ts_batchget_snapshot_read_must_error', async () => {
      await withSnapshot(async (snapshot) => {
        strip = true;
        await expectCommitTsMissing(snapshot.batchGetEntries([k(4)]));
        // An absent key has no commit ts to miss.
        expect(await snapshot.batchGetEntries([k(99)])).toEqual([undefined]);
      });
      const txn = await spy.client.begin();
      strip = true;
      await expectCommitTsMissing(txn.batchGetEntries([k(4), k(5)]));
      await txn.rollback();
    });

    test('TestCommitTSRequiredAssertion: batchget_buffer_tier_not_affected', async () => {
      strip = true;
      const txn = await spy.client.begin({ pipelined: true });
      try {
        const bufk = env.key('assert_bufk');
        txn.put(bufk, 'bufv');
        expect(await txn.flush({ force: true })).toBe(true);
        await txn.flushWait();
        // Read back from the flushed locks (KvBufferBatchGet): the transaction's own write has
        // no commit ts, and that is not the assertion's business.
        const reads = spy.sent('BufferBatchGet').length;
        expect((await txn.batchGetEntries([bufk])).map(entryText)).toEqual([{ value: 'bufv', commitTs: 0n }]);
        expect(entryText(await txn.getEntry(bufk))).toEqual({ value: 'bufv', commitTs: 0n });
        expect(spy.sent('BufferBatchGet').length).toBeGreaterThan(reads);
      } finally {
        await txn.rollback();
        await txn.whenCommitSettled();
      }
    });
  });
});
