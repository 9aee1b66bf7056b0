import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type CommitDetails, InvalidArgumentError, TiKVError, WriteConflictError } from '@tikv/common';
import { keyspacePrefix, MockCluster } from '@tikv/mock-cluster';
import {
  CommitProtocol,
  LOCK_RESOLVE_CHANNEL,
  type LockResolveEvent,
  type Transaction,
  TransactionClient,
  TransactionState,
  TwoPhaseCommitter,
} from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const k = (s: string): Uint8Array => enc.encode(s);
const t = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : dec.decode(b));

/** Thresholds that flush every write. */
const EVERY_WRITE = { minFlushKeys: 1, minFlushSizeBytes: 1, forceFlushSizeBytes: 1 };

interface Env {
  cluster: MockCluster;
  client: TransactionClient;
  split(...keys: string[]): void;
}

async function start(v2: boolean): Promise<Env> {
  const cluster = await MockCluster.start(
    v2 ? { apiVersion: 'V2', keyspaces: [{ name: 'ks1' }] } : { regionKeyEncoding: 'memcomparable' },
  );
  try {
    const client = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      ...(v2 ? { apiVersion: 'V2' as const, keyspace: 'ks1' } : {}),
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

/** Collects what a details callback receives. */
function capture(): {
  readonly got: CommitDetails[];
  readonly cb: (d: CommitDetails) => void;
  one(): CommitDetails;
} {
  const got: CommitDetails[] = [];
  return {
    got,
    cb: (d) => got.push(d),
    one: () => {
      expect(got).toHaveLength(1);
      return got[0] as CommitDetails;
    },
  };
}

/** How many of `keys` hold a flushed lock of the transaction at `startTs` (raw KvBufferBatchGet). */
async function bufferedAt(client: TransactionClient, startTs: bigint, keys: string[]): Promise<number> {
  const exec = client.parts.executor;
  const { bo, scope } = exec.begin({ timeoutMs: 10_000 });
  let found = 0;
  try {
    for (const key of keys.map(k)) {
      const { response } = await exec.sendToKey(bo, key, () => ({
        $case: 'BufferBatchGet' as const,
        value: { context: undefined, keys: [key], version: startTs },
      }));
      found += response.value.pairs.length;
    }
  } finally {
    scope.dispose();
  }
  return found;
}

async function readCommitted(client: TransactionClient, keys: string[]): Promise<(string | undefined)[]> {
  const snap = client.snapshot(await client.currentTimestamp());
  return (await snap.batchGet(keys.map(k))).map(t);
}

describe.each([
  ['API V1', false],
  ['API V2 keyspace', true],
])('pipelined transaction (%s)', (_name, v2) => {
  let env: Env;
  beforeAll(async () => {
    env = await start(v2);
    env.split('p/b', 'p/m', 'p/t');
  });
  afterAll(async () => {
    await env.client.close();
    await env.cluster.close();
  });

  it('flushes generations in the background, reads its own writes, and commits', async () => {
    const txn = await env.client.begin({ pipelined: EVERY_WRITE });
    expect(txn.pipelined).toBe(true);
    const other = await env.client.begin();
    txn.put('p/a1', 'v1');
    txn.put('p/n1', 'v2');
    txn.put('p/z1', 'v3');
    await txn.flushWait();
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    txn.delete('p/n1');
    txn.put('p/c1', 'v4');
    // Own writes, wherever they are.
    expect(t(await txn.get('p/a1'))).toBe('v1');
    expect(t(await txn.get('p/n1'))).toBeUndefined();
    expect((await txn.batchGet(['p/a1', 'p/n1', 'p/z1', 'p/c1', 'p/x'])).map(t)).toEqual([
      'v1',
      undefined,
      'v3',
      'v4',
      undefined,
    ]);
    const scanned = await txn.scan('p/', 'p0');
    expect(scanned.map((p) => [t(p.key), t(p.value)])).toEqual([
      ['p/a1', 'v1'],
      ['p/c1', 'v4'],
      ['p/z1', 'v3'],
    ]);
    const reversed = await txn.scan('p/', 'p0', { reverse: true, limit: 2 });
    expect(reversed.map((p) => t(p.key))).toEqual(['p/z1', 'p/c1']);
    // Others do not see them.
    expect(t(await other.get('p/a1'))).toBeUndefined();
    await other.rollback();
    const commitTs = await txn.commit();
    expect(commitTs).toBeGreaterThan(txn.startTs);
    expect(txn.commitProtocol).toBe(CommitProtocol.PIPELINED);
    await txn.whenCommitSettled();
    expect(await readCommitted(env.client, ['p/a1', 'p/n1', 'p/z1', 'p/c1'])).toEqual([
      'v1',
      undefined,
      'v3',
      'v4',
    ]);
  });

  it('scans more flushed keys than one lock page holds, both ways', async () => {
    const txn = await env.client.begin({ pipelined: true });
    const keys = Array.from({ length: 1500 }, (_x, i) => `p/q${String(i).padStart(4, '0')}`);
    for (const key of keys) txn.put(key, key);
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    txn.delete('p/q0007');
    const all = await txn.scan('p/q', 'p/r', { keyOnly: true });
    expect(all.length).toBe(1499);
    expect(t(all[7]?.key)).toBe('p/q0008');
    const last = await txn.scan('p/q', 'p/r', { reverse: true, limit: 3 });
    expect(last.map((p) => t(p.value))).toEqual(['p/q1499', 'p/q1498', 'p/q1497']);
    await txn.rollback();
    await txn.whenCommitSettled();
  });

  it('scans merge local, in-flight and flushed writes over committed data', async () => {
    const setup = await env.client.begin();
    for (const n of ['1', '3', '5', '7']) setup.put(`p/s${n}`, `committed${n}`);
    await setup.commit();
    const txn = await env.client.begin({ pipelined: true });
    txn.put('p/s2', 'flushed2');
    txn.delete('p/s3');
    txn.put('p/s5', 'flushed5');
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    txn.put('p/s4', 'inflight4');
    txn.delete('p/s5');
    // The next generation, not waited for: read from the buffer being flushed.
    expect(await txn.flush({ force: true })).toBe(true);
    txn.put('p/s6', 'local6');
    const want = [
      ['p/s1', 'committed1'],
      ['p/s2', 'flushed2'],
      ['p/s4', 'inflight4'],
      ['p/s6', 'local6'],
      ['p/s7', 'committed7'],
    ];
    const pairs = (ps: { key: Uint8Array; value: Uint8Array }[]) => ps.map((p) => [t(p.key), t(p.value)]);
    expect(pairs(await txn.scan('p/s', 'p/t'))).toEqual(want);
    expect(pairs(await txn.scan('p/s', 'p/t', { reverse: true }))).toEqual([...want].reverse());
    expect((await txn.scan('p/s', 'p/t', { keyOnly: true })).map((p) => p.value.length)).toEqual([
      0, 0, 0, 0, 0,
    ]);
    const seen: string[] = [];
    for await (const p of txn.scanIter('p/s', 'p/t', { limit: 2 })) seen.push(t(p.key) ?? '');
    expect(seen).toEqual(['p/s1', 'p/s2']);
    await txn.rollback();
    await txn.whenCommitSettled();
  });

  it('rolls back the flushed locks', async () => {
    const txn = await env.client.begin({ pipelined: EVERY_WRITE });
    const keys = Array.from({ length: 20 }, (_x, i) => `p/r${String(i).padStart(2, '0')}`);
    for (const [i, key] of keys.entries()) txn.put(key, `v${i}`);
    await txn.flush({ force: true });
    await txn.flushWait();
    expect(await bufferedAt(env.client, txn.startTs, keys)).toBe(20);
    await txn.rollback();
    await txn.whenCommitSettled();
    expect(await bufferedAt(env.client, txn.startTs, keys)).toBe(0);
    expect(txn.state).toBe(TransactionState.FINISHED);
    await txn.whenCommitSettled();
    const next = await env.client.begin();
    expect(await next.scan('p/r', 'p/s')).toEqual([]);
    await next.rollback();
  });

  it('fails with a write conflict when a newer transaction holds a key', async () => {
    const blocker = await env.client.begin();
    const txn: Transaction = await env.client.begin({ pipelined: EVERY_WRITE });
    // A newer transaction's lock: the flush meets it.
    const newer = await env.client.begin();
    newer.put('p/w1', 'theirs');
    await blocker.rollback();
    const committed = newer.commit();
    await committed;
    txn.put('p/w0', 'mine');
    await txn.flush({ force: true });
    txn.put('p/w1', 'mine');
    await expect(txn.commit()).rejects.toBeInstanceOf(WriteConflictError);
    // The failed commit rolls back what was flushed.
    await txn.whenCommitSettled();
    expect(await bufferedAt(env.client, txn.startTs, ['p/w0'])).toBe(0);
    expect(await readCommitted(env.client, ['p/w1'])).toEqual(['theirs']);
  });

  it("waits for an older transaction's lock met by a flush, then flushes over it", async () => {
    const older = await env.client.begin();
    older.put('p/l1', 'older');
    older.put('p/l2', 'older');
    const txn = await env.client.begin({ pipelined: { writeThrottleRatio: 0.5 } });
    const committer = new TwoPhaseCommitter(env.client.parts, older.memBuffer, {
      startTs: older.startTs,
      lockResolver: env.client.lockResolver,
    });
    await committer.prewrite();
    let met: (() => void) | undefined;
    const metLock = new Promise<void>((resolve) => {
      met = resolve;
    });
    const listener = (m: unknown) => {
      const e = m as LockResolveEvent;
      if (e.callerStartTs === txn.startTs && e.lockTxns.includes(older.startTs)) met?.();
    };
    subscribe(LOCK_RESOLVE_CHANNEL, listener);
    try {
      txn.put('p/l2', 'mine');
      expect(await txn.flush({ force: true })).toBe(true);
      await metLock;
      // The older transaction gives up: the flush's next attempt writes over its key.
      await committer.rollback();
      await txn.flushWait();
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, listener);
    }
    expect(t(await txn.get('p/l2'))).toBe('mine');
    await txn.commit();
    await txn.whenCommitSettled();
    expect(await readCommitted(env.client, ['p/l1', 'p/l2'])).toEqual([undefined, 'mine']);
    await older.rollback();
  });

  it('refuses pessimistic, async commit and 1PC pipelined transactions, and flush() of others', async () => {
    await expect(env.client.begin({ pipelined: true, pessimistic: true })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(env.client.begin({ pipelined: true, asyncCommit: true })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(env.client.begin({ pipelined: { writeThrottleRatio: 1 } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    const plain = await env.client.begin();
    await expect(plain.flush()).rejects.toBeInstanceOf(TiKVError);
    await plain.rollback();
  });

  it('commits nothing when nothing was written', async () => {
    const txn = await env.client.begin({ pipelined: true });
    expect(await txn.commit()).toBe(0n);
    expect(txn.commitProtocol).toBe(CommitProtocol.NONE);
    const empty = await env.client.begin({ pipelined: true });
    const c = capture();
    expect(await empty.commit({ onCommitDetails: c.cb })).toBe(0n);
    expect(c.one()).toMatchObject({ writeKeys: 0, prewriteRequestCount: 0, commitMs: 0 });
    expect(c.one().exec.rpcCount).toBe(0);
  });

  it("reports its commit details once: every generation's writes, the commit's flushes and the primary's commit", async () => {
    const txn = await env.client.begin({ pipelined: true });
    txn.put('p/d1', 'v1');
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    // The last generation, over two regions: the commit flushes it.
    txn.put('p/d2', 'v22');
    txn.put('p/n2', 'v333');
    const c = capture();
    expect(await txn.commit({ onCommitDetails: c.cb })).toBeGreaterThan(txn.startTs);
    const d = c.one();
    expect(d.writeKeys).toBe(3);
    expect(d.writeSizeBytes).toBe(4 + 2 + (4 + 3) + (4 + 4));
    // The generation flushed before commit() is not the commit's.
    expect(d.prewriteRequestCount).toBe(2);
    expect(d.prewriteRegionCount).toBe(2);
    expect(d.exec.rpcByCommand.Flush).toMatchObject({ count: 2, regionCount: 2 });
    expect(d.exec.rpcByCommand.Commit).toMatchObject({ count: 1, regionCount: 1 });
    expect(d.exec.rpcByCommand.Prewrite).toBeUndefined();
    expect(d.exec.rpcCount).toBe(3);
    expect(d.exec.storeDetailCount).toBeGreaterThanOrEqual(1);
    expect(d).toMatchObject({
      getLatestTsMs: 0,
      localLatchWaitMs: 0,
      commitBackoffMs: 0,
      prewriteBackoffKinds: [],
      commitBackoffKinds: [],
      resolveLockMs: 0,
    });
    for (const ms of [d.prewriteMs, d.commitMs, d.getCommitTsMs]) expect(ms).toBeGreaterThanOrEqual(0);
    await txn.whenCommitSettled();
    expect(await readCommitted(env.client, ['p/d1', 'p/d2', 'p/n2'])).toEqual(['v1', 'v22', 'v333']);
  });

  it("puts a flush's region error in the prewrite backoff kinds and the primary commit's in the commit ones", async () => {
    const txn = await env.client.begin({ pipelined: true });
    txn.put('p/e1', 'v');
    const flushFault = env.cluster.inject({ method: 'KvFlush', times: 1, error: 'EpochNotMatch' });
    const commitFault = env.cluster.inject({ method: 'KvCommit', times: 1, error: 'EpochNotMatch' });
    const c = capture();
    await txn.commit({ onCommitDetails: c.cb });
    expect([flushFault.hits, commitFault.hits]).toEqual([1, 1]);
    const d = c.one();
    // Each phase its own sleeps, though the flushes and the primary's commit record apart.
    expect(d).toMatchObject({ prewriteBackoffKinds: ['regionMiss'], commitBackoffKinds: ['regionMiss'] });
    expect(d.exec.requestErrors).toEqual({ epoch_not_match: 2 });
    expect(d.exec.backoffCountByKind).toEqual({ regionMiss: 2 });
    expect(d.commitBackoffMs).toBe(d.exec.backoffMs);
    expect(d.prewriteRequestCount).toBe(2);
    expect(d.exec.rpcByCommand.Commit?.count).toBe(2);
    await txn.whenCommitSettled();
  });

  it('reports the details of a failed commit once', async () => {
    const txn = await env.client.begin({ pipelined: true });
    const newer = await env.client.begin();
    newer.put('p/x1', 'theirs');
    await newer.commit();
    txn.put('p/x0', 'mine');
    txn.put('p/x1', 'mine');
    const c = capture();
    await expect(txn.commit({ onCommitDetails: c.cb })).rejects.toBeInstanceOf(WriteConflictError);
    const d = c.one();
    expect(d.writeKeys).toBe(2);
    expect(d.prewriteRequestCount).toBeGreaterThanOrEqual(1);
    expect(d.exec.rpcByCommand.Flush?.count).toBe(d.prewriteRequestCount);
    // It failed before the commit ts: no commit phase.
    expect(d.exec.rpcByCommand.Commit).toBeUndefined();
    expect(d).toMatchObject({ getCommitTsMs: 0, commitMs: 0 });
    await txn.whenCommitSettled();
    expect(await bufferedAt(env.client, txn.startTs, ['p/x0'])).toBe(0);
  });

  it('refuses a non-function onCommitDetails as 2PC does, and rolls back what it flushed', async () => {
    const txn = await env.client.begin({ pipelined: true });
    txn.put('p/y0', 'v');
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    expect(await bufferedAt(env.client, txn.startTs, ['p/y0'])).toBe(1);
    const bad = txn.commit({ onCommitDetails: 1 as unknown as (d: CommitDetails) => void });
    await expect(bad).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await txn.whenCommitSettled();
    expect(await bufferedAt(env.client, txn.startTs, ['p/y0'])).toBe(0);
    expect(await readCommitted(env.client, ['p/y0'])).toEqual([undefined]);
  });
});

describe('pipelined transaction after a split the client has not seen', () => {
  test('flushes regroup after the stale region answers (the V1 codec decodes Flush region errors)', async () => {
    const env = await start(false);
    try {
      const warm = await env.client.begin({ pipelined: EVERY_WRITE });
      for (let i = 0; i < 10; i++) warm.put(`s/${i}`, 'w');
      await warm.commit();
      await warm.whenCommitSettled();
      env.split('s/5');
      const txn = await env.client.begin({ pipelined: true });
      for (let i = 0; i < 10; i++) txn.put(`s/${i}`, `v${i}`);
      await txn.flush({ force: true });
      await txn.flushWait();
      await txn.commit();
      await txn.whenCommitSettled();
      expect(await readCommitted(env.client, ['s/0', 's/9'])).toEqual(['v0', 'v9']);
    } finally {
      await env.client.close();
      await env.cluster.close();
    }
  });
});
