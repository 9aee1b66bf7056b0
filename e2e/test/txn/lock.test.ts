// Port of client-go integration_tests/lock_test.go (TestScanLockResolveWithGet / Seek /
// SeekKeyOnly / BatchGet, TestCleanLock, TestGetTxnStatus) and crashed writers that a reader
// resolves, through the public API. A crashed writer is a transaction whose start ts lies 10 s in the past, prewritten
// by the public TwoPhaseCommitter and then dropped: its locks (TTL 3 s) are already expired, so
// readers and writers resolve them at once. The data those writers overwrite is committed first
// at a start and commit ts further back (20 s and 15 s), so that the crashed writers do not
// conflict with it.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { composeTs } from '@tikv/common';
import {
  CommitProtocol,
  LOCK_RESOLVE_CHANNEL,
  type LockResolveEvent,
  TransactionClient,
  TwoPhaseCommitter,
} from '@tikv/txn';
import { embedded, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

const pastTs = (agoMs: number): bigint => composeTs(Date.now() - agoMs, 0);
const alphabet = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x61 + i));

describe.each(txnModes())('lock_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'lock');
  });
  afterAll(async () => {
    await env?.close();
  });

  /** Commits `pairs` (a value puts, undefined deletes) with a start and commit ts in the past. */
  async function putInPast(pairs: [Uint8Array, string | undefined][]): Promise<void> {
    const txn = await env.client.begin({ startTs: pastTs(20_000) });
    for (const [k, v] of pairs) v === undefined ? txn.delete(k) : txn.put(k, v);
    const committer = new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
      startTs: txn.startTs,
      lockResolver: env.client.lockResolver,
    });
    await committer.prewrite();
    const result = await committer.commit(pastTs(15_000));
    await result.background;
    committer.close();
    await txn.rollback();
  }

  /**
   * client-go `lockKey`: prewrites `key` and `primary` (a value puts, undefined deletes) at a start
   * ts 10 s back, then either commits (at a fresh ts) or drops the transaction.
   */
  async function lockKey(
    key: Uint8Array,
    value: string | undefined,
    primary: Uint8Array,
    primaryValue: string | undefined,
    commitPrimary: boolean,
  ): Promise<bigint> {
    const txn = await env.client.begin({ startTs: pastTs(10_000) });
    for (const [k, v] of [
      [key, value],
      [primary, primaryValue],
    ] as const) {
      v === undefined ? txn.delete(k) : txn.put(k, v);
    }
    const committer = new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
      startTs: txn.startTs,
      lockResolver: env.client.lockResolver,
      primaryKey: primary,
    });
    await committer.prewrite();
    if (commitPrimary) {
      const result = await committer.commit(await env.client.currentTimestamp());
      await result.background;
    }
    committer.close();
    await txn.rollback();
    return txn.startTs;
  }

  /** Sets up, under `ns/`, client-go's alphabet and its locks (`putAlphabets` + `prepareAlphabetLocks`). */
  async function prepare(ns: string): Promise<(name: string) => Uint8Array> {
    const key = (name: string) => env.key(`${ns}/${name}`);
    await putInPast([...alphabet.map((ch) => [key(ch), ch] as [Uint8Array, string]), [key('bar'), 'bar']]);
    await lockKey(key('c'), 'c', key('z1'), 'z1', true);
    await lockKey(key('d'), 'dd', key('z2'), 'z2', false);
    await lockKey(key('foo'), 'foo', key('z3'), 'z3', false);
    await lockKey(key('bar'), undefined, key('z4'), 'z4', true);
    return key;
  }

  test('TestScanLockResolveWithGet', async () => {
    const key = await prepare('get');
    const txn = await env.client.begin();
    for (const ch of alphabet) expect(text(await txn.get(key(ch)))).toBe(ch);
    expect(await txn.get(key('bar'))).toBeUndefined();
    expect(await txn.get(key('foo'))).toBeUndefined();
    await txn.rollback();
  });

  test('TestScanLockResolveWithSeek', async () => {
    const key = await prepare('seek');
    const txn = await env.client.begin();
    const pairs = await txn.scan(key('a'), env.key('seek0'), { limit: 26 });
    expect(pairs.map((p) => [text(p.key)?.slice(-1), text(p.value)])).toEqual(alphabet.map((ch) => [ch, ch]));
    await txn.rollback();
  });

  test('TestScanLockResolveWithSeekKeyOnly', async () => {
    const key = await prepare('seekko');
    const txn = await env.client.begin();
    const pairs = await txn.scan(key('a'), env.key('seekko0'), { limit: 26, keyOnly: true });
    expect(pairs.map((p) => text(p.key))).toEqual(alphabet.map((ch) => text(key(ch))));
    await txn.rollback();
  });

  test('TestScanLockResolveWithBatchGet', async () => {
    const key = await prepare('batch');
    const txn = await env.client.begin();
    const values = await txn.batchGet(alphabet.map(key));
    expect(values.map(text)).toEqual(alphabet);
    await txn.rollback();
  });

  test('TestCleanLock: a writer resolves the expired locks its prewrite meets', async () => {
    const key = (ch: string) => env.key(`clean/${ch}`);
    for (const ch of alphabet) await lockKey(key(ch), ch, key(ch), ch, false);
    const txn = await env.client.begin();
    for (const ch of alphabet) txn.put(key(ch), String.fromCharCode(ch.charCodeAt(0) + 1));
    await txn.commit();
    await txn.whenCommitSettled();
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet(alphabet.map(key))).map(text)).toEqual(
      alphabet.map((ch) => String.fromCharCode(ch.charCodeAt(0) + 1)),
    );
  });

  test('TestGetTxnStatus', async () => {
    const a = env.key('status/a');
    const put = await env.client.begin();
    put.put(a, 'a');
    const commitTs = await put.commit();
    let status = await env.client.lockResolver.getTxnStatus(put.startTs, a, { callerStartTs: put.startTs });
    expect(status.isCommitted).toBe(true);
    expect(status.commitTs).toBe(commitTs);

    // Prewritten and committed by the committer.
    const txn = await env.client.begin();
    txn.put(a, 'a');
    const committer = new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
      startTs: txn.startTs,
      lockResolver: env.client.lockResolver,
    });
    await committer.prewrite();
    const result = await committer.commit(await env.client.currentTimestamp());
    committer.close();
    await txn.rollback();
    status = await env.client.lockResolver.getTxnStatus(txn.startTs, a, { callerStartTs: txn.startTs });
    expect(status.isCommitted).toBe(true);
    expect(status.commitTs).toBe(result.commitTs);

    // Prewritten only, lock alive: not committed, with a TTL.
    const live = await env.client.begin();
    live.put(a, 'a');
    const liveCommitter = new TwoPhaseCommitter(env.client.parts, live.memBuffer, {
      startTs: live.startTs,
      lockResolver: env.client.lockResolver,
    });
    await liveCommitter.prewrite();
    try {
      status = await env.client.lockResolver.getTxnStatus(live.startTs, a, { callerStartTs: live.startTs });
      expect(status.isCommitted).toBe(false);
      expect(status.ttlMs).toBeGreaterThan(0n);
    } finally {
      await liveCommitter.rollback();
      liveCommitter.close();
      await live.rollback();
    }
  });

  test('a 2PC writer that crashed after prewrite: a reader rolls it back, a writer then commits', async () => {
    const [k1, k2] = [env.key('crash2pc/1'), env.key('crash2pc/2')];
    await putInPast([
      [k1, 'old1'],
      [k2, 'old2'],
    ]);
    const met: LockResolveEvent[] = [];
    const onResolve = (e: unknown) => met.push(e as LockResolveEvent);
    const crashedTs = await lockKey(k2, 'lost2', k1, 'lost1', false);
    subscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    try {
      const reader = await env.client.begin();
      expect((await reader.batchGet([k1, k2])).map(text)).toEqual(['old1', 'old2']);
      await reader.rollback();
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    }
    expect(met.some((e) => e.lockTxns.includes(crashedTs))).toBe(true);
    const status = env.client.lockResolver.cachedStatus(crashedTs);
    expect(status === undefined || status.commitTs === 0n).toBe(true);
    const writer = await env.client.begin();
    writer.put(k1, 'new1');
    writer.put(k2, 'new2');
    await writer.commit();
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet([k1, k2])).map(text)).toEqual(['new1', 'new2']);
  });

  test('an async-commit writer that crashed after prewrite: a reader commits it', async () => {
    const keys = [env.key('crashac/1'), env.key('crashac/2'), env.key('crashac/3')];
    if (embedded) env.split([keys[1], keys[2]] as Uint8Array[]);
    await putInPast(keys.map((k) => [k, 'old']));
    // The writer is a client of its own, closed right after its prewrite succeeded: the commit of
    // the keys, which async commit leaves to the background, is abandoned (on the embedded
    // cluster every KvCommit also fails until the reader comes, so nothing is committed).
    const writer = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
    });
    const noCommit = env.target.mock?.inject({
      method: 'KvCommit',
      times: Number.POSITIVE_INFINITY,
      error: { keyError: { abort: 'the writer crashed' } },
    });
    let crashedTs = 0n;
    let commitTs = 0n;
    try {
      const txn = await writer.begin({ startTs: pastTs(10_000) });
      crashedTs = txn.startTs;
      for (const k of keys) txn.put(k, 'async');
      const committer = new TwoPhaseCommitter(writer.parts, txn.memBuffer, {
        startTs: txn.startTs,
        lockResolver: writer.lockResolver,
        asyncCommit: true,
        // The start ts is 10 s old: a wide window keeps the commit ts TiKV computes within it.
        asyncCommitSafeWindowMs: 60_000,
      });
      const result = await committer.execute();
      expect(result.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
      commitTs = result.commitTs;
      await result.background;
      committer.close();
      await txn.rollback().catch(() => {});
    } finally {
      await writer.close();
      noCommit?.clear();
    }
    if (embedded) expect(noCommit?.hits).toBeGreaterThan(0);
    const met: LockResolveEvent[] = [];
    const onResolve = (e: unknown) => met.push(e as LockResolveEvent);
    subscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    try {
      const reader = await env.client.begin();
      expect((await reader.batchGet(keys)).map(text)).toEqual(['async', 'async', 'async']);
      await reader.rollback();
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    }
    if (embedded) {
      expect(met.some((e) => e.lockTxns.includes(crashedTs))).toBe(true);
      expect(env.client.lockResolver.cachedStatus(crashedTs)?.commitTs).toBe(commitTs);
    }
    // Committed at the commit ts the writer was told.
    const at = env.client.snapshot(commitTs);
    expect((await at.batchGet(keys)).map(text)).toEqual(['async', 'async', 'async']);
    const before = env.client.snapshot(commitTs - 1n);
    expect((await before.batchGet(keys)).map(text)).toEqual(['old', 'old', 'old']);
  });
});
