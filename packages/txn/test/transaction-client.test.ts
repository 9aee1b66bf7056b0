import {
  ClientClosedError,
  composeTs,
  InvalidArgumentError,
  TiKVError,
  UndeterminedError,
  WriteConflictError,
} from '@tikv/common';
import { keyspacePrefix, MockCluster } from '@tikv/mock-cluster';
import {
  CommitProtocol,
  isRetryableTxnError,
  type Transaction,
  TransactionClient,
  type TransactionClientTuning,
  TransactionState,
  TwoPhaseCommitter,
  TxnAbortedByGcError,
} from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const k = (s: string): Uint8Array => enc.encode(s);
const t = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : dec.decode(b));

interface Env {
  cluster: MockCluster;
  client: TransactionClient;
  split(...keys: string[]): void;
}

async function start(v2: boolean, tuning: TransactionClientTuning = {}): Promise<Env> {
  const cluster = await MockCluster.start(
    v2 ? { apiVersion: 'V2', keyspaces: [{ name: 'ks1' }] } : { regionKeyEncoding: 'memcomparable' },
  );
  try {
    const client = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      ...(v2 ? { apiVersion: 'V2' as const, keyspace: 'ks1' } : {}),
      ...tuning,
    });
    const id = cluster.keyspaces().find((s) => s.name === 'ks1')?.id;
    const prefix = v2 && id !== undefined ? keyspacePrefix('txn', id) : new Uint8Array(0);
    return {
      cluster,
      client,
      split: (...keys) => cluster.split(keys.map((s) => Buffer.concat([prefix, k(s)]))),
    };
  } catch (e) {
    await cluster.close();
    throw e;
  }
}

describe.each([
  ['API V1', false],
  ['API V2 keyspace', true],
])('TransactionClient (%s)', (_name, v2) => {
  let env: Env;
  beforeAll(async () => {
    env = await start(v2);
    env.split('b', 'm', 't');
  });
  afterAll(async () => {
    await env.client.close();
    await env.cluster.close();
  });

  it('commits buffered writes that a later transaction reads; reads see their own writes', async () => {
    const txn = await env.client.begin();
    expect(txn.startTs).toBeGreaterThan(0n);
    txn.put('a1', 'x');
    txn.put('n1', 'y');
    expect(t(await txn.get('a1'))).toBe('x');
    expect(txn.readOnly).toBe(false);
    expect(txn.len).toBe(2);
    const commitTs = await txn.commit();
    expect(commitTs).toBeGreaterThan(txn.startTs);
    expect(txn.state).toBe(TransactionState.COMMITTED);
    expect(txn.commitProtocol).toBe(CommitProtocol.TWO_PC);
    await txn.whenCommitSettled();
    const reader = await env.client.begin();
    expect((await reader.batchGet(['a1', 'n1', 'zz', 'a1'])).map(t)).toEqual(['x', 'y', undefined, 'x']);
    await reader.rollback();
  });

  it('a transaction that wrote nothing commits at 0n', async () => {
    const txn = await env.client.begin();
    expect(await txn.get('nothing')).toBeUndefined();
    expect(await txn.commit()).toBe(0n);
    expect(txn.commitProtocol).toBe(CommitProtocol.NONE);
  });

  it('deletes hide committed values in reads and remove them on commit', async () => {
    await env.client.run(async (txn) => {
      txn.put('del1', 'v');
      txn.put('del2', 'v');
    });
    const txn = await env.client.begin();
    txn.delete('del1');
    expect(await txn.get('del1')).toBeUndefined();
    expect((await txn.batchGet(['del1', 'del2'])).map(t)).toEqual([undefined, 'v']);
    await txn.commit();
    expect(await env.client.snapshot().get(k('del1'))).toBeUndefined();
  });

  it('scans merge the buffer over the snapshot across regions, both directions, with limit and keyOnly', async () => {
    await env.client.run(async (txn) => {
      for (const key of ['s-a', 's-c', 's-n', 's-u']) txn.put(key, `v${key}`);
    });
    env.split('s-d', 's-p');
    const txn = await env.client.begin();
    txn.put('s-b', 'buf');
    txn.delete('s-n');
    txn.put('s-u', 'new');
    const all = await txn.scan('s-', 's.');
    expect(all.map((p) => [t(p.key), t(p.value)])).toEqual([
      ['s-a', 'vs-a'],
      ['s-b', 'buf'],
      ['s-c', 'vs-c'],
      ['s-u', 'new'],
    ]);
    const rev = await txn.scan('s-', 's.', { reverse: true, limit: 3, keyOnly: true });
    expect(rev.map((p) => [t(p.key), p.value.length])).toEqual([
      ['s-u', 0],
      ['s-c', 0],
      ['s-b', 0],
    ]);
    const iterated: string[] = [];
    for await (const p of txn.scanIter('s-', 's.', { limit: 2 })) iterated.push(t(p.key)!);
    expect(iterated).toEqual(['s-a', 's-b']);
    await txn.rollback();
  });

  it('savepoints: cleanup undoes the writes since staging, release keeps them', async () => {
    const txn = await env.client.begin();
    txn.put('sp1', 'a');
    const h1 = txn.staging();
    txn.put('sp1', 'b');
    const h2 = txn.staging();
    txn.put('sp2', 'c');
    txn.cleanup(h2);
    expect(await txn.get('sp2')).toBeUndefined();
    txn.release(h1);
    expect(t(await txn.get('sp1'))).toBe('b');
    await txn.commit();
    expect(t(await env.client.snapshot().get(k('sp1')))).toBe('b');
  });

  it('a write conflict fails the later commit with a retryable WriteConflictError', async () => {
    const t1 = await env.client.begin();
    const t2 = await env.client.begin();
    t1.put('wc', '1');
    t2.put('wc', '2');
    await t1.commit();
    const err = await t2.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    expect(isRetryableTxnError(err)).toBe(true);
    expect(t2.state).toBe(TransactionState.FINISHED);
    expect(t(await env.client.snapshot().get(k('wc')))).toBe('1');
  });

  it('run retries a conflicting attempt in a new transaction and returns the result', async () => {
    let calls = 0;
    const result = await env.client.run(async (txn) => {
      calls++;
      const v = Number(t(await txn.get('counter')) ?? '0');
      if (calls === 1) {
        // Another writer commits the key between this attempt's read and its commit.
        await env.client.run(async (other) => other.put('counter', '100'));
      }
      txn.put('counter', String(v + 1));
      return v + 1;
    });
    expect(calls).toBe(2);
    expect(result).toBe(101);
    expect(t(await env.client.snapshot().get(k('counter')))).toBe('101');
  });

  it('run rethrows what is not retryable, after one attempt, and rolls the attempt back', async () => {
    let seen: Transaction | undefined;
    await expect(
      env.client.run(async (txn) => {
        seen = txn;
        txn.put('never', 'x');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(seen?.state).toBe(TransactionState.FINISHED);
    expect(await env.client.snapshot().get(k('never'))).toBeUndefined();
    expect(isRetryableTxnError(new UndeterminedError('x'))).toBe(false);
  });

  it('run gives up after maxAttempts', async () => {
    let calls = 0;
    const err = await env.client
      .run(
        async (txn) => {
          calls++;
          txn.put('hot', String(calls));
          await env.client.run(async (other) => other.put('hot', 'other'));
        },
        { maxAttempts: 3 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    expect(calls).toBe(3);
  });

  it('async commit and 1PC commit with their protocol', async () => {
    const a = await env.client.begin({ asyncCommit: true });
    a.put('ac1', 'x');
    a.put('ac2', 'y');
    await a.commit();
    expect(a.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    await a.whenCommitSettled();
    const o = await env.client.begin({ onePc: true });
    o.put('op1', 'x');
    await o.commit();
    expect(o.commitProtocol).toBe(CommitProtocol.ONE_PC);
    const snap = env.client.snapshot(await env.client.currentTimestamp());
    expect((await snap.batchGet([k('ac1'), k('ac2'), k('op1')])).map(t)).toEqual(['x', 'y', 'x']);
  });

  it('RC reads skip a live lock, reading the committed value; the writer still commits', async () => {
    await env.client.run(async (txn) => txn.put('iso', 'old'));
    const writer = await env.client.begin();
    writer.put('iso', 'new');
    const committer = new TwoPhaseCommitter(env.client.parts, writer.memBuffer, {
      startTs: writer.startTs,
      lockResolver: env.client.lockResolver,
    });
    await committer.prewrite();
    const rc = await env.client.begin({ isolation: 'RC' });
    expect(t(await rc.get('iso'))).toBe('old');
    expect(env.client.lockResolver.cachedStatus(writer.startTs)).toBeUndefined();
    await rc.rollback();
    const commitTs = await env.client.currentTimestamp();
    await committer.commit(commitTs);
    committer.close();
    expect(t(await env.client.snapshot().get(k('iso')))).toBe('new');
  });

  it('a snapshot at a ts reads what was committed before it', async () => {
    await env.client.run(async (txn) => txn.put('snap', 'v1'));
    const ts = await env.client.currentTimestamp();
    await env.client.run(async (txn) => txn.put('snap', 'v2'));
    expect(t(await env.client.snapshot(ts).get(k('snap')))).toBe('v1');
    expect(t(await env.client.snapshot().get(k('snap')))).toBe('v2');
  });

  it('a reader resolves the lock of a writer that crashed after prewrite', async () => {
    // The writer's start ts lies 10 s back: its locks (TTL 3 s) are already expired.
    const writer = await env.client.begin({ startTs: composeTs(Date.now() - 10_000, 0) });
    writer.put('crash1', 'lost');
    writer.put('crash2', 'lost');
    const committer = new TwoPhaseCommitter(env.client.parts, writer.memBuffer, {
      startTs: writer.startTs,
      lockResolver: env.client.lockResolver,
    });
    await committer.prewrite();
    committer.close();
    const reader = await env.client.begin();
    expect(await reader.batchGet(['crash1', 'crash2'])).toEqual([undefined, undefined]);
    await reader.rollback();
    // The locks are gone: a new writer commits the keys.
    await env.client.run(async (txn) => txn.put('crash1', 'ok'));
    expect(t(await env.client.snapshot().get(k('crash1')))).toBe('ok');
  });

  it('refuses use after commit or rollback, and bad input, with typed errors', async () => {
    const txn = await env.client.begin();
    expect(() => txn.put('', 'v')).toThrow(InvalidArgumentError);
    expect(() => txn.put('k', '')).toThrow(InvalidArgumentError);
    await expect(txn.scan('b', 'a')).rejects.toThrow(InvalidArgumentError);
    await txn.rollback();
    expect(() => txn.put('k', 'v')).toThrow(TiKVError);
    await expect(txn.get('k')).rejects.toMatchObject({ code: 'INVALID_TXN' });
    await expect(txn.commit()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    await expect(txn.rollback()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    await expect(env.client.begin({ startTs: 0n })).rejects.toThrow(InvalidArgumentError);
    await expect(env.client.begin({ isolation: 'XX' as 'SI' })).rejects.toThrow(InvalidArgumentError);
    await expect(env.client.run(async () => {}, { maxAttempts: 0 })).rejects.toThrow(InvalidArgumentError);
  });

  it('commit hooks: an upper-bound check and a checker veto the commit ts; onCommitted hears the outcome', async () => {
    const outcomes: { commitTs: bigint; error: unknown }[] = [];
    const vetoed = await env.client.begin({
      asyncCommit: true,
      onePc: true,
      commitTsUpperBoundCheck: () => false,
      onCommitted: (o) => outcomes.push(o),
    });
    vetoed.put('hook-1', 'x');
    await expect(vetoed.commit()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    const checked = await env.client.begin({
      commitTsChecker: (ts) => {
        throw new Error(`schema changed before ${ts}`);
      },
    });
    checked.put('hook-2', 'x');
    await expect(checked.commit()).rejects.toThrow('schema changed');
    // Both were rolled back: a new writer commits the keys at once.
    let seen = 0n;
    const ok = await env.client.begin({
      commitTsUpperBoundCheck: (ts) => {
        seen = ts;
        return true;
      },
      onCommitted: (o) => outcomes.push(o),
    });
    ok.put('hook-1', 'y');
    ok.put('hook-2', 'y');
    const ts = await ok.commit();
    expect(seen).toBe(ts);
    expect(ok.commitProtocol).toBe(CommitProtocol.TWO_PC);
    expect(outcomes.map((o) => [o.commitTs, o.error === undefined])).toEqual([
      [0n, false],
      [ts, true],
    ]);
  });

  it('await using rolls back an unfinished transaction', async () => {
    let held: Transaction | undefined;
    {
      await using txn = await env.client.begin();
      held = txn;
      txn.put('disposed', 'x');
    }
    expect(held.state).toBe(TransactionState.FINISHED);
  });
});

describe('TransactionClient local latches', () => {
  let env: Env;
  beforeAll(async () => {
    env = await start(false, { localLatchSlots: 1024 });
  });
  afterAll(async () => {
    await env.client.close();
    await env.cluster.close();
  });

  it('serializes this client commits of one key and fails the overtaken one before TiKV', async () => {
    expect(env.client.localLatches?.capacity).toBe(1024);
    const t1 = await env.client.begin();
    const t2 = await env.client.begin();
    t1.put('latched', '1');
    t2.put('latched', '2');
    const [r1, r2] = await Promise.allSettled([t1.commit(), t2.commit()]);
    expect(r1.status).toBe('fulfilled');
    expect(r2.status).toBe('rejected');
    const err = (r2 as PromiseRejectedResult).reason as WriteConflictError;
    expect(err).toBeInstanceOf(WriteConflictError);
    expect(err.conflictStartTs).toBe(0n);
    expect(env.client.localLatches?.entryCount).toBe(1);
  });

  it('transactions on different keys commit side by side', async () => {
    const txns = await Promise.all([1, 2, 3].map(() => env.client.begin()));
    for (const [i, txn] of txns.entries()) txn.put(`free${i}`, 'v');
    const ts = await Promise.all(txns.map((txn) => txn.commit()));
    expect(ts.every((x) => x > 0n)).toBe(true);
  });
});

describe('TransactionClient stale and replica reads', () => {
  let env: Env;
  beforeAll(async () => {
    env = await start(false);
  });
  afterAll(async () => {
    await env.client.close();
    await env.cluster.close();
  });

  it('a stale read at a ts sees what was committed before it; bounded staleness reads the past', async () => {
    await env.client.run(async (txn) => txn.put('stale', 'v1'));
    const ts = await env.client.currentTimestamp();
    await env.client.run(async (txn) => txn.put('stale', 'v2'));
    const snap = env.client.snapshot(ts, { stale: true });
    expect(snap.options.staleRead).toBe(true);
    expect(t(await snap.get(k('stale')))).toBe('v1');
    // A minute back, the key did not exist yet.
    const old = env.client.snapshot(undefined, { stale: { maxStalenessMs: 60_000 } });
    expect(old.ts).toBeLessThan(ts);
    expect(await old.get(k('stale'))).toBeUndefined();
    expect(() => env.client.snapshot(undefined, { stale: true })).toThrow(InvalidArgumentError);
    expect(() => env.client.snapshot(ts, { stale: { maxStalenessMs: 1 } })).toThrow(InvalidArgumentError);
    expect(() => env.client.snapshot(undefined, { stale: { maxStalenessMs: -1 } })).toThrow(
      InvalidArgumentError,
    );
  });

  it('follower and label-matched reads return the committed data', async () => {
    await env.client.run(async (txn) => txn.put('replica', 'r'));
    const ts = await env.client.currentTimestamp();
    for (const replicaRead of ['follower', 'mixed', 'preferLeader'] as const) {
      const snap = env.client.snapshot(ts, { replicaRead, labels: [] });
      expect(snap.options.replicaRead).toBe(replicaRead);
      expect(t(await snap.get(k('replica')))).toBe('r');
    }
  });
});

describe('TransactionClient GC, range tasks and administration', () => {
  let env: Env;
  beforeAll(async () => {
    env = await start(false);
  });
  afterAll(async () => {
    await env.client.close();
    await env.cluster.close();
  });

  it('deleteRange removes a range across regions; admin splits and describes regions', async () => {
    const { client } = env;
    await client.admin.splitRegions([k('dr-3'), k('dr-6')]);
    expect((await client.admin.getRegionByKey(k('dr-4')))?.startKey).toEqual(k('dr-3'));
    await client.run(async (txn) => {
      for (let i = 0; i < 9; i++) txn.put(`dr-${i}`, 'v');
    });
    const regions = await client.deleteRange(k('dr-'), k('dr.'), { concurrency: 2 });
    expect(regions).toBeGreaterThanOrEqual(3);
    expect(await client.snapshot().scan(k('dr-'), k('dr.'))).toEqual([]);
    const { minSafeTs, stores } = await client.getMinSafeTs();
    expect(stores.length).toBe(3);
    expect(minSafeTs).toBeGreaterThanOrEqual(0n);
  });

  it('gc resolves a crashed writer below the safe point, then reads below it are refused', async () => {
    const { client } = env;
    const writer = await client.begin({ startTs: composeTs(Date.now() - 10_000, 0) });
    writer.put('gc-lock', 'lost');
    const committer = new TwoPhaseCommitter(client.parts, writer.memBuffer, {
      startTs: writer.startTs,
      lockResolver: client.lockResolver,
    });
    await committer.prewrite();
    committer.close();
    const old = await client.begin();
    const safePoint = await client.currentTimestamp();
    const stats = await client.gcWithStats(safePoint, { concurrency: 2 });
    expect(stats.newSafePoint).toBe(safePoint);
    expect(stats.resolvedLocks).toBeGreaterThanOrEqual(1);
    expect(() => client.checkVisibility(old.startTs)).toThrow(TxnAbortedByGcError);
    await expect(old.get('gc-lock')).rejects.toThrow(TxnAbortedByGcError);
    expect(await client.snapshot().get(k('gc-lock'))).toBeUndefined();
    // PD refuses a safe point moving backwards.
    await expect(client.gc(safePoint - 1000n)).rejects.toMatchObject({ code: 'PD_ERROR' });
  });
});

describe('TransactionClient option defaults, resolved once', () => {
  let env: Env;
  beforeAll(async () => {
    env = await start(false, { commit: { asyncCommit: true }, snapshot: { maxCacheBytes: 0 } });
  });
  afterAll(async () => {
    await env.client.close();
    await env.cluster.close();
  });

  it('each begin gets the client defaults under its own switches, as many times as it begins', async () => {
    for (let i = 0; i < 2; i++) {
      const [a, b, c] = await Promise.all([
        env.client.begin(),
        env.client.begin({ asyncCommit: false }),
        env.client.begin({ onePc: true, asyncCommit: false }),
      ]);
      for (const [n, txn] of [a, b, c].entries()) txn?.put(`opt${i}-${n}`, 'v');
      await Promise.all([a, b, c].map((txn) => txn?.commit()));
      expect([a?.commitProtocol, b?.commitProtocol, c?.commitProtocol]).toEqual([
        'async-commit',
        '2pc',
        '1pc',
      ]);
    }
    // The snapshot defaults hold for a transaction's reads too: no cache.
    const txn = await env.client.begin();
    expect(t(await txn.get('opt0-0'))).toBe('v');
    expect(txn.snapshot.cacheSize).toBe(0);
    await txn.rollback();
  });

  it('a bad commit option is still refused at commit, not at begin', async () => {
    const txn = await env.client.begin({ assertionLevel: 'loud' as 'off' });
    txn.put('bad-opt', 'v');
    await expect(txn.commit()).rejects.toThrow(InvalidArgumentError);
  });
});

describe('TransactionClient lifecycle', () => {
  it('after close, calls fail with ClientClosedError; close is idempotent', async () => {
    const env = await start(false);
    try {
      const txn = await env.client.begin();
      await env.client.close();
      await env.client.close();
      expect(env.client.closed).toBe(true);
      await expect(env.client.begin()).rejects.toThrow(ClientClosedError);
      expect(() => env.client.snapshot()).toThrow(ClientClosedError);
      await expect(env.client.currentTimestamp()).rejects.toThrow(ClientClosedError);
      expect(() => txn.put('a', 'b')).toThrow(ClientClosedError);
    } finally {
      await env.cluster.close();
    }
  });

  it('connect refuses bad options', async () => {
    await expect(TransactionClient.connect({ pdEndpoints: [] })).rejects.toThrow(InvalidArgumentError);
    await expect(
      TransactionClient.connect({ pdEndpoints: ['127.0.0.1:1'], localLatchSlots: -1 }),
    ).rejects.toThrow(InvalidArgumentError);
  });
});
