// Ports of client-go integration_tests/2pc_test.go (the committer suite cases that need no
// pessimistic lock), on the mock cluster over gRPC.

import { channel } from 'node:diagnostics_channel';
import { AlreadyExistsError, isTiKVError, KeyIsLockedError, U64_MAX, WriteConflictError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import {
  CommitProtocol,
  DEFAULT_COMMIT_OPTIONS,
  FlagsOp,
  MemBuffer,
  TwoPhaseCommitter,
  TXN_COMMIT_CHANNEL,
  type TxnCommitEvent,
} from '../../src/index.js';
import { b, Harness, spyOnRequests, t } from './harness.js';

describe('2pc_test.go', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h.close();
  });
  let n = 0;
  /** A key prefix of its own per test: every test shares the cluster. */
  let prefix = '';
  const p = (name: string) => `${prefix}${name}`;
  /** The locks of this test's keys. */
  const locks = async () => (await h.locks()).filter((l) => t(l.key)?.startsWith(prefix));
  beforeEach(() => {
    prefix = `2pc${++n}/`;
    // client-go's suite splits at a, b and c (BootstrapWithMultiRegions).
    h.cluster.split([p('a'), p('b'), p('c')]);
  });
  const committer = (buffer: MemBuffer, startTs: bigint, options = {}) =>
    new TwoPhaseCommitter(h.parts, buffer, { startTs, lockResolver: h.resolver, ...options });

  test('TestCommitRollback', async () => {
    await h.commit({ [p('a')]: 'a', [p('b')]: 'b', [p('c')]: 'c' });
    const startTs = await h.ts();
    const buffer = h.buffer({ [p('a')]: 'a1', [p('b')]: 'b1', [p('c')]: 'c1' });
    await h.commit({ [p('c')]: 'c2' });
    const c = committer(buffer, startTs);
    await expect(c.execute()).rejects.toBeInstanceOf(WriteConflictError);
    await c.whenIdle();
    expect([await h.read(p('a')), await h.read(p('b')), await h.read(p('c'))]).toEqual(['a', 'b', 'c2']);
    // The rollback removed every lock the failed commit had written.
    expect(await locks()).toEqual([]);
  });

  test('TestPrewriteRollback', async () => {
    await h.commit({ [p('a')]: 'a0', [p('b')]: 'b0' });
    const startTs = await h.ts();
    const c1 = committer(h.buffer({ [p('a')]: 'a1', [p('b')]: 'b1' }), startTs);
    await c1.prewrite();
    // A reader below the locks reads the old value.
    expect(await h.read(p('a'), startTs - 1n)).toBe('a0');
    // Prewriting again is idempotent.
    await c1.prewrite();
    const commitTs = await h.ts();
    const result = await c1.commit(commitTs);
    await result.background;
    expect(result.commitTs).toBe(commitTs);
    expect(await h.read(p('b'))).toBe('b1');
    expect(await h.read(p('a'), commitTs - 1n)).toBe('a0');
  });

  test('TestContextCancel', async () => {
    const c = committer(h.buffer({ [p('a')]: 'a1', [p('b')]: 'b1' }), await h.ts());
    const abort = new AbortController();
    const reason = new Error('cancelled by the test');
    abort.abort(reason);
    await expect(c.prewrite({ signal: abort.signal })).rejects.toBe(reason);
  });

  test('TestContextCancel2: secondaries are committed although the caller aborts after commit', async () => {
    const abort = new AbortController();
    const c = committer(h.buffer({ [p('a')]: 'a', [p('b')]: 'b' }), await h.ts());
    const result = await c.execute({ signal: abort.signal });
    abort.abort();
    await result.background;
    expect(await locks()).toEqual([]);
    expect([await h.read(p('a')), await h.read(p('b'))]).toEqual(['a', 'b']);
  });

  test('TestCommitBeforePrewrite', async () => {
    const c = committer(h.buffer({ [p('a')]: 'a1' }), await h.ts());
    await c.rollback();
    const error = await c.prewrite().catch((e: unknown) => e);
    // TiKV refuses to prewrite over its own rollback record.
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).reason).toBe('SelfRolledBack');
  });

  test('TestPrewritePrimaryKeyFailed', async () => {
    const t1 = await h.commit({ [p('a')]: 'a1' });
    expect(await h.read(p('a'))).toBe('a1');
    // txn2 starts before txn1: its primary (a) conflicts; b is prewritten, then rolled back.
    const c2 = committer(h.buffer({ [p('a')]: 'a2', [p('b')]: 'b2' }), t1.startTs - 1n);
    await expect(c2.execute()).rejects.toBeInstanceOf(WriteConflictError);
    await c2.whenIdle();
    expect(await h.read(p('a'))).toBe('a1');
    expect(await h.read(p('b'))).toBeUndefined();
    // Rolling back again is fine.
    await committer(h.buffer({ [p('a')]: 'a2', [p('b')]: 'b2' }), t1.startTs - 1n).rollback();
    expect(await h.read(p('a'))).toBe('a1');
    await h.commit({ [p('a')]: 'a3' });
    expect(await h.read(p('a'))).toBe('a3');
  });

  test('TestWrittenKeysOnConflict: a reader is not blocked by the loser of a write conflict', async () => {
    // x1 and y1 in two regions; txn2 commits x1 first, txn1 then fails on it and rolls back y1.
    h.cluster.split(p('y'));
    for (let i = 0; i < 3; i++) {
      const start1 = await h.ts();
      await h.commit({ [p('x1')]: '1' });
      const c1 = committer(h.buffer({ [p('x1')]: '1', [p('y1')]: '2' }), start1);
      await expect(c1.execute()).rejects.toBeInstanceOf(WriteConflictError);
      await c1.whenIdle();
      // No lock left: the read needs no lock resolution.
      const calls = h.resolver.calls.length;
      await h.read(p('y1'));
      expect(h.resolver.calls.length).toBe(calls);
    }
  });

  test('TestPrewriteTxnSize: txn_size is the key count of the lock region', async () => {
    // Two regions: keys below 100 and from 100 on (all past the suite's split keys).
    const key = (i: number) => p(`x${String.fromCharCode(i)}`);
    h.cluster.split(key(100));
    // The cache learns the regions (an EpochNotMatch after the splits refreshes it).
    await h.commit({ [key(50)]: 'warm', [key(100)]: 'warm' });
    const entries: Record<string, string> = {};
    const value = 'v'.repeat(1024);
    for (let i = 50; i < 120; i++) entries[key(i)] = value;
    const c = committer(h.buffer(entries), await h.ts());
    await c.prewrite();
    const txnSizes = await Promise.all(Object.keys(entries).map(async (k) => (await h.lock(k))?.txnSize));
    const lower = Object.keys(entries).filter((k) => k < key(100));
    expect(lower.length).toBe(50);
    expect(txnSizes.slice(0, lower.length)).toEqual(lower.map(() => BigInt(lower.length)));
    expect(txnSizes.slice(lower.length)).toEqual(
      txnSizes.slice(lower.length).map(() => 70n - BigInt(lower.length)),
    );
    await c.rollback();
  });

  test('a batch sent again after a region error has txn_size 2^64-1 (client-go action.retry)', async () => {
    await h.commit({ [p('xa')]: 'warm' });
    // The cache still holds the region before this split: the prewrite meets EpochNotMatch.
    h.cluster.split(p('xm'));
    const c = committer(h.buffer({ [p('xa')]: '1', [p('xb')]: '2', [p('xz')]: '3' }), await h.ts());
    await c.prewrite();
    const sizes = await Promise.all(['xa', 'xb', 'xz'].map(async (k) => (await h.lock(p(k)))?.txnSize));
    expect(sizes).toEqual([U64_MAX, U64_MAX, U64_MAX]);
    await c.rollback();
  });

  test('TestRejectCommitTS: a commit ts below the min commit ts is replaced by a fresh one', async () => {
    const key = b(p('x'));
    const startTs = await h.ts();
    const c = committer(h.buffer({ [p('x')]: 'v' }), startTs);
    // Prewrite by hand with a min commit ts above what the commit will first try.
    const { bo, scope } = h.exec.begin(undefined);
    const { response } = await h.exec.sendToKey(bo, key, () => ({
      $case: 'Prewrite' as const,
      value: kvrpcpb.PrewriteRequest.fromPartial({
        mutations: [{ op: kvrpcpb.Op.Put, key, value: b('v') }],
        primaryLock: key,
        startVersion: startTs,
        lockTtl: BigInt(c.lockTtlMs),
        minCommitTs: startTs + 100n,
      }),
    }));
    scope.dispose();
    expect(response.value.errors).toEqual([]);
    const result = await c.commit(startTs + 1n);
    await result.background;
    // The commit ts TiKV kept is not the refused one.
    expect(result.commitTs).toBeGreaterThan(startTs + 100n);
    expect(c.commitTs).toBe(result.commitTs);
    expect(await h.read(p('x'), startTs + 2n)).toBeUndefined();
    expect(await h.read(p('x'))).toBe('v');
  });

  test('TestCommitMultipleRegions', async () => {
    const small: Record<string, string> = {};
    for (let i = 0; i < 100; i++) small[p(`k${String(i).padStart(3, '0')}`)] = `v${i}`;
    await h.commit(small);
    for (const [k, v] of Object.entries(small)) expect(await h.read(k)).toBe(v);
    // Big values: several batches per region.
    const big: Record<string, string> = {};
    const size = Math.floor(DEFAULT_COMMIT_OPTIONS.commitBatchSizeBytes / 7);
    for (let i = 0; i < 50; i++) big[p(`${'abc'[i % 3]}big${i}`)] = String(i).repeat(size).slice(0, size);
    const result = await h.commit(big);
    expect(result.protocol).toBe(CommitProtocol.TWO_PC);
    for (const [k, v] of Object.entries(big)) expect(await h.read(k)).toBe(v);
  });

  test('TestDeleteYourWritesTTL: the TTL manager runs for a transaction over ttlRefreshedTxnSizeBytes', async () => {
    const buffer = new MemBuffer();
    buffer.setWithFlags(b(p('bb')), b('\0'), FlagsOp.SetPresumeKeyNotExists);
    buffer.set(b(p('ba')), b('\x01'));
    buffer.delete(b(p('bb')));
    const c = committer(buffer, await h.ts(), { ttlRefreshedTxnSizeBytes: 0 });
    await c.prewrite();
    expect(c.ttlManagerState).toBe('running');
    c.close();
    await c.whenIdle();
    expect(c.ttlManagerState).toBe('closed');
    await c.rollback();
  });

  test('TestExtractKeyExistsErr: an insert over an existing key is AlreadyExistsError', async () => {
    await h.commit({ [p('de')]: 'ef' });
    const buffer = new MemBuffer();
    buffer.setWithFlags(b(p('de')), b('fg'), FlagsOp.SetPresumeKeyNotExists);
    const c = committer(buffer, await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(t((error as AlreadyExistsError).key)).toBe(p('de'));
    await c.whenIdle();
    expect(await locks()).toEqual([]);

    // client-go forces an Insert whose key is no longer presumed absent: that is a bug, not a
    // conflict.
    const buffer2 = new MemBuffer();
    buffer2.setWithFlags(b(p('de')), b('fg'), FlagsOp.SetPresumeKeyNotExists);
    const c2 = committer(buffer2, await h.ts());
    buffer2.updateFlags(b(p('de')), FlagsOp.DelPresumeKeyNotExists);
    const error2 = await c2.prewrite().catch((e: unknown) => e);
    expect(isTiKVError(error2, 'INTERNAL')).toBe(true);
    expect((error2 as Error).cause).toBeInstanceOf(AlreadyExistsError);
  });

  test('TestNewlyInsertedMemDBFlag: a deleted newly inserted key is left out', async () => {
    const buffer = new MemBuffer();
    buffer.setWithFlags(b(p('k1')), b('v1'), FlagsOp.SetNewlyInserted);
    buffer.delete(b(p('k1')));
    buffer.set(b(p('k2')), b('v2'));
    const c = committer(buffer, await h.ts());
    expect(c.keys().map(t)).toEqual([p('k2')]);
    const result = await c.execute();
    await result.background;
    expect(await h.read(p('k2'))).toBe('v2');
  });

  test('TestDeleteAllYourWrites: every key a CheckNotExists, nothing committed', async () => {
    const buffer = new MemBuffer();
    for (const k of ['a', 'b', 'c']) {
      buffer.setWithFlags(b(p(k)), b('\0'), FlagsOp.SetPresumeKeyNotExists);
      buffer.delete(b(p(k)));
    }
    const c = committer(buffer, await h.ts());
    expect(c.counts.checks).toBe(3);
    const result = await c.execute();
    expect(result.protocol).toBe(CommitProtocol.TWO_PC);
    await result.background;
    for (const k of ['a', 'b', 'c']) expect(await h.read(p(k))).toBeUndefined();
    expect(await locks()).toEqual([]);
  });

  test('TestDeleteYourWriteCauseGhostPrimary: a CheckNotExists is never the primary', async () => {
    const buffer = new MemBuffer();
    buffer.setWithFlags(b(p('a')), b('\0'), FlagsOp.SetPresumeKeyNotExists);
    buffer.set(b(p('b')), b('\x01'));
    buffer.set(b(p('c')), b('\x02'));
    buffer.delete(b(p('a')));
    const c = committer(buffer, await h.ts());
    expect(t(c.primaryKey)).toBe(p('b'));
    const result = await c.execute();
    await result.background;
    expect(await h.read(p('c'))).toBe('\x02');
    expect(await h.read(p('a'))).toBeUndefined();
  });

  test('a write conflict between two committers', async () => {
    const [s1, s2] = [await h.ts(), await h.ts()];
    const c1 = committer(h.buffer({ [p('k')]: 'one' }), s1);
    const c2 = committer(h.buffer({ [p('k')]: 'two' }), s2);
    await (await c2.execute()).background;
    const error = await c1.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).startTs).toBe(s1);
    expect((error as WriteConflictError).conflictStartTs).toBe(s2);
    expect(error).toMatchObject({ code: 'WRITE_CONFLICT', retryable: true });
    await c1.whenIdle();
    expect(await h.read(p('k'))).toBe('two');
  });

  test('a lock of a newer transaction is a write conflict at once, without resolving', async () => {
    const older = await h.ts();
    const newer = committer(h.buffer({ [p('k')]: 'newer' }), await h.ts());
    await newer.prewrite();
    const calls = h.resolver.calls.length;
    const error = await committer(h.buffer({ [p('k')]: 'older' }), older)
      .execute()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).reason).toBe('Optimistic');
    expect(h.resolver.calls.length).toBe(calls);
    await newer.rollback();
  });

  test('a lock of an older crashed transaction is resolved, then the batch is sent again', async () => {
    const crashedTs = await h.ts();
    h.cluster.strandTransaction({ keys: [b(p('k')), b(p('l'))], startTs: crashedTs, lockTtlMs: 0 });
    await expect(h.inspector.get(b(p('l')), await h.ts())).rejects.toBeInstanceOf(KeyIsLockedError);
    const calls = h.resolver.calls.length;
    const result = await h.commit({ [p('l')]: 'mine' });
    expect(h.resolver.calls.length).toBeGreaterThan(calls);
    const call = h.resolver.calls[calls];
    expect(call?.callerStartTs).toBe(result.startTs);
    expect(call?.locks.map((l) => [t(l.key), l.lockVersion])).toEqual([[p('l'), crashedTs]]);
    expect(await h.read(p('l'))).toBe('mine');
  });

  test('a live lock: back off for its TTL, then retry', async () => {
    let calls = 0;
    h.resolver.override = async () => {
      calls++;
      // First the lock lives 5 ms more, then it is gone.
      return { msBeforeTxnExpired: calls === 1 ? 5 : 0, resolvedLocks: [], committedLocks: [] };
    };
    try {
      const holder = committer(h.buffer({ [p('k')]: 'holder' }), await h.ts());
      await holder.prewrite();
      const mine = committer(h.buffer({ [p('k')]: 'mine' }), await h.ts());
      const done = mine.execute();
      // The fake "resolves" nothing: roll the holder back once it was asked twice.
      while (calls < 2) await new Promise((r) => setImmediate(r));
      await holder.rollback();
      h.resolver.override = undefined;
      await (await done).background;
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(await h.read(p('k'))).toBe('mine');
    } finally {
      h.resolver.override = undefined;
    }
  });

  test('each commit is published on tikv:txn:commit, without keys', async () => {
    const events: TxnCommitEvent[] = [];
    const ch = channel(TXN_COMMIT_CHANNEL);
    const on = (e: unknown) => events.push(e as TxnCommitEvent);
    ch.subscribe(on);
    try {
      const ok = await h.commit({ [p('a')]: '1', [p('b')]: '2' });
      const late = committer(h.buffer({ [p('a')]: 'late' }), ok.startTs - 1n);
      const error = await late.execute().catch((e: unknown) => e);
      await late.whenIdle();
      expect(events).toEqual([
        { startTs: ok.startTs, commitTs: ok.commitTs, protocol: '2pc', keys: 2, error: undefined },
        { startTs: ok.startTs - 1n, commitTs: 0n, protocol: '2pc', keys: 1, error },
      ]);
    } finally {
      ch.unsubscribe(on);
    }
  });

  test('an empty buffer commits nothing', async () => {
    const result = await committer(new MemBuffer(), await h.ts()).execute();
    expect(result).toMatchObject({ commitTs: 0n, protocol: CommitProtocol.NONE });
  });

  test('a committer runs once', async () => {
    const c = committer(h.buffer({ [p('k')]: 'v' }), await h.ts());
    await (await c.execute()).background;
    await expect(c.execute()).rejects.toMatchObject({ code: 'INVALID_TXN' });
  });

  test('the primary is committed first, with role Primary; secondaries after', async () => {
    const seen: { keys: string[]; role: number }[] = [];
    const restore = spyOnRequests(h, (request) => {
      if (request.$case === 'Commit') {
        seen.push({ keys: request.value.keys.map((k) => t(k) as string), role: request.value.commitRole });
      }
    });
    try {
      // Keys in three regions: a.., b.., c...
      const result = await h.commit({ [p('a1')]: '1', [p('b2')]: '2', [p('c3')]: '3' });
      expect(result.protocol).toBe('2pc');
    } finally {
      restore();
    }
    expect(seen[0]).toEqual({ keys: [p('a1')], role: kvrpcpb.CommitRole.Primary });
    expect(seen.slice(1).map((s) => s.role)).toEqual([
      kvrpcpb.CommitRole.Secondary,
      kvrpcpb.CommitRole.Secondary,
    ]);
  });

  test('locks carry the TTL computed from the size', async () => {
    const c = committer(h.buffer({ [p('k')]: 'v' }), await h.ts());
    await c.prewrite();
    const lock = await h.lock(p('k'));
    // 3 s for a small transaction, plus the milliseconds it had lived when the TTL was computed.
    expect(lock?.lockTtl).toBe(BigInt(c.lockTtlMs));
    expect(c.lockTtlMs).toBeGreaterThanOrEqual(3000);
    expect(c.lockTtlMs).toBeLessThan(4000);
    expect(lock?.primaryLock).toEqual(b(p('k')));
    expect((await h.inspector.mvcc(b(p('k')))).lock?.startTs).toBe(c.startTs);
    await c.rollback();
    expect((await h.inspector.mvcc(b(p('k')))).lock).toBeUndefined();
  });
});

describe('the test harness', () => {
  it('an inspector read that meets a region error throws instead of reading as absent (regression)', async () => {
    const h = await Harness.start();
    try {
      await h.commit({ 'inspect/k': 'v' });
      const ts = await h.ts();
      expect(t(await h.inspector.get(b('inspect/k'), ts))).toBe('v');
      h.cluster.inject({
        method: 'KvGet',
        times: 1,
        error: { regionError: { message: 'injected', notLeader: {} } },
      });
      await expect(h.inspector.get(b('inspect/k'), ts)).rejects.toThrow(
        /region error: injected \(.*notLeader/,
      );
      h.cluster.inject({
        method: 'KvScanLock',
        times: 1,
        error: { regionError: { message: 'busy', serverIsBusy: {} } },
      });
      await expect(h.inspector.lock(b('inspect/k'), ts)).rejects.toThrow(/region error: busy/);
    } finally {
      await h.close();
    }
  });
});
